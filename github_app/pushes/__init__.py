"""Pushes to protected branches, classified without I/O.

* :mod:`github_app.pushes.classify` - a ``push`` payload as typed facts; which pushes can be
  direct pushes at all; whether a merged pull request explains the pushed head; attribution of
  the pushed commits; whether the push is a violation under the policy.
* :mod:`github_app.pushes.report` - the words and payloads of the response: issue, alerts,
  revert pull request.
"""
