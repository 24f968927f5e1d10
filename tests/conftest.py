"""Root conftest: registers the shared fixtures; the fixtures themselves live in tests/support."""

pytest_plugins = ["tests.support.fake_github", "tests.support.app_harness"]
