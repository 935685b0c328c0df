#!/usr/bin/env python3
"""Fuzzes RustWebSocketPeer inside Godot over real TCP: `python3 tests/fuzz/run.py [options]`.

Starts godot-project/fuzz/fuzz_server.gd headless (a TCPServer whose connections go to
RustWebSocketPeer.accept_stream, and RustWebSocketPeer clients that connect to this script's own
hostile server), then sends mutated upgrade requests and frame streams over many TCP connections
(the server path) and answers the clients with mutated responses and frame streams (the client
path). Every input is one TCP connection: valid bytes, then maybe damaged (bad opcodes, RSV bits,
lengths, masking, invalid UTF-8, oversized or fragmented control frames, bit flips, truncation,
splices), sent in random chunks, then ended (FIN, silence, or a reset).

Checks, one line each, then `N passed, M failed` (exit status non-zero on failure):
  - Godot starts and listens; it stays alive through the run;
  - every connection the remote did not reset is closed by Godot within --conn-timeout seconds;
  - every client the scene started connected to the hostile server and was closed the same way;
  - Godot reports every peer (server and client side) CLOSED, with the right counts;
  - no `BAD` line (invalid close code, packet over the limit, accept_stream error);
  - no Rust panic and no script error in Godot's output.

Options: --inputs N (default 8000, about a minute), --seed S, --parallel N,
--conn-timeout S, --skip-import (when tests/run.py has imported godot-project already).
Godot's output goes to tests/.logs/fuzz-godot.log. Python standard library only.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import resource
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(TESTS))
import run as runner  # noqa: E402  (tests/run.py: finding Godot, importing the project, process groups)
from inputs import remote_bytes, request, response  # noqa: E402  (tests/fuzz/inputs.py: what the remotes send)

ROOT = runner.ROOT
PROJECT = runner.PROJECT
LOGS = runner.LOGS
PANIC = re.compile(r"panicked|Rust function panic|SCRIPT ERROR|Segmentation fault|Aborted|core dumped|"
                   r"Program crashed|handle_crash", re.I)


# ---- one connection ---------------------------------------------------------------------------

class Result:
    def __init__(self) -> None:
        self.done = 0
        self.reset_by_us = 0
        self.failures: list[str] = []


async def play(rng: random.Random, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
               data: bytes, timeout: float) -> str | None:
    """Sends data in random chunks, ends the connection one way or another, then waits for the
    peer to close it. Returns None when it did (or we reset it), else what went wrong."""
    received = bytearray()

    async def drain_peer() -> bool:
        while True:
            try:
                chunk = await reader.read(65536)
            except (ConnectionError, OSError):
                return True
            if not chunk:
                return True
            received.extend(chunk)

    drainer = asyncio.ensure_future(drain_peer())
    ending = rng.choice(["fin", "fin", "fin", "silent", "reset"])
    try:
        pos = 0
        mode = rng.randrange(4)
        while pos < len(data) and not drainer.done():
            n = len(data) if mode == 0 else rng.choice([1, rng.randint(1, 50), rng.randint(1, 5000)])
            writer.write(data[pos:pos + n])
            pos += n
            await writer.drain()
            if mode == 3 and rng.randrange(4) == 0:
                await asyncio.sleep(rng.random() * 0.05)
        if ending == "reset":
            sock = writer.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
            drainer.cancel()
            return "reset"
        if ending == "fin" and writer.can_write_eof():
            writer.write_eof()
    except (ConnectionError, OSError):
        pass  # the peer closed first: fine, as long as it did close
    try:
        await asyncio.wait_for(asyncio.shield(drainer), timeout)
    except asyncio.TimeoutError:
        drainer.cancel()
        return f"not closed by the peer within {timeout:.0f} s (ending {ending}, {len(data)} bytes sent, " \
               f"{len(received)} received: {bytes(received[:60])!r})"
    finally:
        writer.transport.abort()
    return None


async def server_path(port: int, seed: int, index: int, timeout: float, result: Result,
                      sem: asyncio.Semaphore) -> None:
    """One connection to Godot's TCPServer: a mutated upgrade request and frame stream."""
    async with sem:
        rng = random.Random(seed * 1_000_003 + index)
        clean = rng.randrange(3) == 0
        data = remote_bytes(rng, request(rng, clean), True, clean)
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError as e:
            result.failures.append(f"server case {index}: cannot connect: {e}")
            return
        why = await play(rng, reader, writer, data, timeout)
        if why == "reset":
            result.reset_by_us += 1
        elif why:
            result.failures.append(f"server case {index} (--seed {seed}): {why}")
        result.done += 1


class HostileServer:
    """Answers the scene's RustWebSocketPeer clients with mutated responses and frame streams."""

    def __init__(self, seed: int, timeout: float) -> None:
        self.seed, self.timeout = seed, timeout
        self.result = Result()
        self.count = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        index = self.count
        self.count += 1
        rng = random.Random(self.seed * 1_000_033 + index + 7)
        req = b""
        try:
            req = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 15)
        except (asyncio.TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError) as e:
            self.result.failures.append(f"client case {index}: no complete request: {type(e).__name__}")
            writer.transport.abort()
            return
        if not req.startswith(b"GET /fuzz/"):
            self.result.failures.append(f"client case {index}: request {req[:40]!r}")
        clean = rng.randrange(3) == 0
        data = remote_bytes(rng, response(rng, req, clean), False, clean)
        why = await play(rng, reader, writer, data, self.timeout)
        if why == "reset":
            self.result.reset_by_us += 1
        elif why:
            self.result.failures.append(f"client case {index} (--seed {self.seed}): {why}")
        self.result.done += 1


# ---- the run ----------------------------------------------------------------------------------

def wait_ready(log: Path, proc: subprocess.Popen, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if m := re.search(r"^READY (\d+)$", runner.read_text(log), re.M):
            return int(m.group(1))
        time.sleep(0.1)
    return 0


async def drive(args, rep: runner.Report, port: int, hostile: HostileServer, clients: int,
                proc: subprocess.Popen) -> Result:
    sem = asyncio.Semaphore(args.parallel)
    result = Result()
    inputs = args.inputs - clients
    tasks = [asyncio.ensure_future(server_path(port, args.seed, i, args.conn_timeout, result, sem))
             for i in range(inputs)]
    started = time.monotonic()
    last = 0.0
    while not all(t.done() for t in tasks) or hostile.result.done < clients:
        await asyncio.sleep(0.5)
        if proc.poll() is not None:
            break
        if time.monotonic() - last > 10:
            last = time.monotonic()
            runner.Report.info(f"{result.done}/{inputs} server-path inputs, {hostile.result.done}/{clients} "
                               f"client-path inputs, {time.monotonic() - started:.0f} s")
        if time.monotonic() - started > args.inputs * 2 + 120:
            break
    for t in tasks:
        t.cancel()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--inputs", type=int, default=8000, help="TCP connections in all (default 8000, about a minute)")
    parser.add_argument("--seed", type=int, default=None, help="seed (default: random, printed)")
    parser.add_argument("--parallel", type=int, default=96, help="server-path connections at once")
    parser.add_argument("--client-share", type=float, default=0.25, help="share of inputs on the client path")
    parser.add_argument("--conn-timeout", type=float, default=30, help="seconds for Godot to close a connection")
    parser.add_argument("--skip-import", action="store_true", help="do not import godot-project first")
    args = parser.parse_args()
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(1, 2**31)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, 65536) if hard != resource.RLIM_INFINITY else 65536
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))

    LOGS.mkdir(parents=True, exist_ok=True)
    rep = runner.Report()
    runner.Report.info(f"seed {args.seed}, {args.inputs} inputs")
    if args.skip_import:
        godot = subprocess.run(["bash", "tools/godot.sh"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
        godot = godot.splitlines()[-1] if godot else None
        rep.check("godot", "tools/godot.sh finds Godot 4", bool(godot))
    else:
        godot = runner.step_godot(rep)
    if not godot:
        print(f"{rep.passed} passed, {rep.failed} failed", flush=True)
        return 1

    clients = int(args.inputs * args.client_share)
    loop = asyncio.new_event_loop()
    hostile = HostileServer(args.seed, args.conn_timeout)
    srv = loop.run_until_complete(asyncio.start_server(hostile.handle, "127.0.0.1", 0, backlog=1024))
    client_port = srv.sockets[0].getsockname()[1]
    done_file = LOGS / "fuzz-done"
    done_file.unlink(missing_ok=True)
    log = LOGS / "fuzz-godot.log"
    out = open(log, "wb")
    timeout = args.inputs * 2 + 300
    proc = runner.spawn([godot, "--headless", "--path", PROJECT, "-s", "res://fuzz/fuzz_server.gd", "--",
                         "--port=0", f"--client-port={client_port}", f"--clients={clients}",
                         f"--done-file={done_file}", f"--timeout={timeout}", f"--seed={args.seed}"],
                        stdout=out, stderr=subprocess.STDOUT)
    out.close()
    started = time.monotonic()
    try:
        port = wait_ready(log, proc, 60)
        if not rep.check("fuzz", "Godot runs fuzz_server.gd and listens", port > 0, "no READY line within 60 s"):
            rep.show_tail(log)
            print(f"{rep.passed} passed, {rep.failed} failed", flush=True)
            return 1
        result = loop.run_until_complete(drive(args, rep, port, hostile, clients, proc))
        alive = proc.poll() is None
        rep.check("fuzz", "Godot stayed alive through every input", alive,
                  f"exited with status {proc.returncode} after {time.monotonic() - started:.0f} s")
        inputs = args.inputs - clients
        for label, res, total in (("server path (accept_stream)", result, inputs),
                                  ("client path (connect_to_url)", hostile.result, clients)):
            detail = "; ".join(res.failures[:5]) + (f" (+{len(res.failures) - 5} more)" if len(res.failures) > 5 else "")
            rep.check("fuzz", f"{label}: {total} inputs, every connection closed by the peer within "
                      f"{args.conn_timeout:.0f} s ({res.reset_by_us} reset by us first)",
                      res.done == total and not res.failures,
                      detail or f"only {res.done} of {total} inputs finished")
        done_file.write_text("done\n")
        try:
            proc.wait(60 if alive else 1)
        except subprocess.TimeoutExpired:
            pass
        text = runner.read_text(log)
        m = re.search(r"^FUZZ_DONE accepted=(\d+) server_closed=(\d+) clients=(\d+) clients_closed=(\d+) "
                      r"opened=(\d+) packets=(\d+) sent=(\d+) bad=(\d+)$", text, re.M)
        if m:
            acc, sclosed, cl, cclosed, opened, packets, sent, bad = map(int, m.groups())
            runner.Report.info(f"godot: accepted {acc}, {opened} opened, {packets} packets read, {sent} sent")
            rep.check("fuzz", "Godot reports every peer CLOSED (server and client side)",
                      acc == sclosed and cl == cclosed and acc >= inputs - result.reset_by_us and cl == clients,
                      f"accepted {acc}, closed {sclosed}; clients {cl}, closed {cclosed}; expected "
                      f"{inputs} accepted, {clients} clients")
        else:
            why = re.search(r"^FUZZ_TIMEOUT.*$", text, re.M)
            rep.check("fuzz", "Godot reports every peer CLOSED (server and client side)", False,
                      why.group(0) if why else f"no FUZZ_DONE line (exit status {proc.poll()})")
        bad_lines = re.findall(r"^BAD .*$", text, re.M)
        rep.check("fuzz", "no peer broke a rule (BAD lines)", not bad_lines, "; ".join(bad_lines[:5]))
        panics = [line for line in text.splitlines() if PANIC.search(line)]
        rep.check("fuzz", "no Rust panic, crash or script error in Godot's output", not panics,
                  "; ".join(panics[:5]))
        rep.check("fuzz", "Godot exited cleanly", proc.poll() == 0, f"exit status {proc.poll()}")
        if rep.failed:
            rep.show_tail(log)
        runner.Report.info(f"{args.inputs} inputs in {time.monotonic() - started:.0f} s (seed {args.seed}); "
                           f"log: {log.relative_to(ROOT)}")
    finally:
        runner.kill(proc)
        srv.close()
        loop.close()
        done_file.unlink(missing_ok=True)
    print(f"{rep.passed} passed, {rep.failed} failed", flush=True)
    return 1 if rep.failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
    finally:
        runner.kill_all()
