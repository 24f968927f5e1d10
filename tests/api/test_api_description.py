"""The API description is generated from the route table: routes, constraints and docs page."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from openapi_spec_validator import validate
from pydantic import BaseModel, Field

from github_app.api import freeze_revoke
from github_app.api.openapi import ChangePage, Content, Operation, docs_html
from github_app.api.openapi import openapi_document as describe
from github_app.api.routes import ROUTES, openapi_document, query_of
from github_app.evidence.params import MAX_LIMIT, MAX_SEED, MAX_TEXT, ListQuery
from tests.api.conftest import Tokens, build_app


def registered_api_routes(app: web.Application) -> set[tuple[str, str]]:
    """(method, path) of every route mounted under /api/v1, as aiohttp serves them."""
    found = set()
    for resource in app.router.resources():
        if not isinstance(resource, web.PrefixedSubAppResource):
            continue
        for route in resource._app.router.routes():
            path = route.resource.canonical
            if path.startswith("/api/v1/"):
                found.add((route.method.lower(), path))
    return found


def documented_routes(document: dict) -> set[tuple[str, str]]:
    return {(method, path) for path, methods in document["paths"].items() for method in methods}


def test_every_registered_route_is_documented_and_nothing_else(services) -> None:
    registered = registered_api_routes(build_app(services))
    assert ("get", "/api/v1/changes") in registered
    assert ("delete", "/api/v1/freeze") in registered
    assert registered == documented_routes(openapi_document())


def test_generated_document_is_valid_openapi_3() -> None:
    document = openapi_document()
    assert document["openapi"].startswith("3.")
    validate(document)


def _schema(document: dict, name: str) -> dict:
    return document["components"]["schemas"][name]


def _parameter(document: dict, path: str, method: str, name: str) -> dict:
    parameters = document["paths"]["/api/v1" + path][method]["parameters"]
    return next(parameter for parameter in parameters if parameter["name"] == name)


def test_constraints_come_from_the_model_constants() -> None:
    document = openapi_document()
    for body in ("RevokeRequest", "FreezeRequest"):
        reason = _schema(document, body)["properties"]["reason"]
        assert (reason["minLength"], reason["maxLength"]) == (1, freeze_revoke.MAX_REASON)
    limit = _parameter(document, "/changes", "get", "limit")["schema"]
    assert (limit["minimum"], limit["maximum"]) == (1, MAX_LIMIT)
    assert _parameter(document, "/changes/sample", "get", "seed")["schema"]["maxLength"] == MAX_SEED
    assert _parameter(document, "/evidence", "get", "repo")["schema"]["maxLength"] == MAX_TEXT
    session = _parameter(document, "/sessions/{session_id}", "get", "session_id")
    assert session["in"] == "path" and session["required"] is True


class _Note(BaseModel):
    text: str = Field(max_length=7)


async def _noop(request: web.Request) -> web.Response:
    return web.json_response({})


def test_a_changed_model_changes_the_document() -> None:
    document = describe(
        [
            Operation("post", "/notes", _noop, "admin", "Add a note", Content("ok", ["text/plain"]),
                      body=_Note, query=ListQuery),
        ]
    )  # fmt: skip
    validate(document)
    assert _schema(document, "_Note")["properties"]["text"]["maxLength"] == 7
    operation = document["paths"]["/api/v1/notes"]["post"]
    assert operation["operationId"] == "noop"
    assert {p["name"] for p in operation["parameters"]} == set(ListQuery.model_fields)


def test_the_table_declares_each_route_once() -> None:
    keys = [(operation.method, operation.path) for operation in ROUTES]
    assert len(keys) == len(set(keys))


async def test_reason_longer_than_the_model_allows_is_refused(api, tokens: Tokens) -> None:
    too_long = {"reason": "x" * (freeze_revoke.MAX_REASON + 1)}
    response = await api.post("/api/v1/freeze", json=too_long, headers=tokens.admin)
    assert response.status == 400
    assert (await response.json())["error"].startswith("reason:")
    longest = {"reason": "x" * freeze_revoke.MAX_REASON}
    assert (await api.post("/api/v1/freeze", json=longest, headers=tokens.admin)).status == 200


async def test_docs_page_lists_every_operation_without_a_token(api) -> None:
    response = await api.get("/api/v1/docs")
    assert response.status == 200
    assert response.content_type == "text/html"
    page = await response.text()
    for path, methods in openapi_document()["paths"].items():
        assert path in page
        for operation in methods.values():
            assert f'id="{operation["operationId"]}"' in page
    # Self-contained: nothing is fetched from another host.
    assert "<script" not in page and "<link" not in page and "src=" not in page
    assert "http://" not in page and "https://" not in page


def test_docs_page_escapes_what_it_renders() -> None:
    document = describe(
        [
            Operation(
                "get",
                "/x",
                _noop,
                role="auditor",
                summary="<script>alert(1)</script>",
                response=Content("ok", ["text/plain"]),
            )
        ]
    )
    page = docs_html(document)
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_a_handler_reading_an_undeclared_query_fails_closed() -> None:
    request = make_mocked_request("GET", "/api/v1/changes?limit=5")
    with pytest.raises(TypeError, match="does not declare ListQuery"):
        query_of(request, ListQuery)


def test_an_answer_can_be_a_json_model_or_text() -> None:
    both = Content("A page, or CSV.", ["text/csv"], json_model=ChangePage)
    document = describe(
        [Operation("get", "/rows", _noop, role="auditor", summary="Rows", response=both)]
    )
    validate(document)
    content = document["paths"]["/api/v1/rows"]["get"]["responses"]["200"]["content"]
    assert content["text/csv"]["schema"] == {"type": "string"}
    assert content["application/json"]["schema"] == {"$ref": "#/components/schemas/ChangePage"}
    assert "ChangeRow" in document["components"]["schemas"]
