#!/usr/bin/env python3
"""Python `websockets` as a client against a framewire server.

Usage: python3 tests/interop/ws_client.py [--ca CA.pem] ws://127.0.0.1:PORT
       (or wss://127.0.0.1:PORT, trusting the CA certificates of CA.pem)

Prints one "ok <check>" line per passed check and exits 0; on a failure it
prints "FAIL <check>: <why>" and exits 1. Exits 3 when the `websockets`
package is missing (install it with scripts/setup.sh).
"""

import asyncio
import ssl
import sys

try:
    import websockets
    from websockets.asyncio.client import connect
except ImportError:
    print(
        "python package 'websockets' is missing: run scripts/setup.sh "
        "(or: python3 -m pip install -r tests/interop/requirements.txt)",
        file=sys.stderr,
    )
    sys.exit(3)

TIMEOUT = 10

# The TLS context of wss:// connections (--ca), else None.
SSL = None


def open_ws(url, **kwargs):
    """connect(), with the test CA trusted when one was given."""
    if SSL is not None:
        kwargs["ssl"] = SSL
    return connect(url, **kwargs)


class Failure(Exception):
    pass


def expect(name, got, want):
    if got != want:
        raise Failure(f"{name}: got {got!r:.200}, want {want!r:.200}")


async def greeting(base):
    async with open_ws(base + "/") as ws:
        ext = ws.response.headers.get("Sec-WebSocket-Extensions") or "none"
        print(f"extensions {ext}", flush=True)
        expect("greeting", await ws.recv(), "socket ok")
        await ws.send("hello from python")
        expect("echo on /", await ws.recv(), "hello from python")


async def echo(base):
    async with open_ws(base + "/echo", max_size=2**25) as ws:
        text = "héllo ✓ 🦀"
        await ws.send(text)
        expect("text echo", await ws.recv(), text)
        data = bytes(range(256))
        await ws.send(data)
        got = await ws.recv()
        expect("binary stays binary", type(got), bytes)
        expect("binary echo", got, data)
        big = bytes(i % 251 for i in range(1 << 20))
        await ws.send(big)
        expect("1 MiB echo", await ws.recv(), big)
        await ws.send(["frag", "mented ", "text"])
        expect("fragmented echo", await ws.recv(), "fragmented text")


async def ping(base):
    async with open_ws(base + "/echo") as ws:
        waiter = await ws.ping(b"py-ping")
        latency = await asyncio.wait_for(waiter, TIMEOUT)
        if latency < 0:
            raise Failure("ping: negative latency")


async def close_codes(base):
    ws = await open_ws(base + "/echo")
    await ws.close(code=4000, reason="custom")
    expect("close code echoed", ws.close_code, 4000)
    ws = await open_ws(base + "/echo")
    await ws.close()
    expect("normal close", ws.close_code, 1000)


async def chat(base):
    async with open_ws(base + "/chat") as a, open_ws(base + "/chat") as b:
        await asyncio.sleep(0.1)
        await a.send("hi b")
        expect("chat relay", await b.recv(), "hi b")
        await b.send(b"\x00\x01")
        expect("chat binary relay", await a.recv(), b"\x00\x01")


async def main(base):
    failed = False
    for check in (greeting, echo, ping, close_codes, chat):
        try:
            await asyncio.wait_for(check(base), TIMEOUT)
            print(f"ok {check.__name__}", flush=True)
        except Exception as e:  # report every check, keep going
            failed = True
            print(f"FAIL {check.__name__}: {type(e).__name__}: {e}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    args = sys.argv[1:]
    if len(args) == 3 and args[0] == "--ca":
        SSL = ssl.create_default_context(cafile=args[1])
        args = args[2:]
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    print(f"websockets {websockets.__version__}", flush=True)
    sys.exit(asyncio.run(main(args[0].rstrip("/"))))
