"""``dualpath serve`` stops cleanly on SIGTERM and on SIGINT, as an orchestrator stops it."""

from __future__ import annotations

import json
import signal

import httpx
import pytest

from tests.integration.service.served import serving

pytestmark = pytest.mark.integration

CLOSING = ("shadow.runner_stopped", "shadow.store_stopped", "system.closed")


class TestServeShutdown:
    """The lifespan closes the system in order and the process exits 0."""

    @pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
    def test_stops_cleanly(self, service_database: str, signum: int) -> None:
        with serving(service_database) as served:
            for _ in range(5):
                httpx.get(f"{served.url}/api/rooms").raise_for_status()
            code = served.stop(signum)
        assert code == 0, served.stderr[-3000:]
        assert "Resetting connection" not in served.stderr and "Traceback" not in served.stderr
        logged = [json.loads(line) for line in served.stderr.splitlines() if line.strip()]
        names = [line["event"] for line in logged]
        assert [n for n in names if n in CLOSING] == list(CLOSING), names[-15:]
        assert all(line["level"] not in ("error", "critical") for line in logged)
