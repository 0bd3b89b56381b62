// WebSocket-over-HTTP/2 (RFC 8441) echo server for the wsclient interop
// tests, on Node.js's built-in http2 module (no npm package).
//
//   node h2-echo-server.js PORT CERT KEY    # TLS, ALPN h2
//   node h2-echo-server.js PORT --h2c       # HTTP/2 with prior knowledge
//
// Its SETTINGS announce extended CONNECT (enableConnectProtocol). Each
// CONNECT with :protocol websocket is answered 200, and the stream then
// carries WebSocket frames, which a small codec here reads and writes: it
// echoes every text and binary message with the same opcode, answers
// pings, selects the subprotocol "echo.v2" or "echo.v1" when offered, and
// answers the text message "close:CODE:REASON" by starting the close
// handshake. The close handshake ends the stream (END_STREAM). No
// extension is negotiated. It prints "READY PORT ..." once listening.
'use strict';

const fs = require('fs');
const http2 = require('http2');

const port = Number(process.argv[2]);
const h2c = process.argv[3] === '--h2c';
const supported = ['echo.v2', 'echo.v1'];
const settings = { enableConnectProtocol: true };

const server = h2c
  ? http2.createServer({ settings })
  : http2.createSecureServer({
      cert: fs.readFileSync(process.argv[3]),
      key: fs.readFileSync(process.argv[4]),
      settings,
    });

function frame(op, payload) {
  const n = payload.length;
  let head;
  if (n <= 125) {
    head = Buffer.from([0x80 | op, n]);
  } else if (n <= 0xffff) {
    head = Buffer.alloc(4);
    head[0] = 0x80 | op;
    head[1] = 126;
    head.writeUInt16BE(n, 2);
  } else {
    head = Buffer.alloc(10);
    head[0] = 0x80 | op;
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(n), 2);
  }
  return Buffer.concat([head, payload]);
}

function serveWebSocket(stream) {
  const chunks = [];
  let have = 0;
  let message = null; // { op, parts } of a fragmented message
  let closeSent = false;

  // peek returns the first n bytes (n <= have) without consuming them.
  function peek(n) {
    if (chunks[0].length >= n) return chunks[0].subarray(0, n);
    const list = [];
    for (let i = 0, got = 0; got < n; i++) {
      list.push(chunks[i]);
      got += chunks[i].length;
    }
    return Buffer.concat(list, n);
  }

  // take consumes and returns the first n bytes.
  function take(n) {
    const out = Buffer.allocUnsafe(n);
    let off = 0;
    while (off < n) {
      const c = chunks[0];
      const k = Math.min(c.length, n - off);
      c.copy(out, off, 0, k);
      off += k;
      if (k === c.length) chunks.shift();
      else chunks[0] = c.subarray(k);
    }
    have -= n;
    return out;
  }

  function send(op, payload) {
    if (!stream.destroyed && !stream.writableEnded) stream.write(frame(op, payload));
  }

  function onMessage(op, data) {
    if (op === 1) {
      const m = /^close:(\d+):(.*)$/s.exec(data.toString());
      if (m) {
        const body = Buffer.alloc(2);
        body.writeUInt16BE(Number(m[1]));
        send(8, Buffer.concat([body, Buffer.from(m[2])]));
        closeSent = true;
        return;
      }
    }
    send(op, data);
  }

  function onFrame(fin, op, payload) {
    switch (op) {
      case 0x9:
        send(0xa, payload);
        return;
      case 0xa:
        return;
      case 0x8:
        if (!closeSent) send(8, payload.length >= 2 ? payload.subarray(0, 2 + Math.min(payload.length - 2, 123)) : payload);
        closeSent = true;
        stream.end();
        return;
      case 0x0:
        if (!message) return stream.close(http2.constants.NGHTTP2_PROTOCOL_ERROR);
        message.parts.push(payload);
        if (fin) {
          const m = message;
          message = null;
          onMessage(m.op, Buffer.concat(m.parts));
        }
        return;
      default:
        if (fin) onMessage(op, payload);
        else message = { op, parts: [payload] };
    }
  }

  function parse() {
    while (have >= 2) {
      const h = peek(Math.min(have, 14));
      const fin = (h[0] & 0x80) !== 0;
      const op = h[0] & 0x0f;
      const masked = (h[1] & 0x80) !== 0;
      let len = h[1] & 0x7f;
      let hl = 2;
      if (len === 126) {
        if (h.length < 4) return;
        len = h.readUInt16BE(2);
        hl = 4;
      } else if (len === 127) {
        if (h.length < 10) return;
        len = Number(h.readBigUInt64BE(2));
        hl = 10;
      }
      if (masked) hl += 4;
      if (have < hl + len) return;
      const head = take(hl);
      const payload = take(len);
      if (masked) {
        const key = head.subarray(hl - 4, hl);
        for (let i = 0; i < payload.length; i++) payload[i] ^= key[i & 3];
      }
      onFrame(fin, op, payload);
    }
  }

  stream.on('data', (d) => {
    chunks.push(d);
    have += d.length;
    parse();
  });
  stream.on('end', () => {
    if (!stream.writableEnded) stream.end();
  });
  stream.on('error', () => {});
}

server.on('stream', (stream, headers) => {
  if (headers[':method'] !== 'CONNECT' || headers[':protocol'] !== 'websocket') {
    stream.respond({ ':status': 400 });
    stream.end('not an extended CONNECT for websocket');
    return;
  }
  const offered = (headers['sec-websocket-protocol'] || '').split(',').map((s) => s.trim());
  const response = { ':status': 200 };
  const selected = supported.find((p) => offered.includes(p));
  if (selected) response['sec-websocket-protocol'] = selected;
  stream.respond(response);
  serveWebSocket(stream);
});
server.on('sessionError', () => {});

server.listen(port, '127.0.0.1', () =>
  console.log(`READY ${port} http2${h2c ? ' h2c' : ''}/node/${process.version}`),
);

for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => process.exit(0));
}
