"""Benchmark the GitHub budget of one agent pull request's life: how many calls, which ones.

    .venv/bin/python bench/lifecycle.py

Drives the lifecycle issue 10 measures — opened, a push (``synchronize``), a review that does
not count (a reviewer without write access), a qualifying approval, the merge — as signed
deliveries into the real App, processed by its worker, against the strict fake GitHub of the
test suite (every request validated against GitHub's OpenAPI description).  The repository
has no policy file and the organisation no ``.github`` repository: the common case, in which
every policy read is a 404.  The fake answers like GitHub with ETags and 304s.  Prints every
request GitHub received (304s marked) and the count of non-304 answers.  Not a test.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import uuid
from collections import Counter
from pathlib import Path

import respx
from aiohttp.test_utils import TestClient, TestServer
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from github_app.app_keys import SERVICES
from github_app.github.client import GitHubClient, RetryPolicy
from github_app.logs import configure_logging
from github_app.server.app import create_app
from tests.support.app_harness import WEBHOOK_SECRET, harness_settings
from tests.support.fake_github import FAKE_API_URL, FAKE_APP_ID, FakeGitHub, no_sleep
from tests.support.pr_scenario import HUMAN, REVIEWER, PullRequestScenario, api_commit
from tests.support.webhooks import signed_headers

NEW_HEAD = "1" * 40
READER = {"login": "drive-by-reader", "id": 5003, "type": "User"}
BUDGET = 15


def private_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


async def deliver(client: TestClient, event: str, payload: dict) -> None:
    body = json.dumps(payload).encode()
    headers = signed_headers(event, body, WEBHOOK_SECRET, delivery_id=str(uuid.uuid4()))
    response = await client.post("/webhooks", data=body, headers=headers)
    assert response.status == 202, await response.text()
    await client.app[SERVICES].worker.drain()


async def lifecycle(client: TestClient, scenario: PullRequestScenario) -> list[tuple[str, int]]:
    """Run the five steps; returns (step, requests GitHub received so far) after each."""
    marks = []
    await deliver(client, "pull_request", scenario.event("opened"))
    marks.append(("opened", len(scenario.github.requests())))

    first_head = scenario.head_sha
    scenario.payload["pull_request"]["head"]["sha"] = NEW_HEAD
    scenario.set_commits(
        [
            api_commit(first_head, "first\n\nCo-Authored-By: Claude <noreply@anthropic.com>"),
            api_commit(
                NEW_HEAD,
                "more\n\nCo-Authored-By: Claude <noreply@anthropic.com>\nAgent-Session-Id: sess-42",
            ),
        ]
    )
    await deliver(client, "pull_request", scenario.event("synchronize"))
    marks.append(("push (synchronize)", len(scenario.github.requests())))

    scenario.permissions[READER["login"]] = "read"
    uncounted = scenario.review(READER, "APPROVED")
    scenario.set_reviews([uncounted])
    await deliver(client, "pull_request_review", scenario.review_event(uncounted))
    marks.append(("review that does not count", len(scenario.github.requests())))

    scenario.permissions[REVIEWER["login"]] = "write"
    approval = scenario.review(REVIEWER, "APPROVED")
    scenario.set_reviews([uncounted, approval])
    await deliver(client, "pull_request_review", scenario.review_event(approval))
    marks.append(("qualifying approval", len(scenario.github.requests())))
    assert scenario.last_conclusion() == "success", scenario.published()[-1]

    await deliver(client, "pull_request", scenario.merged_event("2" * 40, REVIEWER))
    marks.append(("merge", len(scenario.github.requests())))
    return marks


async def main() -> None:
    configure_logging("WARNING", "console")
    key = private_key_pem()
    with (
        tempfile.TemporaryDirectory() as tmp,
        respx.mock(base_url=FAKE_API_URL, assert_all_called=False) as router,
    ):
        fake = FakeGitHub(router)
        fake.etags = True  # as GitHub does; a 304 costs nothing against the rate limit
        scenario = PullRequestScenario(fake)
        settings = harness_settings(Path(tmp), key, log_level="WARNING")
        github = GitHubClient(
            app_id=FAKE_APP_ID,
            private_key=key,
            base_url=fake.base_url,
            retry=RetryPolicy(sleep=no_sleep),
        )
        client = TestClient(TestServer(create_app(settings, start_worker=False, github=github)))
        await client.start_server()
        try:
            marks = await lifecycle(client, scenario)
        finally:
            await client.close()
            await github.aclose()
        if fake.violations:
            raise SystemExit("requests GitHub would reject:\n" + "\n".join(fake.violations))
        sent = fake.requests()
        free = fake.not_modified()
    print(f"GitHub requests per agent-PR lifecycle ({HUMAN['login']}'s agent PR, no policy files):")
    start = 0
    for step, end in marks:
        print(f"\n{step}: {end - start}")
        for request in sent[start:end]:
            mark = "  (304)" if request in free else ""
            print(f"  {request.method} {fake.api_path(request)}{mark}")
        start = end
    paid = [r for r in sent if r not in free]
    counts = Counter(f"{r.method} {fake.api_path(r)}" for r in paid)
    repeated = {call: n for call, n in counts.items() if n > 1}
    print(f"\nrequests: {len(sent)}, answered 304: {len(free)}")
    print(f"non-304 calls: {len(paid)} (target <= {BUDGET})")
    if repeated:
        print("repeated:", ", ".join(f"{call} x{n}" for call, n in sorted(repeated.items())))


if __name__ == "__main__":
    asyncio.run(main())
