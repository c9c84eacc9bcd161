"""The pieces of `make bench-lambda` (scripts/bench_lambda.py): the emulated Lambda Runtime API
and the recording server, driven over HTTP the way the functions drive them. Offline."""

from __future__ import annotations

import datetime as dt
import hashlib
import http.client
import json
import threading
import unittest

import boto3
from botocore.config import Config

from localstack.recorded_aws import RecordedAws, Table, load_recording, shift_time
from localstack.runtime_api import PREFIX, RuntimeApi


def _function(api: RuntimeApi, answer, init_error: bool = False, chunked: bool = False):
    """A stand-in function process: polls `next` and answers each event with answer(event)."""

    def loop():
        conn = http.client.HTTPConnection(api.address, timeout=10)
        if init_error:
            conn.request("POST", f"{PREFIX}/init/error", body=b'{"errorMessage":"no config"}')
            conn.getresponse().read()
            return
        while True:
            try:
                conn.request("GET", f"{PREFIX}/invocation/next")
                r = conn.getresponse()
                event = r.read()
            except OSError:
                conn.close()
                return
            request_id = r.getheader("Lambda-Runtime-Aws-Request-Id")
            deadline = int(r.getheader("Lambda-Runtime-Deadline-Ms"))
            kind, body = answer(json.loads(event), deadline)
            path = f"{PREFIX}/invocation/{request_id}/{kind}"
            if chunked:
                conn.putrequest("POST", path)
                conn.putheader("transfer-encoding", "chunked")
                conn.endheaders()
                half = len(body) // 2
                for part in (body[:half], body[half:]):
                    conn.send(b"%x\r\n%s\r\n" % (len(part), part))
                conn.send(b"0\r\n\r\n")
            else:
                conn.request("POST", path, body=body)
            conn.getresponse().read()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    return thread


class RuntimeApiTest(unittest.TestCase):
    def test_hands_out_events_and_takes_responses_on_one_connection(self):
        with RuntimeApi() as api:
            _function(api, lambda e, d: ("response", json.dumps({"echo": e["n"], "deadline": d}).encode()))
            self.assertTrue(api.wait_for_init(10))
            self.assertIsNotNone(api.first_next_ns)
            for n in range(3):
                out = api.invoke(json.dumps({"n": n}).encode(), timeout=10, deadline_s=29)
                self.assertEqual(out.kind, "response")
                self.assertEqual(out.json()["echo"], n)
                self.assertGreater(out.json()["deadline"], 0)
                self.assertGreaterEqual(out.posted_ns, out.handed_ns)
            self.assertEqual(api.unexpected, [])

    def test_an_error_and_a_chunked_body_are_answers_too(self):
        with RuntimeApi() as api:
            _function(api, lambda e, d: ("error", b'{"errorType":"Boom","errorMessage":"' + b"x" * 50 + b'"}'),
                      chunked=True)
            out = api.invoke(b"{}", timeout=10)
            self.assertEqual(out.kind, "error")
            self.assertEqual(out.json()["errorType"], "Boom")

    def test_an_init_error_ends_the_wait_for_init(self):
        with RuntimeApi() as api:
            _function(api, None, init_error=True)
            self.assertTrue(api.wait_for_init(10))
            self.assertIn(b"no config", api.init_error)

    def test_no_answer_is_a_timeout(self):
        with RuntimeApi() as api:
            with self.assertRaises(TimeoutError):
                api.invoke(b"{}", timeout=0.05)


def _item(pk: str, sk: str, **attrs: str) -> dict:
    item = {"PK": {"S": pk}, "SK": {"S": sk}}
    item.update({k: {"S": v} for k, v in attrs.items()})
    return item


ITEMS = [
    _item("ORG#a", "ORG", data='{"name":"a"}'),
    _item("CHARGE#1", "CHARGE", GSI2PK="CHARGE#scheduled", GSI2SK="2026-01-01T00:00:00+00:00#1"),
    _item("CHARGE#2", "CHARGE", GSI2PK="CHARGE#scheduled", GSI2SK="2026-03-01T00:00:00+00:00#2"),
    _item("CHARGE#3", "CHARGE", GSI2PK="CHARGE#queued", GSI2SK="2026-01-01T00:00:00+00:00#3"),
    _item("MSGLOG#a", "MSG#2026-01-01#x"),
    _item("MSGLOG#a", "MSG#2026-02-01#y"),
]


class TableTest(unittest.TestCase):
    def query(self, **body):
        return Table(ITEMS).query(body)

    def test_queries_an_index_by_partition_and_sort_key_bound(self):
        out = self.query(IndexName="GSI2", KeyConditionExpression="GSI2PK = :pk AND GSI2SK < :upper",
                         ExpressionAttributeValues={":pk": {"S": "CHARGE#scheduled"},
                                                    ":upper": {"S": "2026-02-01T00:00:00+00:00$"}})
        self.assertEqual([i["PK"]["S"] for i in out["Items"]], ["CHARGE#1"])
        out = self.query(IndexName="GSI2", KeyConditionExpression="#p = :pk",
                         ExpressionAttributeNames={"#p": "GSI2PK"},
                         ExpressionAttributeValues={":pk": {"S": "CHARGE#scheduled"}})
        self.assertEqual(out["Count"], 2)

    def test_pages_with_limit_and_exclusive_start_key(self):
        body = dict(KeyConditionExpression="PK = :pk AND SK > :since", Limit=1,
                    ExpressionAttributeValues={":pk": {"S": "MSGLOG#a"}, ":since": {"S": "MSG#"}})
        first = Table(ITEMS).query(dict(body))
        self.assertEqual(first["Items"][0]["SK"]["S"], "MSG#2026-01-01#x")
        second = Table(ITEMS).query(dict(body, ExclusiveStartKey=first["LastEvaluatedKey"]))
        self.assertEqual(second["Items"][0]["SK"]["S"], "MSG#2026-02-01#y")
        self.assertNotIn("LastEvaluatedKey", second)

    def test_a_condition_it_does_not_know_is_refused(self):
        with self.assertRaises(KeyError):
            self.query(KeyConditionExpression="PK = :pk OR SK = :x",
                       ExpressionAttributeValues={":pk": {"S": "ORG#a"}, ":x": {"S": "ORG"}})


class RecordingTest(unittest.TestCase):
    def test_times_move_and_keep_their_shape(self):
        delta = dt.timedelta(days=2, hours=1)
        self.assertEqual(shift_time("due 2026-01-01T00:00:00+00:00#c1", delta), "due 2026-01-03T01:00:00+00:00#c1")
        self.assertEqual(shift_time("2026-01-01T23:30:00.123456789Z", delta), "2026-01-04T00:30:00.123456789Z")
        rec = {"captured_at": "2026-01-01T00:00:00Z", "base_url": "http://127.0.0.1:9100",
               "secrets": {"s": "v"},
               "items": [_item("ORG#a", "ORG", data='{"at":"2026-01-01T00:00:00Z","url":"http://127.0.0.1:9100/i"}'),
                         {"PK": {"S": "X"}, "SK": {"S": "Y"}, "claimed_until": {"N": "1767225600000"},
                          "attempts": {"N": "2"}}]}
        out = load_recording(rec, now=dt.datetime(2026, 1, 2, tzinfo=dt.timezone.utc), base_url="http://127.0.0.1:1")
        data = json.loads(out["items"][0]["data"]["S"])
        self.assertEqual(data, {"at": "2026-01-02T00:00:00Z", "url": "http://127.0.0.1:1/i"})
        self.assertEqual(out["items"][1]["claimed_until"], {"N": str(1767225600000 + 86_400_000)})
        self.assertEqual(out["items"][1]["attempts"], {"N": "2"})
        self.assertEqual(out["secrets"], {"s": "v"})


class RecordedAwsTest(unittest.TestCase):
    def client(self, aws: RecordedAws, service: str):
        return boto3.client(service, endpoint_url=aws.url, region_name="us-east-1",
                            aws_access_key_id="k", aws_secret_access_key="s",
                            config=Config(retries={"max_attempts": 1}))

    def test_answers_reads_from_the_recording_and_acknowledges_writes(self):
        with RecordedAws(ITEMS, {"sec": "value"}) as aws:
            ddb = self.client(aws, "dynamodb")
            got = ddb.get_item(TableName="t", Key={"PK": {"S": "ORG#a"}, "SK": {"S": "ORG"}})
            self.assertEqual(got["Item"]["data"]["S"], '{"name":"a"}')
            self.assertNotIn("Item", ddb.get_item(TableName="t", Key={"PK": {"S": "ORG#b"}, "SK": {"S": "ORG"}}))
            ddb.put_item(TableName="t", Item=_item("ORG#b", "ORG"))
            self.assertNotIn("Item", ddb.get_item(TableName="t", Key={"PK": {"S": "ORG#b"}, "SK": {"S": "ORG"}}),
                             "writes are not applied")
            ddb.transact_write_items(TransactItems=[{"Put": {"TableName": "t", "Item": _item("ORG#c", "ORG")}}])
            batch = ddb.batch_get_item(RequestItems={"t": {"Keys": [{"PK": {"S": "ORG#a"}, "SK": {"S": "ORG"}}]}})
            self.assertEqual(len(batch["Responses"]["t"]), 1)
            secret = self.client(aws, "secretsmanager").get_secret_value(SecretId="sec")
            self.assertEqual(secret["SecretString"], "value")
            sent = self.client(aws, "sqs").send_message(QueueUrl=f"{aws.url}/1/q", MessageBody="job")
            self.assertEqual(sent["MD5OfMessageBody"], hashlib.md5(b"job").hexdigest())
            self.client(aws, "sesv2").send_email(
                FromEmailAddress="a@b.example", Destination={"ToAddresses": ["c@d.example"]},
                Content={"Simple": {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}}})
            calls = aws.take_calls()
            self.assertEqual(calls["dynamodb:GetItem"], 3)
            self.assertEqual(calls["secretsmanager:GetSecretValue"], 1)
            self.assertEqual(calls["sqs:SendMessage"], 1)
            self.assertEqual(calls["ses:SendEmail"], 1)
            self.assertEqual(aws.misses, [])

    def test_what_it_has_no_answer_for_is_refused_and_kept(self):
        with RecordedAws(ITEMS, {}) as aws:
            with self.assertRaises(Exception):
                self.client(aws, "secretsmanager").get_secret_value(SecretId="unknown")
            self.assertEqual(len(aws.misses), 1)
            self.assertIn("unknown", aws.misses[0])

    def test_capture_mode_keeps_puts_and_secrets(self):
        with RecordedAws(capture=True) as aws:
            ddb = self.client(aws, "dynamodb")
            ddb.put_item(TableName="t", Item=_item("ORG#b", "ORG"))
            ddb.transact_write_items(TransactItems=[{"Put": {"TableName": "t", "Item": _item("ORG#c", "ORG")}}])
            self.client(aws, "secretsmanager").put_secret_value(SecretId="s", SecretString="v")
            snap = aws.snapshot(base_url="http://127.0.0.1:9100")
        self.assertEqual([i["PK"]["S"] for i in snap["items"]], ["ORG#b", "ORG#c"])
        self.assertEqual(snap["secrets"], {"s": "v"})

    def test_the_buyer_endpoint_answers_a_cxml_200(self):
        with RecordedAws() as aws:
            conn = http.client.HTTPConnection(aws.url.removeprefix("http://"), timeout=10)
            conn.request("POST", "/invoices", body=b"<cXML/>", headers={"content-type": "text/xml"})
            r = conn.getresponse()
            self.assertEqual(r.status, 200)
            self.assertIn(b'code="200"', r.read())
            self.assertEqual(aws.invoices_received, 1)
            conn.close()


if __name__ == "__main__":
    unittest.main()
