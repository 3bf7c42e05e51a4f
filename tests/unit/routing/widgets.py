"""A toy "widget" domain for router tests: hand-written fakes of both paths and of the flags.

Both paths share one in-memory store, so their results are equal, and each records which
path served a call, on which thread and on which event loop.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field

from flags.model import Mode
from routing import Operation, OperationRegistry


class WidgetMissing(LookupError):
    """The widget asked for is not in the store."""


@dataclass
class Widget:
    widget_id: str
    name: str
    size: int = 1


@dataclass
class Store:
    rows: dict[str, Widget] = field(default_factory=dict)
    served: list[tuple[str, str]] = field(default_factory=list)  # (path, method)
    threads: list[str] = field(default_factory=list)
    loops: list[int] = field(default_factory=list)


class LegacyWidgets:
    """Sync path: the legacy names."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def get_widget(self, widget_id: str) -> Widget | None:
        """Legacy: one widget by id."""
        self._record("get_widget")
        return self.store.rows.get(widget_id)

    def save_widget(self, widget: Widget) -> None:
        """Legacy: insert or replace."""
        self._record("save_widget")
        self.store.rows[widget.widget_id] = widget

    def resize(self, widget_id: str, *, size: int = 1) -> int:
        """Legacy: change a widget's size, return the old one."""
        self._record("resize")
        if widget_id not in self.store.rows:
            raise WidgetMissing(widget_id)
        old, self.store.rows[widget_id].size = self.store.rows[widget_id].size, size
        return old

    def count_widgets(self) -> int:
        """Legacy: how many widgets."""
        self._record("count_widgets")
        return len(self.store.rows)

    def _record(self, method: str) -> None:
        self.store.served.append(("legacy", method))
        self.store.threads.append(threading.current_thread().name)


class AsyncWidgets:
    """Async path: ``get_widget`` is called ``get_widget_by_id`` here."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.closed_on: list[int] = []

    async def get_widget_by_id(self, widget_id: str) -> Widget | None:
        """Async: one widget by id."""
        self._record("get_widget_by_id")
        return self.store.rows.get(widget_id)

    async def save_widget(self, widget: Widget) -> None:
        """Async: insert or replace."""
        self._record("save_widget")
        self.store.rows[widget.widget_id] = widget

    async def resize(self, widget_id: str, *, size: int = 1) -> int:
        """Async: change a widget's size, return the old one."""
        self._record("resize")
        if widget_id not in self.store.rows:
            raise WidgetMissing(widget_id)
        old, self.store.rows[widget_id].size = self.store.rows[widget_id].size, size
        return old

    async def count_widgets(self) -> int:
        """Async: how many widgets."""
        self._record("count_widgets")
        await asyncio.sleep(0)
        return len(self.store.rows)

    async def close(self) -> None:
        self.closed_on.append(id(asyncio.get_running_loop()))

    def _record(self, method: str) -> None:
        self.store.served.append(("async", method))
        self.store.threads.append(threading.current_thread().name)
        self.store.loops.append(id(asyncio.get_running_loop()))


class FixedFlags:
    """A flag provider that answers one mode per domain and counts what it was asked."""

    name = "fixed"

    def __init__(self, modes: dict[str, Mode] | None = None) -> None:
        self.modes: dict[str, Mode] = dict(modes or {})
        self.asked: list[tuple[str, str | None, str | None]] = []

    def mode_for(self, domain: str, key: str | None, service: str | None) -> Mode:
        self.asked.append((domain, key, service))
        return self.modes.get(domain, "legacy")


class BrokenFlags:
    """A provider whose ``mode_for`` raises while ``broken`` is set, else answers ``async``."""

    name = "broken"

    def __init__(self) -> None:
        self.broken = True

    def mode_for(self, domain: str, key: str | None, service: str | None) -> Mode:
        if self.broken:
            raise ConnectionError("flag source down")
        return "async"


def widget_registry() -> OperationRegistry:
    """The toy domain's operations, declared once."""
    return OperationRegistry(
        [
            Operation("widget", "get_widget_by_id", "read", "widget_id", legacy_name="get_widget"),
            Operation("widget", "save_widget", "write", "widget.widget_id"),
            Operation("widget", "resize", "write", "widget_id"),
            Operation("gadget", "count_widgets", "read", None),
        ]
    )


def seeded_store(count: int = 3) -> Store:
    """A store with widgets ``w0``, ``w1``, ... ."""
    store = Store()
    for i in range(count):
        store.rows[f"w{i}"] = Widget(f"w{i}", f"widget {i}", size=i + 1)
    return store
