"""Python `websockets` echo server for scripts/bench.sh.

Usage: python3 bench/python/websockets_echo.py PORT

Listens on 127.0.0.1:PORT and echoes every message (text as text, binary as binary).
permessage-deflate is on, as by default in websockets (it asks for 12-bit windows and
memLevel 5).
"""

import asyncio
import sys

from websockets.asyncio.server import serve


async def echo(ws):
    async for message in ws:
        await ws.send(message)


async def main(port):
    async with serve(echo, "127.0.0.1", port, max_size=64 * 1024 * 1024, ping_interval=None):
        print(f"websockets echo listening on 127.0.0.1:{port}", file=sys.stderr)
        await asyncio.get_running_loop().create_future()


if __name__ == "__main__":
    if len(sys.argv) != 2 or not sys.argv[1].isdigit():
        sys.exit("usage: python3 websockets_echo.py PORT")
    asyncio.run(main(int(sys.argv[1])))
