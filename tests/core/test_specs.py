"""Spec strings: parsing, typed conversion against config dataclasses, clear errors."""

from dataclasses import dataclass
from typing import Literal

import pytest

from rlkit.errors import SpecError
from rlkit.specs import Spec, build_config, literal_value, parse_spec


@pytest.mark.parametrize(
    ("text", "name", "params"),
    [
        ("q-learning", "q-learning", {}),
        ("q-learning:alpha=0.1,epsilon=0.2", "q-learning", {"alpha": "0.1", "epsilon": "0.2"}),
        ("FrozenLake-v1:is_slippery=false", "FrozenLake-v1", {"is_slippery": "false"}),
        ("pkg.mod:MyEnv", "pkg.mod:MyEnv", {}),
        ("pkg.mod:MyEnv:size=9", "pkg.mod:MyEnv", {"size": "9"}),
        ("sb3:PPO:learning_rate=3e-4", "sb3:PPO", {"learning_rate": "3e-4"}),
        (" go : size = 9 ", "go", {"size": "9"}),
    ],
)
def test_parse_spec(text, name, params):
    assert parse_spec(text) == Spec(name, params)


def test_spec_round_trips_through_str():
    spec = parse_spec("q-learning:alpha=0.1,gamma=0.9")
    assert parse_spec(str(spec)) == spec


@pytest.mark.parametrize("text", ["", "  ", ":a=1", "x:a=1,b", "x:a=1,a=2"])
def test_parse_spec_rejects_malformed(text):
    with pytest.raises(SpecError):
        parse_spec(text)


@dataclass(frozen=True)
class _Config:
    rate: float = 0.1
    count: int = 3
    flag: bool = False
    mode: Literal["fast", "slow"] = "fast"
    sizes: tuple[int, ...] = (64, 64)
    limit: int | None = None

    def __post_init__(self):
        if self.rate <= 0:
            raise ValueError("rate must be positive")


def test_build_config_converts_each_type():
    config = build_config(
        _Config,
        {
            "rate": "0.5",
            "count": "7",
            "flag": "true",
            "mode": "SLOW",
            "sizes": "32x16",
            "limit": "none",
        },
        owner="toy",
    )
    assert config == _Config(0.5, 7, True, "slow", (32, 16), None)
    assert build_config(_Config, {"limit": "12"}, owner="toy").limit == 12


def test_build_config_accepts_typed_toml_values():
    config = build_config(_Config, {"rate": 1, "flag": True, "sizes": [8, 8]}, owner="toy")
    assert (config.rate, config.flag, config.sizes) == (1.0, True, (8, 8))


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"rte": "0.5"}, "no parameter 'rte'; did you mean 'rate'"),
        ({"count": "2.5"}, "'count': expected int, got '2.5'"),
        ({"flag": "maybe"}, "'flag': expected bool"),
        ({"mode": "medium"}, "expected one of 'fast', 'slow'"),
        ({"rate": "-1"}, "rate must be positive"),
        ({"rate": "abc"}, "'rate': expected float, got 'abc'"),
        ({"sizes": "64xx"}, "'sizes': expected sizes separated by 'x'"),
        ({"sizes": "0x8"}, "'sizes': expected sizes separated by 'x'"),
    ],
)
def test_build_config_errors_name_field_and_type(params, message):
    with pytest.raises(SpecError, match=None) as info:
        build_config(_Config, params, owner="toy")
    assert message in str(info.value)


def test_literal_value():
    assert literal_value("true") is True
    assert literal_value("FALSE") is False
    assert literal_value("none") is None
    assert literal_value("9") == 9 and isinstance(literal_value("9"), int)
    assert literal_value("2.5") == 2.5
    assert literal_value("4x4") == "4x4"


def test_nested_specs_go_in_brackets():
    spec = parse_spec("connect4:opponent=[minimax:depth=2,deterministic=true],play_as=1")
    assert spec.name == "connect4"
    assert spec.params == {"opponent": "minimax:depth=2,deterministic=true", "play_as": "1"}
    assert parse_spec(str(spec)) == spec
    with pytest.raises(SpecError, match="unbalanced"):
        parse_spec("human:hint=[minimax:depth=2")
    with pytest.raises(SpecError, match="unbalanced"):
        parse_spec("human:hint=minimax]")


def test_nested_spec_reaches_the_agent():
    import rlkit

    game = rlkit.make_game("connect4")
    human = rlkit.make_agent("human:hint=[minimax:depth=3]", game=game)
    assert human.config.hint == "minimax:depth=3"
    env = rlkit.make_env("connect4:opponent=[minimax:depth=1]")
    assert env.unwrapped.opponent == "minimax:depth=1"
