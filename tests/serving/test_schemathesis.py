"""Fuzz the gateway through its own OpenAPI document: no 5xx, responses match the schema."""

from __future__ import annotations

import tempfile
from pathlib import Path

import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from bastion.serving import create_app, key_store_from_settings
from tests.serving.conftest import make_settings

# Built at import time (schemathesis parametrizes at collection); the home is a
# private temporary directory, removed at interpreter exit.
_home = tempfile.TemporaryDirectory(prefix="bastion-fuzz-")
_settings = make_settings(
    Path(_home.name) / "home",
    rate_limits_principal=["100000/minute"],
    rate_limits_address=["100000/minute"],
)
_key = key_store_from_settings(_settings).create("fuzzer", ["predict", "guard"]).plaintext
_app: FastAPI = create_app(_settings)
schema = schemathesis.openapi.from_asgi("/openapi.json", _app)


@schema.parametrize()
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_gateway_openapi(case: schemathesis.Case) -> None:
    case.headers = {**(case.headers or {}), "Authorization": f"Bearer {_key}"}
    case.call_and_validate(
        checks=[not_a_server_error, response_schema_conformance, content_type_conformance]
    )
