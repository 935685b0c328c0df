#!/usr/bin/env python3
"""permessage-deflate peer for test_compression.gd: Python `websockets`, as server or as client.

Usage:
  deflate_peer.py serve --out FILE [--timeout S]
      Starts one echo server per VARIANT on 127.0.0.1 and writes {"ports": {variant: port}} to
      FILE. Each server echoes every message; the text message "wire?" is answered with a JSON
      object instead: {"bytes_in": bytes received since the handshake (frames as they were on
      the wire), "extensions": the Sec-WebSocket-Extensions answer it sent ("" for none)}.
      Exits by itself after --timeout seconds (default 120).
  deflate_peer.py URL --variant V --out FILE [--timeout S]
      Connects to URL offering the variant's parameters, sends MESSAGES, expects each echoed
      with its type and in order, then closes with 1000. Writes one JSON object to FILE (and
      stdout): ok, extensions (the server's answer), echoed, payload (bytes of the echoes),
      bytes_in (bytes received after the handshake), error.

Variants: "off" (no compression), "default" (websockets' own defaults: 12-bit windows, memory
level 5), "plain" (no parameters), "snct" (server_no_context_takeover), "cnct"
(client_no_context_takeover), "smwb9" (server_max_window_bits=9), "cmwb9"
(client_max_window_bits=9), "all" (all four, windows 10 and 11).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import threading

from websockets.asyncio.client import connect
from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed
from websockets.extensions.permessage_deflate import (
    ClientPerMessageDeflateFactory,
    ServerPerMessageDeflateFactory,
)

MAX_SIZE = 16 * 1024 * 1024

PARAMS = {
    "plain": {},
    "snct": {"server_no_context_takeover": True},
    "cnct": {"client_no_context_takeover": True},
    "smwb9": {"server_max_window_bits": 9},
    "cmwb9": {"client_max_window_bits": 9},
    "all": {"server_no_context_takeover": True, "client_no_context_takeover": True,
            "server_max_window_bits": 10, "client_max_window_bits": 11},
}
VARIANTS = ["off", "default"] + list(PARAMS)


def game_state(n: int) -> str:
    players = ",".join(f'{{"id":{i},"name":"player{i}","pos":[{i * 1.5:.1f},{n % 7}.25],"hp":{100 - i}}}'
                       for i in range(24))
    return f'{{"tick":{n},"players":[{players}]}}'


MESSAGES = [game_state(n) for n in range(6)] + ["ünïcode ✓", bytes(range(256)) * 16, b"", "x"]


def server_kwargs(variant: str) -> dict:
    if variant == "off":
        return {"compression": None}
    if variant == "default":
        return {"compression": "deflate"}
    return {"compression": None, "extensions": [ServerPerMessageDeflateFactory(**PARAMS[variant])]}


def client_kwargs(variant: str) -> dict:
    if variant == "off":
        return {"compression": None}
    if variant == "default":
        return {"compression": "deflate"}
    params = dict(PARAMS[variant])
    params.setdefault("client_max_window_bits", None)
    return {"compression": None, "extensions": [ClientPerMessageDeflateFactory(**params)]}


def count_bytes(connection) -> list:
    """Counts the bytes the connection receives from now on (frames, before inflating)."""
    counter = [0]
    original = connection.data_received

    def data_received(data: bytes) -> None:
        counter[0] += len(data)
        original(data)
    connection.data_received = data_received
    return counter


async def run_servers(args) -> None:
    ports = {}
    servers = []
    for variant in VARIANTS:
        async def handler(connection, variant=variant):
            counter = count_bytes(connection)
            extensions = connection.response.headers.get("Sec-WebSocket-Extensions", "")
            try:
                async for message in connection:
                    if message == "wire?":
                        await connection.send(json.dumps({"bytes_in": counter[0], "extensions": extensions}))
                    else:
                        await connection.send(message)
            except ConnectionClosed:
                pass
        server = await serve(handler, "127.0.0.1", 0, max_size=MAX_SIZE, max_queue=None,
                             ping_interval=None, **server_kwargs(variant))
        servers.append(server)
        ports[variant] = server.sockets[0].getsockname()[1]
    write(args.out, {"ports": ports})
    await asyncio.sleep(args.timeout)


async def run_client(args, result: dict) -> None:
    async with connect(args.url, max_size=MAX_SIZE, ping_interval=None, open_timeout=args.timeout,
                       **client_kwargs(args.variant)) as ws:
        result["opened"] = True
        result["extensions"] = ws.response.headers.get("Sec-WebSocket-Extensions", "")
        counter = count_bytes(ws)
        for message in MESSAGES:
            await ws.send(message)
        for message in MESSAGES:
            got = await asyncio.wait_for(ws.recv(), args.timeout)
            if got != message or type(got) is not type(message):
                result["error"] = f"echo {result['echoed']} differs: {str(got)[:60]!r}"
                break
            result["echoed"] += 1
            result["payload"] += len(got.encode() if isinstance(got, str) else got)
        await ws.close(1000)
        result["bytes_in"] = counter[0]
        result["close_code"] = ws.close_code


def write(path: str | None, obj: dict) -> None:
    line = json.dumps(obj)
    print(line, flush=True)
    if path:
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            f.write(line)
        os.replace(tmp, path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--variant", default="plain", choices=VARIANTS)
    parser.add_argument("--out")
    parser.add_argument("--timeout", type=float, default=None)
    args = parser.parse_args()
    if args.url == "serve":
        args.timeout = args.timeout or 120.0
        try:
            asyncio.run(asyncio.wait_for(run_servers(args), args.timeout + 5))
        except (asyncio.TimeoutError, TimeoutError):
            pass
        return 0
    args.timeout = args.timeout or 10.0
    result = {"client": "python-websockets", "variant": args.variant, "opened": False,
              "extensions": "", "echoed": 0, "sent": len(MESSAGES), "payload": 0, "bytes_in": 0,
              "close_code": None, "error": "", "ok": False}

    def give_up() -> None:
        result["error"] = result["error"] or f"gave up after {args.timeout} s"
        write(args.out, result)
        os._exit(1)
    watchdog = threading.Timer(args.timeout, give_up)
    watchdog.daemon = True
    watchdog.start()
    try:
        asyncio.run(run_client(args, result))
    except Exception as e:  # noqa: BLE001 - reported, not hidden
        result["error"] = result["error"] or f"{type(e).__name__}: {e}"
    watchdog.cancel()
    result["ok"] = (result["opened"] and not result["error"] and result["echoed"] == len(MESSAGES)
                    and result["close_code"] == 1000)
    write(args.out, result)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
