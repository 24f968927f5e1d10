"""Pure derivations over ledger entries for auditors: population, sample, exceptions, exports.

Nothing in this package does I/O.  The API (:mod:`github_app.api`) and the CLI feed it entries
from ``Ledger.entries()`` and serve or print what it returns.
"""
