"""Where the test suite's npm packages live, and a clear failure when they are not installed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

NODE_DIR = Path(__file__).resolve().parent
NODE_MODULES = NODE_DIR / "node_modules"
INSTALL_HINT = "run `make test-deps` (npm ci --prefix tests/node) first"


def node_package(name: str) -> Path:
    """The installed directory of npm package ``name``; fails the test if it is missing."""
    path = NODE_MODULES / name
    if not (path / "package.json").is_file():
        pytest.fail(f"npm package {name!r} is not installed in {NODE_MODULES}: {INSTALL_HINT}")
    return path


def node_package_version(name: str) -> str:
    """The installed version of npm package ``name``."""
    return str(json.loads((node_package(name) / "package.json").read_text())["version"])
