#!/usr/bin/env python3
"""Lint template.yaml as CloudFormation will see it: after the SAM transform.

`cfn-lint template.yaml` and `sam validate --lint` check the SAM template, but a circular
dependency that the transform creates (e.g. a function's environment naming an HTTP API whose
generated OpenAPI body names that function) only shows in the transformed template. This
script runs the SAM translator offline and then cfn-lint on its output.

Usage: .venv/bin/python scripts/validate_template.py [template.yaml]
"""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

from samtranslator.translator.transform import transform  # noqa: E402
from samtranslator.yaml_helper import yaml_parse  # noqa: E402

# cfn-lint checks a bucket name's syntax: the placeholder has to look like one.
PLACEHOLDER_CODE = "s3://placeholder-artifacts-bucket/code.zip"


class NoManagedPolicies:
    """The template names no AWS managed policy by name, so there is nothing to look up."""

    def load(self):
        return {}


def main() -> int:
    src = Path(sys.argv[1] if len(sys.argv) > 1 else "template.yaml")
    template = yaml_parse(src.read_text())
    for resource in template.get("Resources", {}).values():
        if resource.get("Type") == "AWS::Serverless::Function":
            # `sam build` replaces the local CodeUri with the built artifact; do the same.
            resource.setdefault("Properties", {})["CodeUri"] = PLACEHOLDER_CODE
    transformed = transform(template, {}, NoManagedPolicies())
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as out:
        json.dump(transformed, out, indent=1, default=str)
        path = out.name
    try:
        cfn_lint = Path(sys.executable).with_name("cfn-lint")
        result = subprocess.run([str(cfn_lint), path])
    finally:
        os.unlink(path)
    if result.returncode == 0:
        print(f"{src}: transformed template passes cfn-lint (no circular dependencies)")
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
