"""The calling service of a persistence call: set once around the code that calls, read per call.

A service names itself in one of these ways, all of which set one ``ContextVar``:

- ``with calling_service("combat_service"): ...`` (also ``async with``);
- ``@calling_service("combat_service")`` on a function, a coroutine function or a class (every
  public method of the class, sync or async, runs as that service);
- ``router.for_service("combat_service")``: a router view; its name wins over the context's;
- in the service, ``ServiceMiddleware`` (ASGI) or the ``service_dependency`` of FastAPI.

A call with no service is counted under ``unattributed``. The context follows ``await``, tasks
(they copy it when created) and the router's own thread pool and background loop. It does not
follow a plain ``threading.Thread``: Python starts a thread in an empty context. Start threads
that call persistence with :class:`ServiceThread` (or wrap the target with
:func:`carry_context`; for an executor, ``pool.submit(carry_context(fn), ...)``); a plain
thread's calls are ``unattributed``.

Names are identifiers (lowercase letters, digits, ``_``, ``.``, ``-``; at most 64
characters), refused with :class:`InvalidServiceName` at ``calling_service`` or the decorator.
:class:`ServiceNames` keeps the labels bounded: configured names, then the first names seen
up to a cap; any other name is counted under ``other``.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from contextvars import ContextVar, Token
from types import TracebackType
from typing import Any, Final, TypeVar

__all__ = [
    "OTHER",
    "UNATTRIBUTED",
    "CallingService",
    "InvalidServiceName",
    "ServiceNames",
    "ServiceThread",
    "calling_service",
    "carry_context",
    "check_service_name",
    "current_service",
]

UNATTRIBUTED: Final = "unattributed"
OTHER: Final = "other"
RESERVED: Final = frozenset({UNATTRIBUTED, OTHER})
#: How many names past the cap are remembered as ``other`` (beyond it they are checked again).
OVERFLOW_MEMO: Final = 1024
_NAME: Final = re.compile(r"[a-z][a-z0-9_.\-]{0,63}")

_service: ContextVar[str | None] = ContextVar("dualpath_calling_service", default=None)

#: The calling service set in this context, or None: ``ContextVar.get`` itself, for speed.
current_service: Callable[[], str | None] = _service.get

T = TypeVar("T")


class InvalidServiceName(ValueError):
    """A service name that is not an identifier, or a reserved label."""


def check_service_name(name: object) -> str:
    """``name`` if it is a valid service name, else :class:`InvalidServiceName`."""
    if not isinstance(name, str) or _NAME.fullmatch(name) is None:
        raise InvalidServiceName(
            f"service name {name!r} is not valid: use 1 to 64 lowercase letters, digits, "
            "'_', '.' or '-', starting with a letter (e.g. combat_service)"
        )
    if name in RESERVED:
        raise InvalidServiceName(f"{name!r} is a reserved label, not a service name")
    return name


class CallingService:
    """Sets the calling service for a block (``with``/``async with``) or a decorated target."""

    __slots__ = ("_tokens", "name")

    def __init__(self, name: str) -> None:
        self.name = check_service_name(name)
        self._tokens: list[Token[str | None]] = []

    def __enter__(self) -> str:
        self._tokens.append(_service.set(self.name))
        return self.name

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        _service.reset(self._tokens.pop())

    async def __aenter__(self) -> str:
        return self.__enter__()

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.__exit__(kind, exc, tb)

    def __call__(self, target: T) -> T:
        """Decorate a function, a coroutine function or a class (its public methods)."""
        if inspect.isclass(target):
            return self._decorate_class(target)
        if callable(target):
            return self._decorate(target)  # type: ignore[return-value]
        raise TypeError(f"calling_service decorates functions and classes, not {target!r}")

    def _decorate(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        name = self.name
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                token = _service.set(name)
                try:
                    return await fn(*args, **kwargs)
                finally:
                    _service.reset(token)

            return run_async

        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            token = _service.set(name)
            try:
                return fn(*args, **kwargs)
            finally:
                _service.reset(token)

        return run

    def _decorate_class(self, cls: T) -> T:
        for attr, value in list(vars(cls).items()):
            if attr.startswith("_") or not inspect.isfunction(value):
                continue
            setattr(cls, attr, self._decorate(value))
        return cls

    def __repr__(self) -> str:
        return f"calling_service({self.name!r})"


def calling_service(name: str) -> CallingService:
    """Run the block, function or class as ``name`` (see the module docstring)."""
    return CallingService(name)


def carry_context(fn: Callable[..., T]) -> Callable[..., T]:
    """``fn`` bound to a copy of the current context (the calling service included).

    For work handed to another thread: ``executor.submit(carry_context(fn), arg)``. Each
    returned callable may run once at a time (a ``Context`` cannot be entered twice at once).
    """
    context = contextvars.copy_context()

    @functools.wraps(fn)
    def in_context(*args: Any, **kwargs: Any) -> T:
        return context.run(fn, *args, **kwargs)

    return in_context


class ServiceThread(threading.Thread):
    """A ``threading.Thread`` that runs in a copy of the context that created it.

    A plain thread starts with an empty context, so its persistence calls would be
    ``unattributed``; this one keeps the calling service of the code that built it.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._dualpath_context = contextvars.copy_context()

    def run(self) -> None:
        """Run the target (or the subclass's ``run``) inside the captured context."""
        self._dualpath_context.run(super().run)


class ServiceNames:
    """The bounded set of service labels: configured names, then first seen up to ``cap``.

    ``label(name)`` maps a call's service to the label it is counted under: ``None`` →
    ``unattributed``, a known or newly admitted name → itself, anything else → ``other``.
    The cap counts names admitted at run time, not the configured ones. Thread-safe.
    """

    def __init__(self, configured: Iterable[str] = (), cap: int = 50) -> None:
        if cap < 0:
            raise ValueError(f"the cap on service names must be >= 0, got {cap}")
        self.configured: tuple[str, ...] = tuple(dict.fromkeys(map(check_service_name, configured)))
        self.cap = cap
        self._labels: dict[str | None, str] = {name: name for name in self.configured}
        self._labels[None] = UNATTRIBUTED
        #: The labels already decided, by name: ``labels.get(name)`` is the cheap first try.
        self.labels: Mapping[str | None, str] = self._labels
        self._admitted: list[str] = []
        self._memo_limit = len(self._labels) + cap + OVERFLOW_MEMO
        self._lock = threading.Lock()

    def label(self, name: str | None) -> str:
        """The label ``name`` is counted under (cheap for a name already seen)."""
        found = self._labels.get(name)
        if found is not None:
            return found
        return self._admit(name)

    def _admit(self, name: str | None) -> str:
        with self._lock:
            found = self._labels.get(name)
            if found is not None:
                return found
            valid = isinstance(name, str) and _NAME.fullmatch(name) and name not in RESERVED
            if not valid or len(self._admitted) >= self.cap:
                if len(self._labels) < self._memo_limit:
                    self._labels[name] = OTHER  # so a busy name past the cap stays cheap
                return OTHER
            self._admitted.append(name)  # type: ignore[arg-type]
            self._labels[name] = name  # type: ignore[assignment]
            return name  # type: ignore[return-value]

    def known(self) -> list[str]:
        """Every label there is: the configured names, those admitted, and the two reserved."""
        with self._lock:
            return [*self.configured, *self._admitted, UNATTRIBUTED, OTHER]

    @property
    def full(self) -> bool:
        """True once ``cap`` names were admitted at run time."""
        return len(self._admitted) >= self.cap
