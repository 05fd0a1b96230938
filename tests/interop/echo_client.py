#!/usr/bin/env python3
"""Python `websockets` as a client of an echo server (through `framewire proxy`).

Usage: python3 tests/interop/echo_client.py [--no-deflate] ws://127.0.0.1:PORT/echo

Sends text, binary, 1 MiB and 200 small JSON messages, checks each echo,
pings, then closes with 1000. Prints "extensions ..." (what was negotiated),
one "ok <check>" line per passed check and exits 0; on a failure it prints
"FAIL <check>: <why>" and exits 1. Exits 3 when `websockets` is missing.
"""

import asyncio
import json
import sys

try:
    from websockets.asyncio.client import connect
except ImportError:
    print("python package 'websockets' is missing: run scripts/setup.sh", file=sys.stderr)
    sys.exit(3)

TIMEOUT = 20


async def echo(ws, msg, check):
    await ws.send(msg)
    got = await asyncio.wait_for(ws.recv(), TIMEOUT)
    if got != msg:
        print(f"FAIL {check}: sent {len(msg)} got {len(got)}", flush=True)
        sys.exit(1)


async def main(url, deflate):
    compression = "deflate" if deflate else None
    async with connect(url, compression=compression, max_size=2**25) as ws:
        print(f"extensions {ws.response.headers.get('Sec-WebSocket-Extensions', '')}", flush=True)
        await echo(ws, "héllo ✓ 🦀 through the proxy", "text")
        print("ok text", flush=True)
        await echo(ws, bytes(range(256)), "binary")
        print("ok binary", flush=True)
        await echo(ws, bytes(i % 251 for i in range(1 << 20)), "big")
        print("ok big", flush=True)
        for i in range(200):
            await echo(ws, json.dumps({"seq": i, "text": "repeat " * 20}), "json")
        print("ok json", flush=True)
        pong = await ws.ping(b"py-ping")
        await asyncio.wait_for(pong, TIMEOUT)
        print("ok ping", flush=True)
        await ws.close(1000, "done")
        print("ok close", flush=True)


if __name__ == "__main__":
    args = sys.argv[1:]
    deflate = "--no-deflate" not in args
    urls = [a for a in args if not a.startswith("--")]
    asyncio.run(main(urls[0], deflate))
