"""Packaging details pyproject.toml cannot express: ship top-level files as package data.

``app.yml`` (the GitHub App manifest), ``LICENSE`` and ``policies/`` (default policy, agent
catalogue, JSON Schema) live at the top of the repository, where people read them.  The wheel
carries them as the data-only packages ``github_app._shipped`` and
``github_app._shipped.policies``; :mod:`github_app.paths` finds them in either layout.
"""

from setuptools import find_namespace_packages, setup
from setuptools.command.build_py import build_py

SHIPPED = "github_app._shipped"


class BuildPy(build_py):
    """Data only under ``_shipped``: its folder is the repository root, whose .py stay out."""

    def find_package_modules(self, package, package_dir):
        if package.startswith(SHIPPED):
            return []
        return super().find_package_modules(package, package_dir)


setup(
    cmdclass={"build_py": BuildPy},
    packages=[
        *find_namespace_packages(include=["github_app*"], exclude=["*__pycache__"]),
        SHIPPED,
        f"{SHIPPED}.policies",
    ],
    package_dir={SHIPPED: ".", f"{SHIPPED}.policies": "policies"},
    package_data={
        "github_app": [
            "**/*.yml",
            "**/*.json",
            "**/*.ini",
            "**/*.mako",
            "**/*.sql",
            "**/*.html",
            "**/*.css",
        ],
        SHIPPED: ["app.yml", "LICENSE"],
        f"{SHIPPED}.policies": ["*.yml", "*.json"],
    },
)
