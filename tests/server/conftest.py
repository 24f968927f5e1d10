"""The App harness fixture for the server tests."""

from tests.support.app_harness import app_harness  # noqa: F401 - a pytest fixture
