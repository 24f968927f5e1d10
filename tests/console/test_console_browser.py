"""The console in a real headless browser: Debian's chromium driven by Playwright.

The real aiohttp application (``create_app``) serves a seeded store on a free localhost port;
the browser signs in with the keyboard, opens every page, applies a filter, downloads the
population and a sample as CSV, verifies the ledger and signs out.  Screenshots land in
``tests/artifacts/console/`` (ignored by git) for a human to look at.  Every request the page
makes must go to the App itself (nothing from another host).

Without chromium (or Playwright) the tests skip and say what to install — unless ``CI`` is
set: CI must run them.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from github_app.config import Settings
from github_app.evidence.population import POPULATION_CSV_COLUMNS
from github_app.ledger import load_or_create_signing_key
from github_app.server.app import create_app
from github_app.store import Database
from github_app.store.ledger import Ledger
from github_app.tokens import TokenStore
from tests.api.scenario import TOTAL, seed

CHROMIUM = os.environ.get("COUNTERSIGN_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "console"
VIEWPORT = {"width": 1366, "height": 768}


def browser_problem() -> str | None:
    """Why the browser tests cannot run here, or None."""
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed (pip install -e '.[test]')"
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        return f"no chromium at {CHROMIUM} (apt-get install -y chromium chromium-driver)"
    return None


@pytest.fixture
def require_browser() -> None:
    problem = browser_problem()
    if problem is None:
        return
    if os.environ.get("CI"):
        pytest.fail(problem)
    pytest.skip(problem)


def seeded_settings(tmp_path: Path) -> tuple[Settings, dict[str, str]]:
    """A store with the API scenario, an auditor and an admin token; the App's settings."""
    settings = Settings(
        _env_file=None,
        database_url=f"sqlite:///{tmp_path / 'countersign.db'}",
        countersign_signing_key_path=tmp_path / "ledger-signing.key",
        log_format="console",
    )
    with Database.open(settings.database_url) as db:
        db.migrate()
        ledger = Ledger(db, load_or_create_signing_key(settings.countersign_signing_key_path))
        seed(ledger, datetime.now(UTC))
        tokens = TokenStore(db)
        secrets = {role: tokens.create(f"{role}-1", role)[1] for role in ("auditor", "admin")}
    return settings, secrets


@pytest.fixture
async def served(aiohttp_server, tmp_path: Path, require_browser):
    """The real App on a free localhost port, and the tokens."""
    settings, secrets = seeded_settings(tmp_path)
    server = await aiohttp_server(create_app(settings, start_worker=False))
    return str(server.make_url("")).rstrip("/"), secrets


@pytest.fixture
async def page(served, tmp_path: Path) -> AsyncIterator:
    """A fresh browser page that records every request and console error."""
    from playwright.async_api import async_playwright

    base, _ = served
    async with async_playwright() as driver:
        browser = await driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = await browser.new_context(viewport=VIEWPORT, accept_downloads=True)
        tab = await context.new_page()
        tab.requested = []
        tab.errors = []
        tab.on("request", lambda request: tab.requested.append(request.url))
        tab.on("console", lambda m: tab.errors.append(m.text) if m.type == "error" else None)
        # The wrong-token test gets its 401 on purpose; every other error (CSP!) counts.
        expected_status = "the server responded with a status of 401"
        yield tab
        await context.close()
        await browser.close()
    foreign = [url for url in tab.requested if not url.startswith(base)]
    assert foreign == [], f"requests to another host: {foreign}"
    errors = [text for text in tab.errors if expected_status not in text]
    assert errors == [], f"browser console errors (e.g. CSP): {errors}"


async def snap(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


async def focused(page) -> str:
    """A short description of the focused element (tag, id or text)."""
    return await page.evaluate(
        "() => { const e = document.activeElement;"
        " return e.tagName.toLowerCase() + '#' + (e.id || '') + ':' + (e.textContent || '')"
        ".trim().slice(0, 30); }"
    )


async def sign_in_with_the_keyboard(page, base: str, token: str) -> None:
    await page.goto(f"{base}/console/changes")
    assert page.url.startswith(f"{base}/console/login?next=")
    await snap(page, "01-sign-in")
    await page.evaluate("() => document.activeElement && document.activeElement.blur()")
    await page.keyboard.press("Tab")
    assert (await focused(page)).startswith("a#:Skip to content")
    await page.keyboard.press("Tab")
    assert (await focused(page)).startswith("a#:Countersign")
    await page.keyboard.press("Tab")
    assert await focused(page) == "input#token:"
    await page.keyboard.type(token)
    await page.keyboard.press("Tab")
    assert await focused(page) == "button#:Sign in"
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"{base}/console/changes")


async def download(page, action) -> str:
    async with page.expect_download() as info:
        await action()
    saved = await (await info.value).path()
    return Path(saved).read_text(encoding="utf-8")


async def test_an_auditor_walks_through_the_console(page, served) -> None:
    base, secrets = served
    await sign_in_with_the_keyboard(page, base, secrets["auditor"])
    assert await page.locator("h1").inner_text() == "Change population"
    assert await page.locator("text=auditor-1 (auditor)").count() == 1
    await snap(page, "03-changes")

    await page.select_option("#f-status", "violation")
    await page.click("text=Apply filters")
    await page.wait_for_url("**/console/changes?*status=violation*")
    rows = page.locator("table tbody tr")
    assert await rows.count() == 1 and "direct push" in await rows.first.inner_text()
    await page.select_option("#f-status", "")
    await page.fill("#f-repo", "acme/api")
    await page.click("text=Apply filters")
    await page.wait_for_url("**repo=acme%2Fapi**")
    assert await page.locator("table tbody tr").count() == 2

    population = await download(page, lambda: page.click("text=Download the population as CSV"))
    reader = csv.reader(io.StringIO(population))
    assert tuple(next(reader)) == POPULATION_CSV_COLUMNS
    assert [row[2] for row in reader] == ["3", "4"]

    await page.click("nav >> text=Overview")
    assert await page.locator("svg.chart rect.bar").count() == 12
    assert "Unsigned tail" in await page.content()
    await snap(page, "02-overview")

    await page.click("nav >> text=Sample")
    await page.fill("#s-n", "3")
    await page.fill("#s-seed", "audit-q4")
    await page.click("button:has-text('Draw')")
    await page.wait_for_url("**seed=audit-q4**")
    assert "3 of 5 change(s)" in await page.locator("main").inner_text()
    await snap(page, "04-sample")
    drawn = await download(page, lambda: page.click("text=Download this sample as CSV"))
    assert len(list(csv.DictReader(io.StringIO(drawn)))) == 3

    await page.click("nav >> text=Exceptions")
    assert await page.locator("table tbody tr").count() == 5
    await snap(page, "05-exceptions")
    await page.click("table >> text=sess-B")
    assert "Session sess-B" in await page.locator("h1").inner_text()
    assert "copilot" in await page.locator("main").inner_text()
    await snap(page, "06-session")
    await page.click("dd >> text=acme/app#2")
    assert await page.locator("h1").inner_text() == "acme/app#2"
    assert "unapproved_merge" in await page.locator("main").inner_text()
    await snap(page, "07-pull-request")

    await page.click("nav >> text=Ledger")
    await page.click("text=Verify now")
    assert f"OK: {TOTAL} entries" in await page.locator(".result").inner_text()
    await page.fill("#p-seq", "5")
    await page.click("text=Show proof")
    assert "verifies" in await page.locator(".result").inner_text()
    key = await download(page, lambda: page.click("text=Download the public key (PEM)"))
    assert key.startswith("-----BEGIN PUBLIC KEY-----")
    await snap(page, "08-ledger")
    assert await page.locator("nav >> text=Access log").count() == 0  # admins only

    await page.click("text=Sign out")
    await page.wait_for_url(f"{base}/console/login?signed_out=1")
    assert "You are signed out." in await page.locator("main").inner_text()
    await page.goto(f"{base}/console/")
    assert "/console/login" in page.url


async def test_an_admin_reads_the_access_log(page, served) -> None:
    base, secrets = served
    await sign_in_with_the_keyboard(page, base, secrets["admin"])
    await page.click("nav >> text=Access log")
    text = await page.locator("main").inner_text()
    assert "admin-1" in text and "/console/changes" in text
    await snap(page, "09-access-log")


async def test_a_wrong_token_says_so(page, served) -> None:
    base, _ = served
    await page.goto(f"{base}/console/login")
    await page.fill("#token", "cs_not-a-real-token-at-all-123456")
    await page.click("button:has-text('Sign in')")
    assert "not valid" in await page.locator("[role=alert]").inner_text()
    assert await page.get_attribute("#token", "aria-invalid") == "true"
