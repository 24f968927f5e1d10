"""What each console page shows: parameters, the data read for it, and its rendering.

Data loaders run in a worker thread and call the shared queries; rendering uses Jinja2 with
autoescaping, so text from the ledger (titles, session ids, logins) is always shown as text.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import urlencode

import jinja2
from aiohttp import web

from github_app.api import queries
from github_app.console.chart import build_chart
from github_app.console.sessions import ConsoleSession
from github_app.evidence.audit_exceptions import DEFAULT_POST_REVIEW_HOURS
from github_app.evidence.params import (
    Filters,
    InvalidParameter,
    Position,
    decode_cursor,
    parse_filters,
    parse_int,
    parse_status,
    parse_text,
)
from github_app.evidence.population import (
    CHANGE_KINDS,
    CHANGE_STATUSES,
    change_row,
    collect_flags,
)
from github_app.evidence.sample import DEFAULT_SAMPLE_SIZE, MAX_SAMPLE_SIZE
from github_app.evidence.weekly import weekly_stats
from github_app.ledger.checkpoints import public_key_from_hex, public_key_to_pem
from github_app.ledger.proof import verify_proof_offline
from github_app.store.access_log import read_access_log
from github_app.store.ledger import LedgerError

SESSION_KEY = web.RequestKey("countersign_console_session", ConsoleSession)
PAGE_SIZE = 50
ACCESS_PAGE = 100
CHART_WEEKS = 12
EXCEPTION_WINDOW_DAYS = 90
_REPO_PART = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
_FILE_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


# --- parameters -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChangeCriteria:
    """Filters of the list pages, as given (for the form) and parsed (for the query)."""

    filters: Filters
    status: str | None
    after: Position | None
    limit: int
    raw: dict[str, str]

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> ChangeCriteria:
        """Parse ``since``, ``until``, ``repo``, ``agent``, ``status`` and ``cursor``."""
        raw = {name: query.get(name, "") for name in ("since", "until", "repo", "agent", "status")}
        return cls(
            filters=parse_filters({k: v for k, v in raw.items() if v and k != "status"}),
            status=parse_status(raw["status"] or None),
            after=decode_cursor(query.get("cursor")),
            limit=PAGE_SIZE,
            raw=raw,
        )

    def link(self, **extra: str) -> str:
        """The query string of these filters plus ``extra`` (empty values dropped)."""
        values = {k: v for k, v in (self.raw | extra).items() if v}
        return urlencode(values)


@dataclass(frozen=True)
class SampleCriteria:
    """A sample request: size, seed and the population filters."""

    n: int
    seed: str
    filters: Filters
    raw: dict[str, str]

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> SampleCriteria | None:
        """None until the form was submitted (a seed is required for reproducibility)."""
        seed = parse_text("seed", query.get("seed"))
        if seed is None:
            return None
        if len(seed) > 128:
            raise InvalidParameter("seed: at most 128 characters")
        n = parse_int("n", query.get("n"), default=DEFAULT_SAMPLE_SIZE, low=1, high=MAX_SAMPLE_SIZE)
        raw = {name: query.get(name, "") for name in ("since", "until", "repo", "agent")}
        filters = parse_filters({k: v for k, v in raw.items() if v})
        return cls(n, seed, filters, raw | {"n": str(n), "seed": seed})

    def link(self, **extra: str) -> str:
        """The query string to draw this sample again."""
        return urlencode({k: v for k, v in (self.raw | extra).items() if v})


def required_text(name: str, value: str) -> str:
    """A path parameter that must be present and printable."""
    text = parse_text(name, value)
    if text is None:
        raise InvalidParameter(f"{name}: required")
    return text


def repo_name(owner: str, repo: str) -> str:
    """``owner/repo`` from the path, refusing what no GitHub name can be."""
    if not (_REPO_PART.match(owner) and _REPO_PART.match(repo)):
        raise InvalidParameter("repository: expected OWNER/REPO")
    return f"{owner}/{repo}"


def pr_number(value: str) -> int:
    """A pull request number from the path."""
    return parse_int("number", value, default=0, low=1, high=2**31 - 1)


def optional_seq(value: str | None) -> int | None:
    """A ledger sequence number, or None when absent."""
    if value is None or value == "":
        return None
    return parse_int("seq", value, default=0, low=1, high=2**63 - 1)


def file_safe(text: str) -> str:
    """``text`` usable in a download's file name."""
    return _FILE_SAFE.sub("_", text)[:64] or "seed"


def post_review_hours(services: Any) -> int:
    """The default policy's post-review deadline, when the services carry a policy."""
    policy = getattr(services, "default_policy", None)
    hours = getattr(getattr(policy, "emergency", None), "post_review_hours", None)
    return hours if isinstance(hours, int) else DEFAULT_POST_REVIEW_HOURS


def new_login_csrf() -> str:
    """A fresh double-submit value for the sign-in form."""
    return secrets.token_urlsafe(24)


# --- data -------------------------------------------------------------------------------------


def overview_data(services: Any, now: datetime) -> dict[str, Any]:
    """The weekly chart, exception counts and the ledger's status."""
    since = now - timedelta(weeks=CHART_WEEKS)
    rows = queries.population(services.ledger, Filters(since=since))
    weeks = weekly_stats(rows, until=now, weeks=CHART_WEEKS)
    window = Filters(since=now - timedelta(days=EXCEPTION_WINDOW_DAYS))
    listed = _all_exceptions(services, window, now)
    open_items = [i for i in listed if _awaits_post_review(i)]
    return {
        "chart": build_chart(weeks),
        "weeks": weeks,
        "exception_count": len(listed),
        "open_exceptions": open_items,
        "altered_rows": [r.as_dict() for r in rows if r.integrity != "ok"],
        "window_days": EXCEPTION_WINDOW_DAYS,
        **ledger_status(services),
    }


def _all_exceptions(services: Any, filters: Filters, now: datetime) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    after: Position | None = None
    while True:
        page = queries.exceptions_page(
            services.ledger,
            filters,
            after=after,
            limit=1000,
            now=now,
            default_hours=post_review_hours(services),
        )
        items += page.items
        if page.next_cursor is None:
            return items
        after = decode_cursor(page.next_cursor)


def _awaits_post_review(item: dict[str, Any]) -> bool:
    """An emergency change nobody has reviewed after the fact yet: still open."""
    detail = item["detail"]
    return bool(detail.get("emergency")) and detail.get("post_reviewed_at") is None


def ledger_status(services: Any) -> dict[str, Any]:
    """Head, last signed checkpoint and how many entries no signed checkpoint covers yet."""
    head = services.ledger.head()
    checkpoint = services.ledger.latest_checkpoint()
    head_seq = head.seq if head else 0
    return {
        "head_seq": head_seq,
        "checkpoint": checkpoint.model_dump(mode="json") if checkpoint else None,
        "unsigned_tail": head_seq - (checkpoint.size if checkpoint else 0),
    }


def pull_request_data(services: Any, repo: str, number: int) -> dict[str, Any] | None:
    """The latest decision (what the check run says), the merge, and the PR's history."""
    entries = list(services.ledger.entries(repo=repo, pr=number))
    if not entries:
        return None
    history = [queries.served_record(entry) for entry in entries]
    decisions = [item for item in history if item["kind"] == "decision"]
    merges = [item for item in history if item["kind"] in ("merge", "backfill")]
    # The PR's row in the population, judged from its own entries (the flags are per PR).
    flags = collect_flags(entries)
    changes = [
        change_row(entry, flags).as_dict() for entry in entries if entry.kind in CHANGE_KINDS
    ]
    sessions = sorted({item["session_id"] for item in history if item["session_id"]})
    return {
        "repo": repo,
        "number": number,
        "decision": decisions[-1] if decisions else None,
        "merge": merges[-1] if merges else None,
        "change": changes[-1] if changes else None,
        "history": history,
        "sessions": sessions,
    }


def public_key_pem(services: Any) -> str | None:
    """PEM of the key that signed the latest checkpoint (None before the first one)."""
    checkpoint = services.ledger.latest_checkpoint()
    if checkpoint is None:
        return None
    return public_key_to_pem(public_key_from_hex(checkpoint.public_key))


def ledger_data(services: Any, seq: int | None) -> dict[str, Any]:
    """The ledger page: status, public key and, for ``seq``, its proof checked offline."""
    data = ledger_status(services) | {"public_key_pem": public_key_pem(services), "seq": seq}
    data["proof"], data["proof_error"] = None, None
    if seq is None:
        return data
    checkpoint = services.ledger.latest_checkpoint()
    try:
        if checkpoint is None or checkpoint.size < seq:
            raise LedgerError(f"entry {seq} is not covered by a signed checkpoint yet")
        proof = services.ledger.prove(seq, checkpoint.size)  # read-only: never signs
    except LedgerError as error:
        data["proof_error"] = str(error)
        return data
    document = proof.model_dump(mode="json")
    ok, reason = verify_proof_offline(document, proof.public_key_pem)
    entry = queries.served_record(proof.entry)
    data["proof"] = {"document": document, "ok": ok, "reason": reason, "entry": entry}
    return data


def access_rows(services: Any, before: int | None) -> list[dict[str, Any]]:
    """One page of the access log, newest first."""
    return read_access_log(services.db, limit=ACCESS_PAGE, before_id=before)


# --- rendering --------------------------------------------------------------------------------


@cache
def environment() -> jinja2.Environment:
    """The template environment (autoescaping on for every template)."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("github_app.console", "templates"),
        autoescape=True,
        undefined=jinja2.ChainableUndefined,  # entry data varies by kind
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = _when
    env.filters["short"] = lambda value: (value or "")[:12]
    env.globals["statuses"] = CHANGE_STATUSES
    return env


@cache
def stylesheet() -> str:
    """The console's stylesheet text."""
    return resources.files("github_app.console").joinpath("static/console.css").read_text("utf-8")


def _when(value: str | None) -> str:
    """An RFC 3339 timestamp shown to the minute, in UTC."""
    return f"{value[:10]} {value[11:16]} UTC" if value else ""


def _altered(context: dict[str, Any]) -> list[int]:
    """Sequence numbers of altered entries anywhere in the page's data."""
    found: set[int] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if value.get("integrity") == "altered" and isinstance(value.get("seq"), int):
                found.add(value["seq"])
            for inner in value.values():
                walk(inner)
        elif isinstance(value, list | tuple):
            for inner in value:
                walk(inner)

    walk(context)
    return sorted(found)


def render(
    request: web.Request, template: str, *, status: int = 200, **context: Any
) -> web.Response:
    """Render ``template`` with the page chrome (session, anti-forgery token, banner)."""
    session = request.get(SESSION_KEY)
    return _render(request, template, session, status=status, **context)


def _render(
    request: web.Request, template: str, session: Any, *, status: int = 200, **context: Any
) -> web.Response:
    page = environment().get_template(template)
    html = page.render(
        session=session,
        csrf=session.csrf if session else "",
        path=request.path,
        altered=_altered(context),
        **context,
    )
    return web.Response(text=html, status=status, content_type="text/html")


def login_page(
    request: web.Request,
    csrf: str,
    *,
    next_url: str,
    error: str | None = None,
    status: int = 200,
) -> web.Response:
    """The sign-in form."""
    signed_out = request.query.get("signed_out") == "1"
    page = environment().get_template("login.html")
    html = page.render(
        session=None,
        csrf=csrf,
        path=request.path,
        altered=[],
        next_url=next_url,
        error=error,
        signed_out=signed_out,
    )
    return web.Response(text=html, status=status, content_type="text/html")


def error_page(request: web.Request, session: Any, status: int, message: str) -> web.Response:
    """A page that says what went wrong, in the console's chrome."""
    return _render(request, "error.html", session, status=status, code=status, message=message)
