"""Repository-level checks: lint clean, layers point down, and the App manifest matches the code."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from github_app.webhooks.events import HANDLED_EVENTS

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "github_app"

# The layers, lowest first.  A unit (a sub-package, or a top-level module) may import units of its
# own layer or of lower layers only.  Pure layers do no I/O; adapters reach the store or GitHub;
# the shell fetches facts, calls the pure core and acts; the composition root wires it together.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("paths", "metrics", "logs", "config", "app_keys", "lazy_app"),  # foundation
    ("core", "policy", "evidence", "pushes", "ledger", "drills", "sessions"),  # pure
    ("store", "state", "tokens", "github"),  # adapters
    ("context",),  # what the shell below the composition root shares
    ("actions",),  # act on GitHub and record evidence
    ("rulesets",),
    ("handlers",),
    ("jobs", "webhooks", "api", "console"),  # shell entry points
    ("services",),  # composition root
    ("server", "cli", "hook_client"),
    ("__main__",),
)
# Module cycles inside one package that are known and explained in the README's Design section.
ALLOWED_MODULE_CYCLES = {frozenset({"github_app.server.pages", "github_app.server.setup"})}
ALWAYS_SENT = {"installation", "installation_repositories"}  # GitHub sends these to every App


def test_ruff_reports_nothing():
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    result = subprocess.run([ruff, "check", "--quiet", str(ROOT)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_manifest_subscribes_to_exactly_the_events_the_app_handles():
    manifest = yaml.safe_load((ROOT / "app.yml").read_text())
    assert set(manifest["default_events"]) | ALWAYS_SENT == set(HANDLED_EVENTS)


def test_manifest_asks_for_no_permission_beyond_what_the_features_need():
    manifest = yaml.safe_load((ROOT / "app.yml").read_text())
    assert manifest["default_permissions"] == {
        "metadata": "read",
        "checks": "write",
        "pull_requests": "read",
        "contents": "read",
        "issues": "write",
        "members": "read",
        "merge_queues": "read",
        "administration": "write",
    }
    assert manifest["public"] is False


def test_every_subscribed_event_reaches_a_handler():
    from github_app.webhooks.dispatch import ROUTER

    manifest = yaml.safe_load((ROOT / "app.yml").read_text())
    routed = set(ROUTER._shallow_routes) | set(ROUTER._deep_routes)
    assert set(manifest["default_events"]) <= routed


def test_manifest_permissions_are_github_app_permissions(openapi_spec):
    manifest = yaml.safe_load((ROOT / "app.yml").read_text())
    known = openapi_spec["components"]["schemas"]["app-permissions"]["properties"]
    for name, level in manifest["default_permissions"].items():
        assert name in known, name
        assert level in known[name]["enum"], (name, level)


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, set[str]]:
    """Every github_app module and the github_app modules it imports (anywhere in the file)."""
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        name = _module_name(path)
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                base = node.module
                for alias in node.names:
                    candidate = f"{base}.{alias.name}"
                    is_module = (PACKAGE.parent / (candidate.replace(".", "/") + ".py")).exists()
                    targets.add(candidate if is_module else base)
            elif isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
        graph[name] = {t for t in targets if t.startswith("github_app.") and t != name}
    return graph


def _unit(module: str) -> str:
    return module.split(".")[1] if "." in module else module


def _layer_of(unit: str) -> int:
    for index, layer in enumerate(LAYERS):
        if unit in layer:
            return index
    raise AssertionError(f"github_app.{unit} is in no layer: add it to LAYERS")


def _cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """Strongly connected components with more than one member (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_layers_only_point_down():
    upward = [
        f"{source} imports {target}"
        for source, targets in sorted(_imports().items())
        for target in sorted(targets)
        if _layer_of(_unit(target)) > _layer_of(_unit(source))
    ]
    assert upward == []


def test_no_import_cycles_between_packages_or_modules():
    graph = _imports()
    units: dict[str, set[str]] = {}
    for source, targets in graph.items():
        units.setdefault(_unit(source), set()).update(
            _unit(t) for t in targets if _unit(t) != _unit(source)
        )
    assert _cycles(units) == [], "packages import each other"
    module_cycles = [c for c in _cycles(graph) if frozenset(c) not in ALLOWED_MODULE_CYCLES]
    assert module_cycles == []


def test_the_layer_check_sees_an_upward_import():
    """The checks above can fail: a core module importing the shell is caught."""
    graph = {"github_app.core.x": {"github_app.handlers.y"}, "github_app.handlers.y": set()}
    assert _layer_of(_unit("github_app.handlers.y")) > _layer_of(_unit("github_app.core.x"))
    cyclic = {"a": {"b"}, "b": {"a"}, "c": {"a"}}
    assert _cycles(cyclic) == [{"a", "b"}]
    assert _cycles(graph) == []
