"""The errors routing raises, under one base.

::

    RoutingError (also a RuntimeError)
    ├── TransactionNotRoutedError   transaction() on the router or its sync facade
    ├── InsideEventLoopError        a blocking call made on a thread that runs an event loop
    └── LoopClosedError             a call made after the router was closed
"""

from __future__ import annotations

__all__ = ["InsideEventLoopError", "LoopClosedError", "RoutingError", "TransactionNotRoutedError"]


class RoutingError(RuntimeError):
    """Base of every error the router and its sync facade raise themselves."""


class TransactionNotRoutedError(RoutingError):
    """``transaction()`` was called on the router or its sync facade; it is not routed."""

    def __init__(self) -> None:
        super().__init__(
            "transactions are not routed: a unit of work must stay on one path's connection, "
            "so open it on the path itself (legacy.transaction() or async_layer.transaction())"
        )


class InsideEventLoopError(RoutingError):
    """A blocking persistence call was made on a thread that runs an event loop."""


class LoopClosedError(RoutingError):
    """The router was closed; its background loop no longer takes calls."""
