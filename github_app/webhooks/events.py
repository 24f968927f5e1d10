"""The webhook events Countersign subscribes to (kept in step with ``app.yml``)."""

HANDLED_EVENTS = frozenset(
    {
        "check_run",
        "check_suite",
        "installation",
        "installation_repositories",
        "pull_request",
        "pull_request_review",
        "push",
        "repository_ruleset",
    }
)
