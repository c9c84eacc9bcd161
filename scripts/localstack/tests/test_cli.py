"""scripts/local_stack.py, the entry point: its commands and output, without starting a stack."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

from localstack import config

SCRIPT = config.ROOT / "scripts" / "local_stack.py"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((config.HOST, 0))
        return s.getsockname()[1]


class Cli(unittest.TestCase):
    def setUp(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.dir = Path(tmp.name)
        # A port something else listens on, and one nothing listens on.
        self.taken = socket.socket()
        self.addCleanup(self.taken.close)
        self.taken.bind((config.HOST, 0))
        self.taken.listen()
        self.env = {
            **os.environ,
            "LOCAL_DIR": str(self.dir),
            "MOTO_PORT": str(self.taken.getsockname()[1]),
            "WATCH_PORT": str(free_port()),
            "ARIBA_NETWORK_PORT": str(free_port()),
            "ADMIN_API_PORT": str(free_port()),
        }

    def run_cli(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, str(SCRIPT), *args], env=self.env, capture_output=True, text=True, timeout=60,
        )

    def test_status(self):
        (self.dir / "watch.pid").write_text(f"{os.getpid()}\n")
        done = self.run_cli("status")
        self.assertEqual(done.returncode, 0, done.stderr)
        moto, api = self.env["MOTO_PORT"], self.env["WATCH_PORT"]
        network = self.env["ARIBA_NETWORK_PORT"]
        self.assertEqual(
            done.stdout.splitlines(),
            [
                "sqs-poller    not running",
                "schedule      not running",
                "admin-api     not running",
                "ariba-network not running",
                f"watch         pid {os.getpid()}",
                "fault-proxy   not running",
                "moto          not running",
                f"moto          http://127.0.0.1:{moto}  (open)",
                f"api           http://127.0.0.1:{api}  (closed)",
                f"ariba network http://127.0.0.1:{network}/  (closed)",
                f"admin api     http://127.0.0.1:{self.env['ADMIN_API_PORT']}/  (closed)",
            ],
        )

    def test_up_refuses_a_moto_port_another_program_listens_on(self):
        done = self.run_cli("up")
        self.assertEqual(done.returncode, 1)
        self.assertIn(f"[local-stack] port {self.env['MOTO_PORT']} is taken by another program: set MOTO_PORT", done.stderr)
        self.assertFalse((self.dir / "stack.env").exists())

    def test_spawn_needs_a_command_and_never_spawns_moto(self):
        done = self.run_cli("spawn", "watch", "--")
        self.assertEqual(done.returncode, 2)
        self.assertIn("spawn: no command", done.stderr)
        done = self.run_cli("spawn", "moto", "--", "true")
        self.assertEqual(done.returncode, 2)  # argparse: not a choice
        self.assertFalse((self.dir / "moto.pid").exists())

    def test_down_with_nothing_running(self):
        done = self.run_cli("down")
        self.assertEqual((done.returncode, done.stderr), (0, ""))

    def test_emails_without_moto(self):
        self.env["MOTO_PORT"] = str(free_port())
        done = self.run_cli("emails")
        self.assertEqual(done.returncode, 1)
        self.assertIn(f"moto does not answer on http://127.0.0.1:{self.env['MOTO_PORT']}", done.stderr)


if __name__ == "__main__":
    unittest.main()
