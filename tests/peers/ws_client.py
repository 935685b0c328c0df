#!/usr/bin/env python3
"""WebSocket client for the server suites: Python `websockets` talking to a Godot server.

Usage: ws_client.py URL [--protocols a,b] [--close CODE] [--reason TEXT] [--ca FILE]
                        [--insecure] [--timeout SECONDS] [--out FILE]

Connects to URL (ws:// or wss://; --ca trusts that PEM file, --insecure checks nothing), sends
the text messages "hello" and "ünïcode ✓" and the binary messages bytes(0..255) and b"\\x00",
expects each echoed back with the same type and in order, then closes with CODE (default 1000)
and REASON. It prints exactly one line on stdout, a JSON object, and (with --out) also writes it
to FILE (atomically, through a temporary file), so a Godot suite can poll for it:

  client     "python-websockets"
  opened     whether the handshake completed
  status     HTTP status of the answer (101, or the error status such as 400/426)
  headers    response headers (lower-case names; repeated ones joined with ",")
  protocol   selected sub-protocol or ""
  echoed     number of messages echoed back correctly
  sent       number of messages sent
  close_code, close_reason   what the server answered to our close (or sent itself)
  error      "" or why the run failed
  ok         opened, everything echoed, and the server echoed our close code

The whole run is bounded by --timeout (default 10 s, each step and the total): the process always
exits by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import ssl
import sys
import threading

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

MESSAGES = ["hello", "ünïcode ✓", bytes(range(256)), b"\x00"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--protocols", default="")
    parser.add_argument("--close", type=int, default=1000)
    parser.add_argument("--reason", default="")
    parser.add_argument("--ca")
    parser.add_argument("--insecure", action="store_true")
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("--out")
    args = parser.parse_args()

    result = {"client": "python-websockets", "opened": False, "status": 0, "headers": {},
              "protocol": "", "echoed": 0, "sent": 0, "close_code": None, "close_reason": "",
              "error": "", "ok": False}

    # Hard bound on the whole run, whatever blocks: report what we have and exit.
    def give_up() -> None:
        result["error"] = result["error"] or f"gave up after {args.timeout} s"
        emit(result, args.out)
        os._exit(1)
    watchdog = threading.Timer(args.timeout, give_up)
    watchdog.daemon = True
    watchdog.start()
    # The asyncio client: the threaded sync client of websockets 15 sometimes loses the close
    # handshake over TLS (its reader thread sees "The read operation timed out").
    asyncio.run(run(args, result))
    watchdog.cancel()
    result["ok"] = (result["opened"] and not result["error"] and result["echoed"] == len(MESSAGES)
                    and result["close_code"] == args.close)
    emit(result, args.out)
    return 0 if result["ok"] else 1


async def run(args, result: dict) -> None:
    context = None
    if args.url.startswith("wss://"):
        context = ssl.create_default_context(cafile=args.ca)
        if args.insecure:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
    protocols = [p for p in args.protocols.split(",") if p] or None
    try:
        async with connect(args.url, ssl=context, subprotocols=protocols, open_timeout=args.timeout,
                           close_timeout=args.timeout, compression=None, max_size=None,
                           ping_interval=None) as ws:
            result["opened"] = True
            result["status"] = ws.response.status_code
            result["headers"] = headers_of(ws.response.headers)
            result["protocol"] = ws.subprotocol or ""
            for message in MESSAGES:
                await ws.send(message)
                result["sent"] += 1
            for message in MESSAGES:
                got = await asyncio.wait_for(ws.recv(), args.timeout)
                if got != message or type(got) is not type(message):
                    result["error"] = f"echo {result['echoed']}: got {got!r:.80}, want {message!r:.80}"
                    break
                result["echoed"] += 1
            await ws.close(args.close, args.reason)
            result["close_code"] = ws.close_code
            result["close_reason"] = ws.close_reason or ""
    except InvalidStatus as e:
        result["status"] = e.response.status_code
        result["headers"] = headers_of(e.response.headers)
        result["error"] = f"handshake refused: HTTP {e.response.status_code}"
    except ConnectionClosed as e:
        result["close_code"] = e.rcvd.code if e.rcvd else None
        result["close_reason"] = e.rcvd.reason if e.rcvd else ""
        result["error"] = f"connection closed: {e}"
    except Exception as e:  # noqa: BLE001 - the suite wants the cause as text, whatever it is
        result["error"] = f"{type(e).__name__}: {e}"


def headers_of(headers) -> dict:
    out: dict[str, str] = {}
    for name, value in headers.raw_items():
        key = name.lower()
        out[key] = f"{out[key]},{value}" if key in out else value
    return out


_emit_lock = threading.Lock()
_emitted = False


def emit(result: dict, out: str | None) -> None:
    """Reports once (the watchdog and the main thread may both try)."""
    global _emitted
    with _emit_lock:
        if _emitted:
            return
        _emitted = True
    line = json.dumps(result, ensure_ascii=False)
    print(line, flush=True)
    if out:
        tmp = out + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(line + "\n")
        os.replace(tmp, out)


if __name__ == "__main__":
    sys.exit(main())
