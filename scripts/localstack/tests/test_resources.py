"""resources.py: the template's table, queues and email identity created on moto (in process, moto.mock_aws)."""

from __future__ import annotations

import json
import unittest

from moto import mock_aws

from localstack import resources
from localstack.config import STACK_NAME
from localstack.resources import Moto
from localstack.template import Stack, load_template, stack_env

from .support import clean_env, quiet

TABLE = f"{STACK_NAME}-Table"
QUEUE = f"{STACK_NAME}-InvoiceQueue"
DLQ = f"{STACK_NAME}-InvoiceDeadLetterQueue"


class CreatedOnMoto(unittest.TestCase):
    def setUp(self):
        self.mock = mock_aws()
        self.mock.start()
        self.addCleanup(self.mock.stop)
        self.backend, self.stack = self.up(InvoiceMaxReceiveCount="4", SenderEmail="sender@example.com")

    def up(self, **params):
        # endpoint None: boto3's own endpoints, which mock_aws intercepts.
        backend = Moto(create=True, endpoint=None)
        with clean_env(**params):
            stack = Stack(load_template(), backend)
        with quiet() as self.log:
            resources.create_all(stack)
        return backend, stack

    def test_table_keys_indexes_and_settings(self):
        ddb = self.backend.client("dynamodb")
        table = ddb.describe_table(TableName=TABLE)["Table"]
        self.assertEqual(
            table["KeySchema"],
            [{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
        )
        indexes = {ix["IndexName"]: ix["KeySchema"] for ix in table["GlobalSecondaryIndexes"]}
        self.assertEqual(
            indexes,
            {
                n: [{"AttributeName": f"{n}PK", "KeyType": "HASH"}, {"AttributeName": f"{n}SK", "KeyType": "RANGE"}]
                for n in ("GSI1", "GSI2")
            },
        )
        self.assertEqual(table["BillingModeSummary"]["BillingMode"], "PAY_PER_REQUEST")
        ttl = ddb.describe_time_to_live(TableName=TABLE)["TimeToLiveDescription"]
        self.assertEqual((ttl["TimeToLiveStatus"], ttl["AttributeName"]), ("ENABLED", "ttl"))
        backups = ddb.describe_continuous_backups(TableName=TABLE)["ContinuousBackupsDescription"]
        self.assertEqual(backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"], "ENABLED")
        self.assertIn(f"table {TABLE} created (GSIs: GSI1, GSI2; TTL: ttl)", self.log.getvalue())

    def test_queue_redrive_and_visibility_timeout(self):
        sqs = self.backend.client("sqs")
        url = sqs.get_queue_url(QueueName=QUEUE)["QueueUrl"]
        attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        dlq_url = sqs.get_queue_url(QueueName=DLQ)["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.assertEqual(attrs["VisibilityTimeout"], "1440")
        self.assertEqual(attrs["MessageRetentionPeriod"], "1209600")
        self.assertEqual(json.loads(attrs["RedrivePolicy"]), {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 4})
        self.assertEqual(self.stack.ensure("InvoiceDeadLetterQueue")["Arn"], dlq_arn)
        self.assertIn(f"queue {QUEUE} ready (redrive after 4 receives)", self.log.getvalue())

    def test_the_env_names_the_queues_moto_created(self):
        sqs = self.backend.client("sqs")
        env = stack_env(self.stack)
        self.assertEqual(env["INVOICE_QUEUE_URL"], sqs.get_queue_url(QueueName=QUEUE)["QueueUrl"])
        self.assertEqual(env["INVOICE_DLQ_URL"], sqs.get_queue_url(QueueName=DLQ)["QueueUrl"])
        self.assertEqual(env["TABLE_NAME"], TABLE)

    def test_sender_identity_is_verified_for_both_ses_apis(self):
        identities = self.backend.client("sesv2").list_email_identities()["EmailIdentities"]
        self.assertEqual([i["IdentityName"] for i in identities], ["sender@example.com"])
        verified = self.backend.client("ses").list_verified_email_addresses()["VerifiedEmailAddresses"]
        self.assertIn("sender@example.com", verified)

    def test_up_again_on_the_same_moto_keeps_what_exists(self):
        ddb = self.backend.client("dynamodb")
        ddb.put_item(TableName=TABLE, Item={"PK": {"S": "a"}, "SK": {"S": "b"}})
        _, again = self.up(InvoiceMaxReceiveCount="4", SenderEmail="sender@example.com")
        self.assertIn(f"table {TABLE} exists", self.log.getvalue())
        self.assertEqual(ddb.scan(TableName=TABLE)["Count"], 1)
        self.assertEqual(again.ensure("InvoiceQueue")["Ref"], self.stack.ensure("InvoiceQueue")["Ref"])
        self.assertEqual(len(self.backend.client("sqs").list_queues()["QueueUrls"]), 2)


    def test_the_invoice_key_secret_is_a_generated_plain_string_and_kept(self):
        sm = self.backend.client("secretsmanager")
        arn = self.stack.ensure("InvoiceKeySecret")["Ref"]
        value = sm.get_secret_value(SecretId=arn)["SecretString"]
        self.assertEqual(len(value), 64)
        self.assertTrue(value.isalnum(), "ExcludePunctuation")
        self.assertEqual(self.stack.environment()["INVOICE_KEY_SECRET_ID"], arn)
        _, again = self.up(InvoiceMaxReceiveCount="4", SenderEmail="sender@example.com")
        self.assertEqual(again.ensure("InvoiceKeySecret")["Ref"], arn)
        self.assertEqual(sm.get_secret_value(SecretId=arn)["SecretString"], value, "kept: every buyer's invoice secret depends on it")

    def test_the_ariba_network_secret_is_generated_from_its_template_and_kept(self):
        sm = self.backend.client("secretsmanager")
        arn = self.stack.ensure("AribaNetworkSecret")["Ref"]
        value = json.loads(sm.get_secret_value(SecretId=arn)["SecretString"])
        self.assertEqual(value["supplier_anid"], "AN00000000000")
        self.assertEqual(len(value["shared_secret"]), 48)
        self.assertTrue(value["shared_secret"].isalnum(), "ExcludePunctuation")
        self.assertEqual(self.stack.environment()["ARIBA_NETWORK_SECRET_ID"], arn)
        sm.put_secret_value(SecretId=arn, SecretString='{"supplier_anid": "AN01", "shared_secret": "x"}')
        _, again = self.up(InvoiceMaxReceiveCount="4", SenderEmail="sender@example.com")
        self.assertEqual(again.ensure("AribaNetworkSecret")["Ref"], arn)
        kept = json.loads(sm.get_secret_value(SecretId=arn)["SecretString"])
        self.assertEqual(kept["shared_secret"], "x", "an existing secret's value is left alone")


class GeneratedSecretString(unittest.TestCase):
    def test_a_plain_secret_string_and_a_generated_one(self):
        self.assertEqual(resources.generated_secret_string({"SecretString": "abc"}), "abc")
        plain = resources.generated_secret_string({"GenerateSecretString": {"PasswordLength": 12}})
        self.assertEqual(len(plain), 12)
        keyed = json.loads(resources.generated_secret_string({"GenerateSecretString": {
            "SecretStringTemplate": '{"user": "u"}', "GenerateStringKey": "password",
            "PasswordLength": 20, "ExcludePunctuation": True,
        }}))
        self.assertEqual(keyed["user"], "u")
        self.assertTrue(len(keyed["password"]) == 20 and keyed["password"].isalnum())


class NamesOnly(unittest.TestCase):
    def test_no_client_is_made_without_create(self):
        backend = Moto(create=False)
        with clean_env():
            stack = Stack(load_template(), backend)
        resources.create_all(stack)
        self.assertEqual(backend._clients, {})
        self.assertEqual(
            set(stack.physical),
            {"Table", "InvoiceQueue", "InvoiceDeadLetterQueue", "SenderIdentity", "AribaNetworkSecret",
             "InvoiceKeySecret"},
        )

    def test_an_existing_invoice_key_secret_is_used_not_created(self):
        backend = Moto(create=False)
        arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:procurement/old-key-AbCdEf"
        with clean_env(InvoiceKeySecretArn=arn):
            stack = Stack(load_template(), backend)
        resources.create_all(stack)
        self.assertNotIn("InvoiceKeySecret", stack.physical)
        self.assertEqual(stack.environment()["INVOICE_KEY_SECRET_ID"], arn)

    def test_fifo_queue_names_end_in_fifo(self):
        phys = Moto(create=False).physical("Jobs", "AWS::SQS::Queue", {"FifoQueue": True, "QueueName": "jobs"})
        self.assertEqual(phys["QueueName"], "jobs.fifo")
        self.assertTrue(phys["Arn"].endswith(":jobs.fifo"))

    def test_handles_only_what_moto_stands_in_for(self):
        backend = Moto(create=False)
        self.assertTrue(backend.handles("AWS::SQS::Queue"))
        self.assertFalse(backend.handles("AWS::SNS::Topic"))


if __name__ == "__main__":
    unittest.main()
