"""Echo server for the wsclient interop tests, on Debian's python3-websockets.

    /usr/bin/python3 echo_server.py PORT

It echoes every text and binary message with the same type, selects the
subprotocol "echo.v2" or "echo.v1" when the client offers one of them
(RFC 6455 section 4.2.2), and answers the text message "close:CODE:REASON"
by starting the close handshake with that code and reason (section 5.5.1).
It prints "READY PORT" once it is listening.
"""

import asyncio
import re
import signal
import sys

import websockets

CLOSE = re.compile(r"close:(\d+):(.*)", re.S)


async def echo(ws, path=None):
    try:
        async for msg in ws:
            if isinstance(msg, str):
                m = CLOSE.fullmatch(msg)
                if m:
                    await ws.close(int(m.group(1)), m.group(2))
                    return
            await ws.send(msg)
    except websockets.ConnectionClosed:
        pass


async def main(port):
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set_result, None)
    async with websockets.serve(
        echo,
        "127.0.0.1",
        port,
        subprotocols=["echo.v2", "echo.v1"],
        max_size=64 * 1024 * 1024,
        # The tests send 16 MiB messages; the default queue would hold 32.
        max_queue=4,
        # The harness checks pings itself; the server's own keepalive
        # pings would only add noise.
        ping_interval=None,
    ):
        print(f"READY {port} websockets/{websockets.__version__}", flush=True)
        await stop


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
