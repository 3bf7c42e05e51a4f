"""Key extractors, compiled once per operation so a call finds its entity key by index.

The router calls an extractor on every call, so it does no signature binding: it reads the
argument by position or keyword, follows a precompiled ``attrgetter`` and turns the value into
the string the flag provider hashes. It never raises: a call whose key cannot be read (wrong
type, missing argument) is routed without a key and fails on the path with its usual error.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from operator import attrgetter
from typing import Any

from routing.registry import Operation

KeyOf = Callable[[tuple[Any, ...], dict[str, Any]], str | None]

_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


def no_key(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str | None:
    """The extractor of operations that have no entity key."""
    return None


def compile_key(operation: Operation, signature: inspect.Signature) -> KeyOf:
    """An extractor of ``operation.key`` from the arguments of a call with ``signature``.

    ``signature`` is the bound method's (no ``self``). ``ValueError`` if the key's parameter is
    not in it, so a registry that disagrees with an implementation fails at start-up.
    """
    name = operation.key_parameter
    if name is None:
        return no_key
    parameter = signature.parameters.get(name)
    if parameter is None:
        raise ValueError(f"{operation.name}: key parameter {name!r} is not in {signature}")
    index = _position(signature, name) if parameter.kind in _POSITIONAL else -1
    default = None if parameter.default is inspect.Parameter.empty else parameter.default
    path = operation.key_path
    getter: Callable[[Any], Any] | None = attrgetter(path) if path else None
    return _extractor(index, name, default, getter)


def _position(signature: inspect.Signature, name: str) -> int:
    return list(signature.parameters).index(name)


def _extractor(index: int, name: str, default: Any, getter: Callable[[Any], Any] | None) -> KeyOf:
    def key_of(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str | None:
        try:
            value = args[index] if 0 <= index < len(args) else kwargs.get(name, default)
            if getter is not None and value is not None:
                value = getter(value)
            return None if value is None else str(value)
        except Exception:
            return None

    return key_of
