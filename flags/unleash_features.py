"""Read dualpath's flags out of Unleash feature definitions (the ``/api/client/features`` body).

Each domain has one feature, ``dualpath.<domain>``, shaped like this::

    enabled: false                       -> legacy
    enabled: true, one strategy:
      flexibleRollout                    -> percent = rollout, stickiness, groupId
        constraint service IN [a, b]     -> services = {a, b}
        variant named <mode>             -> mode (one variant, or all of one name)

A feature that is missing is ``legacy``. A feature dualpath cannot read exactly (no variant,
a variant that is not a mode, other strategies or constraints, several strategies) is
*unreadable*: the provider then keeps that domain's last known good flag.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from flags.model import MODES, FlagState, flag_name

Feature = Mapping[str, Any]


class Unreadable(ValueError):
    """A feature definition that does not map onto one dualpath flag."""


def features_by_name(payload: Mapping[str, Any]) -> dict[str, Feature]:
    """The features of a client-features payload, by name."""
    features = payload.get("features")
    if not isinstance(features, list):
        raise Unreadable("payload has no 'features' list")
    return {f["name"]: f for f in features if isinstance(f, Mapping) and "name" in f}


def read_flags(
    features: Mapping[str, Feature], domains: Sequence[str]
) -> tuple[list[FlagState], dict[str, str]]:
    """The flags that could be read, and for the others the reason they could not."""
    states: list[FlagState] = []
    unreadable: dict[str, str] = {}
    for domain in domains:
        try:
            states.append(read_flag(domain, features.get(flag_name(domain))))
        except (Unreadable, KeyError, TypeError, ValueError) as exc:
            unreadable[domain] = str(exc) or type(exc).__name__
    return states, unreadable


def read_flag(domain: str, feature: Feature | None) -> FlagState:
    """One domain's flag from its feature definition; ``Unreadable`` if it does not fit."""
    if feature is None or not feature.get("enabled"):
        return FlagState(domain)
    strategies = [s for s in feature.get("strategies") or [] if not s.get("disabled")]
    if len(strategies) != 1:
        raise Unreadable(f"expected one strategy, found {len(strategies)}")
    strategy = strategies[0]
    percent, stickiness, group_id = _rollout(strategy)
    return FlagState(
        domain=domain,
        mode=_mode(strategy.get("variants") or feature.get("variants") or []),
        percent=percent,
        services=_services(strategy.get("constraints") or []),
        group_id=group_id,
        stickiness=stickiness,
    )


def _rollout(strategy: Feature) -> tuple[int, str, str | None]:
    params = strategy.get("parameters") or {}
    if strategy.get("name") == "default":
        return 100, "default", None
    if strategy.get("name") != "flexibleRollout":
        raise Unreadable(f"strategy {strategy.get('name')!r} is not flexibleRollout")
    if strategy.get("segments"):
        raise Unreadable("segments are not supported; use a service constraint")
    percent = int(params.get("rollout", 100))
    if not 0 <= percent <= 100:
        raise Unreadable(f"rollout {percent} is outside 0-100")
    return percent, str(params.get("stickiness") or "default"), params.get("groupId") or None


def _mode(variants: Sequence[Feature]) -> Any:
    names = {v.get("name") for v in variants if v.get("weight", 1) != 0}
    if len(names) != 1:
        raise Unreadable(f"expected one variant naming the mode, found {sorted(map(str, names))}")
    (name,) = names
    if name not in MODES:
        raise Unreadable(f"variant {name!r} is not a mode ({', '.join(MODES)})")
    return name


def _services(constraints: Sequence[Feature]) -> frozenset[str] | None:
    services: frozenset[str] | None = None
    for c in constraints:
        if c.get("contextName") != "service" or c.get("operator") != "IN" or c.get("inverted"):
            raise Unreadable(f"only 'service IN [...]' constraints are supported, got {c}")
        values = frozenset(str(v) for v in c.get("values") or [])
        services = values if services is None else services & values
    return services
