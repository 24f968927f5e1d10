"""``python -m github_app`` is the ``countersign`` command."""

from github_app.cli import main

main()
