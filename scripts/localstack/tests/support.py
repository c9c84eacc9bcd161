"""Helpers of the unit tests: an environment without local overrides, quiet logs, names-only stacks."""

from __future__ import annotations

import contextlib
import io
import os
from unittest import mock

from localstack.resources import Moto
from localstack.template import Stack, load_template, parse_template


@contextlib.contextmanager
def clean_env(**params: str):
    """os.environ without the caller's LOCAL_PARAM_* overrides and AWS endpoint settings (which
    would send boto3 past moto.mock_aws), plus LOCAL_PARAM_<name>=value for each of params."""
    with mock.patch.dict(os.environ):
        for key in list(os.environ):
            if key.startswith("LOCAL_PARAM_") or key.startswith("AWS_ENDPOINT_URL"):
                del os.environ[key]
        for name, value in params.items():
            os.environ[f"LOCAL_PARAM_{name}"] = value
        yield


@contextlib.contextmanager
def quiet():
    """The [local-stack] log lines (stderr) of the code under test, captured; yields the buffer."""
    buf = io.StringIO()
    with contextlib.redirect_stderr(buf):
        yield buf


def real_stack(**params: str) -> Stack:
    """template.yaml evaluated with names only (nothing created), LOCAL_PARAM_* from params."""
    with clean_env(**params):
        return Stack(load_template(), Moto(create=False))


def synthetic_stack(text: str, **params: str) -> Stack:
    with clean_env(**params):
        return Stack(parse_template(text), Moto(create=False))
