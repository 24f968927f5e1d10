"""Access to GitHub's REST API as the App or as one of its installations.

Build one :class:`github_app.github.client.GitHubClient` per process from settings, then
``await client.for_installation(installation_id)`` (or ``client.as_app()``) for a gidgethub API.
Import from the submodules: this package imports none of them, so reading one part (the App
key, say) does not load the HTTP client.
"""
