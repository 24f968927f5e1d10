"""Operational state (not evidence): last decision per PR, freezes, revoked sessions.

The ledger records *that* something happened; these tables answer *what holds now* quickly.
"""
