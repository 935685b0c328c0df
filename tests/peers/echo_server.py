#!/usr/bin/env python3
"""WebSocket peer for the GDScript suites: an independent (non-Godot) implementation to talk to.

Usage: echo_server.py [--port PORT] [--host 127.0.0.1]
Port 0 (the default) picks a free port. Once listening it prints exactly one line, `READY <port>`,
on stdout; everything else goes to stderr (the runner keeps it in tests/.logs/).

Behaviour by request path (query string parameters in brackets):
  /echo                      echo every message back with the same type (text/binary)
  /headers                   send one text message: JSON object of the request headers (names
                             lowercased, repeated headers joined with ",") plus "path" (request
                             target, query included); then echo like /echo
  /close[?code=N&reason=R]   close right after the handshake with that code (default 1000) and reason
  /send_then_close[?n=K]     send K text messages "m0".."m{K-1}" back to back, then close 1000 "done"
  /drop                      abort the TCP connection right after the handshake (no close frame)
  /protocol[?accept=a]       select sub-protocol `a` if the client offered it; then echo
Any other path behaves like /echo. Sub-protocols offered by the client are never a reason to reject
it: when the path does not ask for one, none is selected.
"""

import argparse
import asyncio
import json
import logging
import sys
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

# Larger than anything the suites send (1 MiB messages), so the server never closes with 1009.
MAX_SIZE = 16 * 1024 * 1024

log = logging.getLogger("echo_server")


def split_target(connection: ServerConnection) -> tuple[str, dict[str, str]]:
    """Path and first value of each query parameter of the request target."""
    parts = urlsplit(connection.request.path)
    return parts.path, {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}


def select_subprotocol(connection: ServerConnection, offered):
    # Only /protocol?accept=x selects anything; otherwise answer without a protocol (no rejection).
    path, query = split_target(connection)
    wanted = query.get("accept")
    if path == "/protocol" and wanted in offered:
        return wanted
    return None


async def echo(connection: ServerConnection) -> None:
    # Iterating ends normally on a clean close and raises ConnectionClosed on an abnormal one.
    async for message in connection:
        await connection.send(message)  # str stays text, bytes stay binary (empty ones too)


async def handler(connection: ServerConnection) -> None:
    path, query = split_target(connection)
    log.info("open %s from %s protocol=%r", connection.request.path,
             connection.remote_address, connection.subprotocol)
    try:
        if path == "/close":
            await connection.close(int(query.get("code", "1000")), query.get("reason", ""))
        elif path == "/send_then_close":
            for i in range(int(query.get("n", "1"))):
                await connection.send(f"m{i}")
            await connection.close(1000, "done")
        elif path == "/drop":
            connection.transport.abort()
        elif path == "/headers":
            headers: dict[str, str] = {}
            for name, value in connection.request.headers.raw_items():
                key = name.lower()
                headers[key] = f"{headers[key]},{value}" if key in headers else value
            headers["path"] = connection.request.path
            await connection.send(json.dumps(headers))
            await echo(connection)
        else:  # /echo, /protocol and anything else
            await echo(connection)
    except ConnectionClosed:
        pass
    log.info("done %s close_code=%r reason=%r", connection.request.path,
             connection.close_code, connection.close_reason)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    async with serve(
        handler, args.host, args.port,
        compression=None,          # Godot's WebSocketPeer never negotiates permessage-deflate
        max_size=MAX_SIZE,
        max_queue=None,            # no read backpressure: the suites pipeline 1000 messages
        ping_interval=None,        # no unsolicited pings: they would only add noise to the tests
        select_subprotocol=select_subprotocol,
    ) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"READY {port}", flush=True)
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
