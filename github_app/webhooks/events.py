"""The webhook events Countersign subscribes to (kept in step with ``app.yml``)."""

HANDLED_EVENTS = frozenset(
    {
        "check_run",
        "check_suite",
        "installation",
        "installation_repositories",
        "member",
        "membership",
        "merge_group",
        "organization",
        "pull_request",
        "pull_request_review",
        "push",
        "repository_ruleset",
        "team",
    }
)
