"""Flags from an Unleash server: one feature per domain, ``dualpath.<domain>``.

``UnleashClient`` polls the server (every second by default) and hands each new feature
payload to its cache; this provider's cache compiles dualpath's decision table from that
payload, so ``mode_for`` never goes through the SDK's per-call evaluation (about 100 us).
See ``flags.unleash_features`` for how a feature maps onto a flag.

Safety: before the first payload every domain is ``legacy`` (unless a bootstrap file or dict
seeds it); while the server is unreachable the last payload stays in force; a feature that
cannot be read keeps its last known good flag. An outage is logged once, when no poll has
succeeded for ``outage_after`` seconds, and once more on recovery; the SDK's own per-poll
error tracebacks are silenced.

``set`` writes through the admin API when an admin token is configured. ``history`` holds
only the changes this process has observed since it started (Unleash keeps the full event
log), with the reason and actor of changes made through this provider's ``set``.
"""

from __future__ import annotations

import asyncio
import builtins
import dataclasses
import itertools
import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import structlog
from UnleashClient import UnleashClient
from UnleashClient.cache import BaseCache
from UnleashClient.constants import FEATURES_URL
from UnleashClient.utils import InstanceAllowType

from flags.current import CurrentFlags
from flags.model import FlagChange, FlagError, FlagSourceUnavailable, FlagState, Mode, flag_name
from flags.transitions import check_transition
from flags.unleash_admin import UnleashAdmin
from flags.unleash_features import Unreadable, features_by_name, read_flags
from flags.validation import check_change, check_domain
from observability import Outage

HISTORY_SIZE = 1000


class FeatureCache(BaseCache):
    """An in-memory ``UnleashClient`` cache that hands over each feature payload the SDK stores."""

    def __init__(self, on_payload: Callable[[str], None]) -> None:
        self._data: dict[str, Any] = {}
        self._on_payload = on_payload

    def bootstrap_from_dict(self, payload: Mapping[str, Any]) -> None:
        """Seed the cache with a client-features payload, as if fetched before."""
        self._data[FEATURES_URL] = json.dumps(payload)
        self.bootstrapped = True
        self._on_payload(self._data[FEATURES_URL])

    def set(self, key: str, value: Any) -> None:
        """Store ``value``, and compile it if it is a feature payload."""
        self._data[key] = value
        if key == FEATURES_URL:
            self._on_payload(value)

    def mset(self, data: dict[str, Any]) -> None:
        """Store several values without reporting them (the SDK's start-up defaults)."""
        self._data.update(data)

    def get(self, key: str, default: Any = None) -> Any:
        """The stored value, or ``default``."""
        return self._data.get(key, default)

    def exists(self, key: str) -> bool:
        """True when ``key`` is stored."""
        return key in self._data

    def destroy(self) -> None:
        """Forget everything."""
        self._data.clear()


class UnleashFlags:
    """A ``FlagProvider`` that follows ``dualpath.<domain>`` features in Unleash."""

    name = "unleash"
    audit_in_database = False  # its history is what this process saw, kept in memory

    def __init__(
        self,
        url: str,
        domains: Sequence[str],
        *,
        client_token: str | None = None,
        admin_token: str | None = None,
        app_name: str = "dualpath",
        environment: str = "development",
        project: str = "default",
        refresh_interval: int = 1,
        request_timeout: int = 2,
        outage_after: float | None = None,
        bootstrap_file: str | Path | None = None,
        bootstrap: Mapping[str, Any] | None = None,
    ) -> None:
        self._url = url.rstrip("/")
        self._flags = CurrentFlags(domains, self.name)
        self._outage = Outage("flags.provider", provider=self.name)
        self._client_token, self._admin_token = client_token, admin_token
        self._app_name, self._environment, self._project = app_name, environment, project
        self._refresh_interval, self._request_timeout = refresh_interval, request_timeout
        self._outage_after = outage_after or 3 * refresh_interval + request_timeout
        self._lock = threading.Lock()
        self._pending: dict[str, FlagState] = {}
        self._history: deque[FlagChange] = deque(maxlen=HISTORY_SIZE)
        self._change_ids = itertools.count(1)
        self._unreadable: dict[str, str] = {}
        self._last_answer = time.monotonic()
        self._client: UnleashClient | None = None
        self._watch: asyncio.Task[None] | None = None
        self._cache = FeatureCache(self._on_payload)
        if bootstrap_file is not None:
            bootstrap = json.loads(Path(bootstrap_file).read_text(encoding="utf-8"))
        if bootstrap is not None:
            self._cache.bootstrap_from_dict(bootstrap)

    @property
    def available(self) -> bool:
        """False while no poll has succeeded for ``outage_after`` seconds."""
        return not self._outage.down

    def mode_for(self, domain: str, key: str | None, service: str | None) -> Mode:
        """The mode for one call; in memory, never raises."""
        return self._flags.table.mode_for(domain, key, service)

    async def start(self) -> None:
        """Start polling Unleash, off the event loop, and watch for outages."""
        if self._client is not None:
            return
        logging.getLogger("UnleashClient").setLevel(logging.CRITICAL)
        self._last_answer = time.monotonic()
        self._client = await asyncio.to_thread(self._new_client)
        await asyncio.to_thread(self._client.initialize_client)
        self._watch = asyncio.create_task(self._watch_outages(), name="flags.unleash.watch")

    async def close(self) -> None:
        """Stop polling and watching."""
        client, self._client = self._client, None
        watch, self._watch = self._watch, None
        if watch is not None:
            watch.cancel()
        if client is not None:
            await asyncio.to_thread(client.destroy)

    async def set(
        self,
        domain: str,
        mode: Mode,
        *,
        percent: int = 100,
        services: Sequence[str] | None = None,
        reason: str,
        actor: str,
        forced: bool = False,
        extra: Mapping[str, object] | None = None,
    ) -> FlagState:
        """Write the flag into Unleash (admin token needed); it applies on the next poll.

        A jump past the next mode raises ``TransitionError`` unless ``forced``; the check is
        against this process's last write not yet polled back, else the flag as last read.
        """
        wanted = check_change(
            self._flags.domains,
            domain,
            mode,
            percent=percent,
            services=services,
            reason=reason,
            actor=actor,
        )
        check_transition(self._current_mode(domain), wanted.mode, forced=forced)
        if not self._admin_token:
            raise FlagError(
                f"flags are managed in Unleash: change feature {flag_name(domain)!r} there, "
                "or configure an Unleash admin token to change them from dualpath"
            )
        await self._write(wanted)
        with self._lock:
            self._pending[domain] = wanted
        return wanted

    async def get(self, domain: str) -> FlagState:
        """The flag of one domain as last read from Unleash."""
        return self._flags.get(domain)

    async def list(self) -> builtins.list[FlagState]:
        """Every known domain's flag as last read from Unleash."""
        return self._flags.all()

    async def history(
        self, domain: str | None = None, limit: int = 100
    ) -> builtins.list[FlagChange]:
        """Changes observed by this process since it started, newest first."""
        if domain is not None:
            check_domain(self._flags.domains, domain)
        with self._lock:
            changes = [c for c in reversed(self._history) if domain in (None, c.domain)]
        return changes[:limit]

    def _current_mode(self, domain: str) -> Mode:
        with self._lock:
            pending = self._pending.get(domain)
        return pending.mode if pending is not None else self._flags.get(domain).mode

    def _new_client(self) -> UnleashClient:
        return UnleashClient(
            url=self._url,
            app_name=self._app_name,
            environment=self._environment,
            refresh_interval=self._refresh_interval,
            request_timeout=self._request_timeout,
            request_retries=0,
            disable_metrics=True,
            disable_registration=True,
            custom_headers={"Authorization": self._client_token} if self._client_token else {},
            cache=self._cache,
            # requests calls this hook for every response; failed polls have none.
            custom_options={"hooks": {"response": self._on_response}},
            multiple_instance_mode=InstanceAllowType.SILENTLY_ALLOW,
        )

    async def _write(self, state: FlagState) -> None:
        admin_url = self._url.removesuffix("/api")
        headers = {"Authorization": self._admin_token or ""}
        try:
            async with httpx.AsyncClient(
                base_url=admin_url, headers=headers, timeout=self._request_timeout * 2
            ) as http:
                await UnleashAdmin(http, self._project, self._environment).write(state)
        except httpx.HTTPStatusError as exc:
            if exc.response.status_code == 400:
                raise FlagError(f"Unleash rejected the change: {exc.response.text}") from exc
            raise FlagSourceUnavailable(f"Unleash admin API failed: {exc}") from exc
        except httpx.HTTPError as exc:
            raise FlagSourceUnavailable(f"Unleash admin API unreachable: {exc}") from exc

    async def _watch_outages(self) -> None:
        while True:
            await asyncio.sleep(0.25)
            silent_for = time.monotonic() - self._last_answer
            if silent_for > self._outage_after:
                self._outage.failed(f"no answer from Unleash for {silent_for:.1f} s")

    def _on_response(self, response: Any, *_args: Any, **_kwargs: Any) -> None:
        if response.status_code in (200, 304):
            self._last_answer = time.monotonic()
            self._outage.succeeded()

    def _on_payload(self, raw: str) -> None:
        """Compile a new payload; runs on the SDK's polling thread, so it must not raise."""
        try:
            states, unreadable = read_flags(features_by_name(json.loads(raw)), self._flags.domains)
        except (Unreadable, ValueError, TypeError, AttributeError) as exc:
            structlog.get_logger().warning("flags.unreadable", provider=self.name, error=str(exc))
            return
        self._note_unreadable(unreadable)
        with self._lock:
            states = [self._with_metadata(state) for state in states]
        for previous, new in self._flags.update(states):
            self._record(previous, new)

    def _with_metadata(self, state: FlagState) -> FlagState:
        """``state`` as known before if nothing routes differently, else stamped now."""
        known = self._flags.get(state.domain)
        if known.same_decision(state):
            return known
        pending = self._pending.get(state.domain)
        if pending is not None and _fulfils(state, pending):
            del self._pending[state.domain]
            return _stamp(state, actor=pending.updated_by, reason=pending.reason)
        return _stamp(state, actor="unleash", reason="changed in Unleash")

    def _record(self, previous: FlagState, new: FlagState) -> None:
        with self._lock:
            self._history.append(_change(next(self._change_ids), previous, new))

    def _note_unreadable(self, unreadable: Mapping[str, str]) -> None:
        for domain, error in unreadable.items():
            if self._unreadable.get(domain) != error:
                structlog.get_logger().warning(
                    "flags.unreadable", provider=self.name, domain=domain, error=error
                )
        self._unreadable = dict(unreadable)


def _fulfils(state: FlagState, wanted: FlagState) -> bool:
    if wanted.mode == "legacy":
        return state.mode == "legacy"
    return (state.mode, state.percent, state.services) == (
        wanted.mode,
        wanted.percent,
        wanted.services,
    )


def _stamp(state: FlagState, *, actor: str | None, reason: str | None) -> FlagState:
    return dataclasses.replace(state, updated_at=datetime.now(UTC), updated_by=actor, reason=reason)


def _change(number: int, previous: FlagState, new: FlagState) -> FlagChange:
    return FlagChange(
        id=number,
        domain=new.domain,
        mode=new.mode,
        percent=new.percent,
        services=tuple(sorted(new.services)) if new.services is not None else None,
        reason=new.reason or "",
        actor=new.updated_by or "unleash",
        changed_at=new.updated_at or datetime.now(UTC),
        previous_mode=previous.mode,
    )
