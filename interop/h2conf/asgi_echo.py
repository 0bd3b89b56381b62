"""A WebSocket echo app for hypercorn (ASGI), for the HTTP/2 interop tests.

It accepts every WebSocket, selects the subprotocol echo.v2 or echo.v1 when
the client offers one, echoes each text and binary message, and answers the
text message "close:CODE:REASON" by closing with that code and reason, like
the tests' other echo servers. hypercorn answers pings itself.

    /usr/bin/python3 -m hypercorn ... asgi_echo:app
"""


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "websocket":
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b"websocket only\n"})
        return
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    accept = {"type": "websocket.accept"}
    for proto in ("echo.v2", "echo.v1"):
        if proto in scope.get("subprotocols", []):
            accept["subprotocol"] = proto
            break
    await send(accept)
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        text = message.get("text")
        if text is not None and text.startswith("close:"):
            code, _, reason = text[len("close:"):].partition(":")
            await send({"type": "websocket.close", "code": int(code), "reason": reason})
            continue
        if text is not None:
            await send({"type": "websocket.send", "text": text})
        else:
            await send({"type": "websocket.send", "bytes": message.get("bytes") or b""})
