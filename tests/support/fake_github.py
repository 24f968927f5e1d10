"""A fake GitHub REST API for tests, strict about what the App sends.

The ``github`` fixture mocks ``FAKE_API_URL`` (a GitHub Enterprise Server style root) with respx.
Every request the App sends is checked against GitHub's own OpenAPI description: an unknown
endpoint, a wrong method, a bad parameter, a body that does not fit the schema, or the wrong kind
of credentials is answered with status 599 (so the code under test notices at once) and fails
the test at teardown with the list of violations. Responses come from routes the test declares
(``github.route``), ideally built from GitHub's own examples (``example(name)``); an installation
access token is always available without declaring anything.
"""

from __future__ import annotations

import copy
import functools
import gzip
import hashlib
import itertools
import json
import re
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import graphql
import httpx
import pytest
import respx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

from github_app.config import github_graphql_url
from github_app.github.client import GitHubClient, RetryPolicy

FAKE_API_URL = "https://github.test/api/v3"
FAKE_APP_ID = 424242
SPEC_FILE = Path(__file__).parent.parent / "fixtures" / "openapi" / "api.github.com.json.gz"
SPEC_SERVER = "https://api.github.com"
GRAPHQL_SCHEMA_FILE = (
    Path(__file__).parent.parent / "fixtures" / "graphql" / "github-merge-queue.graphql"
)
INVALID_REQUEST_STATUS = 599
# Path parameters GitHub lets span several segments (file paths, refs, branch names).
MULTI_SEGMENT_PARAMS = frozenset({"path", "ref", "branch"})
# Endpoints reached without credentials.
UNAUTHENTICATED_TEMPLATES = frozenset({"/app-manifests/{code}/conversions"})
# Besides /app/..., GitHub wants the App's JWT to find the installation of an account or repo.
JWT_TEMPLATES = frozenset(
    {
        "/repos/{owner}/{repo}/installation",
        "/orgs/{org}/installation",
        "/users/{username}/installation",
    }
)
HTTP_METHODS = frozenset({"GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE"})

Handler = Callable[[httpx.Request], httpx.Response]
PathSpec = str | re.Pattern[str]


@functools.cache
def load_spec() -> dict[str, Any]:
    """GitHub's OpenAPI description, parsed once per process."""
    with gzip.open(SPEC_FILE, "rt", encoding="utf-8") as stream:
        return json.load(stream)


@functools.cache
def openapi() -> OpenAPI:
    """The openapi-core validator over GitHub's description (the spec itself is trusted)."""
    return OpenAPI.from_dict(load_spec(), config=Config(spec_validator_cls=None))


def example(name: str) -> dict[str, Any]:
    """A fresh copy of ``components/examples/<name>/value`` from GitHub's description."""
    examples = load_spec()["components"]["examples"]
    if name not in examples:
        raise KeyError(f"GitHub's OpenAPI description has no example named {name!r}")
    return copy.deepcopy(examples[name]["value"])


@functools.cache
def graphql_schema() -> graphql.GraphQLSchema:
    """The part of GitHub's GraphQL schema the App queries (``fixtures/graphql``)."""
    return graphql.build_schema(GRAPHQL_SCHEMA_FILE.read_text(encoding="utf-8"))


# --- resolving a request path to GitHub's path template ------------------------------------


@dataclass(frozen=True)
class SpecPath:
    """One path template of the description, with matchers for concrete paths."""

    template: str
    params: tuple[str, ...]
    methods: frozenset[str]
    strict: re.Pattern[str]  # every parameter is one path segment
    loose: re.Pattern[str]  # MULTI_SEGMENT_PARAMS may contain "/"

    @property
    def specificity(self) -> tuple[int, int]:
        """Fewer parameters and more literal text make a template more specific."""
        return (-len(self.params), len(re.sub(r"\{[^}]+\}", "", self.template)))


def _template_regex(template: str, multi_segment: frozenset[str]) -> re.Pattern[str]:
    """Compile ``template``; parameters become unnamed groups (names like ``a-b`` are legal)."""
    parts = re.split(r"\{([^}]+)\}", template)
    pattern = ""
    for index, part in enumerate(parts):
        if index % 2 == 0:
            pattern += re.escape(part)
        else:
            pattern += "(.+)" if part in multi_segment else "([^/]+)"
    return re.compile(pattern)


@functools.cache
def spec_paths() -> tuple[SpecPath, ...]:
    """Every path template of the description, compiled once per process."""
    return tuple(
        SpecPath(
            template=template,
            params=tuple(re.findall(r"\{([^}]+)\}", template)),
            methods=frozenset(key.upper() for key in item if key.upper() in HTTP_METHODS),
            strict=_template_regex(template, frozenset()),
            loose=_template_regex(template, MULTI_SEGMENT_PARAMS),
        )
        for template, item in load_spec()["paths"].items()
    )


def resolve_path(method: str, raw_path: str) -> tuple[str, dict[str, str]] | None:
    """The template matching ``raw_path`` (percent-encoded) and its decoded parameters."""
    for attribute in ("strict", "loose"):
        matches = [
            (spec, match)
            for spec in spec_paths()
            if (match := getattr(spec, attribute).fullmatch(raw_path))
        ]
        if matches:
            spec, match = max(matches, key=lambda m: (method in m[0].methods, m[0].specificity))
            values = (unquote(value) for value in match.groups())
            params = dict(zip(spec.params, values, strict=True))
            return spec.template, params
    return None


# --- validating a request -------------------------------------------------------------------


@dataclass
class OpenAPIRequest:
    """An httpx request as openapi-core reads it, already resolved to its template."""

    method: str
    path: str
    body: bytes | None
    content_type: str
    parameters: RequestParameters
    host_url: str = SPEC_SERVER

    @property
    def path_pattern(self) -> str:
        """The template; openapi-core then takes ``parameters.path`` as given."""
        return self.path


def to_openapi_request(
    request: httpx.Request, template: str, params: dict[str, str]
) -> OpenAPIRequest:
    """Adapt ``request`` for openapi-core, with the path parameters resolved by us."""
    return OpenAPIRequest(
        method=request.method.lower(),
        path=template,
        body=request.content or None,
        content_type=request.headers.get("content-type", ""),
        parameters=RequestParameters(
            query=ImmutableMultiDict(list(request.url.params.multi_items())),
            header=Headers(list(request.headers.multi_items())),
            path=params,
        ),
    )


def describe_error(error: Exception) -> list[str]:
    """Readable lines for one openapi-core error, down to each schema violation."""
    kind = type(error).__name__
    schema_errors = getattr(error.__cause__, "schema_errors", None) or ()
    if not schema_errors:
        cause = f" ({error.__cause__})" if error.__cause__ is not None else ""
        return [f"{kind}: {error}{cause}"]
    return [
        f"{kind} at {'/'.join(str(p) for p in e.path) or 'top level'}: {e.message}"
        for e in schema_errors
    ]


def credential_violations(template: str, authorization: str | None) -> list[str]:
    """Check the App used the kind of credentials GitHub demands at ``template``."""
    if template in UNAUTHENTICATED_TEMPLATES:
        return []
    if not authorization:
        return ["no Authorization header: the App must authenticate every request"]
    scheme, _, credential = authorization.partition(" ")
    is_jwt = scheme.lower() == "bearer" and credential.count(".") == 2
    wants_jwt = template == "/app" or template.startswith("/app/") or template in JWT_TEMPLATES
    if wants_jwt and not is_jwt:
        return [f"{template} needs the App's JWT (Authorization: Bearer <jwt>)"]
    if not wants_jwt and is_jwt:
        return [f"{template} needs an installation token, not the App's JWT"]
    return []


def request_violations(request: httpx.Request, api_path: str) -> list[str]:
    """Everything wrong with ``request`` by GitHub's description (empty when valid)."""
    resolved = resolve_path(request.method.upper(), api_path)
    if resolved is None:
        return ["no such endpoint in GitHub's REST API"]
    template, params = resolved
    errors = openapi().iter_apicall_request_errors(to_openapi_request(request, template, params))
    problems = [line for error in errors for line in describe_error(error)]
    return problems + credential_violations(template, request.headers.get("authorization"))


# --- routes -------------------------------------------------------------------------------


def compile_path(path: PathSpec) -> re.Pattern[str]:
    """A route path: a regex, a literal path, or a template (``{x}`` one segment, ``{+x}`` any)."""
    if isinstance(path, re.Pattern):
        return path
    if path.startswith("^"):
        return re.compile(path)
    parts = re.split(r"\{(\+?)([^}]+)\}", path)
    pattern = ""
    for index in range(0, len(parts), 3):
        pattern += re.escape(parts[index])
        if index + 2 < len(parts):
            pattern += ".+" if parts[index + 1] else "[^/]+"
    return re.compile(pattern)


def path_matches(pattern: re.Pattern[str], raw_path: str) -> bool:
    """True if ``pattern`` matches the whole path, as sent (percent-encoded) or decoded."""
    return bool(pattern.fullmatch(raw_path) or pattern.fullmatch(unquote(raw_path)))


def json_response(
    status: int = 200, json_body: Any = None, headers: Mapping[str, str] | None = None
) -> httpx.Response:
    """A response as GitHub sends it: JSON body (unless None) with its content type."""
    if json_body is None:
        return httpx.Response(status, headers=headers)
    return httpx.Response(status, json=json_body, headers=headers)


@dataclass
class FakeRoute:
    """Answers for one method and path; successive calls walk ``then`` (the last repeats)."""

    method: str
    pattern: re.Pattern[str]
    handlers: list[Handler] = field(default_factory=list)
    calls: list[httpx.Request] = field(default_factory=list)

    def then(
        self,
        *,
        json: Any = None,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        handler: Handler | None = None,
        error: Exception | None = None,
    ) -> FakeRoute:
        """Add the answer for the next call: a JSON response, a ``handler``, or an ``error``."""
        self.handlers.append(_make_handler(json, status, headers, handler, error))
        return self

    @property
    def called(self) -> bool:
        """True once the route answered a request."""
        return bool(self.calls)

    @property
    def call_count(self) -> int:
        """How many requests the route answered."""
        return len(self.calls)

    def matches(self, method: str, raw_path: str) -> bool:
        """True if the route answers ``method`` at ``raw_path`` (encoded or decoded)."""
        return method == self.method and path_matches(self.pattern, raw_path)

    def answer(self, request: httpx.Request) -> httpx.Response:
        """Record the call and produce its response."""
        self.calls.append(request)
        handler = self.handlers[min(len(self.calls), len(self.handlers)) - 1]
        return handler(request)


def _make_handler(
    json_body: Any,
    status: int,
    headers: Mapping[str, str] | None,
    handler: Handler | None,
    error: Exception | None,
) -> Handler:
    if handler is not None:
        return handler
    if error is not None:

        def fail(_request: httpx.Request) -> httpx.Response:
            raise error

        return fail
    return lambda _request: json_response(status, json_body, headers)


class FakeGitHub:
    """The fake GitHub behind ``FAKE_API_URL``: routes, recorded requests, violations."""

    def __init__(self, router: respx.MockRouter, base_url: str = FAKE_API_URL):
        """Attach to ``router``; every request under ``base_url`` goes through ``dispatch``."""
        self.router = router
        self.base_url = base_url
        self._base_path = httpx.URL(base_url).raw_path.decode().rstrip("/")
        self._routes: list[FakeRoute] = []
        self._sent: list[httpx.Request] = []
        self.violations: list[str] = []
        self.unrouted: list[httpx.Request] = []
        # Like GitHub: an ETag on every 200 to a GET, and 304 to a matching If-None-Match.
        # Off by default so tests that count requests keep their bodies; benchmarks turn it on.
        self.etags = False
        self._answered_304: list[httpx.Request] = []
        self._token_serial = itertools.count(1)
        self.graphql_path = httpx.URL(github_graphql_url(base_url)).raw_path.decode()
        # (owner/repo, branch) -> MergeQueueEntry nodes, as GraphQL returns them
        self.merge_queues: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.forbidden_repos: set[str] = set()  # e.g. a fork the App must never need
        router.route().mock(side_effect=self.dispatch)
        self.installation_tokens = self.route(
            "POST",
            "/app/installations/{installation_id}/access_tokens",
            handler=self._issue_installation_token,
        )
        # Every owner has a ``.github`` repository the App can read (without a policy file
        # unless a test serves one); tests of an unreadable one route it to 404.
        self.org_policy_repository = self.route(
            "GET", "/repos/{owner}/.github", json=example("full-repository")
        )

    def route(
        self,
        method: str,
        path: PathSpec,
        *,
        json: Any = None,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        handler: Handler | None = None,
        error: Exception | None = None,
    ) -> FakeRoute:
        """Answer ``method path`` (relative to the API root); the latest matching route wins."""
        route = FakeRoute(method.upper(), compile_path(path))
        route.then(json=json, status=status, headers=headers, handler=handler, error=error)
        self._routes.append(route)
        return route

    def requests(
        self, method: str | None = None, path: PathSpec | None = None
    ) -> list[httpx.Request]:
        """What the App sent, in order, optionally filtered by method and path."""
        pattern = compile_path(path) if path is not None else None
        return [
            request
            for request in self._sent
            if (method is None or request.method == method.upper())
            and (pattern is None or path_matches(pattern, self.api_path(request)))
        ]

    def api_path(self, request: httpx.Request) -> str:
        """The request's percent-encoded path below the API root, without the query."""
        raw = request.url.raw_path.decode().split("?", 1)[0]
        return raw.removeprefix(self._base_path) or "/"

    def dispatch(self, request: httpx.Request) -> httpx.Response:
        """Validate ``request`` against GitHub's description, then answer it from a route."""
        self._sent.append(request)
        if request.url.raw_path.decode().split("?", 1)[0] == self.graphql_path:
            return self._graphql(request)
        api_path = self.api_path(request)
        repo = re.match(r"^/repos/([^/]+/[^/]+)", api_path)
        if repo and unquote(repo.group(1)).lower() in self.forbidden_repos:
            self.unrouted.append(request)
            return json_response(404, {"message": "Not Found", "documentation_url": "fake"})
        problems = request_violations(request, api_path)
        if problems:
            where = f"{request.method} {api_path}"
            self.violations.extend(f"{where}: {problem}" for problem in problems)
            message = "FakeGitHub: request does not match GitHub's OpenAPI description"
            return json_response(
                INVALID_REQUEST_STATUS, {"message": message, "violations": problems}
            )
        for route in reversed(self._routes):
            if route.matches(request.method, api_path):
                return self._conditional(request, route.answer(request))
        self.unrouted.append(request)
        return json_response(404, {"message": "Not Found", "documentation_url": "fake"})

    def serve_repository_head(self, repo: str, sha: str = "c" * 40) -> FakeRoute:
        """Answer ``GET /repos/{repo}/commits/HEAD``: the default branch is at ``sha``."""
        commit = example("commit")
        commit["sha"] = sha
        return self.route("GET", f"/repos/{repo}/commits/HEAD", json=commit)

    def not_modified(self) -> list[httpx.Request]:
        """The requests answered 304 (free against GitHub's rate limit)."""
        return [request for request in self._sent if request in self._answered_304]

    def _conditional(self, request: httpx.Request, response: httpx.Response) -> httpx.Response:
        if not (self.etags and request.method == "GET" and response.status_code == 200):
            return response
        body = response.read()
        etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
        if request.headers.get("if-none-match") == etag:
            self._answered_304.append(request)
            return httpx.Response(304, headers={"ETag": etag})
        headers = {**response.headers, "ETag": etag}
        return httpx.Response(200, headers=headers, content=body)

    def pop_violations(self) -> list[str]:
        """Return and forget the violations so far (for tests that provoke them on purpose)."""
        found, self.violations = self.violations, []
        return found

    def assert_no_violations(self) -> None:
        """Fail the test, listing every request that broke GitHub's description."""
        if self.violations:
            listing = "\n  ".join(self.violations)
            pytest.fail(f"the App sent requests GitHub would reject:\n  {listing}", pytrace=False)

    def _graphql(self, request: httpx.Request) -> httpx.Response:
        """GitHub's GraphQL endpoint: the query is validated and run against the schema subset."""
        where = f"POST {self.graphql_path}"
        authorization = request.headers.get("authorization", "")
        problems = []
        if request.method != "POST":
            problems.append("GraphQL takes POST only")
        if not authorization or authorization.partition(" ")[2].count(".") == 2:
            problems.append("GraphQL needs an installation token")
        try:
            body = json.loads(request.content)
            document = graphql.parse(body["query"])
        except (ValueError, KeyError, graphql.GraphQLError) as error:
            body, document = {}, None
            problems.append(f"not a GraphQL request: {error}")
        if document is not None:
            problems += [e.message for e in graphql.validate(graphql_schema(), document)]
        if problems:
            # GitHub answers an invalid query with 200 and "errors"; the test fails regardless.
            self.violations.extend(f"{where}: {problem}" for problem in problems)
            return json_response(200, {"errors": [{"message": p} for p in problems]})
        result = graphql.execute_sync(
            graphql_schema(),
            document,
            root_value={"repository": self._graphql_repository},
            variable_values=body.get("variables"),
        )
        if result.errors:
            self.violations.extend(f"{where}: {error.message}" for error in result.errors)
            errors = [{"message": error.message} for error in result.errors]
            return json_response(200, {"data": result.data, "errors": errors})
        return json_response(200, {"data": result.data})

    def _graphql_repository(self, _info: Any, owner: str, name: str, **_: Any) -> dict | None:
        full_name = f"{owner}/{name}"
        if full_name.lower() in self.forbidden_repos:
            return None

        def merge_queue(_info: Any, branch: str | None = None) -> dict | None:
            nodes = self.merge_queues.get((full_name, branch or "main"))
            if nodes is None:
                return None
            return {"entries": lambda _i, **_a: {"nodes": nodes, "totalCount": len(nodes)}}

        return {"mergeQueue": merge_queue}

    def _issue_installation_token(self, request: httpx.Request) -> httpx.Response:
        installation_id = self.api_path(request).split("/")[3]
        body = example("installation-token")
        body["token"] = f"ghs_fake{installation_id}x{next(self._token_serial)}"
        expires = datetime.now(UTC) + timedelta(hours=1)
        body["expires_at"] = expires.strftime("%Y-%m-%dT%H:%M:%SZ")
        return json_response(201, body)


# --- fixtures (registered by tests/conftest.py) -------------------------------------------------


@pytest.fixture(scope="session")
def openapi_spec() -> dict[str, Any]:
    """GitHub's OpenAPI description as a dict (loaded once per session)."""
    return load_spec()


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    """A fake GitHub at ``FAKE_API_URL`` that validates every request the App sends."""
    # The whole host: the REST root and GitHub Enterprise Server's GraphQL endpoint beside it.
    origin = str(httpx.URL(FAKE_API_URL).copy_with(path="/"))
    with respx.mock(base_url=origin, assert_all_called=False) as router:
        fake = FakeGitHub(router)
        yield fake
    fake.assert_no_violations()


@pytest.fixture(scope="session")
def app_private_key_pem() -> str:
    """A fresh RSA private key (PEM) for the App, generated once per session."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


async def no_sleep(_seconds: float) -> None:
    """A sleep that returns at once, so retries cost no time in tests."""


@pytest.fixture
async def github_client(
    github: FakeGitHub, app_private_key_pem: str
) -> AsyncIterator[GitHubClient]:
    """A ``GitHubClient`` for App ``FAKE_APP_ID`` talking to the fake, with instant retries."""
    client = GitHubClient(
        app_id=FAKE_APP_ID,
        private_key=app_private_key_pem,
        base_url=github.base_url,
        retry=RetryPolicy(sleep=no_sleep),
    )
    yield client
    await client.aclose()
