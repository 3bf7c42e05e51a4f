"""Two ``dualpath serve`` processes on one database, and how fast a flag flip reaches the other.

A flip is a ``PUT /api/flags/{domain}`` with the ops token on the first process; the second
has followed once its ``GET /api/flags/{domain}`` and its ``dualpath_flag_mode`` gauge on
``/metrics`` both show the new mode. Each flip is a legal step (``legacy → shadow`` and back).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Propagation", "Service", "flip_and_follow", "service_pair"]

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "load-bench-token"
POLL_S = 0.002
DUALPATH = (sys.executable, "-c", "from app.cli import main; main()")


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Service:
    """One ``dualpath serve`` child process, and a connection to it."""

    port: int
    process: subprocess.Popen[bytes]

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, bytes]:
        """One HTTP request with the ops token; the status and the body."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
        try:
            data = None if body is None else json.dumps(body)
            conn.request(method, path, body=data, headers=headers)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def mode(self, domain: str) -> str:
        """The domain's mode as ``GET /api/flags/{domain}`` reports it."""
        status, body = self.request("GET", f"/api/flags/{domain}")
        if status != 200:
            raise RuntimeError(f"GET /api/flags/{domain}: {status} {body[:200]!r}")
        mode: str = json.loads(body)["mode"]
        return mode

    def gauge_says(self, domain: str, mode: str) -> bool:
        """True when ``/metrics`` has ``dualpath_flag_mode`` 1 for ``domain`` in ``mode``."""
        _, body = self.request("GET", "/metrics")
        line = f'dualpath_flag_mode{{domain="{domain}",mode="{mode}"}} 1.0'
        return line in body.decode()

    def healthy(self) -> bool:
        """True once ``/healthz`` answers 200."""
        try:
            return self.request("GET", "/healthz")[0] == 200
        except OSError:
            return False


def start_service(url: str, port: int) -> Service:
    """``dualpath serve`` on ``port`` over ``url`` with the postgres flag provider."""
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DUALPATH_FLAG_PROVIDER": "postgres",
        "DUALPATH_OPS_TOKEN": TOKEN,
        "PYTHONPATH": str(ROOT),
    }
    command = [*DUALPATH, "serve", "--port", str(port)]
    command += ["--log-level", "warning"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    return Service(port, process)


def wait_healthy(service: Service, within_s: float = 60.0) -> None:
    """Wait until ``service`` answers; ``RuntimeError`` if it exits or takes too long."""
    deadline = time.monotonic() + within_s
    while not service.healthy():
        if service.process.poll() is not None:
            raise RuntimeError(f"dualpath serve exited with {service.process.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"dualpath serve not healthy within {within_s} s")
        time.sleep(0.1)


@contextlib.contextmanager
def service_pair(url: str) -> Iterator[tuple[Service, Service]]:
    """Two services on ``url``, each on a free port; stopped on exit."""
    services = [start_service(url, free_port()) for _ in range(2)]
    try:
        for service in services:
            wait_healthy(service)
        yield services[0], services[1]
    finally:
        for service in services:
            service.process.terminate()
        for service in services:
            try:
                service.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                service.process.kill()
                service.process.wait()


@dataclass(frozen=True)
class Propagation:
    """Seconds from each flip's request on one process to the other showing it."""

    api_s: tuple[float, ...]
    gauge_s: tuple[float, ...]

    @property
    def median_ms(self) -> float:
        """The median over flips of the later of the two signs, in milliseconds."""
        return statistics.median(self._later()) * 1000

    @property
    def max_ms(self) -> float:
        """The slowest flip, in milliseconds."""
        return max(self._later()) * 1000

    def _later(self) -> list[float]:
        return [max(a, g) for a, g in zip(self.api_s, self.gauge_s, strict=True)]


def flip_and_follow(
    first: Service, second: Service, domain: str, flips: int, within_s: float = 5.0
) -> Propagation:
    """Flip ``domain`` ``flips`` times on ``first`` (legacy ↔ shadow); time ``second``."""
    api, gauge = [], []
    for _ in range(flips):
        target = "legacy" if first.mode(domain) == "shadow" else "shadow"
        body = {"mode": target, "reason": "load bench: propagation"}
        started = time.perf_counter()
        status, answer = first.request("PUT", f"/api/flags/{domain}", body)
        if status != 200:
            raise RuntimeError(f"PUT /api/flags/{domain}: {status} {answer[:200]!r}")
        api.append(_until(lambda t=target: second.mode(domain) == t, started, within_s))
        gauge.append(_until(lambda t=target: second.gauge_says(domain, t), started, within_s))
        time.sleep(0.05)
    return Propagation(tuple(api), tuple(gauge))


def _until(check: Any, started: float, within_s: float) -> float:
    while not check():
        if time.perf_counter() - started > within_s:
            raise RuntimeError(f"the second process did not follow within {within_s} s")
        time.sleep(POLL_S)
    return time.perf_counter() - started
