"""Which paths a shell command names, and how it uses them (pure, best effort).

A ``Bash`` tool call (``run_shell_command``, ``bash``, a Cursor shell execution) is checked
against the policy's path rules through the paths this module finds in the command string.  It
is **not a sandbox**: a shell is a programming language, and a command can reach a file through
a variable (``f=secrets/k; cat $f``), a glob (``cat sec*/k``), a script (``python dump.py``),
``xargs`` reading names from a pipe, an interpreter's ``-c`` code, or a program the table below
does not know.  What it does, so that the common ways are refused:

* the command is split into simple commands at ``;``, ``&&``, ``||``, ``|``, ``&``, newlines,
  parentheses and backticks (so ``$(cat k)`` and ```cat k``` are checked like ``cat k``);
  leading ``VAR=value`` assignments and wrappers (``sudo``, ``env``, ``nice``, ``nohup``,
  ``time``, ``timeout``, ``command``, ``exec``, ``xargs``…) are skipped to the real program, and
  ``sh -c``/``bash -c``/``zsh -c`` strings are checked as commands;
* redirections: ``< file`` is a read, ``> file``/``>> file``/``&> file`` a write (the word after
  ``<<`` or ``<<<`` is a here-document, not a path);
* the program's arguments, by the tables below: :data:`READERS` (every argument is a path it
  reads), :data:`PATTERN_FIRST` (``grep``, ``rg``… — the first argument is the pattern unless
  ``-e``/``-f`` gives it), :data:`SCRIPT_FIRST` (``sed``, ``awk`` — the first argument is the
  script unless ``-e``/``-f``; ``sed -i`` writes), :data:`COPIERS` (``cp``, ``rsync``, ``scp``
  read their sources and write the last argument; ``mv`` changes both), :data:`WRITERS`
  (``tee``, ``rm``, ``touch``…), ``dd`` (``if=`` read, ``of=`` write);
* any other program (``tar``, an editor, ``git``, ``python``…): every argument is a path of
  unknown use — as is every word of a command that cannot be parsed (an unterminated quote).

``--option=value`` values count as arguments; other options are skipped.  The decision applies
both ``agents_may_not_read`` and ``agents_forbidden`` to every path found, whatever its access
(what a command really does with a path cannot be read off its words); the access only words
the reason ("read", "change", "use").
"""

from __future__ import annotations

import posixpath
import re
import shlex
from typing import Literal

ShellAccess = Literal["read", "write", "unknown"]
ShellPath = tuple[str, ShellAccess]


def _programs(names: str) -> frozenset[str]:
    return frozenset(names.split())


READERS = _programs(
    "cat tac head tail less more most nl wc sort uniq cut paste base64 base32 basenc xxd od "
    "hexdump hd strings file stat md5sum sha1sum sha224sum sha256sum sha384sum sha512sum b2sum "
    "cksum sum diff diff3 cmp comm zcat gzcat bzcat xzcat zstdcat zless zmore bat batcat view "
    "source . iconv column fold fmt pr expand unexpand rev look join split csplit ls tree du "
    "readlink realpath openssl gpg"
)
PATTERN_FIRST = _programs("grep egrep fgrep rg ag ack zgrep zegrep zfgrep jq yq")
SCRIPT_FIRST = _programs("sed gsed awk gawk mawk nawk perl")
COPIERS = _programs("cp rsync scp install ln")
MOVERS = _programs("mv")
WRITERS = _programs("tee touch rm rmdir mkdir truncate shred chmod chown chgrp unlink")
SHELLS = _programs("sh bash zsh dash ksh ash fish")
# Wrappers run the rest of the line as a command (their own options are skipped).
WRAPPERS = _programs("sudo doas env nice ionice nohup time command exec builtin xargs stdbuf")
WRAPPERS_WITH_ARGUMENT = _programs("timeout")  # one leading argument (the duration)
SEPARATORS = frozenset({";", "&&", "||", "|", "|&", "&", "(", ")", "$", "\n", ";;"})
READ_REDIRECTS = frozenset({"<", "<>"})
WRITE_REDIRECTS = frozenset({">", ">>", ">|", "&>", "&>>", ">&"})
READ_REDIRECTS = READ_REDIRECTS | {"<&"}
HERE_DOCUMENTS = frozenset({"<<", "<<-", "<<<"})
_FDS = frozenset({"-", *map(str, range(10))})  # 2>&1, >&- : a descriptor, not a file
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
MAX_DEPTH = 3  # nested sh -c strings


def shell_paths(command: str, depth: int = 0) -> list[ShellPath]:
    """Every path ``command`` names, with how it uses it (see the module docstring)."""
    tokens = _tokens(command)
    if tokens is None:  # unparseable: every word is a path of unknown use
        return [(word, "unknown") for word in command.split() if word]
    found: list[ShellPath] = []
    for simple in _simple_commands(tokens):
        found += _command_paths(simple, depth)
    return found


def _tokens(command: str) -> list[str] | None:
    flat = command.replace("`", " ; ").replace("\n", " ; ")
    lexer = shlex.shlex(flat, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = ""
    try:
        return list(lexer)
    except ValueError:
        return None


def _simple_commands(tokens: list[str]) -> list[list[str]]:
    commands: list[list[str]] = [[]]
    for token in tokens:
        if token in SEPARATORS:
            commands.append([])
        else:
            commands[-1].append(token)
    return [command for command in commands if command]


def _command_paths(words: list[str], depth: int) -> list[ShellPath]:
    """Redirection targets, then the program's arguments."""
    found: list[ShellPath] = []
    arguments: list[str] = []
    index = 0
    while index < len(words):
        word = words[index]
        target = words[index + 1] if index + 1 < len(words) else None
        if word in READ_REDIRECTS | WRITE_REDIRECTS | HERE_DOCUMENTS:
            duplication = word.endswith("&") and target is not None and target in _FDS
            if target is not None and word not in HERE_DOCUMENTS and not duplication:
                found.append((target, "read" if word in READ_REDIRECTS else "write"))
            index += 2
            continue
        arguments.append(word)
        index += 1
    return found + _program_paths(_unwrap(arguments), depth)


def _unwrap(words: list[str]) -> list[str]:
    """The words from the real program on: assignments and wrappers skipped."""
    index = 0
    while index < len(words):
        word = words[index]
        name = posixpath.basename(word)
        skipped_option = index > 0 and word.startswith("-") and _wrapped(words)
        if _ASSIGNMENT.match(word) or skipped_option or name in WRAPPERS:
            index += 1
        elif name in WRAPPERS_WITH_ARGUMENT:
            index += 2
        else:
            return words[index:]
    return []


def _wrapped(words: list[str]) -> bool:
    return posixpath.basename(words[0]) in WRAPPERS | WRAPPERS_WITH_ARGUMENT or bool(
        _ASSIGNMENT.match(words[0])
    )


def _operands(arguments: list[str]) -> list[str]:
    """Non-option arguments, and the values of ``--option=value``; ``--`` ends options."""
    operands: list[str] = []
    options_done = False
    for word in arguments:
        if options_done or not word.startswith("-") or word == "-":
            operands.append(word)
        elif word == "--":
            options_done = True
        elif "=" in word:
            operands.append(word.split("=", 1)[1])
    return operands


def _has_option(arguments: list[str], short: str, *long: str) -> bool:
    for word in arguments:
        if word == "--":
            return False
        if word.startswith("--") and word.split("=", 1)[0] in long:
            return True
        if re.match(rf"^-[A-Za-z]*{short}", word) and not word.startswith("--"):
            return True
    return False


def _program_paths(words: list[str], depth: int) -> list[ShellPath]:
    if not words:
        return []
    program, arguments = posixpath.basename(words[0]), words[1:]
    operands = _operands(arguments)
    if program in SHELLS and "-c" in arguments and depth < MAX_DEPTH:
        script = arguments[arguments.index("-c") + 1 : arguments.index("-c") + 2]
        return shell_paths(script[0], depth + 1) if script else []
    if program in READERS:
        return [(path, "read") for path in operands]
    if program in PATTERN_FIRST:
        given = _has_option(arguments, "e", "--regexp") or _has_option(arguments, "f", "--file")
        return [(path, "read") for path in (operands if given else operands[1:])]
    if program in SCRIPT_FIRST:
        given = _has_option(arguments, "e", "--expression") or _has_option(arguments, "f", "--file")
        access: ShellAccess = (
            "write"
            if program.startswith(("sed", "gsed", "perl"))
            and (_has_option(arguments, "i", "--in-place"))
            else "read"
        )
        return [(path, access) for path in (operands if given else operands[1:])]
    if program in COPIERS:
        if len(operands) < 2:
            return [(path, "read") for path in operands]
        return [(path, "read") for path in operands[:-1]] + [(operands[-1], "write")]
    if program in MOVERS | WRITERS:
        return [(path, "write") for path in operands]
    if program == "dd":
        return [
            (word[3:], "read" if word.startswith("if=") else "write")
            for word in arguments
            if word.startswith(("if=", "of="))
        ]
    return [(path, "unknown") for path in operands]
