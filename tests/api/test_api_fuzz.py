"""Schemathesis fuzzing of the API from its own OpenAPI document: no 5xx, responses conform.

The API is served on 127.0.0.1 (an ephemeral port) from a thread with its own event loop, over
the seeded ledger, on both database backends.  Each operation gets a bounded number of
generated requests: valid ones (responses must match the documented statuses, content types
and schemas) and invalid ones (which must still never produce a server error).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import requests
import schemathesis
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from github_app.api.routes import openapi_document
from tests.api.conftest import Tokens, build_app

EXAMPLES_PER_OPERATION = 20
CONFORMANCE = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@contextmanager
def served(app: web.Application) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1 from a background thread; yield its base URL."""
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app, access_log=None)
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    host, port = runner.addresses[0][:2]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{port}"
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.run_until_complete(runner.cleanup())
        loop.close()


def has_inputs(operation) -> bool:
    """Whether the operation takes parameters or a body (something to fuzz negatively)."""
    definition = operation.definition.raw
    return bool(definition.get("parameters") or definition.get("requestBody"))


def fuzz_operation(
    operation,
    mode: GenerationMode,
    base_url: str,
    headers: dict[str, str],
    session: requests.Session,
) -> None:
    """Run generated requests of ``mode`` against one operation."""
    checks = CONFORMANCE if mode is GenerationMode.POSITIVE else [not_a_server_error]

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case) -> None:
        response = case.call(base_url=base_url, headers=dict(headers), session=session, timeout=30)
        case.validate_response(response, checks=checks)

    check()


@pytest.mark.parametrize(
    "mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"]
)
def test_api_fuzz_has_no_server_errors(seeded, tokens: Tokens, mode: GenerationMode) -> None:
    schema = schemathesis.openapi.from_dict(openapi_document())
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 13  # the 12 auditor/admin routes and POST /agent/events
    with served(build_app(seeded)) as base_url, requests.Session() as session:
        for operation in operations:
            if mode is GenerationMode.NEGATIVE and not has_inputs(operation):
                continue  # nothing to make invalid
            fuzz_operation(operation, mode, base_url, tokens.admin, session)
