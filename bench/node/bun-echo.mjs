// Bun's WebSocket echo server for scripts/bench.sh (Bun.serve runs uWebSockets inside).
//
// Usage: bun bench/node/bun-echo.mjs PORT [--deflate]
//
// Listens on 127.0.0.1:PORT; upgrades every request and echoes every message (text as
// text, binary as binary). permessage-deflate is negotiated only with --deflate (Bun's
// `perMessageDeflate: true`: its defaults, no context takeover, shared compressor), and
// then every echo is sent compressed (Bun compresses only what `send(data, true)` asks).
const [portArg, ...flags] = process.argv.slice(2);
const port = Number(portArg);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error('usage: bun bun-echo.mjs PORT [--deflate]');
  process.exit(2);
}
const deflate = flags.includes('--deflate');
const server = Bun.serve({
  hostname: '127.0.0.1',
  port,
  fetch(req, srv) {
    if (srv.upgrade(req)) return undefined;
    return new Response('a WebSocket echo server: upgrade to talk', { status: 426 });
  },
  websocket: {
    perMessageDeflate: deflate,
    maxPayloadLength: 64 * 1024 * 1024,
    idleTimeout: 0,
    message(ws, message) {
      ws.send(message, deflate);
    },
  },
});
console.error(`bun echo listening on ${server.hostname}:${server.port}`);
