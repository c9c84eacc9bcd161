"""Shared settings of the local stack: paths, ports, region and account, read from the environment once."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
TEMPLATE = ROOT / "template.yaml"
# The modules read LOCAL_DIR and DELIVERIES as `config.LOCAL_DIR` at call time (not `from config
# import`), so the unit tests can point them at a temporary directory.
LOCAL_DIR = Path(os.environ.get("LOCAL_DIR", ROOT / ".local"))
HOST = "127.0.0.1"
MOTO_PORT = int(os.environ.get("MOTO_PORT", "5055"))
WATCH_PORT = int(os.environ.get("WATCH_PORT", "9000"))
STACK_NAME = os.environ.get("STACK_NAME", "procurement-local")
REGION = "us-east-1"
ACCOUNT_ID = "123456789012"  # moto's default account
ENDPOINT = f"http://{HOST}:{MOTO_PORT}"
WATCH_URL = f"http://{HOST}:{WATCH_PORT}"
# The SAP Ariba Network stand-in (ariba_network.py): where order confirmations go locally.
ARIBA_NETWORK_PORT = int(os.environ.get("ARIBA_NETWORK_PORT", "9002"))
ARIBA_NETWORK_URL = f"http://{HOST}:{ARIBA_NETWORK_PORT}/service/transaction/cxml.asp"
# The admin REST API stand-in (admin_api.py): API Gateway's SigV4 check and resource policy in
# front of the admin function.
ADMIN_API_PORT = int(os.environ.get("ADMIN_API_PORT", "9004"))
# One JSON line per message handed to a function, written once its outcome is settled (deleted,
# or back to the queue). Tests wait on it: "the message carrying charge X was deleted" is the
# condition after which no further delivery of it can happen.
DELIVERIES = LOCAL_DIR / "sqs-deliveries.jsonl"


def log(msg: str) -> None:
    print(f"[local-stack] {msg}", file=sys.stderr, flush=True)
