"""The OpenAPI 3.1 document of the auditor and admin API, generated from the route table.

:mod:`github_app.api.routes` declares each route once as an :class:`Operation` (method, path,
role, query model, body model, response model, summary); :func:`openapi_document` turns that
table into the document served at ``/api/v1/openapi.json`` and :func:`docs_html` into the
page served at ``/api/v1/docs``.  Parameters come from the pydantic query models of
:mod:`github_app.evidence.params`, bodies and answers from pydantic models and dataclasses via
``TypeAdapter(...).json_schema()``, so a bound such as the reason's maximum length is stated
once, in the model.  Tests fuzz the API from this document and check responses conform.

The answer models below describe what the handlers return; they forbid unknown keys, so a
field added to an answer without its model fails the response-conformance tests.
"""

from __future__ import annotations

import html
import json
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from pydantic.json_schema import GenerateJsonSchema

from github_app.api.freeze_revoke import ContainmentAction
from github_app.api.mount import API_PREFIX
from github_app.evidence.audit_exceptions import EXCEPTION_TYPES
from github_app.evidence.integrity import Integrity
from github_app.evidence.population import ChangeRow
from github_app.ledger.entry import LedgerEntry
from github_app.tokens import Role

REF_TEMPLATE = "#/components/schemas/{model}"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Method = Literal["get", "post", "put", "patch", "delete"]


# --- answer models --------------------------------------------------------------------------


class Answer(BaseModel):
    """Base of the answer models: exactly the keys the handlers send."""

    model_config = ConfigDict(extra="forbid")


class ErrorBody(Answer):
    """Every error: one line saying what is wrong."""

    error: str


class ServedEntry(LedgerEntry):
    """A ledger entry as a read serves it: every stored field, and whether its hash verifies."""

    integrity: Integrity = Field(
        description="altered: the entry's hash no longer covers its fields (it was rewritten)."
    )


class EntryPage(Answer):
    """One page of ledger entries."""

    items: list[ServedEntry]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page.")


class ChangePage(Answer):
    """One page of the change population."""

    items: list[ChangeRow]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page.")


class ExceptionRow(Answer):
    """One exception an auditor follows up."""

    type: Literal[EXCEPTION_TYPES]  # type: ignore[valid-type]
    seq: int
    entry_id: str
    occurred_at: datetime
    repo: str | None
    pr: int | None
    agent: str | None
    session_id: str | None
    launched_by: str | None
    actor: str | None
    head_sha: str | None
    detail: dict[str, Any] = Field(
        description="The entry's data; for emergency changes also emergency, post_review_due, "
        "post_reviewed_at (and overdue_by_hours)."
    )
    integrity: Integrity


class ExceptionPage(Answer):
    """One page of exceptions."""

    items: list[ExceptionRow]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page.")


class PullRequestRef(Answer):
    """A pull request a session touched."""

    repo: str
    pr: int


class SessionAttribution(Answer):
    """Who launched a session and what it did, over all its entries."""

    session_id: str
    session_derived: bool
    agents: list[str]
    launched_by: list[str]
    repos: list[str]
    pull_requests: list[PullRequestRef]
    first_seen: datetime | None
    last_seen: datetime | None
    entries: int
    kinds: dict[str, int]
    revoked: bool


class SessionTimeline(Answer):
    """A session's attribution and one page of its entries in order."""

    session_id: str
    attribution: SessionAttribution
    story: dict[str, Any] = Field(
        description="The session from launch to completion: launch (who, where, when), "
        "operations by tool and path, denials, commits, approvals, merges, end."
    )
    items: list[ServedEntry]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page.")


class SampleFilters(Answer):
    """The filters a sample was drawn with."""

    repo: str | None
    since: datetime | None
    until: datetime | None
    agent: str | None


class SampleBody(Answer):
    """A reproducible sample of the change population."""

    seed: str = Field(description="Pass it again to draw the same sample.")
    n: int
    population_size: int
    filters: SampleFilters
    items: list[ChangeRow]


class DsseSignature(Answer):
    """One signature of a DSSE envelope."""

    keyid: str = Field(description="The ledger key's id (SHA-256 of the raw key, 16 hex).")
    sig: str = Field(description="Ed25519 signature over the DSSE PAE, base64.")


class DsseEnvelope(Answer):
    """A DSSE envelope; its payload (base64) is an in-toto Statement v1 whose subject is the
    merge commit and whose predicate is a SLSA verification summary of the countersignature."""

    payload: str
    payloadType: Literal["application/vnd.in-toto+json"]
    signatures: list[DsseSignature]


class ActiveFreeze(Answer):
    """A freeze in force."""

    repo: str | None = Field(description="owner/name, or null for every repository.")
    reason: str
    actor: str


class FreezeStatus(Answer):
    """Every freeze in force (none: agents are not frozen)."""

    frozen: bool
    freezes: list[ActiveFreeze]


class PublicKey(Answer):
    """The key that signs checkpoints, attestations and audit packs."""

    key_id: str
    public_key_pem: str
    public_key_hex: str


class ContainmentResult(Answer):
    """What a freeze, unfreeze or revocation did."""

    action: ContainmentAction
    changed: bool = Field(description="False when the scope already was in that state.")
    actor: str
    reason: str
    repo: str | None
    session_id: str | None
    entry: LedgerEntry | None = Field(
        description="The ledger entry written (none when nothing changed)."
    )


# --- the route table's row ------------------------------------------------------------------


@dataclass(frozen=True)
class Content:
    """A 200 answer that is not (only) one JSON model: media types, description, headers.

    Each media type's body is ``schema`` (text by default); with ``json_model`` the answer may
    also be that model as ``application/json`` (e.g. a list that can also come as CSV).
    """

    description: str
    media_types: Sequence[str]
    headers: dict[str, str] = field(default_factory=dict)  # name -> description
    schema: dict[str, Any] = field(default_factory=lambda: {"type": "string"})
    json_model: type | None = None


@dataclass(frozen=True)
class Operation:
    """One route of the API: what it takes, who may call it, what it answers.

    ``role`` None means public (no token).  ``response`` is a model or dataclass answered as
    JSON, or a :class:`Content`.  ``path`` is relative to :data:`API_PREFIX`; its
    ``{placeholders}`` are described by ``path_params``.
    """

    method: Method
    path: str
    handler: Handler
    role: Role | None
    summary: str
    response: type | Content
    ok: str = "OK."
    query: type[BaseModel] | None = None
    path_params: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    not_found: str | None = None

    @property
    def operation_id(self) -> str:
        """The handler's name in lower camel case (``list_changes`` → ``listChanges``)."""
        first, *rest = self.handler.__name__.strip("_").split("_")
        return first + "".join(part.capitalize() for part in rest)

    @property
    def tag(self) -> str:
        return self.role or "meta"


# --- the document ---------------------------------------------------------------------------

INFO = {
    "title": "Countersign auditor and admin API",
    "version": "1",
    "description": (
        "Evidence for SOC 2 auditors (role `auditor`) and containment for admins "
        "(role `admin`, which can also read). Authenticate with "
        "`Authorization: Bearer <token>`. Lists are cursor-paginated: pass "
        "`next_cursor` back as `cursor`. Every call is written to the access log."
    ),
}
_WWW_AUTHENTICATE = {
    "WWW-Authenticate": {"schema": {"type": "string"}, "description": "Bearer challenge."}
}


class SchemaGenerator(GenerateJsonSchema):
    """Pydantic's generator, except that an answer's fields are all required.

    Handlers serialise every field, defaults included, so a client may rely on each key.
    """

    def field_is_required(self, field: Any, total: bool) -> bool:
        if self.mode == "serialization":
            return not field.get("serialization_exclude")
        return super().field_is_required(field, total)


def json_schema(model: Any, mode: Literal["validation", "serialization"]) -> dict[str, Any]:
    """``model``'s JSON Schema, with references into ``components/schemas``."""
    return TypeAdapter(model).json_schema(
        mode=mode, ref_template=REF_TEMPLATE, schema_generator=SchemaGenerator
    )


class Components:
    """The ``components/schemas`` being collected, one JSON Schema per model name."""

    def __init__(self) -> None:
        self.schemas: dict[str, Any] = {}

    def ref(self, model: Any, mode: Literal["validation", "serialization"]) -> dict[str, Any]:
        """A ``$ref`` to ``model``'s schema, adding it (and the models it uses) to the set."""
        schema = json_schema(model, mode)
        for name, nested in schema.pop("$defs", {}).items():
            self._add(name, nested)
        name = schema.get("title") or model.__name__
        self._add(name, schema)
        return {"$ref": REF_TEMPLATE.format(model=name)}

    def _add(self, name: str, schema: dict[str, Any]) -> None:
        known = self.schemas.setdefault(name, schema)
        if known != schema:
            raise ValueError(f"two different schemas are both named {name!r}")


def parameters(model: type[BaseModel] | None, where: Literal["query", "path"]) -> list[Any]:
    """OpenAPI parameters from the fields of a query (or path) model."""
    if model is None:
        return []
    schema = json_schema(model, "validation")
    required = set(schema.get("required", []))
    result = []
    for name, prop in schema["properties"].items():
        prop = _without_null(prop)
        description = prop.pop("description", None)
        prop.pop("title", None)
        if prop.get("default", "") is None:
            del prop["default"]
        parameter = {"name": name, "in": where, "required": name in required, "schema": prop}
        if description:
            parameter["description"] = description
        result.append(parameter)
    return result


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """An optional parameter's schema without its ``null`` branch (absent is how it's omitted)."""
    branches = [b for b in schema.get("anyOf", []) if b != {"type": "null"}]
    if len(branches) != 1:
        return dict(schema)
    rest = {key: value for key, value in schema.items() if key not in ("anyOf", "default")}
    merged = {**branches[0], **rest}
    if schema.get("default") is not None:
        merged["default"] = schema["default"]
    return merged


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _ok(operation: Operation, components: Components) -> dict[str, Any]:
    answer = operation.response
    if not isinstance(answer, Content):
        return _json(components.ref(answer, "serialization"), operation.ok)
    content = {media: {"schema": answer.schema} for media in answer.media_types}
    if answer.json_model is not None:
        content["application/json"] = {"schema": components.ref(answer.json_model, "serialization")}
    ok: dict[str, Any] = {"description": answer.description, "content": content}
    if answer.headers:
        ok["headers"] = {
            name: {"schema": {"type": "string"}, "description": text}
            for name, text in answer.headers.items()
        }
    return ok


def _operation(operation: Operation, components: Components) -> dict[str, Any]:
    responses: dict[str, Any] = {"200": _ok(operation, components)}
    if operation.role is not None:
        error = components.ref(ErrorBody, "serialization")
        responses["400"] = _json(error, "A parameter or the body is malformed; it says which.")
        responses["401"] = {
            **_json(error, "No token, or an unknown or revoked token."),
            "headers": _WWW_AUTHENTICATE,
        }
        responses["403"] = _json(error, "The token's role may not make this call.")
        if operation.not_found:
            responses["404"] = _json(error, operation.not_found)
    described: dict[str, Any] = {
        "summary": operation.summary,
        "operationId": operation.operation_id,
        "tags": [operation.tag],
        "parameters": [
            *parameters(operation.path_params, "path"),
            *parameters(operation.query, "query"),
        ],
        "responses": responses,
    }
    if operation.role is None:
        described["security"] = []
    if operation.body is not None:
        described["requestBody"] = {
            "required": True,
            "content": {
                "application/json": {"schema": components.ref(operation.body, "validation")}
            },
        }
    return described


def openapi_document(operations: Iterable[Operation]) -> dict[str, Any]:
    """The whole OpenAPI document of ``operations``."""
    components = Components()
    paths: dict[str, dict[str, Any]] = {}
    for operation in operations:
        methods = paths.setdefault(API_PREFIX + operation.path, {})
        if operation.method in methods:
            raise ValueError(f"{operation.method} {operation.path} is declared twice")
        methods[operation.method] = _operation(operation, components)
    return {
        "openapi": "3.1.0",
        "info": INFO,
        "security": [{"bearer": []}],
        "tags": [{"name": "auditor"}, {"name": "admin"}, {"name": "agent"}, {"name": "meta"}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "`countersign token create` prints one.",
                }
            },
            "schemas": dict(sorted(components.schemas.items())),
        },
    }


# --- the human-readable page ----------------------------------------------------------------

_STYLE = """
body{font:15px/1.45 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}
h2{margin-top:2rem;font-size:1.05rem;font-family:ui-monospace,monospace}
.method{display:inline-block;min-width:4.5rem;font-weight:700;text-transform:uppercase}
.tag{font-size:.8rem;border:1px solid #999;border-radius:.3rem;padding:0 .3rem;margin-left:.5rem}
table{border-collapse:collapse;width:100%;margin:.4rem 0}
td,th{border-bottom:1px solid #ddd;padding:.2rem .5rem;text-align:left;vertical-align:top}
code,pre{font-family:ui-monospace,monospace;font-size:.85rem}
pre{background:#f5f5f5;padding:.5rem;overflow-x:auto}
"""


def docs_html(document: dict[str, Any]) -> str:
    """A self-contained HTML page listing the document's operations (nothing from elsewhere)."""
    info = document["info"]
    parts = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        f"<title>{_e(info['title'])}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{_e(info['title'])}</h1><p>{_e(info['description'])}</p>",
        f'<p>Machine-readable: <a href="openapi.json">openapi.json</a> '
        f"(OpenAPI {_e(document['openapi'])}).</p>",
    ]
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            parts.append(_operation_html(path, method, operation, document))
    parts.append("</body></html>")
    return "".join(parts)


def _operation_html(path: str, method: str, operation: dict[str, Any], doc: dict[str, Any]) -> str:
    parts = [
        f'<h2 id="{_e(operation["operationId"])}"><span class=method>{_e(method)}</span>'
        f"{_e(path)}<span class=tag>{_e(', '.join(operation['tags']))}</span></h2>",
        f"<p>{_e(operation['summary'])}</p>",
    ]
    if operation["parameters"]:
        rows = "".join(
            f"<tr><td><code>{_e(p['name'])}</code></td><td>{_e(p['in'])}"
            f"{' (required)' if p['required'] else ''}</td>"
            f"<td><code>{_e(_brief(p['schema']))}</code></td>"
            f"<td>{_e(p.get('description', ''))}</td></tr>"
            for p in operation["parameters"]
        )
        parts.append(
            "<table><tr><th>parameter</th><th>in</th><th>schema</th><th>meaning</th></tr>"
            f"{rows}</table>"
        )
    body = operation.get("requestBody")
    if body:
        schema = body["content"]["application/json"]["schema"]
        parts.append(f"<p>Body (JSON):</p><pre>{_e(_pretty(schema, doc))}</pre>")
    for status, answer in operation["responses"].items():
        media = ", ".join(answer.get("content", {}))
        parts.append(f"<p><b>{_e(status)}</b> {_e(answer['description'])} <code>{_e(media)}</code>")
        if status == "200" and "application/json" in answer.get("content", {}):
            schema = answer["content"]["application/json"]["schema"]
            parts.append(
                f"</p><details><summary>schema</summary><pre>{_e(_pretty(schema, doc))}"
                "</pre></details>"
            )
        else:
            parts.append("</p>")
    return "".join(parts)


def _brief(schema: dict[str, Any]) -> str:
    """One line for a parameter schema: its type and bounds."""
    keys = ("type", "format", "enum", "minimum", "maximum", "minLength", "maxLength", "default")
    return ", ".join(f"{key}={json.dumps(schema[key])}" for key in keys if key in schema)


def _pretty(schema: dict[str, Any], doc: dict[str, Any]) -> str:
    """The schema as indented JSON, with a top-level ``$ref`` resolved."""
    ref = schema.get("$ref", "")
    name = ref.rsplit("/", 1)[-1]
    resolved = doc["components"]["schemas"].get(name, schema) if ref else schema
    return (f"{name}\n" if ref else "") + json.dumps(resolved, indent=2)


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)
