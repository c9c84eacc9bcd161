"""admin_api.py: the admin REST API stand-in checks SigV4 and the resource policy as API Gateway
does, answers with the template's gateway responses, and hands the function the caller."""

from __future__ import annotations

import json
import shutil
import tempfile
import time
import unittest
from pathlib import Path
from unittest import mock

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from localstack import admin_api, config
from localstack.tests.support import real_stack

HOST = "127.0.0.1:9004"
PATH = "/v1/admin/orgs/demo-coupa-org/integration"


def signed(method: str, target: str, access_key: str, secret: str, body: bytes = b"",
           region: str = "us-east-1", service: str = "execute-api") -> dict[str, str]:
    """The headers of a request signed by botocore's own signer (the client side)."""
    request = AWSRequest(method=method, url=f"http://{HOST}{target}", data=body,
                         headers={"host": HOST, "content-type": "application/json"})
    SigV4Auth(Credentials(access_key, secret), service, region).add_auth(request)
    return {k.lower(): v for k, v in request.headers.items()}


class TemplateTest(unittest.TestCase):
    def test_the_resource_policy_allows_the_accounts_of_the_parameter(self):
        stack = real_stack(AdminAccountIds="111111111111,222222222222")
        self.assertEqual(admin_api.allowed_accounts(stack), ["111111111111", "222222222222"])

    def test_without_accounts_only_the_stack_account_is_allowed(self):
        stack = real_stack(AdminAccountIds="")
        self.assertEqual(admin_api.allowed_accounts(stack), [config.ACCOUNT_ID])

    def test_the_local_stack_allows_the_demo_and_e2e_accounts_but_not_the_outside_one(self):
        accounts = admin_api.allowed_accounts(real_stack())
        for account in ["111111111111", "222222222222", "333333333333", "444444444444", "555555555555", "999999999999"]:
            self.assertIn(account, accounts)
        self.assertNotIn(admin_api.OUTSIDE_ACCOUNT, accounts)

    def test_stage_function_and_gateway_responses_come_from_the_template(self):
        stack = real_stack()
        self.assertEqual(admin_api.stage(stack), "v1")
        self.assertEqual(admin_api.function_name(stack), "admin-api")
        status, body = admin_api.render(admin_api.gateway_responses(stack),
                                        "MISSING_AUTHENTICATION_TOKEN", "Missing Authentication Token")
        self.assertEqual(status, 401)
        self.assertIn("SigV4", json.loads(body)["error"]["message"])
        status, body = admin_api.render(admin_api.gateway_responses(stack), "INVALID_SIGNATURE", 'a "quoted" text')
        self.assertEqual(status, 403)
        self.assertEqual(json.loads(body), {"error": {"message": 'a "quoted" text'}})


class AuthenticateTest(unittest.TestCase):
    KEYS = {"AKIAAAAAAAAAAAAAAAAA": ("111111111111", "secret-one")}

    def check(self, method, target, headers, body=b"", now=None):
        return admin_api.authenticate(method, target, headers, body, self.KEYS, now)

    def refused(self, method, target, headers, body=b"", now=None) -> admin_api.Refused:
        with self.assertRaises(admin_api.Refused) as caught:
            self.check(method, target, headers, body, now)
        return caught.exception

    def test_a_signature_made_with_the_accounts_key_names_the_account(self):
        body = b'{"system":"coupa"}'
        headers = signed("PUT", PATH + "?instance=test", "AKIAAAAAAAAAAAAAAAAA", "secret-one", body)
        self.assertEqual(self.check("PUT", PATH + "?instance=test", headers, body), "111111111111")

    def test_unsigned_is_a_missing_token(self):
        refused = self.refused("GET", PATH, {"host": HOST})
        self.assertEqual(refused.response_type, "MISSING_AUTHENTICATION_TOKEN")

    def test_another_secret_a_changed_body_path_or_method_do_not_match(self):
        body = b'{"system":"coupa"}'
        wrong_secret = signed("PUT", PATH, "AKIAAAAAAAAAAAAAAAAA", "guessed", body)
        self.assertEqual(self.refused("PUT", PATH, wrong_secret, body).response_type, "INVALID_SIGNATURE")
        good = signed("PUT", PATH, "AKIAAAAAAAAAAAAAAAAA", "secret-one", body)
        for method, target, payload in [
            ("PUT", PATH, b'{"system":"ariba"}'),
            ("PUT", PATH.replace("demo-coupa-org", "demo-ariba-org"), body),
            ("POST", PATH, body),
        ]:
            refused = self.refused(method, target, good, payload)
            self.assertEqual(refused.response_type, "INVALID_SIGNATURE", (method, target))
            self.assertIn("does not match", refused.message)

    def test_an_unknown_key_another_region_or_service_and_a_stale_date_are_refused(self):
        unknown = signed("GET", PATH, "AKIAZZZZZZZZZZZZZZZZ", "secret-one")
        self.assertIn("security token", self.refused("GET", PATH, unknown).message)
        region = signed("GET", PATH, "AKIAAAAAAAAAAAAAAAAA", "secret-one", region="eu-west-1")
        self.assertIn("region", self.refused("GET", PATH, region).message)
        service = signed("GET", PATH, "AKIAAAAAAAAAAAAAAAAA", "secret-one", service="lambda")
        self.assertIn("service", self.refused("GET", PATH, service).message)
        fresh = signed("GET", PATH, "AKIAAAAAAAAAAAAAAAAA", "secret-one")
        refused = self.refused("GET", PATH, fresh, now=time.time() + 600)
        self.assertIn("expired", refused.message)

    def test_a_malformed_authorization_is_an_incomplete_signature(self):
        refused = self.refused("GET", PATH, {"host": HOST, "authorization": "AWS4-HMAC-SHA256 Credential=x"})
        self.assertEqual(refused.response_type, "INCOMPLETE_SIGNATURE")


class GatewayTest(unittest.TestCase):
    def setUp(self):
        self.dir = Path(tempfile.mkdtemp())
        self.addCleanup(shutil.rmtree, self.dir)
        patcher = mock.patch.object(config, "LOCAL_DIR", self.dir)
        patcher.start()
        self.addCleanup(patcher.stop)
        self.stack = real_stack()
        self.credentials = admin_api.create_credentials(self.stack)
        self.gateway = admin_api.Gateway(self.stack, admin_api.load_credentials())

    def key(self, account):
        c = self.credentials[account]
        return c["access_key_id"], c["secret_access_key"]

    def test_credentials_for_every_allowed_account_and_the_outside_one_all_different(self):
        self.assertEqual(
            set(self.credentials),
            set(admin_api.allowed_accounts(self.stack)) | {admin_api.OUTSIDE_ACCOUNT},
        )
        self.assertFalse(self.credentials[admin_api.OUTSIDE_ACCOUNT]["allowed_by_resource_policy"])
        keys = [c["access_key_id"] for c in self.credentials.values()]
        secrets = [c["secret_access_key"] for c in self.credentials.values()]
        self.assertEqual(len(set(keys)), len(keys))
        self.assertEqual(len(set(secrets)), len(secrets))

    def test_an_allowed_signed_request_reaches_the_function_with_its_account(self):
        calls = []

        def fake_invoke(function, event, timeout):
            calls.append((function, event))
            return 200, {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": '{"ok": true}'}

        body = b'{"system":"coupa"}'
        headers = signed("PUT", PATH + "?instance=test", *self.key("111111111111"), body)
        with mock.patch.object(admin_api, "invoke", fake_invoke):
            status, answer_headers, payload = self.gateway.handle("PUT", PATH + "?instance=test", headers, body)
        self.assertEqual((status, payload), (200, b'{"ok": true}'))
        function, event = calls[0]
        self.assertEqual(function, "admin-api")
        self.assertEqual(event["path"], "/admin/orgs/demo-coupa-org/integration")
        self.assertEqual(event["requestContext"]["stage"], "v1")
        self.assertEqual(event["requestContext"]["identity"]["accountId"], "111111111111")
        self.assertEqual(event["queryStringParameters"], {"instance": "test"})
        self.assertEqual(event["body"], body.decode())
        self.assertEqual(event["httpMethod"], "PUT")

    def test_what_api_gateway_refuses_never_reaches_the_function(self):
        def no_invoke(*_):
            raise AssertionError("the function was invoked")

        outside = signed("GET", PATH, *self.key(admin_api.OUTSIDE_ACCOUNT))
        bad = signed("GET", PATH, self.key("111111111111")[0], "not-the-secret")
        with mock.patch.object(admin_api, "invoke", no_invoke):
            status, _, payload = self.gateway.handle("GET", PATH, outside, b"")
            self.assertEqual(status, 403)
            self.assertIn("not authorized to perform: execute-api:Invoke", json.loads(payload)["error"]["message"])
            status, _, payload = self.gateway.handle("GET", PATH, bad, b"")
            self.assertEqual(status, 403)
            self.assertIn("does not match", json.loads(payload)["error"]["message"])
            status, _, payload = self.gateway.handle("GET", PATH, {"host": HOST}, b"")
            self.assertEqual(status, 401)
            # No resource outside /v1/admin/: the same missing token, signed or not.
            other = signed("GET", "/v1/orders", *self.key("111111111111"))
            status, _, _ = self.gateway.handle("GET", "/v1/orders", other, b"")
            self.assertEqual(status, 401)


if __name__ == "__main__":
    unittest.main()
