"""supervisor.py: pid files, spawn in a session of its own, stop of the whole group, port and HTTP checks."""

from __future__ import annotations

import http.server
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from pathlib import Path
from unittest import mock

from localstack import config, supervisor
from localstack.supervisor import pid_file, port_open, read_pid, spawn, stop, wait_http

from .support import quiet


def reap(pid: int) -> None:
    """Waits for a child of this process in the background, as init would for spawn()'s children
    once `local_stack.py spawn` has exited (a zombie still counts as running for read_pid)."""

    def wait():
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:  # reaped by subprocess's own cleanup
            pass

    threading.Thread(target=wait, daemon=True).start()


def running(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


def wait_for(condition, within: float = 20.0):
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


class InTempLocalDir(unittest.TestCase):
    def setUp(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.dir = Path(tmp.name)
        patcher = mock.patch.object(config, "LOCAL_DIR", self.dir)
        patcher.start()
        self.addCleanup(patcher.stop)


class PidFiles(InTempLocalDir):
    def test_pid_file_is_in_the_local_dir(self):
        self.assertEqual(pid_file("watch"), self.dir / "watch.pid")

    def test_missing_or_garbage_pid_file(self):
        self.assertIsNone(read_pid("watch"))
        pid_file("watch").write_text("not a pid\n")
        self.assertIsNone(read_pid("watch"))

    def test_live_and_dead_processes(self):
        pid_file("watch").write_text(f"{os.getpid()}\n")
        self.assertEqual(read_pid("watch"), os.getpid())
        done = subprocess.Popen(["true"])
        done.wait()
        pid_file("watch").write_text(f"{done.pid}\n")
        self.assertIsNone(read_pid("watch"))


@unittest.skipUnless(Path("/proc/self/stat").exists(), "needs /proc")
class SpawnAndStop(InTempLocalDir):
    def test_spawn_writes_pid_and_log_and_starts_a_session(self):
        code = "import os; print('pgid is pid:', os.getpgid(0) == os.getpid(), flush=True)"
        with quiet() as log:
            pid = spawn("watch", [sys.executable, "-c", code])
        self.assertEqual(pid_file("watch").read_text(), f"{pid}\n")
        # spawn() drops its Popen, whose __del__ may already have reaped a child that exited
        # that fast (a bare os.waitpid then raised ECHILD on a fresh-clone CI run): wait for the
        # child to be gone (reaped, not a zombie), by whichever side gets there first.
        reap(pid)
        wait_for(lambda: read_pid("watch") is None)
        self.assertEqual((self.dir / "watch.log").read_text(), "pgid is pid: True\n")
        self.assertIn(f"watch started (pid {pid}, log {self.dir / 'watch.log'})", log.getvalue())

    def test_spawn_does_not_start_a_second_copy(self):
        with quiet():
            pid = spawn("schedule", ["sleep", "300"])
        reap(pid)
        self.addCleanup(lambda: running(pid) and os.kill(pid, signal.SIGKILL))
        with quiet() as log:
            self.assertEqual(spawn("schedule", ["sleep", "300"]), pid)
        self.assertIn(f"schedule already runs (pid {pid})", log.getvalue())
        with quiet():
            stop("schedule")
        self.assertFalse(running(pid))

    def test_stop_ends_the_group_including_children_that_ignore_sigterm(self):
        ready = self.dir / "grandchild.pid"
        grandchild = (
            "import os, signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
            f"open({str(ready) + '.tmp'!r}, 'w').write(str(os.getpid())); "
            f"os.rename({str(ready) + '.tmp'!r}, {str(ready)!r}); time.sleep(300)"
        )
        leader = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {grandchild!r}])"
        with quiet():
            pid = spawn("watch", [sys.executable, "-c", leader])
        reap(pid)
        wait_for(ready.exists)
        child = int(ready.read_text())
        self.addCleanup(lambda: running(child) and os.kill(child, signal.SIGKILL))
        self.assertTrue(running(child))
        with quiet() as log:
            stop("watch")
        # SIGKILL went to the group; its delivery (and the reaping) is asynchronous.
        wait_for(lambda: not running(pid), within=5)
        wait_for(lambda: not running(child), within=5)
        self.assertFalse(pid_file("watch").exists())
        self.assertIn(f"watch stopped (pid {pid})", log.getvalue())

    def test_stop_of_a_process_outside_a_group_of_its_own_signals_only_it(self):
        proc = subprocess.Popen(["sleep", "300"])  # same process group as the tests
        threading.Thread(target=proc.wait, daemon=True).start()
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        pid_file("sqs-poller").write_text(f"{proc.pid}\n")
        with quiet():
            stop("sqs-poller")
        wait_for(lambda: proc.returncode is not None)
        self.assertEqual(proc.returncode, -signal.SIGTERM)

    def test_stop_without_a_pid_file_does_nothing(self):
        with quiet() as log:
            stop("moto")
        self.assertEqual(log.getvalue(), "")

    def test_managed_order_stops_consumers_before_moto(self):
        self.assertEqual(
            supervisor.MANAGED, ["sqs-poller", "schedule", "admin-api", "ariba-network", "watch", "fault-proxy", "moto"]
        )


class Ports(unittest.TestCase):
    def test_port_open(self):
        with socket.socket() as s:
            s.bind((config.HOST, 0))
            s.listen()
            port = s.getsockname()[1]
            self.assertTrue(port_open(port))
        self.assertFalse(port_open(port))


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        status = int(self.path.strip("/"))
        self.send_response(status)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


class WaitHttp(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = http.server.ThreadingHTTPServer((config.HOST, 0), _Handler)
        threading.Thread(target=cls.server.serve_forever, daemon=True).start()
        cls.base = f"http://{config.HOST}:{cls.server.server_address[1]}"

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()
        cls.server.server_close()

    def test_any_answer_below_500_by_default(self):
        self.assertTrue(wait_http(f"{self.base}/200", 5))
        self.assertTrue(wait_http(f"{self.base}/404", 5))

    def test_the_ok_predicate_decides(self):
        self.assertTrue(wait_http(f"{self.base}/404", 5, ok=lambda s: s == 404))
        self.assertFalse(wait_http(f"{self.base}/503", 0.3))
        self.assertFalse(wait_http(f"{self.base}/404", 0.3, ok=lambda s: s == 200))

    def test_nothing_listening(self):
        with socket.socket() as s:
            s.bind((config.HOST, 0))
            port = s.getsockname()[1]
        self.assertFalse(wait_http(f"http://{config.HOST}:{port}/", 0.3))


if __name__ == "__main__":
    unittest.main()
