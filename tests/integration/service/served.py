"""``dualpath serve`` as its own process on a free port: what Prometheus and clients talk to."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.integration.service.conftest import TOKEN

ROOT = Path(__file__).resolve().parents[3]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Serving:
    """A running ``dualpath serve``: its URL; its output once it has stopped."""

    url: str
    process: subprocess.Popen[str]
    stdout: str = ""
    stderr: str = ""

    def stop(self, signum: int = signal.SIGTERM, timeout_s: float = 60) -> int:
        """Send ``signum``, wait for the exit, keep the output; the exit status."""
        self.process.send_signal(signum)
        self.stdout, self.stderr = self.process.communicate(timeout=timeout_s)
        return self.process.returncode


def environment(database_url: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The service's environment: the test database, the postgres flags, the ops token."""
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "DUALPATH_FLAG_PROVIDER": "postgres",
        "DUALPATH_OPS_TOKEN": TOKEN,
        "DUALPATH_LOG_FORMAT": "json",
        **(extra or {}),
    }


@contextmanager
def serving(
    database_url: str, *args: str, extra: Mapping[str, str] | None = None
) -> Iterator[Serving]:
    """``dualpath serve`` on a free port until the block ends (then SIGTERM, or a kill)."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", "from app.cli import main; main()", "serve", "--port", str(port),
         *args],
        cwd=ROOT, env=environment(database_url, extra), text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    served = Serving(f"http://127.0.0.1:{port}", process)
    try:
        wait_healthy(served)
        yield served
    finally:
        if process.poll() is None:
            try:
                served.stop()
            except subprocess.TimeoutExpired:
                process.kill()
                process.communicate()


def wait_healthy(served: Serving, deadline_s: float = 90) -> None:
    """Poll ``/healthz`` until it answers 200; fail with the output if the process ends."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if served.process.poll() is not None:
            _out, err = served.process.communicate()
            raise AssertionError(f"dualpath serve exited {served.process.returncode}: {err}")
        try:
            if httpx.get(f"{served.url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError("dualpath serve did not become healthy")
