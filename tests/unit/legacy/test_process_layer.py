"""The process-wide layer and how a layer finds its database URL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import persistence
from persistence import legacy
from persistence.legacy import PersistenceLayer, get_persistence, set_persistence

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def no_process_layer() -> Iterator[None]:
    set_persistence(None)
    yield
    set_persistence(None)


class TestDatabaseUrl:
    """The URL is an argument or $DATABASE_URL, read when the layer is built."""

    def test_without_a_url_construction_fails_clearly(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.delenv("DATABASE_URL", raising=False)
        with pytest.raises(RuntimeError, match="DATABASE_URL"):
            PersistenceLayer()

    def test_the_environment_is_read_at_construction(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
        PersistenceLayer().close()


class TestProcessLayer:
    """get_persistence returns the installed layer, else one built once from the environment."""

    def test_an_installed_layer_is_returned(self) -> None:
        installed = PersistenceLayer("postgresql://nobody@127.0.0.1:1/none")
        set_persistence(installed)
        assert get_persistence() is installed

    def test_the_default_layer_is_built_once(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
        first = get_persistence()
        assert isinstance(first, PersistenceLayer)
        assert get_persistence() is first

    def test_the_package_re_exports_the_legacy_names(self) -> None:
        assert persistence.get_persistence is legacy.get_persistence
        assert persistence.PersistenceLayer is PersistenceLayer
