"""The one place names become values and values names: specs, text forms, and their errors."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fnn import registry
from fnn.errors import ConfigError
from fnn.optimizers import (
    GradientTransformation,
    adam,
    add_decayed_weights,
    add_l1,
    chain,
    clip_by_global_norm,
    gradient_descent,
    momentum,
    nesterov,
    scale,
    scale_by_schedule,
)
from fnn.schedules import constant, cosine_decay, halve_on_plateau, step_decay

OPTIMIZERS = [gradient_descent(0.5), momentum(eta=0.1, mu=0.5), nesterov(eta=0.2), adam(),
              adam(eta=0.01, beta1=0.8, beta2=0.99, eps=1e-6), scale(-2.5),
              clip_by_global_norm(1.0), add_decayed_weights(1e-4), add_l1(0.25),
              scale_by_schedule(cosine_decay(100, alpha=0.1)),
              chain(clip_by_global_norm(1.0), add_decayed_weights(5e-5), momentum(eta=0.1)),
              chain(chain(scale(0.5)), gradient_descent(0.1))]


@pytest.mark.parametrize("value", OPTIMIZERS, ids=lambda v: registry.spec_text(
    registry.optimizer_spec(v)))
def test_every_built_in_optimizer_round_trips_through_its_spec_and_text(value):
    spec = registry.optimizer_spec(value)
    assert registry.optimizer(spec) == value
    text = registry.spec_text(spec)
    assert registry.parse_spec(text) == spec and registry.optimizer(text) == value


@pytest.mark.parametrize("value", [constant(), halve_on_plateau(patience=3, min_factor=0.25),
                                   step_decay(5, factor=0.1)], ids=repr)
def test_every_built_in_schedule_round_trips(value):
    spec = registry.schedule_spec(value)
    assert registry.schedule(spec) == value
    assert registry.schedule(registry.spec_text(spec)) == value


def test_the_short_halve_form_and_plain_names():
    assert registry.schedule("halve:10") == halve_on_plateau(patience=10)
    assert registry.schedule("constant") == constant()
    assert registry.optimizer("adam") == adam()
    for kind in ("activation", "cost", "initializer"):
        table = getattr(registry, kind.upper() + "S")
        for name, value in table.items():
            assert getattr(registry, kind)(name) is value
            assert getattr(registry, f"{kind}_name")(value) == name


def test_a_users_own_values_have_no_name_and_say_so():
    user = GradientTransformation(lambda p: (), lambda g, s, p: (g, s))
    with pytest.raises(ConfigError, match="is not one of fnn's own .* so it has no name to "
                                          "write in a file"):
        registry.optimizer_spec(user)
    with pytest.raises(ConfigError, match="no name to write"):
        registry.optimizer_spec(chain(momentum(eta=0.1), user))
    with pytest.raises(ConfigError, match="schedule .* no name to write"):
        registry.schedule_spec(lambda epoch, history: 1.0)


@pytest.mark.parametrize(("text", "message"), [
    ("rmsprop", "unknown optimizer 'rmsprop'; expected one of ['adam', 'add_decayed_weights'"),
    ("momentum", "optimizer: optimizer 'momentum' needs ['eta'], e.g. momentum(eta=...)"),
    ("momentum(eta=0.1, nu=0.9)", "does not take ['nu']; it takes ['eta', 'mu']"),
    ("momentum(eta=-1)", "eta must be a finite number > 0, got -1"),
    ("momentum(eta=)", "cannot read 'momentum(eta=)' at character 13: expected a value"),
    ("momentum(eta=0.1", "expected ',' or ')'"),
    ("momentum(eta=0.1))", "unexpected ')'"),
    ("3", "expected name or name(...)"),
    ("", "expected name or name(...)"),
    ("momentum(eta=0.1 mu=0.9)", "at character 17: expected ',' or ')'"),
    ("chain(momentum(eta=0.1), 7)", "optimizer.links[1]: expected the spec of the optimizer"),
    ("momentum(eta=1e999)", "is not finite"),
    ("mom$entum", "unexpected '$'"),
])
def test_bad_optimizer_texts_say_where_and_what(text, message):
    with pytest.raises(ConfigError) as caught:
        registry.optimizer(text)
    assert message in str(caught.value)


def test_network2s_class_names_map_to_fnns_costs():
    assert {c.name for c in registry.NETWORK2_COSTS.values()} == set(registry.COSTS)


NUMBERS = st.one_of(st.integers(-10**6, 10**6),
                    st.floats(allow_nan=False, allow_infinity=False, width=64))
NAMES = st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True).filter(
    lambda s: s not in ("true", "false"))
SPECS = st.recursive(
    st.builds(lambda name, settings: {"name": name, **settings}, NAMES,
              st.dictionaries(NAMES.filter(lambda k: k not in ("name", "links")), NUMBERS,
                              max_size=3)),
    lambda inner: st.builds(lambda name, links: {"name": name, "links": links}, NAMES,
                            st.lists(inner, min_size=1, max_size=3)),
    max_leaves=6)


@given(SPECS)
def test_any_spec_reads_back_from_its_text(spec):
    assert registry.parse_spec(registry.spec_text(spec)) == spec
