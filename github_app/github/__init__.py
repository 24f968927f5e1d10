"""Access to GitHub's REST API as the App or as one of its installations.

Build one ``GitHubClient`` per process from settings, then ``await
client.for_installation(installation_id)`` (or ``client.as_app()``) for a gidgethub API.
"""

from github_app.github.auth import (
    AppJWT,
    InstallationToken,
    InstallationTokens,
    app_jwt_claims,
    create_app_jwt,
)
from github_app.github.client import (
    DEFAULT_API_URL,
    CountersignGitHubAPI,
    GitHubClient,
    RetryPolicy,
)

__all__ = [
    "DEFAULT_API_URL",
    "AppJWT",
    "CountersignGitHubAPI",
    "GitHubClient",
    "InstallationToken",
    "InstallationTokens",
    "RetryPolicy",
    "app_jwt_claims",
    "create_app_jwt",
]
