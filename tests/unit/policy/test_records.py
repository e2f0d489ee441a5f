"""fast_init: the same frozen dataclass, built through its slots; what it cannot build, it refuses."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import pytest

from bucketaccess.access.checks import Check, Status
from bucketaccess.policy.records import fast_init
from bucketaccess.vocabulary import Reason


@fast_init
@dataclass(frozen=True, slots=True)
class Sample:
    name: str
    count: int = 3
    tags: dict[str, str] = field(default_factory=dict)
    derived: str = field(default="fixed", init=False)
    later: list[int] = field(default_factory=list, init=False)


def test_fields_defaults_and_factories_are_set_as_the_dataclass_sets_them():
    s = Sample("a")
    assert (s.name, s.count, s.tags, s.derived, s.later) == ("a", 3, {}, "fixed", [])
    assert Sample("a", 5, {"k": "v"}).tags == {"k": "v"}
    assert Sample(name="b", count=1).count == 1
    # each instance gets its own factory value
    assert Sample("a").tags is not Sample("a").tags


def test_it_stays_frozen_equal_hashed_and_replaceable():
    s = Sample("a", 1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.name = "b"  # type: ignore[misc]
    assert s == Sample("a", 1) and s != Sample("a", 2)
    c = Check(Status.TRUE, Reason.AllowedByStatement, "m")
    assert hash(c) == hash(Check(Status.TRUE, Reason.AllowedByStatement, "m"))
    assert dataclasses.replace(c, message="n").message == "n"
    assert repr(c).startswith("Check(status=")


def test_missing_and_unknown_arguments_are_refused_as_python_refuses_them():
    with pytest.raises(TypeError):
        Sample()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Sample("a", nope=1)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Sample("a", derived="x")  # type: ignore[call-arg]


def test_what_it_cannot_build_is_refused_when_the_class_is_defined():
    with pytest.raises(TypeError, match="beneath it"):

        @fast_init
        @dataclass(frozen=True)
        class NoSlots:
            a: int

    with pytest.raises(TypeError, match="__post_init__"):

        @fast_init
        @dataclass(frozen=True, slots=True)
        class PostInit:
            a: int

            def __post_init__(self) -> None:
                pass

    with pytest.raises(TypeError, match="keyword-only"):

        @fast_init
        @dataclass(frozen=True, slots=True, kw_only=True)
        class KwOnly:
            a: int
