"""Spreadsheet-safe CSV cells (pure): a cell an auditor's spreadsheet would run is neutralised.

Spreadsheets evaluate a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula (and
some also after a leading tab or carriage return), so a session id such as
``=HYPERLINK("https://evil.example","open")`` in a ledger entry would become a live link — or
worse — in the auditor's workbook.  Every CSV Countersign writes passes each cell through
:func:`neutralise`, which prefixes such a cell with an apostrophe (shown as text, never run).
A cell that already starts with an apostrophe gets one more, so :func:`restore` can give back
the original value exactly (the ledger CSV export is read back for verification).
JSONL exports stay raw: they are data for programs, not for spreadsheets.
"""

from __future__ import annotations

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
ESCAPE = "'"


def neutralise(cell: str) -> str:
    """``cell`` as a spreadsheet shows it literally (apostrophe-prefixed when it could run)."""
    if cell.startswith((*FORMULA_TRIGGERS, ESCAPE)):
        return ESCAPE + cell
    return cell


def restore(cell: str) -> str:
    """The original value of a cell written by :func:`neutralise`."""
    return cell[1:] if cell.startswith(ESCAPE) else cell
