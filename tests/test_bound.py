"""Bound: a function with its settings fixed, comparable, hashable and self-describing."""

from __future__ import annotations

from fnn._bound import Bound, bind


def _scale(x, *, by):
    return x * by


def test_a_bound_call_passes_its_settings_as_keywords():
    double = bind(_scale, by=2)
    assert double(3) == 6 and double.setting("by") == 2 and double.setting("nope", 7) == 7
    assert double.replace(by=3)(3) == 9 and double(3) == 6  # replace makes a new value


def test_values_built_alike_are_equal_and_hash_alike():
    assert bind(_scale, by=2) == Bound(_scale, (("by", 2),))
    assert hash(bind(_scale, by=2)) == hash(bind(_scale, by=2))
    assert bind(_scale, by=2) != bind(_scale, by=3)
    assert repr(bind(_scale, by=2)) == "scale(by=2)"
