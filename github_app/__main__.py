"""``python -m github_app`` is the ``countersign`` command."""

from github_app.hook_client import console_main

console_main()
