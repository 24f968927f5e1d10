"""A non-editable install works from any folder: the shipped policies and manifest are inside.

Builds the wheel from a copy of the source, installs it (without dependencies) into a fresh
virtual environment that borrows the test environment's installed dependencies, and runs the
installed ``countersign`` from a folder that has nothing of the repository.
"""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SOURCES = (
    "pyproject.toml",
    "setup.py",
    "README.md",
    "LICENSE",
    "app.yml",
    "policies",
    "github_app",
)


def _run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The bin/ folder of a venv holding the wheel (dependencies borrowed from this one)."""
    root = tmp_path_factory.mktemp("packaging")
    source = root / "source"
    source.mkdir()
    for name in SOURCES:
        origin = REPO / name
        if origin.is_dir():
            shutil.copytree(origin, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(origin, source / name)
    wheels = root / "wheels"
    pip = [sys.executable, "-m", "pip"]
    _run(*pip, "wheel", "-q", "--no-deps", "-w", wheels, source, cwd=root)
    wheel = next(wheels.glob("countersign-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "github_app/_shipped/app.yml" in names
    assert "github_app/_shipped/policies/default.yml" in names
    assert "github_app/_shipped/policies/agents.yml" in names
    assert not any(name.endswith("_shipped/setup.py") for name in names)
    venv = root / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=root)
    purelib = Path(sysconfig.get_path("purelib", vars={"base": str(venv), "platbase": str(venv)}))
    # Dependencies come from the test environment; the package itself only from the wheel.
    borrowed = [p for p in site.getsitepackages() if Path(p).is_dir()]
    (purelib / "borrowed-deps.pth").write_text("\n".join(borrowed) + "\n")
    _run(*pip, "--python", venv / "bin" / "python", "install", "-q", "--no-deps", wheel, cwd=root)
    return venv / "bin"


def _clean_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COUNTERSIGN_", "GITHUB_"))}
    env.pop("PYTHONPATH", None)
    env.pop("DATABASE_URL", None)
    env["HOME"] = str(home)
    return env


def test_installed_wheel_checks_a_policy_from_another_folder(installed, tmp_path):
    policy = tmp_path / "countersign.yml"
    policy.write_text("approvals:\n  required: 2\n")
    env = _clean_env(tmp_path)
    where = _run(
        installed / "python",
        "-c",
        "import github_app; print(github_app.__file__)",
        cwd=tmp_path,
        env=env,
    )
    assert str(installed.parent) in where  # the wheel's copy, not the checkout
    output = _run(installed / "countersign", "policy", "check", policy, cwd=tmp_path, env=env)
    assert "# valid: effective policy from countersign:policies/default.yml" in output
    assert "required: 2" in output
    version = _run(installed / "countersign", "--version", cwd=tmp_path, env=env)
    assert version.startswith("countersign, version ")


def test_installed_wheel_builds_the_app_manifest_and_catalogue(installed, tmp_path):
    script = (
        "from github_app.server.setup import app_manifest\n"
        "from github_app.core.catalogue import load_catalogue\n"
        "m = app_manifest('https://cs.example')\n"
        "assert m['hook_attributes']['url'] == 'https://cs.example/webhooks', m\n"
        "assert load_catalogue()\n"
        "print('ok')\n"
    )
    assert (
        _run(installed / "python", "-c", script, cwd=tmp_path, env=_clean_env(tmp_path)) == "ok\n"
    )


def test_countersign_home_overrides_the_shipped_files(installed, tmp_path):
    home = tmp_path / "home"
    (home / "policies").mkdir(parents=True)
    (home / "policies" / "default.yml").write_text("version: 1\napprovals:\n  required: 3\n")
    (home / "app.yml").write_text("name: x\n")
    policy = tmp_path / "countersign.yml"
    policy.write_text("{}\n")
    env = _clean_env(tmp_path) | {"COUNTERSIGN_HOME": str(home)}
    output = _run(installed / "countersign", "policy", "check", policy, cwd=tmp_path, env=env)
    assert "required: 3" in output
