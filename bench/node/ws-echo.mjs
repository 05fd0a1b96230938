// Node's `ws` echo server for scripts/bench.sh.
//
// Usage: node bench/node/ws-echo.mjs PORT [--deflate]
//
// Listens on 127.0.0.1:PORT; echoes every message (text as text, binary as binary).
// permessage-deflate is negotiated only with --deflate (`perMessageDeflate: true`: ws's
// defaults: zlib level 6, 15-bit windows, context takeover both ways; its 1 KiB threshold
// applies only without context takeover, so every echo is compressed).
import { WebSocketServer } from 'ws';

const [portArg, ...flags] = process.argv.slice(2);
const port = Number(portArg);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error('usage: node ws-echo.mjs PORT [--deflate]');
  process.exit(2);
}
const wss = new WebSocketServer({
  host: '127.0.0.1',
  port,
  perMessageDeflate: flags.includes('--deflate'),
  maxPayload: 64 * 1024 * 1024,
});
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', () => ws.terminate());
});
wss.on('listening', () => console.error(`ws echo listening on 127.0.0.1:${port}`));
