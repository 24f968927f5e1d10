"""Agent sessions (pure core): hook events in, allow/deny decisions and ledger entries out.

``events`` parses an agent's hook JSON into a typed :class:`~.events.AgentEvent` (``adapters``
knows each agent's format); ``decision`` decides allow/deny for a tool call from containment and
policy facts; ``records`` builds the ledger entries to write; ``attestation`` applies attested
launchers to a pull request's attribution.  Nothing here does I/O.
"""
