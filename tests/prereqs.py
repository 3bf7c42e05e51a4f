"""What ``make run`` and ``make test`` need besides Python packages, checked before they start.

``python -m tests.prereqs run`` checks Python (3.11 or newer, able to make a virtualenv).
``python -m tests.prereqs test`` checks that too, then Node.js 20+ with npm (the tests run a
real Unleash server), Chromium or Google Chrome (the browser tests) and the npm packages in
``tests/node``, Prometheus with promtool (the metrics tests scrape the service with a real
Prometheus) and jq. With ``--install`` it first installs what it may without asking anyone:
the npm packages (``npm ci``) and, only as root on a machine with apt-get, Debian's Chromium,
Prometheus and jq.
Whatever is still missing is reported in one message, with how to install it on Debian and on
macOS, and the exit status is 1: nothing has run yet.

Standard library only: it runs with the system's ``python3``, before the virtualenv exists.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NODE_DIR = ROOT / "tests" / "node"
NODE_STAMP = NODE_DIR / "node_modules" / ".installed-stamp"
PYTHON_MIN = (3, 11)
NODE_MIN = 20  # unleash-server 7 declares "engines": {"node": ">=20"}
CHROMIUM_ENV = "DUALPATH_CHROMIUM"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_APPS = (
    "/Applications/Chromium.app/Contents/MacOS/Chromium",
    "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
)


@dataclass(frozen=True)
class Missing:
    """One missing prerequisite: what it is for, what was found, how to install it."""

    what: str
    found: str
    debian: str
    macos: str

    def lines(self) -> list[str]:
        """The prerequisite's part of the message."""
        return [
            f"  - {self.what}: {self.found}",
            f"      Debian: {self.debian}",
            f"      macOS:  {self.macos}",
        ]


def _sudo() -> str:
    return "" if _is_root() else "sudo "


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _output(command: Sequence[str], env: Mapping[str, str] = os.environ) -> str | None:
    """The first line ``command`` prints, or None when it cannot run or fails."""
    executable = shutil.which(command[0], path=env.get("PATH"))
    if executable is None:
        return None
    try:
        done = subprocess.run(
            [executable, *command[1:]],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
            env=dict(env),
        )
    except (OSError, subprocess.SubprocessError):
        return None
    lines = (done.stdout or done.stderr).strip().splitlines()
    return lines[0].strip() if done.returncode == 0 and lines else None


# --- Python ---


def check_python(venv: Path = ROOT / ".venv") -> Missing | None:
    """Python 3.11+, and the venv module's pip bootstrap unless the virtualenv exists."""
    version = ".".join(map(str, sys.version_info[:3]))
    debian = f"{_sudo()}apt-get install -y python3 python3-venv   (Debian 12 has Python 3.11)"
    macos = "brew install python@3.12, then run make with PYTHON=python3.12"
    if sys.version_info < PYTHON_MIN:
        found = f"{sys.executable} is Python {version}; set PYTHON=... to a newer one"
        return Missing("Python 3.11 or newer", found, debian, macos)
    if (venv / "bin" / "python").exists():
        return None
    import importlib.util

    if importlib.util.find_spec("ensurepip") is None:
        found = f"{sys.executable} cannot make a virtualenv (no ensurepip)"
        return Missing("Python's venv module", found, debian, macos)
    return None


# --- Node.js ---


def check_node(env: Mapping[str, str] = os.environ) -> Missing | None:
    """Node.js 20 or newer, and npm, on PATH."""
    debian = (
        f"{_sudo()}apt-get install -y nodejs npm   (Debian 13; Debian 12's nodejs is 18, "
        "too old: take Node.js 20+ from https://deb.nodesource.com or https://nodejs.org)"
    )
    what = f"Node.js {NODE_MIN} or newer with npm, for the Unleash server the tests run"
    version = _output(["node", "--version"], env)
    if version is None:
        return Missing(what, "node not found on PATH", debian, "brew install node")
    major = re.match(r"v?(\d+)", version)
    if major is None or int(major.group(1)) < NODE_MIN:
        return Missing(what, f"node is {version}", debian, "brew upgrade node")
    if _output(["npm", "--version"], env) is None:
        found = f"node {version}, but npm not found on PATH"
        return Missing(what, found, debian, "brew install node")
    return None


def npm_packages_missing() -> list[str]:
    """The packages of tests/node/package.json not installed, or all when the lock is newer."""
    wanted = sorted(json.loads((NODE_DIR / "package.json").read_text())["dependencies"])
    lock = NODE_DIR / "package-lock.json"
    if not NODE_STAMP.exists() or NODE_STAMP.stat().st_mtime < lock.stat().st_mtime:
        return wanted
    return [p for p in wanted if not (NODE_DIR / "node_modules" / p / "package.json").is_file()]


def check_npm_packages() -> Missing | None:
    """The npm packages in tests/node, installed from its lock file."""
    missing = npm_packages_missing()
    if not missing:
        return None
    command = "npm ci --prefix tests/node   (make test runs it)"
    found = f"not installed (or older than package-lock.json): {', '.join(missing)}"
    return Missing("the npm packages in tests/node", found, command, command)


def install_npm_packages() -> None:
    """``npm ci`` in tests/node; the stamp records that it finished."""
    print("prereqs: npm ci --prefix tests/node", flush=True)
    done = subprocess.run(
        ["npm", "ci", "--prefix", str(NODE_DIR), "--no-audit", "--no-fund"], check=False
    )
    if done.returncode == 0:
        NODE_STAMP.touch()


# --- Chromium ---


def find_chromium(
    env: Mapping[str, str] = os.environ, apps: Sequence[str] = CHROMIUM_APPS
) -> str | None:
    """The browser the tests drive: ``DUALPATH_CHROMIUM``, else Chromium or Chrome."""
    if env.get(CHROMIUM_ENV):
        return env[CHROMIUM_ENV]
    for name in CHROMIUM_NAMES:
        found = shutil.which(name, path=env.get("PATH"))
        if found:
            return found
    return next((app for app in apps if Path(app).is_file()), None)


def check_chromium(
    env: Mapping[str, str] = os.environ, apps: Sequence[str] = CHROMIUM_APPS
) -> Missing | None:
    """A Chromium or Google Chrome that starts (``--version``)."""
    what = "Chromium or Google Chrome, for the browser tests (tests/e2e)"
    debian = f"{_sudo()}apt-get install -y chromium"
    macos = f"brew install --cask chromium (or Google Chrome), or set {CHROMIUM_ENV}"
    browser = find_chromium(env, apps)
    if browser is None:
        looked = f"{CHROMIUM_ENV} unset, none of {', '.join(CHROMIUM_NAMES)} on PATH"
        return Missing(what, f"not found ({looked}, no app in /Applications)", debian, macos)
    if _output([browser, "--version"], env) is None:
        return Missing(what, f"{browser} does not run ({browser} --version fails)", debian, macos)
    return None


def may_install_chromium() -> bool:
    """Chromium is installed by apt-get only as root; anyone else is told what to run."""
    return may_apt_get()


def may_apt_get() -> bool:
    """Debian packages are installed only as root with apt-get; anyone else is told what to run."""
    return _is_root() and shutil.which("apt-get") is not None


def install_chromium() -> None:
    """Debian's Chromium, by apt-get (as root only)."""
    print("prereqs: apt-get install -y chromium", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
        if subprocess.run(command, env=env, check=False).returncode != 0:
            return


# --- Prometheus ---


def check_prometheus(env: Mapping[str, str] = os.environ) -> Missing | None:
    """Prometheus and promtool that start (``--version``), and jq."""
    what = (
        "Prometheus and promtool, for the metrics tests (a real scrape of the service), "
        "and jq, which reads the --json output of the command line in its tests"
    )
    debian = f"{_sudo()}apt-get install -y prometheus jq"
    macos = "brew install prometheus jq"
    for name in ("prometheus", "promtool", "jq"):
        if _output([name, "--version"], env) is None:
            return Missing(what, f"{name} not found on PATH (or it does not run)", debian, macos)
    return None


def install_prometheus() -> None:
    """Debian's Prometheus (the server and promtool) and jq, by apt-get (as root only)."""
    print("prereqs: apt-get install -y prometheus jq", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "prometheus", "jq"],
    ):
        if subprocess.run(command, env=env, check=False).returncode != 0:
            return


# --- the whole check ---


def report(target: str, missing: Sequence[Missing]) -> str:
    """The one message: what is missing and how to install each, on Debian and on macOS."""
    lines = [f"make {target} cannot start: {len(missing)} prerequisite(s) missing", ""]
    for item in missing:
        lines += [*item.lines(), ""]
    lines.append(f"Install {'it' if len(missing) == 1 else 'them'}, then run make {target} again.")
    return "\n".join(lines)


def check_test(install: bool) -> list[Missing]:
    """Everything ``make test`` needs; installs what it may when ``install`` is set."""
    missing = [m for m in (check_python(), check_node()) if m is not None]
    chromium = check_chromium()
    if chromium is not None and install and not missing and may_install_chromium():
        install_chromium()
        chromium = check_chromium()
    prometheus = check_prometheus()
    if prometheus is not None and install and not missing and may_apt_get():
        install_prometheus()
        prometheus = check_prometheus()
    missing += [m for m in (prometheus,) if m is not None]
    if chromium is not None or missing:
        return [*missing, *([chromium] if chromium else [])]
    if install and npm_packages_missing():
        install_npm_packages()
    return [m for m in (check_npm_packages(),) if m is not None]


def main(argv: Sequence[str] | None = None) -> int:
    """Check what `make run` or `make test` needs; 1 and one message if anything is missing."""
    parser = argparse.ArgumentParser(prog="python -m tests.prereqs", description=__doc__)
    parser.add_argument("target", choices=["run", "test"], help="what is about to run")
    parser.add_argument(
        "--install", action="store_true", help="install the npm packages (and as root Chromium)"
    )
    args = parser.parse_args(argv)
    if args.target == "run":
        missing = [m for m in (check_python(),) if m is not None]
    else:
        missing = check_test(args.install)
    if missing:
        print(report(args.target, missing), file=sys.stderr)
        return 1
    print(f"prereqs: {summary(args.target)}", flush=True)
    return 0


def summary(target: str) -> str:
    """What was found, for the log."""
    found = [f"Python {'.'.join(map(str, sys.version_info[:3]))}"]
    if target == "test":
        browser = find_chromium() or "?"
        found += [
            f"Node.js {_output(['node', '--version'])}",
            f"npm {_output(['npm', '--version'])}",
            f"{_output([browser, '--version'])} at {browser}",
            f"{_output(['prometheus', '--version'])}",
            "the npm packages in tests/node",
        ]
    return ", ".join(found)


if __name__ == "__main__":
    sys.exit(main())
