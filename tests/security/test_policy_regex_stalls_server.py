"""Finding 13: a policy regex stalls the server (catastrophic backtracking).

The attack: an org or repo policy adds ``detection.agents`` with a marker like
``zz(x+x+)+y``; a commit line of ``zz`` and a few dozen ``x`` then takes Python's backtracking
engine hours, on the event loop.  Catalogue patterns now run on RE2 (linear time), constructs
that need backtracking are refused when the policy is parsed, the text scanned per body or
message is capped, and the shell runs detection in a worker thread.
"""

from __future__ import annotations

import re

import pytest

from github_app.core.catalogue import LinearRegex, load_catalogue
from github_app.core.detection import TEXT_BUDGET, detect
from github_app.core.models import Commit
from github_app.policy.loader import PolicyError, parse_policy

EVIL = "zz(x+x+)+y"


def test_policy_patterns_are_compiled_by_a_linear_time_engine():
    catalogue = load_catalogue(extra=[{"name": "acme-bot", "markers": [EVIL]}])
    rules = [rule for rule in catalogue.line_rules if rule.agent == "acme-bot"]
    assert rules and not any(isinstance(rule.regex, re.Pattern) for rule in rules)
    assert all(isinstance(rule.regex, LinearRegex) for rule in rules)
    # The input that takes the backtracking engine hours is an ordinary non-match here.
    line = "zz" + "x" * 64
    assert detect(None, [Commit(sha="a" * 40, message=line)], catalogue).signals == ()
    assert detect(None, [Commit(sha="b" * 40, message=line + "y")], catalogue).agent == "acme-bot"


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [("^x(?=y)", "look-ahead"), ("(a)\\1", "back-references"), ("(?<!a)b", "look-ahead")],
)
def test_backtracking_constructs_are_refused_when_the_policy_is_parsed(pattern, reason):
    text = f"detection:\n  agents:\n    - name: acme-bot\n      markers: ['{pattern}']\n"
    with pytest.raises(PolicyError, match=reason):
        parse_policy(text, "org policy")


def test_text_scanned_per_message_is_capped():
    catalogue = load_catalogue(extra=[{"name": "acme-bot", "markers": ["^ACME-MARK$"]}])
    middle = "filler line\n" * (TEXT_BUDGET // 6)
    hidden = f"Subject\n\n{middle}ACME-MARK\n{middle}"
    assert len(hidden) > 2 * TEXT_BUDGET
    assert not detect(None, [Commit(sha="c" * 40, message=hidden)], catalogue).is_agent
    tail = f"Subject\n\n{middle}{middle}ACME-MARK\n"
    assert detect(None, [Commit(sha="d" * 40, message=tail)], catalogue).agent == "acme-bot"


async def test_deliveries_run_detection_off_the_event_loop(app_harness, monkeypatch):
    import threading

    from github_app.handlers import pipeline
    from tests.support.pr_scenario import PullRequestScenario

    threads: list[threading.Thread] = []
    real_detect = pipeline.detect

    def recording_detect(*args, **kwargs):
        threads.append(threading.current_thread())
        return real_detect(*args, **kwargs)

    monkeypatch.setattr(pipeline, "detect", recording_detect)
    scenario = PullRequestScenario(app_harness.github)
    await app_harness.deliver_and_process("pull_request", scenario.event("opened"))
    assert threads and all(thread is not threading.main_thread() for thread in threads)
