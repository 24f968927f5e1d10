"""The auditor and admin API under ``/api/v1``.

Mount it with :func:`github_app.api.routes.add_api_routes`; the OpenAPI document it serves is
built by :func:`github_app.api.openapi.openapi_document`.
"""
