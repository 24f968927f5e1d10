"""The auditor and admin API under ``/api/v1``.

Mount it with :func:`github_app.api.mount.add_api_routes` (the code is imported on the first
request); the routes, the OpenAPI document
and the docs page all come from the route table :data:`github_app.api.routes.ROUTES`
(document built by :func:`github_app.api.openapi.openapi_document`).
"""
