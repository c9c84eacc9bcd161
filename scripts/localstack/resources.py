"""The template's table, queues (with redrive) and SES identity, created on moto as template.yaml defines them."""

from __future__ import annotations

import json
import secrets
import string
import urllib.request
from typing import Any

from .config import ACCOUNT_ID, ENDPOINT, REGION, STACK_NAME, log

# What `up` creates, in this order (a queue's redrive target is created with it, whatever the order).
CREATED_TYPES = (
    "AWS::DynamoDB::Table",
    "AWS::SQS::Queue",
    "AWS::SES::EmailIdentity",
    "AWS::SecretsManager::Secret",
)

# CloudFormation queue properties that are SQS attributes of the same name.
QUEUE_ATTRIBUTES = [
    "ContentBasedDeduplication", "DeduplicationScope", "DelaySeconds", "FifoQueue",
    "FifoThroughputLimit", "KmsDataKeyReusePeriodSeconds", "KmsMasterKeyId",
    "MaximumMessageSize", "MessageRetentionPeriod", "ReceiveMessageWaitTimeSeconds",
    "SqsManagedSseEnabled", "VisibilityTimeout",
]


def physical_name(logical_id: str, given: str | None) -> str:
    return given or f"{STACK_NAME}-{logical_id}"


def table_args(name: str, p: dict) -> dict[str, Any]:
    """CreateTable arguments for the resolved properties of an AWS::DynamoDB::Table."""
    billing = p.get("BillingMode", "PROVISIONED")
    args: dict[str, Any] = {
        "TableName": name,
        "AttributeDefinitions": p["AttributeDefinitions"],
        "KeySchema": p["KeySchema"],
        "BillingMode": billing,
    }
    if billing == "PROVISIONED":
        args["ProvisionedThroughput"] = p["ProvisionedThroughput"]
    for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        if p.get(key):
            args[key] = [
                {k: ix[k] for k in ("IndexName", "KeySchema", "Projection", "ProvisionedThroughput") if k in ix}
                for ix in p[key]
            ]
    if "StreamSpecification" in p:
        args["StreamSpecification"] = {
            "StreamEnabled": True,
            "StreamViewType": p["StreamSpecification"]["StreamViewType"],
        }
    sse = p.get("SSESpecification")
    if sse:
        args["SSESpecification"] = {
            "Enabled": bool(sse.get("SSEEnabled")),
            **({"SSEType": sse["SSEType"]} if "SSEType" in sse else {}),
        }
    return args


def queue_attributes(p: dict) -> dict[str, str]:
    """CreateQueue attributes for the resolved properties of an AWS::SQS::Queue."""
    attrs = {}
    for key in QUEUE_ATTRIBUTES:
        if key in p:
            value = p[key]
            attrs[key] = str(value).lower() if isinstance(value, bool) else str(value)
    for key in ("RedrivePolicy", "RedriveAllowPolicy"):
        if key in p:
            policy = dict(p[key])
            if "maxReceiveCount" in policy:
                policy["maxReceiveCount"] = int(policy["maxReceiveCount"])
            attrs[key] = json.dumps(policy)
    return attrs


class Moto:
    """The template's resources on moto: created there (create=True) or only named, as
    CloudFormation would name them (create=False, for commands that use an existing stack)."""

    def __init__(self, create: bool = True, endpoint: str | None = ENDPOINT):
        self.create = create
        # None: boto3's own endpoints (what moto.mock_aws intercepts in the unit tests).
        self.endpoint = endpoint
        self._clients: dict[str, Any] = {}
        self._creators = {
            "AWS::DynamoDB::Table": self._table,
            "AWS::SQS::Queue": self._queue,
            "AWS::SES::EmailIdentity": self._email_identity,
            "AWS::SecretsManager::Secret": self._secret,
        }

    def client(self, service: str):
        if service not in self._clients:
            import boto3

            self._clients[service] = boto3.client(
                service,
                endpoint_url=self.endpoint,
                region_name=REGION,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
            )
        return self._clients[service]

    def handles(self, rtype: str) -> bool:
        return rtype in self._creators

    def physical(self, logical_id: str, rtype: str, props: dict) -> dict[str, Any]:
        return self._creators[rtype](logical_id, props)

    def _table(self, logical_id: str, p: dict) -> dict:
        name = physical_name(logical_id, p.get("TableName"))
        arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{name}"
        if self.create:
            ddb = self.client("dynamodb")
            if name in ddb.list_tables()["TableNames"]:
                log(f"table {name} exists")
            else:
                args = table_args(name, p)
                ddb.create_table(**args)
                ddb.get_waiter("table_exists").wait(TableName=name)
                ttl = p.get("TimeToLiveSpecification")
                if ttl and ttl.get("Enabled"):
                    ddb.update_time_to_live(
                        TableName=name,
                        TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
                    )
                pitr = p.get("PointInTimeRecoverySpecification")
                if pitr and pitr.get("PointInTimeRecoveryEnabled"):
                    ddb.update_continuous_backups(
                        TableName=name,
                        PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
                    )
                indexes = ", ".join(ix["IndexName"] for ix in args.get("GlobalSecondaryIndexes", []))
                log(f"table {name} created (GSIs: {indexes or 'none'}; TTL: {ttl and ttl.get('AttributeName')})")
        return {"Ref": name, "Arn": arn, "StreamArn": f"{arn}/stream/local"}

    def _queue(self, logical_id: str, p: dict) -> dict:
        name = physical_name(logical_id, p.get("QueueName"))
        if p.get("FifoQueue") and not name.endswith(".fifo"):
            name += ".fifo"
        arn = f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{name}"
        attrs = queue_attributes(p)
        url = f"{ENDPOINT}/{ACCOUNT_ID}/{name}"
        if self.create:
            url = self.client("sqs").create_queue(QueueName=name, Attributes=attrs)["QueueUrl"]
            extra = ""
            if "RedrivePolicy" in attrs:
                extra = f" (redrive after {json.loads(attrs['RedrivePolicy'])['maxReceiveCount']} receives)"
            log(f"queue {name} ready{extra}")
        return {"Ref": url, "Arn": arn, "QueueName": name, "QueueUrl": url}

    def _secret(self, logical_id: str, p: dict) -> dict:
        name = physical_name(logical_id, p.get("Name"))
        arn = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT_ID}:secret:{name}"
        if self.create:
            sm = self.client("secretsmanager")
            try:
                arn = sm.describe_secret(SecretId=name)["ARN"]
                log(f"secret {name} exists")
            except sm.exceptions.ResourceNotFoundException:
                arn = sm.create_secret(Name=name, SecretString=generated_secret_string(p))["ARN"]
                log(f"secret {name} created")
        # Ref of a secret is its ARN.
        return {"Ref": arn, "Arn": arn, "Id": arn}

    def _email_identity(self, logical_id: str, p: dict) -> dict:
        identity = p["EmailIdentity"]
        if self.create:
            sesv2 = self.client("sesv2")
            existing = {i["IdentityName"] for i in sesv2.list_email_identities().get("EmailIdentities", [])}
            if identity not in existing:
                sesv2.create_email_identity(EmailIdentity=identity)
            # moto treats created identities as verified; SES v1 too, for either client.
            self.client("ses").verify_email_identity(EmailAddress=identity)
            log(f"SES email identity {identity} verified")
        return {"Ref": identity}


def generated_secret_string(p: dict) -> str:
    """The value CloudFormation generates for a secret: SecretString as given, or
    GenerateSecretString's template with a random string under its key."""
    if "SecretString" in p:
        return str(p["SecretString"])
    generate = p.get("GenerateSecretString") or {}
    length = int(generate.get("PasswordLength", 32))
    alphabet = string.ascii_letters + string.digits
    if not generate.get("ExcludePunctuation"):
        alphabet += "!#$%&()*+,-.:;<=>?@[]^_{|}~"
    value = "".join(secrets.choice(alphabet) for _ in range(length))
    key = generate.get("GenerateStringKey")
    if not key:
        return value
    body = json.loads(generate.get("SecretStringTemplate") or "{}")
    body[key] = value
    return json.dumps(body)


def create_all(stack) -> None:
    """Every table, queue, secret and email identity of the template whose condition holds
    (stack: a template.Stack on Moto)."""
    for rtype in CREATED_TYPES:
        for lid in stack.of_type(rtype):
            cond = stack.resources[lid].get("Condition")
            if cond and not stack.condition(cond):
                continue
            stack.ensure(lid)


def sent_emails(endpoint: str = ENDPOINT) -> list:
    """Emails accepted by moto's SES, from its internal data API (raises URLError if moto is down)."""
    with urllib.request.urlopen(f"{endpoint}/moto-api/data.json?service=ses", timeout=10) as r:
        data = json.load(r)
    messages = []
    for model, items in (data.get("ses") or {}).items():
        if "message" in model.lower():
            messages.extend(items)
    return messages
