"""The benchmarks that take a database URL work from an empty one, as their docstrings say."""

from __future__ import annotations

import pytest

from tests.conftest import create_database, drop_database

pytestmark = pytest.mark.integration


class TestEmptyDatabase:
    """``python -m bench.shadow URL``, ``bench.calibration URL`` and ``bench.router_overhead URL``
    start from nothing."""

    def test_migrated_and_seeded(self) -> None:
        from bench.router_overhead import player_ids

        url = create_database("dualpath_bench_empty")
        try:
            ids = player_ids(url)  # what both entry points call first
            assert len(ids) == 500
            assert player_ids(url) == ids  # a second call reuses the world
        finally:
            drop_database(url)

    def test_calibration_prepares_after_seeding(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """``bench.calibration URL`` on an empty database: seeded first, then prepared."""
        import asyncio

        import bench.calibration as calibration

        class Prepared(Exception):
            """Raised where the bench would start its paths: everything before it worked."""

        def stop(_url: str) -> None:
            raise Prepared

        monkeypatch.setattr(calibration, "Paths", stop)
        url = create_database("dualpath_bench_empty_calibration")
        try:
            with pytest.raises(Prepared):
                asyncio.run(calibration.measure(url, 0.1))
        finally:
            drop_database(url)
