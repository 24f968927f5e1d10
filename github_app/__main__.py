"""``python -m github_app`` and the ``countersign`` command.

The agent hooks (``hook claude-code``, ``hook git-trailers``) run on every tool call and every
commit, so they are served by :mod:`github_app.hook_client` before anything heavy is imported;
every other command goes to the click group (and does not import the hook client's HTTP
modules either).
"""

import sys


def console_main() -> None:
    """The ``countersign`` command: the fast hook path, else the full command line."""
    if sys.argv[1:2] == ["hook"]:
        from github_app.hook_client import run_fast  # only the hooks need it (urllib, subprocess)

        status = run_fast(sys.argv[1:])
        if status is not None:
            sys.exit(status)
    from github_app.cli import main

    main()


if __name__ == "__main__":
    console_main()
