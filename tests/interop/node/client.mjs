// Node's `ws` as a client against a framewire server.
//
// Usage: node tests/interop/node/client.mjs [--ca CA.pem] ws://127.0.0.1:PORT
//        (or wss://127.0.0.1:PORT, trusting the CA certificates of CA.pem)
//
// Prints one "ok <check>" line per passed check and exits 0; on a failure it
// prints "FAIL <check>: <why>" and exits 1. Exits 3 when `ws` is not
// installed (run scripts/setup.sh, or: npm ci --prefix tests/interop/node).

import { readFileSync } from 'node:fs';

let WebSocket;
try {
  ({ default: WebSocket } = await import('ws'));
} catch {
  console.error("node package 'ws' is missing: run scripts/setup.sh (or: npm ci --prefix tests/interop/node)");
  process.exit(3);
}

const TIMEOUT = 10000;

const args = process.argv.slice(2);
// wss:// options: the test CA (--ca) instead of Node's built-in roots.
let tls = {};
if (args[0] === '--ca') {
  tls = { ca: readFileSync(args[1]) };
  args.splice(0, 2);
}

function open(url) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { maxPayload: 1 << 25, ...tls });
    const queue = [];
    const waiters = [];
    ws.on('message', (data, isBinary) => {
      const msg = { data, isBinary };
      const w = waiters.shift();
      if (w) w(msg); else queue.push(msg);
    });
    ws.next = () => new Promise((res) => {
      const m = queue.shift();
      if (m) res(m); else waiters.push(res);
    });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

function closed(ws) {
  return new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
}

function expect(name, got, want) {
  if (got !== want) throw new Error(`${name}: got ${String(got).slice(0, 200)}, want ${String(want).slice(0, 200)}`);
}

async function greeting(base) {
  const ws = await open(base + '/');
  console.log(`extensions ${ws.extensions || 'none'}`);
  const first = await ws.next();
  expect('greeting', first.data.toString(), 'socket ok');
  expect('greeting is text', first.isBinary, false);
  ws.send('hello from node');
  expect('echo on /', (await ws.next()).data.toString(), 'hello from node');
  ws.close(1000);
  expect('close', (await closed(ws)).code, 1000);
}

async function echo(base) {
  const ws = await open(base + '/echo');
  const text = 'héllo ✓ 🦀';
  ws.send(text);
  let m = await ws.next();
  expect('text echo', m.data.toString(), text);
  expect('text stays text', m.isBinary, false);
  const data = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  ws.send(data);
  m = await ws.next();
  expect('binary stays binary', m.isBinary, true);
  expect('binary echo', Buffer.compare(m.data, data), 0);
  const big = Buffer.alloc(1 << 20, 0).map((_, i) => i % 251);
  ws.send(big);
  m = await ws.next();
  expect('1 MiB echo', Buffer.compare(m.data, big), 0);
  ws.send('frag', { fin: false });
  ws.send('mented ', { fin: false });
  ws.send('text', { fin: true });
  expect('fragmented echo', (await ws.next()).data.toString(), 'fragmented text');
  ws.close();
  await closed(ws);
}

async function ping(base) {
  const ws = await open(base + '/echo');
  const pong = new Promise((resolve) => ws.once('pong', (data) => resolve(data.toString())));
  ws.ping('node-ping');
  expect('pong payload', await pong, 'node-ping');
  ws.close();
  await closed(ws);
}

async function closeCodes(base) {
  let ws = await open(base + '/echo');
  ws.close(4000, 'custom');
  let c = await closed(ws);
  expect('close code echoed', c.code, 4000);
  ws = await open(base + '/echo');
  ws.close(1000);
  c = await closed(ws);
  expect('normal close', c.code, 1000);
}

async function chat(base) {
  const a = await open(base + '/chat');
  const b = await open(base + '/chat');
  await new Promise((r) => setTimeout(r, 100));
  a.send('hi b');
  expect('chat relay', (await b.next()).data.toString(), 'hi b');
  a.close();
  b.close();
  await Promise.all([closed(a), closed(b)]);
}

const base = (args.length === 1 ? args[0] : '').replace(/\/$/, '');
if (!base) {
  console.error('usage: node tests/interop/node/client.mjs [--ca CA.pem] ws://127.0.0.1:PORT');
  process.exit(2);
}
let failed = false;
for (const check of [greeting, echo, ping, closeCodes, chat]) {
  try {
    await Promise.race([
      check(base),
      new Promise((_, reject) => setTimeout(() => reject(new Error('timed out')), TIMEOUT)),
    ]);
    console.log(`ok ${check.name}`);
  } catch (e) {
    failed = true;
    console.log(`FAIL ${check.name}: ${e.message}`);
  }
}
process.exit(failed ? 1 : 0);
