// Bun's topics for the fan-out bench (scripts/bench.sh `fanout`, scripts/bench-fanout.sh):
// the same endpoint as `framewire serve`'s /chat, on Bun.serve (uWebSockets' topics inside).
//
// Usage: bun bench/node/bun-fanout.mjs PORT
//
// Listens on 127.0.0.1:PORT. A WebSocket upgrade at /chat/ROOM, or /chat?room=ROOM, or plain
// /chat (the room `lobby`) subscribes the connection to the topic `chat/ROOM` (a room is 1 to
// 128 letters, digits, '-' or '_'; another name is refused with 400, another path with 404).
// Every message a member sends is published to the topic for every other member, text as
// text and binary as binary: `ws.publish`, which is Bun's `server.publish` without the
// sender, as /chat relays to every member but the sender. No compression (the bench offers
// none). A member more than 16 MiB behind is closed (framewire's /chat: 16 MiB, then 1008);
// no idle timeout and no pings (the bench runs framewire with both off).
const [portArg] = process.argv.slice(2);
const port = Number(portArg);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error('usage: bun bun-fanout.mjs PORT');
  process.exit(2);
}
const ROOM = /^[A-Za-z0-9_-]{1,128}$/;

// The room a /chat request asks for, null when its name is not valid, undefined off /chat.
function roomOf(url) {
  const { pathname, searchParams } = new URL(url);
  if (pathname !== '/chat' && !pathname.startsWith('/chat/')) return undefined;
  const rest = pathname.slice('/chat/'.length);
  const name = rest !== '' ? rest : (searchParams.get('room') ?? 'lobby');
  return ROOM.test(name) ? name : null;
}

const server = Bun.serve({
  hostname: '127.0.0.1',
  port,
  fetch(req, srv) {
    const room = roomOf(req.url);
    if (room === undefined) return new Response('no WebSocket endpoint here: use /chat/ROOM\n', { status: 404 });
    if (room === null) return new Response('a chat room is 1 to 128 letters, digits, \'-\' or \'_\'\n', { status: 400 });
    if (srv.upgrade(req, { data: { topic: `chat/${room}` } })) return undefined;
    return new Response('a WebSocket chat: upgrade to talk\n', { status: 426 });
  },
  websocket: {
    perMessageDeflate: false,
    maxPayloadLength: 16 * 1024 * 1024,
    backpressureLimit: 16 * 1024 * 1024,
    closeOnBackpressureLimit: true,
    idleTimeout: 0,
    sendPings: false,
    publishToSelf: false,
    open(ws) {
      ws.subscribe(ws.data.topic);
    },
    message(ws, message) {
      ws.publish(ws.data.topic, message);
    },
  },
});
console.error(`bun fanout listening on ${server.hostname}:${server.port}`);
