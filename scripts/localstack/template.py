"""template.yaml evaluated locally: short-form tags, parameters, conditions, intrinsics, the functions' environment."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Protocol

import yaml

from .config import (
    ACCOUNT_ID,
    ADMIN_API_PORT,
    ARIBA_NETWORK_URL,
    ENDPOINT,
    HOST,
    MOTO_PORT,
    REGION,
    STACK_NAME,
    TEMPLATE,
    WATCH_PORT,
    WATCH_URL,
)

# Parameters without a usable default, or whose local value differs from the deployed one.
LOCAL_PARAMETERS = {
    "SenderEmail": "no-reply@marketplace.test",
    # The functions build StartPage / catalog / order URLs from this: `cargo lambda watch`.
    "PublicBaseUrl": WATCH_URL,
    "LogLevel": "info",
    # The Ariba Network stand-in (plain http on this machine); a rotated Network secret is
    # read again at once, so a test need not wait out the deployed interval.
    "AribaNetworkUrl": ARIBA_NETWORK_URL,
    "AribaSecretRereadSeconds": "0",
    # The admin REST API's resource policy: the demo organisations' accounts
    # (procurement::demo: Coupa management and member, Ariba management) and the two the e2e
    # tier's organisations use (999999999999: the management account of `live_buyer`'s
    # organisations). The admin stand-in gives each a local access key.
    "AdminAccountIds": "111111111111,222222222222,333333333333,444444444444,555555555555,999999999999",
}


class CfnLoader(yaml.SafeLoader):
    """A YAML loader that reads CloudFormation's short-form tags (!Ref, !Sub, !GetAtt, ...)."""


def _cfn_tag(loader: CfnLoader, tag_suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "Condition":
        return {"Condition": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{tag_suffix}": value}


CfnLoader.add_multi_constructor("!", _cfn_tag)


def load_template(path: Path = TEMPLATE) -> dict:
    with open(path) as f:
        return yaml.load(f, Loader=CfnLoader)


def parse_template(text: str) -> dict:
    """A template given as YAML text (short-form tags allowed)."""
    return yaml.load(text, Loader=CfnLoader)


class NoValue:
    """AWS::NoValue: the property is left out."""


class Backend(Protocol):
    """Where a resource's physical values come from (resources.Moto: created on moto, or only named)."""

    def handles(self, rtype: str) -> bool:
        """Whether resources of this type have a local equivalent."""

    def physical(self, logical_id: str, rtype: str, props: dict) -> dict[str, Any]:
        """{"Ref": .., attrs..} of the resource, from its resolved properties."""


class Stack:
    """Resolves template expressions against local values; the backend supplies the resources'."""

    def __init__(self, template: dict, backend: Backend):
        self.t = template
        self.resources: dict = template.get("Resources", {})
        self.backend = backend
        self.params = self._parameters()
        self.physical: dict[str, dict[str, Any]] = {}  # logical id -> {"Ref": .., attrs..}
        self._conditions: dict[str, bool] = {}

    # -- values
    def _parameters(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, spec in (self.t.get("Parameters") or {}).items():
            value = os.environ.get(f"LOCAL_PARAM_{name}")
            if value is None:
                value = LOCAL_PARAMETERS.get(name, spec.get("Default"))
            if value is None:
                raise SystemExit(
                    f"template parameter {name} has no default: set LOCAL_PARAM_{name}"
                )
            values[name] = str(value)
        return values

    def pseudo(self, name: str) -> Any:
        return {
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::StackName": STACK_NAME,
            "AWS::StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT_ID}:stack/{STACK_NAME}/local",
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": NoValue,
        }[name]

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            self._conditions[name] = bool(self.resolve(self.t["Conditions"][name]))
        return self._conditions[name]

    def ref(self, name: str) -> Any:
        if name.startswith("AWS::"):
            return self.pseudo(name)
        if name in self.params:
            return self.params[name]
        return self.ensure(name)["Ref"]

    def get_att(self, name: str, attr: str) -> Any:
        phys = self.ensure(name)
        if attr not in phys:
            raise SystemExit(f"{name}.{attr}: attribute not known locally")
        return phys[attr]

    def resolve(self, v: Any) -> Any:
        if isinstance(v, list):
            out = [self.resolve(x) for x in v]
            return [x for x in out if x is not NoValue]
        if not isinstance(v, dict):
            return v
        if len(v) == 1:
            (key, arg), = v.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Condition":
                return self.condition(arg)
            if key == "Fn::GetAtt":
                name, attr = arg if isinstance(arg, list) else arg.split(".", 1)
                return self.get_att(name, attr)
            if key == "Fn::Sub":
                return self._sub(arg)
            if key == "Fn::If":
                cond, yes, no = arg
                return self.resolve(yes if self.condition(cond) else no)
            if key == "Fn::Equals":
                a, b = (self.resolve(x) for x in arg)
                return str(a) == str(b)
            if key == "Fn::Not":
                return not self.resolve(arg[0])
            if key == "Fn::And":
                return all(self.resolve(x) for x in arg)
            if key == "Fn::Or":
                return any(self.resolve(x) for x in arg)
            if key == "Fn::Join":
                sep, items = arg
                return str(sep).join(str(x) for x in self.resolve(items))
            if key == "Fn::Select":
                index, items = arg
                return self.resolve(items)[int(self.resolve(index))]
            if key == "Fn::Split":
                sep, s = arg
                return str(self.resolve(s)).split(sep)
            if key.startswith("Fn::"):
                raise SystemExit(f"{key} is not supported by local_stack.py")
        out = {k: self.resolve(x) for k, x in v.items()}
        return {k: x for k, x in out.items() if x is not NoValue}

    def _sub(self, arg: Any) -> str:
        if isinstance(arg, list):
            text, variables = arg[0], {k: self.resolve(x) for k, x in arg[1].items()}
        else:
            text, variables = arg, {}

        def repl(m: re.Match) -> str:
            expr = m.group(1)
            if expr.startswith("!"):
                return "${" + expr[1:] + "}"
            if expr in variables:
                return str(variables[expr])
            if "." in expr and not expr.startswith("AWS::"):
                name, attr = expr.split(".", 1)
                return str(self.get_att(name, attr))
            return str(self.ref(expr))

        return re.sub(r"\$\{([^}]+)\}", repl, text)

    # -- resources
    def of_type(self, rtype: str) -> list[str]:
        return [k for k, r in self.resources.items() if r.get("Type") == rtype]

    def props(self, logical_id: str) -> dict:
        return self.resolve(self.resources[logical_id].get("Properties") or {})

    def ensure(self, logical_id: str) -> dict[str, Any]:
        if logical_id in self.physical:
            return self.physical[logical_id]
        res = self.resources.get(logical_id)
        if res is None:
            raise SystemExit(f"template has no resource {logical_id}")
        cond = res.get("Condition")
        if cond and not self.condition(cond):
            raise SystemExit(f"{logical_id} is disabled by its condition {cond}")
        if not self.backend.handles(res["Type"]):
            raise SystemExit(f"{logical_id} ({res['Type']}) has no local equivalent")
        self.physical[logical_id] = self.backend.physical(logical_id, res["Type"], self.props(logical_id))
        return self.physical[logical_id]

    # -- functions and their events
    def functions(self) -> dict[str, dict]:
        """Function logical id -> {"name": binary name, "props": raw properties}."""
        out = {}
        for lid in self.of_type("AWS::Serverless::Function"):
            res = self.resources[lid]
            binary = (res.get("Metadata") or {}).get("BuildProperties", {}).get("Binary")
            out[lid] = {"name": binary or lid, "props": res.get("Properties") or {}}
        return out

    def environment(self) -> dict[str, str]:
        """The union of the functions' environment variables (Globals + each function)."""
        env: dict[str, str] = {}
        glob = ((self.t.get("Globals") or {}).get("Function") or {}).get("Environment") or {}
        sources = [glob.get("Variables") or {}]
        for fn in self.functions().values():
            sources.append(((fn["props"].get("Environment") or {}).get("Variables")) or {})
        for variables in sources:
            for key, value in variables.items():
                resolved = self.resolve(value)
                if resolved is not NoValue:
                    env[key] = str(resolved)
        return env


def stack_env(stack: Stack) -> dict[str, str]:
    """What .local/stack.env holds: the AWS client settings for moto, the functions' environment,
    each queue's dead-letter queue URL, and the stack's name and ports."""
    env = {
        "AWS_ENDPOINT_URL": ENDPOINT,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    env.update(stack.environment())
    # The dead-letter queue of each queue the functions know by URL: FOO_QUEUE_URL -> FOO_DLQ_URL.
    for lid in stack.of_type("AWS::SQS::Queue"):
        redrive = (stack.resources[lid].get("Properties") or {}).get("RedrivePolicy") or {}
        target = redrive.get("deadLetterTargetArn")
        if not (isinstance(target, dict) and "Fn::GetAtt" in target):
            continue
        for key, value in list(env.items()):
            if key.endswith("_QUEUE_URL") and value == stack.ensure(lid)["Ref"]:
                env[key[: -len("_QUEUE_URL")] + "_DLQ_URL"] = stack.ensure(target["Fn::GetAtt"][0])["Ref"]
    env.update(
        {
            "STACK_NAME": STACK_NAME,
            "MOTO_PORT": str(MOTO_PORT),
            "WATCH_PORT": str(WATCH_PORT),
        }
    )
    # The admin API's base URL (with its stage), as the AdminApiUrl output names it deployed.
    if (stack.resources.get("AdminApi") or {}).get("Type") == "AWS::Serverless::Api":
        from .admin_api import stage

        env["ADMIN_API_URL"] = f"http://{HOST}:{ADMIN_API_PORT}/{stage(stack)}"
    return env


def env_file_text(env: dict[str, str]) -> str:
    """KEY=value lines for `cargo lambda watch --env-file` and the shell's `.`; refuses values
    that would need quoting."""
    lines = []
    for key, value in env.items():
        if re.search(r"[\s\"'`$\\]", value):
            raise SystemExit(f"{key}={value!r}: not safe for an env file")
        lines.append(f"{key}={value}")
    return "\n".join(lines) + "\n"
