"""Periodic jobs: what webhooks alone cannot guarantee.

* :mod:`github_app.jobs.denials` - import GitHub's rule suites (denied and bypassed pushes) into
  the ledger before GitHub's one-month retention drops them.
* :mod:`github_app.jobs.sweep` - re-evaluate open pull requests whose webhook was missed.
* :mod:`github_app.jobs.scheduler` - runs them in the server's event loop.
* :mod:`github_app.jobs.installations` - visits every repository of every installation.
* :mod:`github_app.state.cursors` - job cursors and once-only claims in ``sync_cursors``.
"""
