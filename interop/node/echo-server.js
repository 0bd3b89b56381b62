// Echo server for the wsclient interop tests, on Node.js and the ws package.
//
//   node echo-server.js PORT
//
// It echoes every text and binary message with the same opcode, selects the
// subprotocol "echo.v2" or "echo.v1" when the client offers one of them
// (RFC 6455 §4.2.2), and answers the text message "close:CODE:REASON" by
// starting the close handshake with that code and reason (§5.5.1). It
// prints "READY PORT" once it is listening, so the harness knows when to
// connect.
'use strict';

const { WebSocketServer } = require('ws');
const pkg = require('ws/package.json');

const port = Number(process.argv[2]);
const supported = ['echo.v2', 'echo.v1'];

const wss = new WebSocketServer({
  host: '127.0.0.1',
  port,
  maxPayload: 64 * 1024 * 1024,
  // permessage-deflate with context takeover; every message compressed.
  perMessageDeflate: { threshold: 0 },
  handleProtocols(offered) {
    for (const p of supported) {
      if (offered.has(p)) return p;
    }
    return false;
  },
});

wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => {
    if (!isBinary) {
      const m = /^close:(\d+):(.*)$/s.exec(data.toString());
      if (m) {
        ws.close(Number(m[1]), m[2]);
        return;
      }
    }
    ws.send(data, { binary: isBinary });
  });
  ws.on('error', (err) => console.error('connection error:', err.message));
});

wss.on('listening', () => console.log(`READY ${port} ws/${pkg.version} node/${process.version}`));

for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    for (const c of wss.clients) c.terminate();
    wss.close(() => process.exit(0));
  });
}
