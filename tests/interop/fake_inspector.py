#!/usr/bin/env python3
"""A stand-in for `framewire proxy`'s inspector socket (protocol v1), for the page's tests.

Usage: python3 tests/interop/fake_inspector.py KEY

Listens on 127.0.0.1, on a free port, and prints "listening PORT" once ready. Serves
ws://127.0.0.1:PORT/__framewire/inspect?key=KEY (403 for any other key or path) as the
contract says, with one made-up relayed connection, #7 on /chat, carrying RFC 6455's
masked and unmasked "Hello" once the page attaches to it, then reporting 4096 bytes
dropped for the page. Every command the page sends
is printed as one JSON line ("command {...}"); an injection is confirmed ("injected"),
its frame sent back as an injected chunk, and an injected ping towards the upstream is
answered by the upstream's pong (a relayed chunk). Relays nothing: no connection is real.
"""

import asyncio
import json
import struct
import sys
from http import HTTPStatus

try:
    from websockets.asyncio.server import serve
except ImportError:
    print("python package 'websockets' is missing: run scripts/setup.sh", file=sys.stderr)
    sys.exit(3)

KEY = sys.argv[1]
REQUEST = (
    "GET /chat HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)
RESPONSE = (
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
)
CONN = {
    "id": 7, "peer": "127.0.0.1:5555", "path": "/chat", "upstream_url": "ws://127.0.0.1:1/chat",
    "status": 101, "protocol": None, "extensions": None, "request": REQUEST, "response": RESPONSE,
    "opened": 500.25, "bytes_up": 0, "bytes_down": 0, "frames_up": 0, "frames_down": 0,
    "state": "open", "tag": None,
}
MASKED_HELLO = bytes.fromhex("818537fa213d7f9f4d5158")
HELLO = bytes.fromhex("810548656c6c6f")


def chunk(kind, conn, t, data):
    return struct.pack(">BId", kind, conn, t) + data


def frame(opcode, payload, mask):
    head = bytes([0x80 | opcode, (0x80 if mask else 0) | len(payload)])
    if not mask:
        return head + payload
    key = bytes([1, 2, 3, 4])
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def refuse(connection, request):
    path, _, query = request.path.partition("?")
    if path != "/__framewire/inspect" or f"key={KEY}" not in query.split("&"):
        return connection.respond(HTTPStatus.FORBIDDEN, "wrong inspector key\n")
    return None


async def handler(ws):
    await ws.send(json.dumps({"type": "hello", "version": 1, "upstream": "ws://127.0.0.1:1", "now": 1000.5}))
    await ws.send(json.dumps({"type": "opened", "conn": CONN}))
    t = 1234.5678
    async for text in ws:
        print("command " + text, flush=True)
        cmd = json.loads(text)
        if cmd["type"] == "attach" and 7 in cmd["ids"]:
            await ws.send(json.dumps({"type": "opened", "conn": CONN}))
            await ws.send(chunk(0, 7, t, MASKED_HELLO))
            await ws.send(chunk(1, 7, t + 0.4323, HELLO))
            t += 1
            await ws.send(json.dumps({"type": "updated", "conn": dict(CONN, bytes_up=11, bytes_down=7, frames_up=1, frames_down=1)}))
            await ws.send(json.dumps({"type": "dropped", "id": 7, "bytes": 4096}))
        elif cmd["type"] == "inject":
            up = cmd["dir"] == "up"
            if cmd["what"] == "ping":
                payload = bytes.fromhex(cmd["payload_hex"])
                data = frame(0x9, payload, up)
            elif cmd["what"] == "close":
                payload = struct.pack(">H", cmd["code"]) + cmd["reason"].encode()
                data = frame(0x8, payload, up)
            else:
                data = bytes.fromhex(cmd["frame_hex"])
            await ws.send(json.dumps({"type": "injected", "id": cmd["id"], "dir": cmd["dir"], "what": cmd["what"], "at": t}))
            await ws.send(chunk(2 if up else 3, cmd["id"], t, data))
            if cmd["what"] == "ping":
                await ws.send(chunk(1 if up else 0, cmd["id"], t + 0.25, frame(0xA, payload, not up)))
            t += 1


async def main():
    async with serve(handler, "127.0.0.1", 0, process_request=refuse, compression=None) as server:
        print(f"listening {server.sockets[0].getsockname()[1]}", flush=True)
        await asyncio.get_running_loop().create_future()


if __name__ == "__main__":
    asyncio.run(main())
