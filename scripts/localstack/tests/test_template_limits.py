"""The time limits template.yaml sets against each other: what keeps an invoice batch inside its
invocation, a retry inside the queue's visibility timeout, and a re-queued charge behind the
dead-letter queue (issue 15)."""

from __future__ import annotations

import unittest

from localstack.template import load_template


class InvoiceLimits(unittest.TestCase):
    def setUp(self):
        self.template = load_template()
        self.params = self.template["Parameters"]
        self.resources = self.template["Resources"]
        self.dispatch = self.resources["InvoiceDispatchFunction"]["Properties"]

    def test_a_whole_batch_of_slowest_posts_fits_the_function_timeout(self):
        batch = self.dispatch["Events"]["InvoiceJobs"]["Properties"]["BatchSize"]
        slowest_post = self.params["InvoiceTimeoutSeconds"]["MaxValue"]
        # Even posted one after another (the function runs them at once), with a minute left
        # to read the charges, record each answer and report the batch.
        self.assertLessEqual(batch * slowest_post + 60, self.dispatch["Timeout"])

    def test_the_visibility_timeout_is_six_function_timeouts(self):
        queue = self.resources["InvoiceQueue"]["Properties"]
        # AWS Lambda developer guide, "Using Lambda with Amazon SQS": at least 6x the timeout.
        self.assertGreaterEqual(queue["VisibilityTimeout"], 6 * self.dispatch["Timeout"])

    def test_a_charge_is_handed_over_again_only_after_its_job_could_be_dead_lettered(self):
        queue = self.resources["InvoiceQueue"]["Properties"]
        receives = self.params["InvoiceMaxReceiveCount"]["Default"]
        dead_lettered_after = queue["VisibilityTimeout"] * receives
        requeue = self.params["JobRequeueMinutes"]
        self.assertGreater(requeue["Default"] * 60, dead_lettered_after)
        retention = self.resources["InvoiceDeadLetterQueue"]["Properties"]["MessageRetentionPeriod"]
        self.assertLess(requeue["MaxValue"] * 60, retention)
