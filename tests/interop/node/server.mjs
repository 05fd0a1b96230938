// Node's `ws` as a TLS server (https.createServer + WebSocketServer), for framewire's client.
//
// Usage: node tests/interop/node/server.mjs --cert CERT.pem --key KEY.pem [--no-deflate]
//
// Listens on 127.0.0.1, on a free port, over TLS (wss://), and prints "listening PORT"
// once ready; runs until killed. On /echo it echoes every message (text as text, binary
// as binary); the text "close 4001" makes it close with 4001 "bye". permessage-deflate
// is accepted unless --no-deflate. Exits 3 when `ws` is not installed (run
// scripts/setup.sh, or: npm ci --prefix tests/interop/node).

import { readFileSync } from 'node:fs';
import https from 'node:https';

let WebSocketServer;
try {
  ({ WebSocketServer } = await import('ws'));
} catch {
  console.error("node package 'ws' is missing: run scripts/setup.sh (or: npm ci --prefix tests/interop/node)");
  process.exit(3);
}

const args = process.argv.slice(2);
const value = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const cert = value('--cert');
const key = value('--key');
if (!cert || !key) {
  console.error('usage: node tests/interop/node/server.mjs --cert CERT.pem --key KEY.pem [--no-deflate]');
  process.exit(2);
}

const server = https.createServer({ cert: readFileSync(cert), key: readFileSync(key) });
const wss = new WebSocketServer({
  server,
  perMessageDeflate: !args.includes('--no-deflate'),
  maxPayload: 1 << 25,
});
wss.on('connection', (ws, req) => {
  if (req.url !== '/echo') {
    ws.close(4004, 'no such path');
    return;
  }
  ws.on('message', (data, isBinary) => {
    if (!isBinary && data.toString() === 'close 4001') {
      ws.close(4001, 'bye');
      return;
    }
    ws.send(data, { binary: isBinary });
  });
});
server.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
