"""Start-up in two steps: what ``serve`` imports before it listens, lazy sub-applications, and
the routes that wait for the second step."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from aiohttp import web

from github_app.app_keys import SERVICES
from github_app.lazy_app import Loaded, lazy_subapp
from github_app.server.app import LOADING, create_app
from tests.support.app_harness import harness_settings

REPO_ROOT = Path(__file__).resolve().parents[2]
# Not needed to take a delivery, so not imported before the server listens.
LATER = (
    "alembic",
    "jinja2",
    "httpx",
    "jwt",
    "re2",
    "github_app.api.routes",
    "github_app.api.agent_events",
    "github_app.console.app",
    "github_app.webhooks.dispatch",
    "github_app.policy.model",
    "github_app.core.catalogue",
    "github_app.jobs.scheduler",
    "github_app.github.client",
)
LOADS: list[str] = []


def test_what_serve_imports_before_listening_leaves_the_rest_for_later(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from github_app.cli.settings import settings_or_exit\n"
        "from github_app.server.run import serve\n"
        "from github_app.services import Services\n"
        f"print(' '.join(sorted(set({LATER!r}) & set(sys.modules))))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO_ROOT, check=True
    )
    assert result.stdout.strip() == ""


async def _handler(_request: web.Request) -> web.Response:
    return web.json_response({"served": True})


_handler.mark = "from the real handler"  # type: ignore[attr-defined]


@web.middleware
async def _reads_the_mark(request: web.Request, handler) -> web.StreamResponse:
    response = await handler(request)
    response.headers["X-Mark"] = getattr(request.match_info.route.handler, "mark", "none")
    return response


def counted() -> Loaded:
    LOADS.append("loaded")
    return Loaded(handlers={("GET", "/thing"): _handler}, middlewares=(_reads_the_mark,))


def mismatched() -> Loaded:
    return Loaded(handlers={("GET", "/other"): _handler})


async def test_a_lazy_part_loads_once_on_its_first_requests(aiohttp_client) -> None:
    LOADS.clear()
    app = web.Application()
    app.add_subapp("/part", lazy_subapp((("GET", "/thing"),), f"{__name__}:counted"))
    client = await aiohttp_client(app)
    assert LOADS == []
    first = await asyncio.gather(*(client.get("/part/thing") for _ in range(5)))
    assert [response.status for response in first] == [200] * 5
    assert LOADS == ["loaded"]
    assert {response.headers["X-Mark"] for response in first} == {"from the real handler"}
    assert (await client.get("/part/nothing")).status == 404
    assert (await client.post("/part/thing")).status == 405


async def test_a_part_serving_other_routes_than_its_index_is_refused(aiohttp_client) -> None:
    app = web.Application()
    app.add_subapp("/part", lazy_subapp((("GET", "/thing"),), f"{__name__}:mismatched"))
    client = await aiohttp_client(app)
    assert (await client.get("/part/thing")).status == 500


async def test_serve_takes_deliveries_first_and_the_rest_waits_for_the_second_step(
    aiohttp_client, app_private_key_pem: str, tmp_path: Path
) -> None:
    settings = harness_settings(tmp_path, app_private_key_pem)
    app = create_app(settings, start_worker=True)
    client = await aiohttp_client(app)
    assert (await client.get("/healthz")).status == 200
    document = await client.get("/api/v1/openapi.json")  # waits for the second step
    assert document.status == 200
    services = app[SERVICES]
    assert services.loaded
    await app[LOADING]  # the worker and the jobs were started after it
    assert services.worker._task is not None
    assert (await client.get("/readyz")).status == 200
