"""template.py: the real template.yaml as the local stack evaluates it, and each intrinsic function on small templates."""

from __future__ import annotations

import json
import unittest

from localstack import config
from localstack.config import ACCOUNT_ID, ENDPOINT, REGION, STACK_NAME, WATCH_URL
from localstack.resources import queue_attributes, table_args
from localstack.template import LOCAL_PARAMETERS, NoValue, env_file_text, parse_template, stack_env

from .support import real_stack, synthetic_stack


def queue_url(logical_id: str) -> str:
    return f"{ENDPOINT}/{ACCOUNT_ID}/{STACK_NAME}-{logical_id}"


def queue_arn(logical_id: str) -> str:
    return f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{STACK_NAME}-{logical_id}"


class RealTemplateTable(unittest.TestCase):
    def setUp(self):
        self.stack = real_stack()
        self.props = self.stack.props("Table")

    def test_key_schema_is_pk_hash_sk_range(self):
        self.assertEqual(
            self.props["KeySchema"],
            [{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
        )

    def test_two_gsis_with_their_own_keys_projecting_all(self):
        indexes = {ix["IndexName"]: ix for ix in self.props["GlobalSecondaryIndexes"]}
        self.assertEqual(set(indexes), {"GSI1", "GSI2"})
        for name, ix in indexes.items():
            self.assertEqual(
                ix["KeySchema"],
                [{"AttributeName": f"{name}PK", "KeyType": "HASH"}, {"AttributeName": f"{name}SK", "KeyType": "RANGE"}],
            )
            self.assertEqual(ix["Projection"], {"ProjectionType": "ALL"})

    def test_every_key_attribute_is_defined_as_a_string(self):
        defined = {a["AttributeName"]: a["AttributeType"] for a in self.props["AttributeDefinitions"]}
        keys = [k["AttributeName"] for k in self.props["KeySchema"]]
        for ix in self.props["GlobalSecondaryIndexes"]:
            keys += [k["AttributeName"] for k in ix["KeySchema"]]
        self.assertEqual({k: defined.get(k) for k in keys}, {k: "S" for k in keys})

    def test_create_table_arguments(self):
        args = table_args("t", self.props)
        self.assertEqual(args["BillingMode"], "PAY_PER_REQUEST")
        self.assertNotIn("ProvisionedThroughput", args)  # on-demand: none may be given
        self.assertEqual(args["SSESpecification"], {"Enabled": True})
        self.assertEqual([ix["IndexName"] for ix in args["GlobalSecondaryIndexes"]], ["GSI1", "GSI2"])

    def test_physical_values(self):
        phys = self.stack.ensure("Table")
        name = f"{STACK_NAME}-Table"
        self.assertEqual(phys["Ref"], name)
        self.assertEqual(phys["Arn"], f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{name}")


class RealTemplateQueues(unittest.TestCase):
    def test_invoice_queue_redrives_to_its_dead_letter_queue_after_the_parameter_count(self):
        attrs = queue_attributes(real_stack().props("InvoiceQueue"))
        self.assertEqual(
            json.loads(attrs["RedrivePolicy"]),
            {"deadLetterTargetArn": queue_arn("InvoiceDeadLetterQueue"), "maxReceiveCount": 5},
        )

    def test_max_receive_count_override_is_a_number(self):
        attrs = queue_attributes(real_stack(InvoiceMaxReceiveCount="2").props("InvoiceQueue"))
        self.assertEqual(json.loads(attrs["RedrivePolicy"])["maxReceiveCount"], 2)

    def test_invoice_queue_attributes(self):
        attrs = queue_attributes(real_stack().props("InvoiceQueue"))
        self.assertEqual(attrs["VisibilityTimeout"], "1440")
        self.assertEqual(attrs["MessageRetentionPeriod"], "1209600")
        self.assertEqual(attrs["SqsManagedSseEnabled"], "true")  # SQS wants "true", not "True"

    def test_dead_letter_queue_has_no_redrive_of_its_own(self):
        attrs = queue_attributes(real_stack().props("InvoiceDeadLetterQueue"))
        self.assertNotIn("RedrivePolicy", attrs)
        self.assertEqual(attrs["MessageRetentionPeriod"], "1209600")

    def test_physical_values(self):
        phys = real_stack().ensure("InvoiceQueue")
        self.assertEqual(phys["Ref"], queue_url("InvoiceQueue"))
        self.assertEqual(phys["Arn"], queue_arn("InvoiceQueue"))
        self.assertEqual(phys["QueueName"], f"{STACK_NAME}-InvoiceQueue")


class RealTemplateEnvironment(unittest.TestCase):
    def test_stack_env(self):
        env = stack_env(real_stack())
        self.assertEqual(
            env,
            {
                "AWS_ENDPOINT_URL": ENDPOINT,
                "AWS_REGION": REGION,
                "AWS_DEFAULT_REGION": REGION,
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "TABLE_NAME": f"{STACK_NAME}-Table",
                "INVOICE_QUEUE_URL": queue_url("InvoiceQueue"),
                "SENDER_EMAIL": LOCAL_PARAMETERS["SenderEmail"],
                # HasPublicBaseUrl holds with the local PublicBaseUrl: `cargo lambda watch`.
                "PUBLIC_BASE_URL": WATCH_URL,
                "SUPPLIER_DOMAIN": "NetworkID",
                "SUPPLIER_IDENTITY": "marketplace",
                "ARIBA_NETWORK_URL": config.ARIBA_NETWORK_URL,
                # Ref of a secret is its ARN (named only: this stack is not created).
                "ARIBA_NETWORK_SECRET_ID": (
                    f"arn:aws:secretsmanager:{REGION}:{ACCOUNT_ID}:secret:procurement/ariba-network"
                ),
                "ARIBA_SECRET_REREAD_SECONDS": "0",
                "JOB_REQUEUE_MINUTES": "1440",
                "JOB_MAX_QUEUEINGS": "3",
                "RUST_LOG": "info",
                # The invoice key's secret (its ARN; the value is read at cold start).
                "INVOICE_KEY_SECRET_ID": (
                    f"arn:aws:secretsmanager:{REGION}:{ACCOUNT_ID}:secret:procurement/invoice-key"
                ),
                "INVOICE_TIMEOUT_SECONDS": "20",
                "INVOICE_DLQ_URL": queue_url("InvoiceDeadLetterQueue"),
                "STACK_NAME": STACK_NAME,
                "MOTO_PORT": str(config.MOTO_PORT),
                "WATCH_PORT": str(config.WATCH_PORT),
                "ADMIN_API_URL": f"http://127.0.0.1:{config.ADMIN_API_PORT}/v1",
            },
        )

    def test_local_param_overrides(self):
        env = real_stack(
            SenderEmail="me@example.com", InvoiceTimeoutSeconds="3", LogLevel="debug",
            PublicBaseUrl="https://punchout.example.com",
        ).environment()
        self.assertEqual(env["SENDER_EMAIL"], "me@example.com")
        self.assertEqual(env["INVOICE_TIMEOUT_SECONDS"], "3")
        self.assertEqual(env["RUST_LOG"], "debug")
        self.assertEqual(env["PUBLIC_BASE_URL"], "https://punchout.example.com")

    def test_sender_identity_follows_the_sender_email(self):
        self.assertEqual(real_stack(SenderEmail="me@example.com").ensure("SenderIdentity"), {"Ref": "me@example.com"})

    def test_an_empty_public_base_url_needs_the_http_api_which_has_no_local_equivalent(self):
        stack = real_stack(PublicBaseUrl="")
        self.assertFalse(stack.condition("HasPublicBaseUrl"))
        with self.assertRaisesRegex(SystemExit, r"HttpApi \(AWS::ApiGatewayV2::Api\) has no local equivalent"):
            stack.environment()

    def test_env_file_text(self):
        text = env_file_text({"A": "1", "B": "http://x/y"})
        self.assertEqual(text, "A=1\nB=http://x/y\n")

    def test_env_file_refuses_values_that_need_quoting(self):
        for value in ("a b", 'a"b', "a'b", "a`b", "a$b", "a\\b", "a\nb"):
            with self.subTest(value=value), self.assertRaisesRegex(SystemExit, "not safe for an env file"):
                env_file_text({"K": value})


class RealTemplateConditions(unittest.TestCase):
    def test_alarm_email_condition_follows_the_parameter(self):
        self.assertFalse(real_stack().condition("HasAlarmEmail"))
        self.assertTrue(real_stack(AlarmEmail="ops@example.com").condition("HasAlarmEmail"))

    def test_alarm_actions_are_left_out_without_an_alarm_email(self):
        props = real_stack().props("InvoiceDeadLetterAlarm")
        self.assertNotIn("AlarmActions", props)
        self.assertEqual(props["Dimensions"], [{"Name": "QueueName", "Value": f"{STACK_NAME}-InvoiceDeadLetterQueue"}])

    def test_a_resource_whose_condition_is_false_is_disabled(self):
        with self.assertRaisesRegex(SystemExit, "AlarmTopic is disabled by its condition HasAlarmEmail"):
            real_stack().ensure("AlarmTopic")

    def test_with_an_alarm_email_the_topic_is_wanted_but_has_no_local_equivalent(self):
        with self.assertRaisesRegex(SystemExit, r"AlarmTopic \(AWS::SNS::Topic\) has no local equivalent"):
            real_stack(AlarmEmail="ops@example.com").props("InvoiceDeadLetterAlarm")

    def test_parameter_without_default_is_named(self):
        # SenderEmail has no default in the template; only LOCAL_PARAMETERS gives it one.
        text = "Parameters:\n  SenderEmail: {Type: String}\n  Other: {Type: String}\n"
        self.assertEqual(synthetic_stack(text, Other="x").params["SenderEmail"], LOCAL_PARAMETERS["SenderEmail"])
        with self.assertRaisesRegex(SystemExit, "Other has no default: set LOCAL_PARAM_Other"):
            synthetic_stack(text)


SMALL = """
Parameters:
  Env: {Type: String, Default: dev}
  Count: {Type: Number, Default: 3}
  Empty: {Type: String, Default: ""}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
  HasEmpty: !Not [!Equals [!Ref Empty, ""]]
  ProdOrEmpty: !Or [!Condition IsProd, !Condition HasEmpty]
  DevAndNotEmpty: !And [!Not [!Condition IsProd], !Condition HasEmpty]
Resources:
  Q:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: !Sub "${Env}-jobs"
  ProdOnly:
    Type: AWS::SQS::Queue
    Condition: IsProd
  Api:
    Type: AWS::ApiGatewayV2::Api
"""


class Loader(unittest.TestCase):
    def test_short_forms_become_long_forms(self):
        t = parse_template(
            "a: !Ref X\nb: !GetAtt Q.Arn\nc: !Sub 'x${Y}'\nd: !If [C, 1, 2]\ne: !Condition C\n"
            "f: !Join [',', [a, b]]\ng: !GetAtt [Q, QueueName]\n"
        )
        self.assertEqual(
            t,
            {
                "a": {"Ref": "X"},
                "b": {"Fn::GetAtt": ["Q", "Arn"]},
                "c": {"Fn::Sub": "x${Y}"},
                "d": {"Fn::If": ["C", 1, 2]},
                "e": {"Condition": "C"},
                "f": {"Fn::Join": [",", ["a", "b"]]},
                "g": {"Fn::GetAtt": ["Q", "QueueName"]},
            },
        )


class Intrinsics(unittest.TestCase):
    def setUp(self):
        self.stack = synthetic_stack(SMALL)

    def r(self, yaml_text: str):
        return self.stack.resolve(parse_template(yaml_text))

    def test_ref_parameter_default_and_override(self):
        self.assertEqual(self.r("!Ref Env"), "dev")
        self.assertEqual(synthetic_stack(SMALL, Env="prod").resolve({"Ref": "Env"}), "prod")
        self.assertEqual(self.r("!Ref Count"), "3")  # parameters are strings, as in CloudFormation

    def test_ref_pseudo_parameters(self):
        self.assertEqual(self.r("!Ref AWS::Region"), REGION)
        self.assertEqual(self.r("!Ref AWS::AccountId"), ACCOUNT_ID)
        self.assertEqual(self.r("!Ref AWS::StackName"), STACK_NAME)
        self.assertEqual(self.r("!Ref AWS::Partition"), "aws")

    def test_ref_and_get_att_of_a_resource(self):
        self.assertEqual(self.r("!Ref Q"), f"{ENDPOINT}/{ACCOUNT_ID}/dev-jobs")
        self.assertEqual(self.r("!GetAtt Q.Arn"), f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:dev-jobs")
        self.assertEqual(self.r("!GetAtt [Q, QueueName]"), "dev-jobs")
        self.assertEqual(self.stack.resolve({"Fn::GetAtt": "Q.QueueName"}), "dev-jobs")

    def test_get_att_of_an_unknown_attribute(self):
        with self.assertRaisesRegex(SystemExit, "Q.Nope: attribute not known locally"):
            self.r("!GetAtt Q.Nope")

    def test_unknown_resource(self):
        with self.assertRaisesRegex(SystemExit, "template has no resource Missing"):
            self.r("!Ref Missing")

    def test_sub(self):
        self.assertEqual(
            self.r("!Sub 'arn:${AWS::Partition}:x:${AWS::Region}:${AWS::AccountId}:${Env}/${Q.QueueName}/${Q}'"),
            f"arn:aws:x:{REGION}:{ACCOUNT_ID}:dev/dev-jobs/{ENDPOINT}/{ACCOUNT_ID}/dev-jobs",
        )

    def test_sub_literal_and_variables(self):
        self.assertEqual(self.r("!Sub '${!Literal}-${Env}'"), "${Literal}-dev")
        self.assertEqual(
            self.r("!Sub ['${Base}/order?n=${Count}', {Base: !Join ['', ['https://', !Ref Env]]}]"),
            "https://dev/order?n=3",
        )

    def test_if_and_conditions(self):
        self.assertEqual(self.r("!If [IsProd, on-prod, elsewhere]"), "elsewhere")
        prod = synthetic_stack(SMALL, Env="prod")
        self.assertEqual(prod.resolve(parse_template("!If [IsProd, on-prod, elsewhere]")), "on-prod")
        self.assertTrue(prod.condition("ProdOrEmpty"))
        self.assertFalse(self.stack.condition("ProdOrEmpty"))
        self.assertTrue(synthetic_stack(SMALL, Empty="x").condition("DevAndNotEmpty"))
        self.assertFalse(synthetic_stack(SMALL, Env="prod", Empty="x").condition("DevAndNotEmpty"))

    def test_if_evaluates_only_the_chosen_branch(self):
        # The other branch names a resource without a local equivalent: never resolved.
        self.assertEqual(self.r("!If [IsProd, !Ref Api, local]"), "local")

    def test_no_value_leaves_out_properties_and_list_items(self):
        self.assertEqual(
            self.r("{a: 1, b: !If [IsProd, 2, !Ref AWS::NoValue], c: [x, !Ref AWS::NoValue, y]}"),
            {"a": 1, "c": ["x", "y"]},
        )
        self.assertIs(self.r("!Ref AWS::NoValue"), NoValue)

    def test_join_select_split(self):
        self.assertEqual(self.r("!Join ['-', [a, !Ref Env, 3]]"), "a-dev-3")
        self.assertEqual(self.r("!Select [1, !Split [',', 'a,b,c']]"), "b")
        self.assertEqual(self.r("!Select ['0', [x, y]]"), "x")

    def test_resource_disabled_by_its_condition(self):
        with self.assertRaisesRegex(SystemExit, "ProdOnly is disabled by its condition IsProd"):
            self.r("!Ref ProdOnly")
        self.assertEqual(
            synthetic_stack(SMALL, Env="prod").resolve({"Ref": "ProdOnly"}),
            f"{ENDPOINT}/{ACCOUNT_ID}/{STACK_NAME}-ProdOnly",
        )

    def test_unsupported_function(self):
        with self.assertRaisesRegex(SystemExit, "Fn::FindInMap is not supported"):
            self.r("!FindInMap [M, a, b]")

    def test_resources_are_evaluated_once(self):
        self.assertIs(self.stack.ensure("Q"), self.stack.ensure("Q"))


if __name__ == "__main__":
    unittest.main()
