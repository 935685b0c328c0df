#!/usr/bin/env python3
"""A hand-written HTTP proxy that misbehaves on purpose, for the proxy suite.

Usage: bad_proxy.py --record FILE [--host 127.0.0.1]

It reads a CONNECT request head and then acts by the first label of the requested host (the
client sends the name unresolved, so names like `silent.invalid` are fine):
  silent     never answers (waits until the client hangs up)
  dribble    a valid `200 Connection established` head one byte every 20 ms, then a tunnel
  slowloris  `200 OK` and a header line that never ends, one byte every 200 ms
  garbage    `SSH-2.0-OpenSSH_9.2` instead of HTTP
  oversized  `200 OK` with a 20 KiB header line
  midclose   half a status line, then it closes the connection
  refuse403  `403 Forbidden` (with a small body), then closes
  stray      `200` followed by bytes of its own before the client spoke
  anything else  `200 Connection established`, then a tunnel to 127.0.0.1:<requested port>
Every request head it receives is appended to FILE as one JSON line {"head": "..."} (written
before it answers). Prints `READY <port>` when listening; logs go to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys

log = logging.getLogger("bad_proxy")
MAX_HEAD = 64 * 1024


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


async def tunnel(reader, writer, port: int, answer: bytes, per_byte: float = 0.0) -> None:
    try:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError as e:
        log.info("tunnel to 127.0.0.1:%d failed: %s", port, e)
        writer.write(b"HTTP/1.1 502 Bad Gateway\r\n\r\n")
        return
    if per_byte:
        for i in range(len(answer)):
            writer.write(answer[i:i + 1])
            await writer.drain()
            await asyncio.sleep(per_byte)
    else:
        writer.write(answer)
    await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, record: str) -> None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        writer.close()
        return
    text = head.decode("latin-1")
    with open(record, "a") as f:
        f.write(json.dumps({"head": text}) + "\n")
    parts = text.split("\r\n", 1)[0].split(" ")
    authority = parts[1] if len(parts) == 3 and parts[0] == "CONNECT" else ""
    host, _, port = authority.rpartition(":")
    behaviour = host.strip("[]").split(".")[0]
    log.info("CONNECT %s -> %s", authority, behaviour)
    try:
        if behaviour == "silent":
            while await reader.read(4096):
                pass
        elif behaviour == "dribble":
            await tunnel(reader, writer, int(port), b"HTTP/1.1 200 Connection established\r\n\r\n", 0.02)
        elif behaviour == "slowloris":
            writer.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
            while True:
                await writer.drain()
                await asyncio.sleep(0.2)
                writer.write(b"a")
        elif behaviour == "garbage":
            writer.write(b"SSH-2.0-OpenSSH_9.2\r\n")
            await writer.drain()
            while await reader.read(4096):
                pass
        elif behaviour == "oversized":
            writer.write(b"HTTP/1.1 200 OK\r\nX-Big: " + b"b" * (20 * 1024) + b"\r\n\r\n")
            await writer.drain()
            while await reader.read(4096):
                pass
        elif behaviour == "midclose":
            writer.write(b"HTTP/1.1 200 Conn")
            await writer.drain()
        elif behaviour == "refuse403":
            writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 9\r\n\r\nforbidden")
            await writer.drain()
        elif behaviour == "stray":
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\nHTTP/1.1 101 early")
            await writer.drain()
            while await reader.read(4096):
                pass
        else:
            await tunnel(reader, writer, int(port), b"HTTP/1.1 200 Connection established\r\n\r\n")
    except (ConnectionError, ValueError) as e:
        log.info("%s: %s", behaviour, e)
    finally:
        writer.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--record", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    open(args.record, "w").close()
    server = await asyncio.start_server(lambda r, w: handle(r, w, args.record), args.host, 0,
                                        limit=MAX_HEAD)
    print(f"READY {server.sockets[0].getsockname()[1]}", flush=True)
    await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
