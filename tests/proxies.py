"""The HTTP proxies the proxy suite (godot-project/tests/test_proxy.gd) runs against, started by
tests/run.py:

  tinyproxy       Debian's tinyproxy (installed with apt-get when missing), no authentication
  tinyproxy_auth  tinyproxy with `BasicAuth` (tinyproxy allows only [-a-z0-9._] in passwords)
  proxypy_auth    PyPI's proxy.py (pinned in peers/requirements.txt) with Basic authentication
                  and a password full of reserved characters
  bad             tests/peers/bad_proxy.py, the misbehaving proxy (behaviour by target host)

All listen on 127.0.0.1. Their ports, log files and credentials go into DIR/proxies.json, which
the suite reads (`--proxy-dir=DIR`); the suite also runs with proxy environment variables
(`suite_env`), to test `proxy_from_environment` in a Godot process started with them set.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

from procs import kill, spawn

TINYPROXY_USER = ("alice", "s3cret.pw-1")
# Reserved characters of URLs in the password, percent-encoded by the suite where it must be.
PROXYPY_USER = ("bob", "p@ss:w/rd%#?")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _wait(cond, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.1)
    return cond()


def ensure_tinyproxy(rep, logs: Path) -> str | None:
    """tinyproxy on PATH, installed from Debian's packages when missing (we run as root)."""
    found = shutil.which("tinyproxy")
    if found:
        rep.check("proxies", "tinyproxy is installed", True)
        return found
    rep.info("apt-get install tinyproxy")
    log = logs / "apt-tinyproxy.log"
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    with open(log, "wb") as out:
        try:
            ok = all(subprocess.run(cmd, stdout=out, stderr=out, env=env, timeout=600).returncode == 0
                     for cmd in (["apt-get", "update"], ["apt-get", "install", "-y", "tinyproxy"]))
        except (OSError, subprocess.TimeoutExpired) as e:  # no apt-get, or it hung
            out.write(f"\n{e}\n".encode())
            ok = False
    found = shutil.which("tinyproxy")
    if not rep.check("proxies", "tinyproxy installed with apt-get", ok and found is not None,
                     f"see {log}"):
        rep.show_tail(log)
    return found


def _start_tinyproxy(rep, exe: str, name: str, directory: Path, auth) -> tuple[subprocess.Popen | None, dict]:
    log = directory / f"{name}.log"
    conf = directory / f"{name}.conf"
    for _attempt in range(3):  # the port is picked before tinyproxy binds it: retry on a clash
        port = _free_port()
        log.write_text("")
        lines = [f"Port {port}", "Listen 127.0.0.1", "Timeout 60", f'LogFile "{log}"',
                 "LogLevel Connect", "MaxClients 50", "Allow 127.0.0.1"]
        if auth:
            lines.append(f"BasicAuth {auth[0]} {auth[1]}")
        conf.write_text("\n".join(lines) + "\n")
        with open(directory / f"{name}.out", "wb") as out:
            proc = spawn([exe, "-d", "-c", conf], stdout=out, stderr=subprocess.STDOUT)
        if _wait(lambda: _listening(port) or proc.poll() is not None, 10) and proc.poll() is None:
            rep.check("proxies", f"{name} listening", True)
            info = {"port": port, "log": str(log)}
            if auth:
                info.update(user=auth[0], password=auth[1])
            return proc, info
        kill(proc)
    rep.check("proxies", f"{name} listening", False, f"see {directory / (name + '.out')}")
    return None, {}


def _start_proxypy(rep, python: Path, directory: Path) -> tuple[subprocess.Popen | None, dict]:
    log = directory / "proxypy_auth.log"
    port_file = directory / "proxypy_auth.port"
    for stale in (log, port_file):
        stale.unlink(missing_ok=True)
    user, password = PROXYPY_USER
    with open(directory / "proxypy_auth.out", "wb") as out:
        proc = spawn([python, "-m", "proxy", "--hostname", "127.0.0.1", "--port", "0",
                      "--port-file", port_file, "--basic-auth", f"{user}:{password}",
                      "--log-file", log, "--log-level", "INFO", "--num-workers", "1",
                      "--num-acceptors", "1"], stdout=out, stderr=subprocess.STDOUT)
    port = 0

    def ready() -> bool:
        nonlocal port
        try:
            port = int(port_file.read_text().strip() or 0)
        except (OSError, ValueError):
            return False
        return port > 0 and _listening(port)

    if not rep.check("proxies", "proxy.py listening", _wait(ready, 20) and proc.poll() is None,
                     f"see {directory / 'proxypy_auth.out'}"):
        kill(proc)
        return None, {}
    return proc, {"port": port, "log": str(log), "user": user, "password": password}


def _start_bad_proxy(rep, python: Path, peers: Path, directory: Path) -> tuple[subprocess.Popen | None, dict]:
    record = directory / "bad_requests.jsonl"
    with open(directory / "bad_proxy.log", "wb") as err:
        proc = spawn([python, peers / "bad_proxy.py", "--record", record], stdout=subprocess.PIPE, stderr=err)
    port = 0
    line = b""
    end = time.monotonic() + 20
    while time.monotonic() < end and proc.poll() is None and not line.endswith(b"\n"):
        line += proc.stdout.read(1)
    if line.startswith(b"READY "):
        port = int(line.split()[1])
    if not rep.check("proxies", "bad_proxy.py ready", port > 0, f"see {directory / 'bad_proxy.log'}"):
        kill(proc)
        return None, {}
    return proc, {"port": port, "record": str(record)}


def start(rep, python: Path | None, peers: Path, logs: Path) -> tuple[list, Path | None]:
    """Starts every proxy; returns ([(name, process)], directory of proxies.json). A proxy that
    cannot start is a failed check, and the suite's checks that need it fail too."""
    directory = logs / "proxies"
    directory.mkdir(parents=True, exist_ok=True)
    procs, info = [], {}
    exe = ensure_tinyproxy(rep, logs)
    starters = []
    if exe:
        starters += [("tinyproxy", lambda: _start_tinyproxy(rep, exe, "tinyproxy", directory, None)),
                     ("tinyproxy_auth", lambda: _start_tinyproxy(rep, exe, "tinyproxy_auth", directory,
                                                                 TINYPROXY_USER))]
    if python:
        starters += [("proxypy_auth", lambda: _start_proxypy(rep, python, directory)),
                     ("bad", lambda: _start_bad_proxy(rep, python, peers, directory))]
    for name, starter in starters:
        proc, entry = starter()
        if proc:
            procs.append((name, proc))
            info[name] = entry
    (directory / "proxies.json").write_text(json.dumps(info, indent=1))
    rep.info("proxies on 127.0.0.1: " + ", ".join(f"{k} {v['port']}" for k, v in info.items()))
    return procs, directory


def suite_env(stem: str, directory: Path | None) -> dict | None:
    """The environment a suite starts with: the proxy suite gets proxy variables (lower and upper
    case, one with credentials) and a no_proxy list; the rest inherit the runner's."""
    if stem != "test_proxy" or directory is None:
        return None
    try:
        info = json.loads((directory / "proxies.json").read_text())
    except (OSError, ValueError):
        return None
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    if "tinyproxy" in info:
        env["http_proxy"] = f"http://127.0.0.1:{info['tinyproxy']['port']}"
    if "tinyproxy_auth" in info:
        user, password = TINYPROXY_USER
        env["HTTPS_PROXY"] = f"http://{user}:{password}@127.0.0.1:{info['tinyproxy_auth']['port']}/"
    env["no_proxy"] = "127.0.0.1, .bypass.invalid"
    return env
