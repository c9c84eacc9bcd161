"""The stack's background processes: spawn in their own session, pid files, stop, port and HTTP checks."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from . import config
from .config import HOST, ROOT, log

# Processes `down` stops, in this order (consumers first, moto last).
MANAGED = ["sqs-poller", "schedule", "admin-api", "ariba-network", "watch", "fault-proxy", "moto"]


def pid_file(name: str) -> Path:
    return config.LOCAL_DIR / f"{name}.pid"


def read_pid(name: str) -> int | None:
    try:
        pid = int(pid_file(name).read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return pid


def spawn(name: str, cmd: list[str], env: dict[str, str] | None = None) -> int:
    """Start cmd in the background in a new session (its own process group)."""
    config.LOCAL_DIR.mkdir(parents=True, exist_ok=True)
    running = read_pid(name)
    if running:
        log(f"{name} already runs (pid {running})")
        return running
    logf = open(config.LOCAL_DIR / f"{name}.log", "ab")
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=logf,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    pid_file(name).write_text(f"{proc.pid}\n")
    log(f"{name} started (pid {proc.pid}, log {config.LOCAL_DIR / (name + '.log')})")
    return proc.pid


def stop(name: str) -> None:
    pid = read_pid(name)
    pid_file(name).unlink(missing_ok=True)
    if pid is None:
        return
    try:
        group = os.getpgid(pid) == pid  # started by spawn(): its own process group
    except ProcessLookupError:
        return

    def send(sig: int) -> None:
        try:
            os.killpg(pid, sig) if group else os.kill(pid, sig)
        except ProcessLookupError:
            pass

    send(signal.SIGTERM)
    for _ in range(50):
        time.sleep(0.2)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
    else:
        send(signal.SIGKILL)
    # Children of the group that outlive their leader (e.g. a function binary).
    if group:
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    log(f"{name} stopped (pid {pid})")


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((HOST, port)) == 0


def wait_http(url: str, timeout: float, ok=lambda status: status < 500) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if ok(r.status):
                    return True
        except urllib.error.HTTPError as e:
            if ok(e.code):
                return True
        except (urllib.error.URLError, ConnectionError, socket.timeout):
            pass
        time.sleep(0.5)
    return False
