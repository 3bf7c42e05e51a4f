"""What `make test` checks before any test runs: found, not found, too old, and one message."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests import prereqs
from tests.prereqs import Missing, check_chromium, check_node, find_chromium, report

ROOT = Path(__file__).resolve().parents[2]


def executable(directory: Path, name: str, prints: str, status: int = 0) -> Path:
    """A program on a PATH of the test's own that prints ``prints`` and exits ``status``."""
    path = directory / name
    path.write_text(f"#!/bin/sh\necho '{prints}'\nexit {status}\n")
    path.chmod(0o755)
    return path


@pytest.fixture
def bin_dir(tmp_path: Path) -> Path:
    path = tmp_path / "bin"
    path.mkdir()
    return path


class TestChromium:
    """DUALPATH_CHROMIUM wins, then the names on PATH in order; a browser must start."""

    def test_the_setting_wins_over_path(self, bin_dir: Path) -> None:
        executable(bin_dir, "chromium", "Chromium 1")
        chosen = executable(bin_dir, "chrome-of-mine", "Chrome 2")
        env = {"PATH": str(bin_dir), "DUALPATH_CHROMIUM": str(chosen)}
        assert find_chromium(env, apps=()) == str(chosen)
        assert check_chromium(env, apps=()) is None

    def test_names_on_path_in_order(self, bin_dir: Path) -> None:
        executable(bin_dir, "google-chrome", "Google Chrome 3")
        assert find_chromium({"PATH": str(bin_dir)}, apps=()) == str(bin_dir / "google-chrome")
        executable(bin_dir, "chromium", "Chromium 1")
        assert find_chromium({"PATH": str(bin_dir)}, apps=()) == str(bin_dir / "chromium")

    def test_none_found_says_how_to_install_on_debian_and_macos(self, bin_dir: Path) -> None:
        missing = check_chromium({"PATH": str(bin_dir)}, apps=())
        assert missing is not None
        assert "not found" in missing.found
        assert "apt-get install -y chromium" in missing.debian
        assert "brew install --cask chromium" in missing.macos

    def test_a_browser_that_does_not_start_is_missing(self, bin_dir: Path) -> None:
        broken = executable(bin_dir, "chromium", "please install the snap", status=1)
        missing = check_chromium({"PATH": str(bin_dir)}, apps=())
        assert missing is not None
        assert missing.found.startswith(f"{broken} does not run")


class TestNode:
    """Node.js 20 or newer, with npm."""

    def test_twenty_with_npm_is_enough(self, bin_dir: Path) -> None:
        executable(bin_dir, "node", "v20.11.1")
        executable(bin_dir, "npm", "10.2.4")
        assert check_node({"PATH": str(bin_dir)}) is None

    @pytest.mark.parametrize(
        ("programs", "found"),
        [
            ({}, "node not found on PATH"),
            ({"node": "v18.19.0", "npm": "9.2.0"}, "node is v18.19.0"),
            ({"node": "v22.1.0"}, "node v22.1.0, but npm not found on PATH"),
        ],
    )
    def test_missing_too_old_or_without_npm(
        self, bin_dir: Path, programs: dict[str, str], found: str
    ) -> None:
        for name, prints in programs.items():
            executable(bin_dir, name, prints)
        missing = check_node({"PATH": str(bin_dir)})
        assert missing is not None
        assert missing.found == found
        assert "nodejs" in missing.debian
        assert "brew" in missing.macos


class TestReport:
    """One message naming every missing prerequisite, with Debian and macOS commands."""

    def test_every_item_and_both_platforms(self) -> None:
        items = [Missing("A thing", "absent", "apt-get install a", "brew install a"),
                 Missing("B thing", "too old", "apt-get install b", "brew install b")]  # fmt: skip
        message = report("test", items)
        assert message.startswith("make test cannot start: 2 prerequisite(s) missing")
        for item in items:
            assert f"  - {item.what}: {item.found}" in message
            assert f"Debian: {item.debian}" in message
            assert f"macOS:  {item.macos}" in message


class TestCommand:
    """``python -m tests.prereqs test`` stops with status 1 and installs nothing it may not."""

    def test_stops_at_once_with_one_message(self, bin_dir: Path, tmp_path: Path) -> None:
        executable(bin_dir, "node", "v18.19.0")
        env = {
            "PATH": str(bin_dir),
            "HOME": str(tmp_path),
            "DUALPATH_CHROMIUM": str(tmp_path / "no-such-browser"),
        }
        done = subprocess.run(
            [sys.executable, "-m", "tests.prereqs", "test", "--install"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert done.returncode == 1, done.stdout + done.stderr
        assert done.stdout == ""
        assert done.stderr.count("cannot start") == 1
        assert "node is v18.19.0" in done.stderr
        assert "no-such-browser does not run" in done.stderr
        assert "prometheus not found on PATH" in done.stderr
        assert done.stderr.count("Debian: ") == done.stderr.count("macOS:  ") == 3

    def test_nothing_missing_says_what_was_found(self) -> None:
        if prereqs.check_test(install=False):
            pytest.fail("this machine lacks a prerequisite of make test")
        done = subprocess.run(
            [sys.executable, "-m", "tests.prereqs", "test"],
            cwd=ROOT, env=dict(os.environ), capture_output=True, text=True, timeout=60,
            check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("prereqs: Python 3.")
        assert "Node.js v" in done.stdout
