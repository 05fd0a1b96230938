#!/usr/bin/env python3
"""Python `websockets` as a TLS server, for framewire's client.

Usage: python3 tests/interop/ws_server.py --cert CERT.pem --key KEY.pem [--no-deflate]

Listens on 127.0.0.1, on a free port, over TLS (wss://), and prints
"listening PORT" once ready; runs until killed. On /echo it echoes every
message (text as text, binary as binary); the text "close 4001" makes it
close with 4001 "bye". permessage-deflate is accepted unless --no-deflate.
Exits 3 when the `websockets` package is missing (install it with
scripts/setup.sh).
"""

import argparse
import asyncio
import ssl
import sys

try:
    import websockets
    from websockets.asyncio.server import serve
except ImportError:
    print(
        "python package 'websockets' is missing: run scripts/setup.sh "
        "(or: python3 -m pip install -r tests/interop/requirements.txt)",
        file=sys.stderr,
    )
    sys.exit(3)


async def handler(ws):
    if ws.request.path != "/echo":
        await ws.close(4004, "no such path")
        return
    async for msg in ws:
        if msg == "close 4001":
            await ws.close(4001, "bye")
            return
        await ws.send(msg)


async def main(args):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    compression = None if args.no_deflate else "deflate"
    async with serve(
        handler, "127.0.0.1", 0, ssl=ctx, compression=compression, max_size=2**25
    ) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"websockets {websockets.__version__}", file=sys.stderr, flush=True)
        print(f"listening {port}", flush=True)
        await asyncio.get_running_loop().create_future()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cert", required=True, help="PEM certificate chain")
    parser.add_argument("--key", required=True, help="PEM private key")
    parser.add_argument("--no-deflate", action="store_true", help="refuse permessage-deflate")
    asyncio.run(main(parser.parse_args()))
