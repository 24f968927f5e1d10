"""The OpenAPI 3.1 document of the auditor and admin API, served at ``/api/v1/openapi.json``.

It describes exactly the routes :mod:`github_app.api.routes` serves, their parameters and every
status they answer with; tests fuzz the API from it and check responses conform.
"""

from __future__ import annotations

from typing import Any

from github_app.evidence.exceptions import EXCEPTION_TYPES
from github_app.evidence.params import DEFAULT_LIMIT, MAX_LIMIT, MAX_TEXT
from github_app.evidence.population import CHANGE_STATUSES
from github_app.evidence.sample import DEFAULT_SAMPLE_SIZE, MAX_SAMPLE_SIZE
from github_app.ledger.entry import ENTRY_KINDS

API_PREFIX = "/api/v1"
REF = "#/components/schemas/"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": REF + name}


def _nullable(kind: str, **extra: Any) -> dict[str, Any]:
    return {"type": [kind, "null"], **extra}


def _query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
    }


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str) -> dict[str, Any]:
    return _json(_ref("Error"), description)


_UNAUTHORIZED = {
    **_error("No token, or an unknown or revoked token."),
    "headers": {
        "WWW-Authenticate": {"schema": {"type": "string"}, "description": "Bearer challenge."}
    },
}
_FORBIDDEN = _error("The token's role may not make this call.")
_BAD_REQUEST = _error("A parameter or the body is malformed; the message says which.")

# Printable text: control characters are refused (400) by every parameter.
PRINTABLE = r"^[^\u0000-\u001f\u007f]*$"
TEXT = {"type": "string", "maxLength": MAX_TEXT, "pattern": PRINTABLE}
KINDS_PATTERN = "^({0})(,({0}))*$".format("|".join(ENTRY_KINDS))
TIMESTAMP = {"type": "string", "format": "date-time"}
FILTER_PARAMETERS = [
    {"$ref": "#/components/parameters/repo"},
    {"$ref": "#/components/parameters/since"},
    {"$ref": "#/components/parameters/until"},
    {"$ref": "#/components/parameters/agent"},
]
PAGE_PARAMETERS = [
    {"$ref": "#/components/parameters/limit"},
    {"$ref": "#/components/parameters/cursor"},
]


def _operation(
    summary: str,
    operation_id: str,
    ok: dict[str, Any],
    *,
    parameters: list[dict[str, Any]] | None = None,
    body: str | None = None,
    not_found: str | None = None,
    tag: str = "auditor",
) -> dict[str, Any]:
    responses: dict[str, Any] = {
        "200": ok,
        "400": _BAD_REQUEST,
        "401": _UNAUTHORIZED,
        "403": _FORBIDDEN,
    }
    if not_found:
        responses["404"] = _error(not_found)
    operation: dict[str, Any] = {
        "summary": summary,
        "operationId": operation_id,
        "tags": [tag],
        "parameters": parameters or [],
        "responses": responses,
    }
    if body:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(body)}},
        }
    return operation


def _page(item: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["items", "next_cursor"],
        "properties": {
            "items": {"type": "array", "items": _ref(item)},
            "next_cursor": _nullable("string", description="Pass as `cursor` for the next page."),
        },
    }


ENTRY_SCHEMA = {
    "type": "object",
    "description": "A ledger entry: every stored field; `hash` covers all the others.",
    "required": ["seq", "id", "kind", "occurred_at", "recorded_at", "data", "prev_hash", "hash"],
    "properties": {
        "seq": {"type": "integer", "minimum": 1},
        "id": {"type": "string"},
        "kind": {"type": "string"},
        "occurred_at": TIMESTAMP,
        "recorded_at": TIMESTAMP,
        "session_id": _nullable("string"),
        "session_derived": {"type": "boolean"},
        "agent": _nullable("string"),
        "launched_by": _nullable("string"),
        "repo": _nullable("string"),
        "repo_id": _nullable("integer"),
        "pr": _nullable("integer"),
        "head_sha": _nullable("string"),
        "actor": _nullable("string"),
        "delivery_id": _nullable("string"),
        "payload_sha256": _nullable("string"),
        "policy_sha": _nullable("string"),
        "data": {"type": "object"},
        "prev_hash": {"type": "string"},
        "hash": {"type": "string"},
    },
}

CHANGE_SCHEMA = {
    "type": "object",
    "description": "One change that reached a protected branch (a merge or a direct push).",
    "required": [
        "seq",
        "entry_id",
        "kind",
        "repo",
        "pr",
        "agent",
        "session_id",
        "launched_by",
        "approvers",
        "approved_sha",
        "merge_sha",
        "merged_by",
        "occurred_at",
        "status",
    ],
    "properties": {
        "seq": {"type": "integer"},
        "entry_id": {"type": "string"},
        "kind": {"type": "string", "enum": ["merge", "direct_push", "backfill"]},
        "repo": _nullable("string"),
        "pr": _nullable("integer"),
        "agent": _nullable("string"),
        "session_id": _nullable("string"),
        "session_derived": {"type": "boolean"},
        "launched_by": _nullable("string"),
        "approvers": {"type": "array", "items": {"type": "string"}},
        "approved_sha": _nullable("string"),
        "merge_sha": _nullable("string", description="Merge commit, or the pushed head."),
        "merged_by": _nullable("string", description="Who merged, or who pushed."),
        "occurred_at": TIMESTAMP,
        "status": {"type": "string", "enum": list(CHANGE_STATUSES)},
        "backfilled": {
            "type": "boolean",
            "description": "Imported from GitHub's history by `countersign audit --record`.",
        },
    },
}

EXCEPTION_SCHEMA = {
    "type": "object",
    "required": ["type", "seq", "entry_id", "occurred_at", "detail"],
    "properties": {
        "type": {"type": "string", "enum": list(EXCEPTION_TYPES)},
        "seq": {"type": "integer"},
        "entry_id": {"type": "string"},
        "occurred_at": TIMESTAMP,
        "repo": _nullable("string"),
        "pr": _nullable("integer"),
        "agent": _nullable("string"),
        "session_id": _nullable("string"),
        "launched_by": _nullable("string"),
        "actor": _nullable("string"),
        "head_sha": _nullable("string"),
        "detail": {
            "type": "object",
            "description": "The entry's data; for emergency changes "
            "also post_review_due, post_reviewed_at (and overdue_by_hours).",
        },
    },
}

SUMMARY_SCHEMA = {
    "type": "object",
    "required": ["session_id", "agents", "launched_by", "entries", "revoked"],
    "properties": {
        "session_id": {"type": "string"},
        "session_derived": {"type": "boolean"},
        "agents": {"type": "array", "items": {"type": "string"}},
        "launched_by": {"type": "array", "items": {"type": "string"}},
        "repos": {"type": "array", "items": {"type": "string"}},
        "pull_requests": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"repo": {"type": "string"}, "pr": {"type": "integer"}},
            },
        },
        "first_seen": _nullable("string", format="date-time"),
        "last_seen": _nullable("string", format="date-time"),
        "entries": {"type": "integer"},
        "kinds": {"type": "object", "additionalProperties": {"type": "integer"}},
        "revoked": {"type": "boolean"},
    },
}

CHECKPOINT_SCHEMA = {
    "type": "object",
    "required": [
        "size",
        "root_hash",
        "head_hash",
        "created_at",
        "key_id",
        "public_key",
        "signature",
    ],
    "properties": {
        "size": {"type": "integer"},
        "root_hash": {"type": "string"},
        "head_hash": {"type": "string"},
        "created_at": TIMESTAMP,
        "key_id": {"type": "string"},
        "public_key": {"type": "string", "description": "Raw Ed25519 public key, hex."},
        "signature": {"type": "string", "description": "Ed25519 signature, hex."},
    },
}

VERIFY_SCHEMA = {
    "type": "object",
    "required": ["ok", "entries_checked", "checkpoints_checked"],
    "properties": {
        "ok": {"type": "boolean"},
        "entries_checked": {"type": "integer"},
        "checkpoints_checked": {"type": "integer"},
        "first_bad_seq": _nullable(
            "integer", description="The first entry that no longer matches."
        ),
        "bad_checkpoint_size": _nullable("integer"),
        "problem": _nullable("string"),
        "head_seq": {"type": "integer"},
        "head_hash": {"type": "string"},
        "latest_checkpoint_size": _nullable("integer"),
        "signatures_trusted": {"type": "boolean"},
    },
}

REPO_PATTERN = r"^[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}$"
REASON = {"type": "string", "minLength": 1, "maxLength": 1000}

FREEZE_REQUEST = {
    "type": "object",
    "required": ["reason"],
    "additionalProperties": False,
    "properties": {
        "repo": {
            "type": "string",
            "pattern": REPO_PATTERN,
            "description": "owner/name; omit to freeze every repository.",
        },
        "reason": REASON,
    },
}

REVOKE_REQUEST = {
    "type": "object",
    "required": ["reason"],
    "additionalProperties": False,
    "properties": {"reason": REASON},
}

CONTAINMENT_RESULT = {
    "type": "object",
    "required": ["action", "changed", "actor", "reason", "repo", "session_id", "entry"],
    "properties": {
        "action": {"type": "string", "enum": ["freeze", "unfreeze", "session_revoked"]},
        "changed": {
            "type": "boolean",
            "description": "False when the scope already was in that state.",
        },
        "actor": {"type": "string"},
        "reason": {"type": "string"},
        "repo": _nullable("string"),
        "session_id": _nullable("string"),
        "entry": {
            "oneOf": [_ref("Entry"), {"type": "null"}],
            "description": "The ledger entry written (none when nothing changed).",
        },
    },
}

SAMPLE_SCHEMA = {
    "type": "object",
    "required": ["seed", "n", "population_size", "items"],
    "properties": {
        "seed": {"type": "string", "description": "Pass it again to draw the same sample."},
        "n": {"type": "integer"},
        "population_size": {"type": "integer"},
        "filters": {"type": "object"},
        "items": {"type": "array", "items": _ref("Change")},
    },
}

TIMELINE_SCHEMA = {
    "type": "object",
    "required": ["session_id", "attribution", "items", "next_cursor"],
    "properties": {
        "session_id": {"type": "string"},
        "attribution": _ref("SessionSummary"),
        "items": {"type": "array", "items": _ref("Entry")},
        "next_cursor": _nullable("string"),
    },
}

EXPORT_DESCRIPTION = (
    "A streamed snapshot of the whole ledger in `seq` order. JSONL: one entry object per line, "
    'then a last line `{"checkpoint": {...}}` (null when no checkpoint exists yet). CSV: a '
    "header row, one row per entry (empty cell = null, `data` as canonical JSON), then a last "
    "row whose `kind` is `checkpoint` and whose `data` holds the checkpoint JSON. The latest "
    "signed checkpoint is also sent in the `X-Countersign-Checkpoint` header."
)


ENVELOPE_SCHEMA = {
    "type": "object",
    "description": "A DSSE envelope whose payload (base64) is an in-toto Statement v1 with a "
    "SLSA verification summary predicate about the merge commit.",
    "required": ["payload", "payloadType", "signatures"],
    "properties": {
        "payload": {"type": "string"},
        "payloadType": {"type": "string", "enum": ["application/vnd.in-toto+json"]},
        "signatures": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["sig"],
                "properties": {"keyid": {"type": "string"}, "sig": {"type": "string"}},
            },
        },
    },
}
PACK_DESCRIPTION = (
    "A zip of the period's population (CSV and JSON), sample with its seed, exceptions, ledger "
    "entries with the signed checkpoints that verify them, the public key, the policies in "
    "force, per-change attestations, a summary (HTML) and a README; `manifest.json` lists the "
    "SHA-256 of every file and `manifest.sig` signs it (DSSE, the ledger key). Verify offline "
    "with `countersign evidence verify --pack FILE --public-key KEY.pem`."
)


def _auditor_paths() -> dict[str, Any]:
    sha = {
        "name": "sha",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "pattern": "^[0-9a-fA-F]{40}$"},
    }
    attestation = _operation(
        "The signed attestation (in-toto, DSSE) of the change merged as this commit",
        "getAttestation",
        _json(_ref("Envelope"), "The DSSE envelope."),
        parameters=[sha],
        not_found="No merged change in the ledger has this merge commit.",
    )
    attestation["responses"]["503"] = _error("No signing key is configured.")
    required_time = {"required": True}
    pack = _operation(
        "The audit pack of a period (zip, verifiable offline)",
        "getPack",
        {
            "description": PACK_DESCRIPTION,
            "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
        },
        parameters=[
            {**_query("since", "Start of the period (inclusive).", TIMESTAMP), **required_time},
            {**_query("until", "End of the period (exclusive).", TIMESTAMP), **required_time},
            _query(
                "n",
                "Sample size.",
                {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": MAX_SAMPLE_SIZE,
                    "default": DEFAULT_SAMPLE_SIZE,
                },
            ),
            _query(
                "seed",
                "Sample seed (chosen at random when omitted; recorded in the pack).",
                {"type": "string", "minLength": 1, "maxLength": 128, "pattern": PRINTABLE},
            ),
        ],
    )
    pack["responses"]["409"] = _error("The period cannot be signed or checkpointed yet.")
    return {
        f"{API_PREFIX}/attestations/{{sha}}": {"get": attestation},
        f"{API_PREFIX}/pack": {"get": pack},
    }


def _paths() -> dict[str, Any]:
    session_id = {
        "name": "session_id",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "minLength": 1, "maxLength": MAX_TEXT, "pattern": PRINTABLE},
    }
    kinds = _query(
        "kind",
        "Only these kinds (comma-separated).",
        {
            "type": "string",
            "maxLength": MAX_TEXT,
            "pattern": KINDS_PATTERN,
            "description": "One or more of: " + ", ".join(ENTRY_KINDS),
        },
    )
    export_ok = {
        "description": EXPORT_DESCRIPTION,
        "headers": {
            "X-Countersign-Checkpoint": {
                "schema": {"type": "string"},
                "description": "The latest checkpoint, compact JSON.",
            }
        },
        "content": {
            "application/x-ndjson": {"schema": {"type": "string"}},
            "text/csv": {"schema": {"type": "string"}},
        },
    }
    return {
        f"{API_PREFIX}/sessions/{{session_id}}": {
            "get": _operation(
                "A session's timeline (entries in order) and attribution summary",
                "getSession",
                _json(_ref("SessionTimeline"), "The timeline page."),
                parameters=[session_id, *FILTER_PARAMETERS, *PAGE_PARAMETERS],
                not_found="The ledger has no entry for this session.",
            )
        },
        f"{API_PREFIX}/sessions/{{session_id}}/revoke": {
            "post": _operation(
                "Revoke an agent session (admin)",
                "revokeSession",
                _json(_ref("ContainmentResult"), "Revoked (or already revoked)."),
                parameters=[session_id],
                body="RevokeRequest",
                tag="admin",
            )
        },
        f"{API_PREFIX}/changes": {
            "get": _operation(
                "The change population: every merge and direct push",
                "listChanges",
                _json(_page("Change"), "One page of changes."),
                parameters=[*FILTER_PARAMETERS, *PAGE_PARAMETERS],
            )
        },
        f"{API_PREFIX}/changes/sample": {
            "get": _operation(
                "A reproducible random sample of the change population",
                "sampleChanges",
                _json(_ref("Sample"), "The sample."),
                parameters=[
                    _query(
                        "n",
                        "Sample size.",
                        {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": MAX_SAMPLE_SIZE,
                            "default": DEFAULT_SAMPLE_SIZE,
                        },
                    ),
                    _query(
                        "seed",
                        "Seed; the same seed and population give the same rows. "
                        "Chosen at random when omitted.",
                        {"type": "string", "minLength": 1, "maxLength": 128, "pattern": PRINTABLE},
                    ),
                    *FILTER_PARAMETERS,
                ],
            )
        },
        f"{API_PREFIX}/exceptions": {
            "get": _operation(
                "Violations, bypassed and unapproved merges, emergency changes, "
                "overdue post-reviews",
                "listExceptions",
                _json(_page("Exception"), "One page of exceptions."),
                parameters=[*FILTER_PARAMETERS, *PAGE_PARAMETERS],
            )
        },
        f"{API_PREFIX}/evidence": {
            "get": _operation(
                "Raw ledger entries in seq order",
                "listEvidence",
                _json(_page("Entry"), "One page of entries."),
                parameters=[kinds, *FILTER_PARAMETERS, *PAGE_PARAMETERS],
            )
        },
        f"{API_PREFIX}/export": {
            "get": _operation(
                "Streamed export with the latest signed checkpoint",
                "exportLedger",
                export_ok,
                parameters=[
                    _query(
                        "format",
                        "Export format.",
                        {"type": "string", "enum": ["jsonl", "csv"], "default": "jsonl"},
                    )
                ],
            )
        },
        f"{API_PREFIX}/ledger/verify": {
            "get": _operation(
                "Verify the whole ledger against the chain and the signed checkpoints",
                "verifyLedger",
                _json(_ref("VerifyReport"), "The verification report."),
            )
        },
        f"{API_PREFIX}/freeze": {
            "post": _operation(
                "Freeze agent changes org-wide or in one repository (admin)",
                "freeze",
                _json(_ref("ContainmentResult"), "Frozen (or already frozen)."),
                body="FreezeRequest",
                tag="admin",
            ),
            "delete": _operation(
                "Lift a freeze (admin)",
                "unfreeze",
                _json(_ref("ContainmentResult"), "Lifted (or was not frozen)."),
                parameters=[
                    _query(
                        "repo",
                        "owner/name; omit for the org-wide freeze.",
                        {"type": "string", "pattern": REPO_PATTERN},
                    )
                ],
                tag="admin",
            ),
        },
    }


def _components() -> dict[str, Any]:
    return {
        "securitySchemes": {
            "bearer": {
                "type": "http",
                "scheme": "bearer",
                "description": "`countersign token create` prints one.",
            }
        },
        "parameters": {
            "repo": _query("repo", "Only this repository (owner/name).", TEXT),
            "since": _query(
                "since",
                "Only entries that occurred at or after this time "
                "(ISO 8601; UTC when no zone is given).",
                TIMESTAMP,
            ),
            "until": _query(
                "until", "Only entries that occurred before this time (exclusive).", TIMESTAMP
            ),
            "agent": _query("agent", "Only this agent (catalogue name).", TEXT),
            "limit": _query(
                "limit",
                "Page size.",
                {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
            ),
            "cursor": _query(
                "cursor",
                "The `next_cursor` of the previous page (opaque).",
                {"type": "string", "maxLength": 64},
            ),
        },
        "schemas": {
            "Error": {
                "type": "object",
                "required": ["error"],
                "properties": {"error": {"type": "string"}},
            },
            "Entry": ENTRY_SCHEMA,
            "Change": CHANGE_SCHEMA,
            "Exception": EXCEPTION_SCHEMA,
            "SessionSummary": SUMMARY_SCHEMA,
            "SessionTimeline": TIMELINE_SCHEMA,
            "Sample": SAMPLE_SCHEMA,
            "Checkpoint": CHECKPOINT_SCHEMA,
            "VerifyReport": VERIFY_SCHEMA,
            "FreezeRequest": FREEZE_REQUEST,
            "RevokeRequest": REVOKE_REQUEST,
            "ContainmentResult": CONTAINMENT_RESULT,
            "Envelope": ENVELOPE_SCHEMA,
        },
    }


def openapi_document() -> dict[str, Any]:
    """The whole OpenAPI document."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Countersign auditor and admin API",
            "version": "1",
            "description": (
                "Evidence for SOC 2 auditors (role `auditor`) and containment for admins "
                "(role `admin`, which can also read). Authenticate with "
                "`Authorization: Bearer <token>`. Lists are cursor-paginated: pass "
                "`next_cursor` back as `cursor`. Every call is written to the access log."
            ),
        },
        "security": [{"bearer": []}],
        "tags": [{"name": "auditor"}, {"name": "admin"}, {"name": "meta"}],
        "paths": {
            **_paths(),
            **_auditor_paths(),
            f"{API_PREFIX}/openapi.json": {
                "get": {
                    "summary": "This document",
                    "operationId": "openapi",
                    "tags": ["meta"],
                    "security": [],
                    "responses": {
                        "200": {
                            "description": "The OpenAPI document.",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        }
                    },
                }
            },
        },
        "components": _components(),
    }
