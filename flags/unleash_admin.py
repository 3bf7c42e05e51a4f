"""Write a dualpath flag into Unleash through its admin API, in the shape dualpath reads."""

from __future__ import annotations

from typing import Any

import httpx

from flags.model import SAFE_MODE, FlagState, flag_name

SERVICE_FIELD = "service"


class UnleashAdmin:
    """The few admin calls that turn one ``FlagState`` into one Unleash feature."""

    def __init__(self, http: httpx.AsyncClient, project: str, environment: str) -> None:
        self._http = http
        self._feature_root = f"/api/admin/projects/{project}/features"
        self._environment = environment

    async def write(self, state: FlagState) -> None:
        """Create the feature if needed, set its one strategy, and switch it on or off."""
        name = flag_name(state.domain)
        feature = await self._feature(name)
        if state.services is not None:
            await self._ensure_service_field()
        await self._set_strategy(name, _strategies_of(feature, self._environment), state)
        switch = "off" if state.mode == SAFE_MODE else "on"
        await self._call("POST", f"{self._env_root(name)}/{switch}")

    async def _feature(self, name: str) -> dict[str, Any]:
        found = await self._http.get(f"{self._feature_root}/{name}")
        if found.status_code != 404:
            found.raise_for_status()
            return dict(found.json())
        await self._call("POST", self._feature_root, {"name": name, "type": "release"})
        return {}

    async def _ensure_service_field(self) -> None:
        found = await self._http.get(f"/api/admin/context/{SERVICE_FIELD}")
        if found.status_code == 404:
            await self._call("POST", "/api/admin/context", {"name": SERVICE_FIELD})
        else:
            found.raise_for_status()

    async def _set_strategy(self, name: str, existing: list[str], state: FlagState) -> None:
        root = f"{self._env_root(name)}/strategies"
        body = strategy_body(state)
        if existing:
            await self._call("PUT", f"{root}/{existing[0]}", body)
        else:
            await self._call("POST", root, body)
        for extra in existing[1:]:
            await self._call("DELETE", f"{root}/{extra}")

    def _env_root(self, name: str) -> str:
        return f"{self._feature_root}/{name}/environments/{self._environment}"

    async def _call(self, method: str, path: str, body: Any = None) -> None:
        response = await self._http.request(method, path, json=body)
        response.raise_for_status()


def strategy_body(state: FlagState) -> dict[str, Any]:
    """The flexibleRollout strategy, with its service constraint and mode variant."""
    name = flag_name(state.domain)
    constraints = []
    if state.services is not None:
        constraints.append(
            {
                "contextName": SERVICE_FIELD,
                "operator": "IN",
                "values": sorted(state.services),
                "caseInsensitive": False,
                "inverted": False,
            }
        )
    return {
        "name": "flexibleRollout",
        "parameters": {
            "rollout": str(state.percent),
            "stickiness": "default",
            "groupId": state.group_id or name,
        },
        "constraints": constraints,
        "variants": [
            {"name": state.mode, "weight": 1000, "weightType": "variable", "stickiness": "default"}
        ],
    }


def _strategies_of(feature: dict[str, Any], environment: str) -> list[str]:
    for env in feature.get("environments") or []:
        if env.get("name") == environment:
            return [s["id"] for s in env.get("strategies") or []]
    return []
