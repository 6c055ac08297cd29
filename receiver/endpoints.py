"""The receiver's endpoints at run time: secrets, forward target and the current fault plan.

Configured endpoints come from settings; with ``auto_endpoints`` any valid name is an endpoint
with the receiver-wide secrets. Faults changed through the API live in memory only.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, replace

from receiver.faults import FaultPlan
from receiver.settings import FaultSettings, ReceiverSettings

MAX_NAME_LENGTH = 100


_NAME = re.compile(rf"[A-Za-z0-9._-]{{1,{MAX_NAME_LENGTH}}}")
# The rule in words, for every message that refuses a name (config, the /hooks route).
NAME_RULE = f"1-{MAX_NAME_LENGTH} ASCII letters, digits, '-', '_' or '.'"


def valid_name(name: str) -> bool:
    """Whether ``name`` follows :data:`NAME_RULE`: what a /hooks/{name} path can carry, and what
    config.py demands of configured names."""
    return _NAME.fullmatch(name) is not None


@dataclass(frozen=True)
class Endpoint:
    name: str
    secrets: tuple[str, ...]
    forward_to: str
    faults: FaultPlan
    configured: bool


class Endpoints:
    def __init__(self, settings: ReceiverSettings, clock: Callable[[], float]) -> None:
        self._settings = settings
        self._clock = clock
        self._known: dict[str, Endpoint] = {}
        # Auto endpoints, made once per name (a request each would build one): bounded, so a
        # scanner trying names cannot grow it. Never stale: one that is configured or gets
        # faults moves to _known, which get() reads first.
        self._auto = functools.lru_cache(maxsize=1024)(self._make_auto)
        now = clock()
        # Every endpoint without faults shares this plan: with no phases its start never matters.
        self._no_fault_plan = FaultPlan.create(FaultSettings(), now)
        for i, configured in enumerate(settings.endpoints):
            try:
                plan = FaultPlan.create(configured.faults, now)
            except ValueError as exc:
                raise ValueError(f"receiver.endpoints[{i}].faults.{exc}") from None
            self._known[configured.name] = Endpoint(
                configured.name, configured.secrets or settings.secrets,
                configured.forward_to or settings.forward_to, plan, configured=True)

    def get(self, name: str) -> Endpoint | None:
        """The endpoint called ``name``, or None if there is none (and none is made up)."""
        endpoint = self._known.get(name)
        if endpoint is None and self._settings.auto_endpoints and len(name) <= MAX_NAME_LENGTH:
            endpoint = self._auto(name)   # None for an invalid name
        return endpoint

    def _make_auto(self, name: str) -> Endpoint | None:
        if not valid_name(name):
            return None
        return Endpoint(name, self._settings.secrets, self._settings.forward_to,
                        self._no_faults(), configured=False)

    def all(self) -> list[Endpoint]:
        return sorted(self._known.values(), key=lambda e: e.name)

    def configure(self, name: str, secrets: tuple[str, ...], forward_to: str = "") -> Endpoint:
        """Add or replace endpoint ``name`` at run time (e.g. for the demo's subscriptions),
        keeping any faults it has. ValueError if the name is not valid."""
        if not valid_name(name):
            raise ValueError(f"invalid endpoint name {name!r}")
        known = self._known.get(name)
        faults = known.faults if known else self._no_faults()
        endpoint = Endpoint(name, secrets, forward_to or self._settings.forward_to, faults,
                            configured=True)
        self._known[name] = endpoint
        return endpoint

    def set_faults(self, name: str, faults: FaultSettings) -> Endpoint:
        """Replace ``name``'s faults, phases starting now. KeyError if there is no such endpoint,
        ValueError if ``faults`` is invalid."""
        endpoint = self.get(name)
        if endpoint is None:
            raise KeyError(name)
        updated = replace(endpoint, faults=FaultPlan.create(faults, self._clock()))
        self._known[name] = updated
        return updated

    def _no_faults(self) -> FaultPlan:
        return self._no_fault_plan
