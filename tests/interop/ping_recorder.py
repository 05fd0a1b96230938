#!/usr/bin/env python3
"""Python `websockets` echo server (permessage-deflate on) that reports the pings it gets.

Usage: python3 tests/interop/ping_recorder.py

Listens on 127.0.0.1, on a free port, prints "listening PORT" once ready, echoes every
message on any path, and prints "ping HEX" for every ping frame it receives (from the
library's frame log), so a test can see that a ping reached the server side.
"""

import asyncio
import logging
import sys

try:
    from websockets.asyncio.server import serve
except ImportError:
    print("python package 'websockets' is missing: run scripts/setup.sh", file=sys.stderr)
    sys.exit(3)


class Pings(logging.Handler):
    """Prints the pings among the frames websockets logs at debug level."""

    def emit(self, record):
        if record.msg != "< %s" or not record.args:
            return
        frame = record.args[0]
        if getattr(frame, "opcode", None) is not None and frame.opcode.name == "PING":
            print(f"ping {bytes(frame.data).hex()}", flush=True)


async def echo(ws):
    async for msg in ws:
        await ws.send(msg)


async def main():
    log = logging.getLogger("websockets")
    log.setLevel(logging.DEBUG)
    log.addHandler(Pings())
    async with serve(echo, "127.0.0.1", 0, compression="deflate", max_size=2**25) as server:
        print(f"listening {server.sockets[0].getsockname()[1]}", flush=True)
        await asyncio.get_running_loop().create_future()


if __name__ == "__main__":
    asyncio.run(main())
