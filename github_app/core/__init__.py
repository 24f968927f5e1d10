"""The functional core: pure functions over typed models, no I/O.

``models`` holds the facts the shell gathers from GitHub; ``detection`` turns a pull request and
its commits into an attribution.  Policy evaluation lives in :mod:`github_app.policy`.
"""
