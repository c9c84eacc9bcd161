"""Invoking a function through `cargo lambda watch`'s Lambda invoke API (for the poller and the scheduler)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from .config import WATCH_URL


def invoke(function: str, event: dict, timeout: float) -> tuple[int, Any]:
    """Invoke a function through cargo lambda watch's Lambda invoke API."""
    req = urllib.request.Request(
        f"{WATCH_URL}/2015-03-31/functions/{function}/invocations",
        data=json.dumps(event).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            status, body = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, body = e.code, e.read()
    try:
        return status, json.loads(body) if body else None
    except json.JSONDecodeError:
        return status, body.decode(errors="replace")
