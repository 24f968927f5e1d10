"""One rule says what a GitHub rate limit is, for raw responses and for gidgethub's errors."""

from __future__ import annotations

import http

import pytest
from gidgethub import BadRequest, RateLimitExceeded
from gidgethub.sansio import RateLimit

from github_app.github.retry import is_rate_limit_error, is_rate_limited


@pytest.mark.parametrize(
    ("status", "headers", "body", "limited"),
    [
        (429, {}, b"", True),
        (403, {"retry-after": "30"}, b"", True),
        (403, {"x-ratelimit-remaining": "0"}, b"", True),
        (403, {}, b"You have exceeded a secondary rate limit", True),
        (403, {}, b"Resource not accessible by integration", False),
        (404, {}, b"rate limit", False),
    ],
)
def test_raw_responses(status, headers, body, limited) -> None:
    assert is_rate_limited(status, headers, body) is limited


@pytest.mark.parametrize(
    ("error", "limited"),
    [
        (BadRequest(http.HTTPStatus(429)), True),
        (BadRequest(http.HTTPStatus(403), "API rate limit exceeded for installation"), True),
        (BadRequest(http.HTTPStatus(403), "Resource not accessible by integration"), False),
        (BadRequest(http.HTTPStatus(404), "Not Found"), False),
        (RateLimitExceeded(RateLimit(limit=5000, remaining=0, reset_epoch=0)), True),
        (ValueError("rate limit"), False),
    ],
)
def test_gidgethub_errors_follow_the_same_rule(error, limited) -> None:
    assert is_rate_limit_error(error) is limited
