"""Reading commit messages and PR bodies line by line: trailers, identities, quoted blocks.

Pure text helpers shared by the catalogue and detection.  Nothing here knows about agents; it
only knows git's and GitHub's conventions (``Key: value`` trailers, ``Name <e-mail>``
identities, ``<id>+<login>@users.noreply.github.com`` addresses, and which Markdown lines are
quotes: fenced and indented code blocks and blockquotes).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from github_app.core.models import GitIdentity

COAUTHOR_KEY = "co-authored-by"
SESSION_KEY = "agent-session-id"
LAUNCHER_KEY = "agent-launched-by"

# The trailers Countersign reads for every change, whatever the agent.  Keys are
# case-insensitive: agents write `Co-Authored-By`, `Co-authored-by` and `co-authored-by`.
GENERIC_TRAILER = re.compile(
    rf"^(?P<key>{COAUTHOR_KEY}|{SESSION_KEY}|{LAUNCHER_KEY})[ \t]*:[ \t]*(?P<value>.*?)[ \t]*$",
    re.IGNORECASE,
)
GENERIC_TRAILER_KEYS = (COAUTHOR_KEY, SESSION_KEY, LAUNCHER_KEY)

_IDENTITY = re.compile(r"^(?P<name>.*?)\s*<(?P<email>[^<>\s]*)>\s*$")
_GITHUB_NOREPLY = re.compile(
    r"^(?:(?P<id>\d+)\+)?(?P<login>[^@\s+]+)@users\.noreply\.github\.com$", re.IGNORECASE
)
# GitHub logins: letters, digits and hyphens, at most 39 characters.  Old accounts may break the
# hyphen rules, so only the character set and length are enforced.
_GITHUB_LOGIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,38}$")
# Opaque session ids end up in markdown and the ledger: printable ASCII without spaces only.
_SESSION_ID = re.compile(r"^[\x21-\x7e]{1,200}$")
_FENCE = re.compile(r"^ {0,3}(?P<fence>`{3,}|~{3,})(?P<rest>.*)$", re.MULTILINE)
_BLOCKQUOTE = re.compile(r"^ {0,3}>")
_INDENTED = re.compile(r"^(?: {4}| {0,3}\t)")
_LIST_ITEM = re.compile(r"^[ \t]*(?:[-*+]|\d{1,9}[.)])(?:[ \t]+\[[ xX]\])?[ \t]+")


def normalise_newlines(text: str) -> str:
    """Return ``text`` with CRLF and lone CR line ends turned into LF (GitHub bodies use CRLF)."""
    if "\r" not in text:
        return text
    return text.replace("\r\n", "\n").replace("\r", "\n")


def match_generic_trailer(line: str) -> tuple[str, str] | None:
    """``(lower-case key, value)`` when ``line`` is one of the generic trailers, else None."""
    found = GENERIC_TRAILER.match(line)
    if found is None:
        return None
    return found["key"].lower(), found["value"]


def parse_identity(value: str) -> GitIdentity:
    """Parse a ``Name <e-mail>`` trailer value; a value without ``<…>`` is all name."""
    found = _IDENTITY.match(value.strip())
    if found is None:
        return GitIdentity(name=value.strip())
    return GitIdentity(name=found["name"].strip(), email=found["email"].strip())


def github_noreply(email: str) -> tuple[int | None, str] | None:
    """Split a GitHub no-reply address into ``(account id or None, login)``; None otherwise.

    Both forms are accepted: ``<id>+<login>@users.noreply.github.com`` and the older
    ``<login>@users.noreply.github.com``.
    """
    found = _GITHUB_NOREPLY.match(email.strip())
    if found is None:
        return None
    account_id = int(found["id"]) if found["id"] else None
    return account_id, found["login"]


def is_github_login(value: str) -> bool:
    """True when ``value`` is shaped like a GitHub user login (``[bot]`` logins are not)."""
    return bool(_GITHUB_LOGIN.match(value))


def clean_session_id(value: str) -> str | None:
    """The session id in a trailer value, or None when it is empty or not safely printable."""
    value = value.strip()
    return value if _SESSION_ID.match(value) else None


def fenced_spans(text: str) -> tuple[tuple[int, int], ...]:
    """Character ranges of the closed Markdown code fences in ``text``.

    Text inside a fence is quoted (a CLAUDE.md excerpt, a commit-convention example), so it
    is not evidence.  An unclosed fence is ignored: it must never hide the real trailer block.
    """
    if "```" not in text and "~~~" not in text:
        return ()
    spans: list[tuple[int, int]] = []
    opening: re.Match[str] | None = None
    for fence in _FENCE.finditer(text):
        if opening is None:
            opening = fence
        elif _closes(opening["fence"], fence):
            spans.append((opening.start(), fence.end()))
            opening = None
    return tuple(spans)


def _closes(opening: str, candidate: re.Match[str]) -> bool:
    closing = candidate["fence"]
    return (
        closing[0] == opening[0] and len(closing) >= len(opening) and not candidate["rest"].strip()
    )


def line_start(text: str, position: int) -> int:
    """The index where the line holding ``position`` starts."""
    return text.rfind("\n", 0, position) + 1


def line_from(text: str, start: int) -> str:
    """The line of ``text`` that starts at ``start``, without its newline."""
    end = text.find("\n", start)
    return text[start:] if end == -1 else text[start:end]


def line_starts_matching(text: str, pattern: re.Pattern[str]) -> Iterator[int]:
    """Yield the start of each line where the MULTILINE ``pattern`` finds a match, once each."""
    position = 0
    while position <= len(text):
        found = pattern.search(text, position)
        if found is None:
            return
        start = line_start(text, found.start())
        yield start
        end = text.find("\n", found.start())
        if end == -1:
            return
        position = end + 1


def list_item_content(line: str) -> str:
    """The text of a Markdown list item (``- Requested by: …`` → ``Requested by: …``)."""
    found = _LIST_ITEM.match(line)
    return line[found.end() :] if found else line


def quoted_line_starts(text: str, *, markdown: bool = True) -> frozenset[int]:
    """Starts of the lines of ``text`` that quote rather than say: not evidence.

    Blockquotes (``> …``) always quote.  A line indented by four spaces (or a tab) is an
    indented code block in Markdown when it follows a blank line or another such line and is
    not inside a list; in a commit message (``markdown=False``) indentation always quotes, as
    git's own trailers start at the margin.  Fenced blocks are handled by :func:`fenced_spans`.
    """
    if ">" not in text and "    " not in text and "\t" not in text:
        return frozenset()
    quoted: set[int] = set()
    start, previous_blank, in_code, in_list = 0, True, False, False
    for line in text.split("\n"):
        blank = not line.strip()
        if blank:
            pass
        elif _BLOCKQUOTE.match(line):
            quoted.add(start)
            in_code = False
        elif _INDENTED.match(line):
            in_code = not markdown or in_code or (previous_blank and not in_list)
            if in_code:
                quoted.add(start)
        else:
            in_code = False
            in_list = _LIST_ITEM.match(line) is not None or (in_list and not previous_blank)
        previous_blank = blank
        start += len(line) + 1
    return frozenset(quoted)


def outside_quotes(
    text: str, starts: Iterable[int], *, markdown: bool = True
) -> Iterator[tuple[int, str]]:
    """``(line number, line)`` for each line start, in order, skipping quoted lines.

    Quoted lines are those inside closed code fences, blockquotes and indented code blocks
    (see :func:`quoted_line_starts`): a CLAUDE.md excerpt or a review quoting an agent's
    footer is not that agent's work.
    """
    spans = fenced_spans(text)
    quoted = quoted_line_starts(text, markdown=markdown)
    for start in sorted(set(starts)):
        if start in quoted or any(low <= start < high for low, high in spans):
            continue
        yield text.count("\n", 0, start) + 1, line_from(text, start)


def outside_fences(text: str, starts: Iterable[int]) -> Iterator[tuple[int, str]]:
    """``(line number, line)`` for each line start, skipping closed-fence lines only."""
    spans = fenced_spans(text)
    for start in sorted(set(starts)):
        if not any(low <= start < high for low, high in spans):
            yield text.count("\n", 0, start) + 1, line_from(text, start)
