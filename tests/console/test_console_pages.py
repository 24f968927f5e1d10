"""Each console page shows the evidence the API serves, over the API scenario ledger."""

from __future__ import annotations

import csv
import io
import re

import sqlalchemy as sa

from github_app.evidence.population import POPULATION_CSV_COLUMNS
from github_app.ledger import verify_proof_offline
from tests.api.scenario import CHECKPOINTED, TOTAL
from tests.console.conftest import csrf_of, sign_in
from tests.support.databases import drop_append_only_guards


async def page(console, path: str) -> str:
    response = await console.get(path)
    assert response.status == 200, (path, await response.text())
    assert response.content_type == "text/html"
    return await response.text()


def text_of(html: str) -> str:
    """The page's visible text, roughly (tags removed, whitespace collapsed)."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


async def test_overview_shows_the_chart_exceptions_and_ledger_status(
    console, seeded, tokens
) -> None:
    await sign_in(console, tokens.auditor)
    html = await page(console, "/console/")
    text = text_of(html)
    assert "<svg" in html and 'class="bar"' in html and "rate-line" in html
    assert f"Entries {TOTAL}" in text
    assert f"{CHECKPOINTED} entries" in text  # the last signed checkpoint
    assert "1 entry not yet covered by a signed checkpoint" in text
    # sess-C's emergency change has no post-review yet: the one open exception.
    assert "acme/api#3" in text and "overdue" in text
    assert "5 exception(s) in the last 90 days" in text


async def test_changes_page_filters_and_downloads_the_population(console, seeded, tokens):
    await sign_in(console, tokens.auditor)
    everything = text_of(await page(console, "/console/changes"))
    assert "acme/app#1" in everything and "acme/api#4" in everything
    violations = text_of(await page(console, "/console/changes?status=violation"))
    assert "(direct push)" in violations and "acme/app#1" not in violations
    by_repo = text_of(await page(console, "/console/changes?repo=acme/api"))
    assert "acme/api#3" in by_repo and "acme/app#1" not in by_repo
    download = await console.get("/console/changes?format=csv&repo=acme/api")
    assert download.status == 200
    assert download.headers["Content-Disposition"].startswith("attachment;")
    rows = list(csv.reader(io.StringIO(await download.text())))
    assert tuple(rows[0]) == POPULATION_CSV_COLUMNS
    assert [row[POPULATION_CSV_COLUMNS.index("pr")] for row in rows[1:]] == ["3", "4"]


async def test_a_bad_filter_is_a_clear_400(console, seeded, tokens) -> None:
    await sign_in(console, tokens.auditor)
    response = await console.get("/console/changes?since=last+tuesday")
    assert response.status == 400
    assert "since: expected an ISO 8601 date" in await response.text()


async def test_sample_is_reproducible_and_downloadable(console, seeded, tokens) -> None:
    await sign_in(console, tokens.auditor)
    first = await page(console, "/console/sample?n=3&seed=audit-q4")
    again = await page(console, "/console/sample?n=3&seed=audit-q4")
    seqs = re.findall(r"<tr>\s*<td>(\d+)", first)
    assert len(seqs) == 3 and seqs == re.findall(r"<tr>\s*<td>(\d+)", again)
    assert "3 of 5 change(s)" in text_of(first)
    download = await console.get("/console/sample?n=3&seed=audit-q4&format=csv")
    assert "audit-q4" in download.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(await download.text())))
    assert [row["seq"] for row in rows] == seqs
    api = await console.get("/api/v1/changes/sample?n=3&seed=audit-q4", headers=tokens.auditor)
    assert [str(item["seq"]) for item in (await api.json())["items"]] == seqs


async def test_session_timeline(console, seeded, tokens) -> None:
    await sign_in(console, tokens.auditor)
    text = text_of(await page(console, "/console/sessions/sess-A"))
    assert "Launched by alice" in text and "claude-code" in text
    assert "acme/app#1" in text and "agent_change_detected" in text
    missing = await console.get("/console/sessions/no-such-session")
    assert missing.status == 404


async def test_exceptions_page_lists_each_change_once(console, seeded, tokens) -> None:
    await sign_in(console, tokens.auditor)
    html = await page(console, "/console/exceptions")
    kinds = re.findall(
        r"<td>(unapproved_merge|emergency_change|overdue_post_review|"
        r"direct_push|push_bypassed)</td>",
        html,
    )
    assert kinds == [
        "unapproved_merge",
        "overdue_post_review",
        "emergency_change",
        "direct_push",
        "push_bypassed",
    ]


async def test_pull_request_page_says_what_the_check_run_says(console, seeded, tokens) -> None:
    await sign_in(console, tokens.auditor)
    text = text_of(await page(console, "/console/pulls/acme/app/1"))
    assert "What the check run says approved" in text  # the latest decision (entry 16)
    assert "Approved SHA ahead" in text and "Merge SHA amerge" in text
    assert "In the population approved" in text
    blocked = text_of(await page(console, "/console/pulls/acme/app/2"))
    assert "In the population unapproved — merged without a passing decision" in blocked
    assert "History of this pull request" in text and "merge" in text
    assert (await console.get("/console/pulls/acme/app/999")).status == 404
    assert (await console.get("/console/pulls/ac%20me/app/1")).status == 400


async def test_ledger_page_verifies_proves_and_gives_the_key(console, seeded, tokens) -> None:
    await sign_in(console, tokens.auditor)
    html = await page(console, "/console/ledger")
    verified = await console.post("/console/ledger/verify", data={"csrf": csrf_of(html)})
    text = text_of(await verified.text())
    assert f"OK: {TOTAL} entries" in text
    assert "1 recent entry is chained but not yet covered by a signed checkpoint" in text
    key = await console.get("/console/ledger/public-key.pem")
    pem = await key.text()
    assert pem.startswith("-----BEGIN PUBLIC KEY-----")
    proof_page = text_of(await page(console, "/console/ledger?seq=5"))
    assert "verifies" in proof_page
    proof = await (await console.get("/console/ledger/proofs/5.json")).json()
    assert verify_proof_offline(proof, pem)[0]
    tail = text_of(await page(console, f"/console/ledger?seq={TOTAL}"))
    assert "not covered by a signed checkpoint yet" in tail


async def test_access_log_page_for_admins(console, seeded, tokens) -> None:
    await console.get("/api/v1/changes", headers=tokens.auditor)
    await sign_in(console, tokens.admin)
    text = text_of(await page(console, "/console/access-log"))
    assert "audit-firm auditor GET /api/v1/changes 200" in text


async def test_an_altered_entry_is_flagged_on_every_view(console, services, seeded, tokens):
    drop_append_only_guards(services.db)
    with services.db.transaction() as conn:
        conn.execute(sa.text("UPDATE ledger_entries SET actor = 'nobody' WHERE seq = 5"))
        conn.execute(sa.text("UPDATE ledger_entries SET actor = 'someone' WHERE seq = 8"))
    await sign_in(console, tokens.auditor)
    for path in ["/console/changes", "/console/sessions/sess-A", "/console/pulls/acme/app/1"]:
        html = await page(console, path)
        assert 'role="alert"' in html and "Integrity warning" in html, path
        assert "5 no longer matches its hash" in text_of(html), path
    exceptions = text_of(await page(console, "/console/exceptions"))
    assert "Integrity warning" in exceptions and "8 no longer matches" in exceptions
    assert "Integrity warning" not in await page(console, "/console/sessions/sess-C")
    api = await (await console.get("/api/v1/changes", headers=tokens.auditor)).json()
    assert {row["seq"]: row["integrity"] for row in api["items"]}[5] == "altered"
    assert {row["seq"]: row["integrity"] for row in api["items"]}[7] == "ok"
    evidence = await (await console.get("/api/v1/evidence", headers=tokens.auditor)).json()
    assert [i["seq"] for i in evidence["items"] if i["integrity"] == "altered"] == [5, 8]
    listed = await (await console.get("/api/v1/exceptions", headers=tokens.auditor)).json()
    assert [i["seq"] for i in listed["items"] if i["integrity"] == "altered"] == [8]
    session = await (await console.get("/api/v1/sessions/sess-A", headers=tokens.auditor)).json()
    assert [i["seq"] for i in session["items"] if i["integrity"] == "altered"] == [5]
    download = await console.get("/api/v1/changes?format=csv", headers=tokens.auditor)
    rows = {row["seq"]: row for row in csv.DictReader(io.StringIO(await download.text()))}
    assert "ledger entry altered" in rows["5"]["exception"]
    assert "ledger entry altered" not in rows["7"]["exception"]
