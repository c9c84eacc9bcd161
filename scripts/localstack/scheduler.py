"""EventBridge schedules, locally: the template's scheduled functions invoked with a "Scheduled Event"."""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid

from .config import ACCOUNT_ID, REGION, STACK_NAME, log
from .invoke import invoke
from .template import Stack


def scheduled_event(rule_arn: str) -> dict:
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [rule_arn],
        "detail": {},
    }


def scheduled_targets(stack: Stack, function: str | None = None) -> list[tuple[str, str, str]]:
    """(function, rule ARN, schedule expression) of each Schedule / ScheduleV2 event, of one
    function (by binary name) or all."""
    targets = []
    for lid, fn in stack.functions().items():
        for ev_name, ev in (fn["props"].get("Events") or {}).items():
            if ev.get("Type") in ("Schedule", "ScheduleV2"):
                if function and function != fn["name"]:
                    continue
                rule = f"arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/{STACK_NAME}-{lid}{ev_name}"
                schedule = (ev.get("Properties") or {}).get("Schedule") or (ev.get("Properties") or {}).get("ScheduleExpression")
                targets.append((fn["name"], rule, schedule))
    return targets


def run(targets: list[tuple[str, str, str]], every: float, timeout: float, invoker=invoke) -> int:
    """Invokes each target, printing its response; once (every=0) or forever. 1 if an invocation
    did not answer 200."""
    worst = 0
    while True:
        for function, rule, schedule in targets:
            status, response = invoker(function, scheduled_event(rule), timeout)
            log(f"{function} ({schedule}): status {status}")
            print(json.dumps(response) if not isinstance(response, str) else response, flush=True)
            if status != 200:
                worst = 1
        if not every:
            return worst
        time.sleep(every)
