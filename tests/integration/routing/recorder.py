"""A pass-through wrapper of a real path that records which path served each call."""

from __future__ import annotations

import functools
import inspect
from typing import Any


class Recorder:
    """Delegates every attribute to ``target``; public methods append ``(path, name)``."""

    def __init__(self, target: object, path: str, log: list[tuple[str, str]]) -> None:
        self._target = target
        self._path = path
        self._log = log

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._target, name)
        if name.startswith("_") or not callable(attr):
            return attr
        entry = (self._path, name)
        log = self._log
        if inspect.iscoroutinefunction(attr):

            @functools.wraps(attr)
            async def call_async(*args: Any, **kwargs: Any) -> Any:
                log.append(entry)
                return await attr(*args, **kwargs)

            return call_async

        @functools.wraps(attr)
        def call(*args: Any, **kwargs: Any) -> Any:
            log.append(entry)
            return attr(*args, **kwargs)

        return call
