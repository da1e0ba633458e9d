"""`cog.BaseModel`: subclasses become dataclasses; the opt-out and the inheritance errors."""

from __future__ import annotations

import dataclasses

import pytest

import cog


def test_subclass_is_a_dataclass():
    class Output(cog.BaseModel):
        text: str
        score: float = 0.5

    out = Output(text="hi")
    assert dataclasses.is_dataclass(out)
    assert (out.text, out.score) == ("hi", 0.5)
    assert [f.name for f in dataclasses.fields(Output)] == ["text", "score"]


def test_class_keywords_forwarded_to_dataclass():
    class Frozen(cog.BaseModel, frozen=True):
        x: int

    with pytest.raises(dataclasses.FrozenInstanceError):
        Frozen(x=1).x = 2  # type: ignore[misc]


def test_inheritance_keeps_fields():
    class Base(cog.BaseModel):
        a: int

    class Child(Base):
        b: str

    assert (Child(a=1, b="x").a, Child(a=1, b="x").b) == (1, "x")


def test_auto_dataclass_opt_out():
    class Manual(cog.BaseModel, auto_dataclass=False):
        def __init__(self, value: int) -> None:
            self.value = value

    assert not dataclasses.is_dataclass(Manual)
    assert Manual(3).value == 3


def test_opting_out_under_an_auto_parent_is_an_error():
    class Auto(cog.BaseModel):
        a: int

    with pytest.raises(
        ValueError, match=r'"Auto"\) has auto_dataclass=True, but "Bad" has auto_dataclass=False'
    ):

        class Bad(Auto, auto_dataclass=False):
            pass


def test_first_base_must_be_a_base_model():
    class Mixin:
        pass

    with pytest.raises(
        TypeError, match=r'^Primary base class of "Bad" must inherit from BaseModel$'
    ):

        class Bad(Mixin, cog.BaseModel):
            pass


def test_mixing_in_a_dataclass_is_an_error():
    @dataclasses.dataclass
    class Data:
        x: int = 0

    with pytest.raises(
        TypeError, match=r'^Cannot mixin dataclass "Data" while inheriting from `BaseModel`$'
    ):

        class Bad(cog.BaseModel, Data):
            pass
