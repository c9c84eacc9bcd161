"""scheduler.py: the template's scheduled functions and the EventBridge "Scheduled Event" they get."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import unittest
import uuid

from localstack import scheduler
from localstack.config import ACCOUNT_ID, REGION, STACK_NAME
from localstack.scheduler import scheduled_event, scheduled_targets

from .support import quiet, real_stack, synthetic_stack

RULE = f"arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/{STACK_NAME}-OfferExpiryCheckFunctionHourly"


class Targets(unittest.TestCase):
    def test_the_templates_schedule(self):
        self.assertEqual(scheduled_targets(real_stack()), [("offer-expiry-check", RULE, "rate(1 hour)")])

    def test_only_the_named_function(self):
        self.assertEqual(scheduled_targets(real_stack(), "offer-expiry-check"), [("offer-expiry-check", RULE, "rate(1 hour)")])
        self.assertEqual(scheduled_targets(real_stack(), "invoice-dispatch"), [])

    def test_schedule_v2_expression(self):
        text = """
Resources:
  F:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        Nightly: {Type: ScheduleV2, Properties: {ScheduleExpression: "cron(0 2 * * ? *)"}}
        Jobs: {Type: SQS, Properties: {Queue: !GetAtt Q.Arn}}
"""
        self.assertEqual(
            scheduled_targets(synthetic_stack(text)),
            [("F", f"arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/{STACK_NAME}-FNightly", "cron(0 2 * * ? *)")],
        )


class Event(unittest.TestCase):
    def test_shape(self):
        before = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
        event = scheduled_event(RULE)
        after = dt.datetime.now(dt.timezone.utc)
        self.assertEqual(
            {k: v for k, v in event.items() if k not in ("id", "time")},
            {
                "version": "0",
                "detail-type": "Scheduled Event",
                "source": "aws.events",
                "account": ACCOUNT_ID,
                "region": REGION,
                "resources": [RULE],
                "detail": {},
            },
        )
        self.assertEqual(set(event), {"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"})
        uuid.UUID(event["id"])
        time = dt.datetime.strptime(event["time"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)
        self.assertTrue(before <= time <= after, (before, time, after))

    def test_each_event_has_its_own_id(self):
        self.assertNotEqual(scheduled_event(RULE)["id"], scheduled_event(RULE)["id"])


class Run(unittest.TestCase):
    def run_once(self, status, response):
        calls = []

        def invoker(function, event, timeout):
            calls.append((function, event, timeout))
            return status, response

        out = io.StringIO()
        with quiet() as log, contextlib.redirect_stdout(out):
            code = scheduler.run([("offer-expiry-check", RULE, "rate(1 hour)")], every=0, timeout=12, invoker=invoker)
        return code, calls, out.getvalue(), log.getvalue()

    def test_once_invokes_each_target_and_prints_its_response(self):
        code, calls, out, log = self.run_once(200, {"expired": 2})
        self.assertEqual(code, 0)
        [(function, event, timeout)] = calls
        self.assertEqual((function, timeout, event["resources"]), ("offer-expiry-check", 12, [RULE]))
        self.assertEqual(json.loads(out), {"expired": 2})
        self.assertIn("offer-expiry-check (rate(1 hour)): status 200", log)

    def test_a_failed_invocation_fails_the_run(self):
        code, _, out, _ = self.run_once(500, "not json")
        self.assertEqual(code, 1)
        self.assertEqual(out, "not json\n")


if __name__ == "__main__":
    unittest.main()
