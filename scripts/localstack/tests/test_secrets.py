"""Secrets stay out of the functions' environment: template.yaml checked as written.

Anyone allowed lambda:GetFunctionConfiguration reads a function's environment variables in
clear, so no template parameter that is a secret may reach one; secrets live in Secrets
Manager, the environment names them (an ARN), and each function may read only the secrets
it is given (COUNTERPARTIES.md, AWS; AWS Lambda Developer Guide on environment variables).
"""

from __future__ import annotations

import re
import unittest
from typing import Any, Iterator

from localstack.template import load_template, parse_template

# A name that says it holds a secret; a secret's Name/Arn/Id only names one.
SECRET_WORDS = re.compile(r"secret|key|password|passphrase|token|credential", re.IGNORECASE)
NAMES_A_SECRET = re.compile(r"(Name|Arn|Id)$")


def secret_parameters(template: dict) -> set[str]:
    """Parameters whose value is a secret: NoEcho ones, and those named like one."""
    out = set()
    for name, spec in (template.get("Parameters") or {}).items():
        if str(spec.get("NoEcho", "")).lower() == "true":
            out.add(name)
        elif (
            spec.get("Type") == "String"
            and SECRET_WORDS.search(name)
            and not NAMES_A_SECRET.search(name)
        ):
            out.add(name)
    return out


def referenced(value: Any) -> Iterator[str]:
    """Every parameter or resource name an expression refers to (Ref, Fn::Sub, Fn::GetAtt)."""
    if isinstance(value, list):
        for v in value:
            yield from referenced(v)
    elif isinstance(value, dict):
        for key, arg in value.items():
            if key == "Ref" and isinstance(arg, str):
                yield arg
            elif key == "Fn::Sub":
                text = arg[0] if isinstance(arg, list) else arg
                for expr in re.findall(r"\$\{([^}!]+)\}", str(text)):
                    yield expr.split(".", 1)[0]
                if isinstance(arg, list):
                    yield from referenced(arg[1:])
            elif key == "Fn::GetAtt":
                yield (arg if isinstance(arg, list) else str(arg).split("."))[0]
            else:
                yield from referenced(arg)


def environments(template: dict) -> Iterator[tuple[str, str, Any]]:
    """(where, variable, value) of every Environment block: Globals and each function."""
    glob = ((template.get("Globals") or {}).get("Function") or {}).get("Environment") or {}
    for var, value in (glob.get("Variables") or {}).items():
        yield "Globals", var, value
    for lid, res in (template.get("Resources") or {}).items():
        env = (res.get("Properties") or {}).get("Environment") or {}
        for var, value in (env.get("Variables") or {}).items():
            yield lid, var, value


def secrets_in_environment(template: dict) -> list[str]:
    """What a function's environment would show of a secret: a secret parameter's value, or a
    variable named like a secret that is not a Secrets Manager secret's ARN."""
    secret_params = secret_parameters(template)
    resources = template.get("Resources") or {}
    found = []
    for where, var, value in environments(template):
        names = set(referenced(value))
        for name in sorted(names & secret_params):
            found.append(f"{where}: {var} holds parameter {name}")
        numbers = {n for n, p in (template.get("Parameters") or {}).items() if p.get("Type") == "Number"}
        if (
            SECRET_WORDS.search(var)
            and not var.endswith(("_SECRET_ID", "_SECRET_ARN"))
            and not (names and names <= numbers)
        ):
            found.append(f"{where}: {var} is named like a secret")
        if var.endswith("_SECRET_ID"):
            kinds = {resources.get(n, {}).get("Type") for n in names if n in resources}
            if kinds - {"AWS::SecretsManager::Secret"}:
                found.append(f"{where}: {var} names something other than a Secrets Manager secret")
    return found


def secret_reads(resource: dict) -> list[Any]:
    """The resources of a function's secretsmanager:GetSecretValue statements."""
    out = []
    for policy in (resource.get("Properties") or {}).get("Policies") or []:
        if not isinstance(policy, dict):
            continue
        for st in policy.get("Statement") or []:
            actions = st.get("Action")
            actions = actions if isinstance(actions, list) else [actions]
            if any(str(a).startswith("secretsmanager:") for a in actions):
                out.append(st)
    return out


class SecretsOutOfTheEnvironment(unittest.TestCase):
    def setUp(self):
        self.template = load_template()

    def test_no_environment_holds_a_secret(self):
        self.assertEqual(secrets_in_environment(self.template), [])

    def test_the_template_takes_no_secret_as_a_parameter(self):
        self.assertEqual(secret_parameters(self.template), set())

    def test_the_check_finds_a_secret_parameter_in_an_environment(self):
        # The template as it was before the invoice key moved to Secrets Manager.
        before = parse_template(
            """
Parameters:
  InvoiceSecretKey: {Type: String, NoEcho: true}
  ApiToken: {Type: String}
  AribaNetworkSecretName: {Type: String}
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Environment:
        Variables:
          INVOICE_SECRET_KEY: !Ref InvoiceSecretKey
          HEADER: !Sub "Bearer ${ApiToken}"
          ARIBA_NETWORK_SECRET_ID: !Ref AribaNetworkSecretName
"""
        )
        self.assertEqual(secret_parameters(before), {"InvoiceSecretKey", "ApiToken"})
        self.assertEqual(
            secrets_in_environment(before),
            [
                "Fn: INVOICE_SECRET_KEY holds parameter InvoiceSecretKey",
                "Fn: INVOICE_SECRET_KEY is named like a secret",
                "Fn: HEADER holds parameter ApiToken",
            ],
        )

    def test_each_function_reads_exactly_the_secrets_its_environment_names(self):
        resources = self.template["Resources"]
        for lid, res in resources.items():
            if res.get("Type") != "AWS::Serverless::Function":
                continue
            env = ((res.get("Properties") or {}).get("Environment") or {}).get("Variables") or {}
            glob = self.template["Globals"]["Function"]["Environment"]["Variables"]
            named = [v for k, v in {**glob, **env}.items() if k.endswith("_SECRET_ID")]
            statements = secret_reads(res)
            for st in statements:
                self.assertEqual(st["Effect"], "Allow", lid)
                self.assertEqual(st["Action"], "secretsmanager:GetSecretValue", f"{lid}: reads only")
                granted = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
                self.assertNotIn("*", [str(g) for g in granted], lid)
            granted = [g for st in statements for g in (st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]])]
            for g in granted:
                self.assertIn(g, named, f"{lid} may read a secret it is not given: {g}")
            # And the other way: a secret a function is given (it reads it at cold start) is
            # one it may read; the scheduled run once got the Network's from Globals without.
            for n in named:
                self.assertIn(n, granted, f"{lid} is given a secret it may not read: {n}")

    def test_the_invoice_key_reaches_only_the_functions_that_sign_or_show_invoices(self):
        resources = self.template["Resources"]
        holders = {
            lid
            for lid, res in resources.items()
            if "INVOICE_KEY_SECRET_ID"
            in (((res.get("Properties") or {}).get("Environment") or {}).get("Variables") or {})
        }
        # The admin API shows each Coupa buyer its invoice secret; invoice-dispatch signs with it.
        # The internet-facing punchout-setup function has no use for it.
        self.assertEqual(holders, {"AdminApiFunction", "InvoiceDispatchFunction"})
        self.assertNotIn("INVOICE_KEY_SECRET_ID", self.template["Globals"]["Function"]["Environment"]["Variables"])
        for lid, res in resources.items():
            if res.get("Type") != "AWS::Serverless::Function":
                continue
            granted = [
                g
                for st in secret_reads(res)
                for g in (st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]])
            ]
            if lid in holders:
                key = res["Properties"]["Environment"]["Variables"]["INVOICE_KEY_SECRET_ID"]
                # That one secret (created, or the operator's), and nothing else but the
                # Ariba Network account.
                self.assertEqual(granted, [{"Ref": "AribaNetworkSecret"}, key], lid)
                self.assertEqual(set(referenced(key)), {"InvoiceKeySecret", "InvoiceKeySecretArn"})
            else:
                self.assertNotIn("InvoiceKeySecret", set(referenced(granted)), lid)


class LogLevel(unittest.TestCase):
    def test_the_log_level_cannot_be_trace(self):
        spec = load_template()["Parameters"]["LogLevel"]
        allowed = [str(v).lower() for v in spec["AllowedValues"]]
        self.assertIn(spec["Default"], allowed)
        self.assertNotIn("trace", allowed)
        self.assertFalse(any("trace" in v for v in allowed))


if __name__ == "__main__":
    unittest.main()
