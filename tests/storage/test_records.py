"""storage.records.direct_init: the same record as the dataclass's own __init__ builds."""

from __future__ import annotations

import dataclasses

import pytest

from storage.records import direct_init


class Shared:
    """A default instance: shared by every record, as a dataclass default is."""


SHARED = Shared()


@dataclasses.dataclass(frozen=True)
class Plain:
    a: int
    b: str | None = None
    c: Shared = SHARED


Direct = direct_init(dataclasses.make_dataclass(
    "Direct", [("a", int), ("b", str | None, None), ("c", Shared, SHARED)], frozen=True))


@pytest.mark.parametrize("args, kwargs", [((1,), {}), ((1, "x"), {}), ((), {"a": 1, "c": Shared()}),
                                          ((1,), {"b": "y"})])
def test_same_fields_and_defaults_as_the_generated_init(args: tuple, kwargs: dict) -> None:
    direct, plain = Direct(*args, **kwargs), Plain(*args, **kwargs)
    assert [getattr(direct, name) for name in "abc"] == [getattr(plain, name) for name in "abc"]
    assert Direct(1).c is SHARED


def test_still_frozen_hashable_and_replaceable() -> None:
    record = Direct(1, "x")
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.a = 2   # type: ignore[misc]
    assert record == Direct(1, "x") and hash(record) == hash(Direct(1, "x"))
    assert dataclasses.replace(record, b="y") == Direct(1, "y")


@pytest.mark.parametrize("args, kwargs", [((), {}), ((1, "x", SHARED, 4), {}), ((1,), {"z": 1}),
                                          ((1,), {"a": 1})])
def test_wrong_arguments_are_refused_as_before(args: tuple, kwargs: dict) -> None:
    with pytest.raises(TypeError):
        Plain(*args, **kwargs)
    with pytest.raises(TypeError):
        Direct(*args, **kwargs)


def test_what_it_would_get_wrong_is_refused() -> None:
    @dataclasses.dataclass(frozen=True)
    class Factory:
        a: list = dataclasses.field(default_factory=list)

    @dataclasses.dataclass(frozen=True)
    class PostInit:
        a: int

        def __post_init__(self) -> None:
            pass

    for cls in (Factory, PostInit):
        with pytest.raises(TypeError):
            direct_init(cls)
