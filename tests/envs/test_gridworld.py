"""Tests for rlkit.envs.gridworld: map parsing, exact dynamics, value iteration, gym API."""

from __future__ import annotations

import math
import warnings
from collections import deque

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from hypothesis import given, settings
from hypothesis import strategies as st

from rlkit.envs.gridworld import (
    DOWN,
    GRIDWORLD_IDS,
    LEFT,
    NAMED_MAPS,
    RIGHT,
    UP,
    GridWorldEnv,
    MapError,
    parse_map,
    register_gridworlds,
    value_iteration,
)


def _outcome_distribution(outcomes) -> dict[tuple[int, float, bool], float]:
    """Sum probabilities per (next_state, reward, terminated), whatever the list order."""
    merged: dict[tuple[int, float, bool], float] = {}
    for prob, next_state, reward, terminated in outcomes:
        key = (int(next_state), float(reward), bool(terminated))
        merged[key] = merged.get(key, 0.0) + float(prob)
    return merged


def _bfs_distance(layout: tuple[str, ...]) -> int:
    """Shortest number of moves from S to G, walls blocking (independent of the env code)."""
    cells = {(r, c): ch for r, row in enumerate(layout) for c, ch in enumerate(row)}
    start = next(pos for pos, ch in cells.items() if ch == "S")
    dist = {start: 0}
    queue = deque([start])
    while queue:
        r, c = queue.popleft()
        if cells[(r, c)] == "G":
            return dist[(r, c)]
        for nxt in ((r + 1, c), (r - 1, c), (r, c + 1), (r, c - 1)):
            if cells.get(nxt, "#") != "#" and nxt not in dist:
                dist[nxt] = dist[(r, c)] + 1
                queue.append(nxt)
    raise AssertionError("goal unreachable")


def _rollout(env: GridWorldEnv, actions, seed: int | None = None):
    """Return [(obs, reward, terminated, info), ...] for a fixed action sequence."""
    env.reset(seed=seed)
    trace = []
    for action in actions:
        obs, reward, terminated, truncated, info = env.step(action)
        assert truncated is False
        trace.append((obs, reward, terminated, info))
        if terminated:
            break
    return trace


# --- parsing ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "params", "message"),
    [
        ("", {}, "empty"),
        ("  \n \n", {}, "empty"),
        ("..G/...", {}, "no start"),
        ("S.S/..G", {}, "2 starts"),
        ("S../...", {}, "no goal"),
        ("S../.G", {}, "ragged rows"),
        ("S.x/..G", {}, "unknown character 'x'"),
        ("S.G", {"wind": (0, 1)}, "wind list length 2 != number of columns 3"),
        ("S.G", {"wind": (0, -1, 0)}, "wind strengths must be >= 0"),
        ("S.G", {"slip_probability": 1.5}, "slip_probability"),
        ("S.G", {"slip_probability": -0.1}, "slip_probability"),
        ("S.G", {"slip_probability": math.nan}, "slip_probability"),
        ("S.G", {"step_reward": math.inf}, "step_reward must be a finite number"),
        ("S.G", {"extra_goals": {"H": 1.0}}, "extra goal letter 'H' is reserved"),
        ("S.G", {"max_episode_steps": 0}, "max_episode_steps"),
    ],
)
def test_bad_maps_raise_naming_the_problem(text, params, message):
    with pytest.raises(MapError, match=message):
        parse_map(text, **params)
    # The env constructor reports the same problems.
    with pytest.raises(ValueError, match=message):
        GridWorldEnv(text, **params)


def test_map_error_is_a_value_error_and_unknown_names_are_explained():
    assert issubclass(MapError, ValueError)
    with pytest.raises(MapError, match="neither a named map"):
        GridWorldEnv("frozenlake5x5")
    with pytest.raises(TypeError, match="unknown grid-world parameter"):
        GridWorldEnv("cliff", slipperiness=0.1)


def test_row_separators_whitespace_and_floor_alias():
    multi_line = """
        S.#
        .FH
        ..G
    """
    assert parse_map(multi_line).layout == ("S.#", ".FH", "..G")
    assert parse_map("S.#/.FH/..G").layout == ("S.#", ".FH", "..G")
    env = GridWorldEnv("S.#/.FH/..G")
    assert (env.nrow, env.ncol, env.start_state) == (3, 3, 0)
    assert env.observation_space.n == 9 and env.action_space.n == 4


def test_overrides_replace_named_map_parameters():
    env = GridWorldEnv("cliff", slip_probability=0.1, cliff_reward=-50)
    assert not env.is_deterministic
    assert env.grid_map.cliff_reward == -50
    assert NAMED_MAPS["cliff"].cliff_reward == -100  # the named map itself is untouched


def test_named_maps_determinism_flags():
    expected_stochastic = {"frozenlake4x4-slippery", "frozenlake8x8-slippery"}
    for name, grid in NAMED_MAPS.items():
        assert grid.is_deterministic == (name not in expected_stochastic), name
        assert GridWorldEnv(name).is_deterministic == grid.is_deterministic


# --- transition model -------------------------------------------------------------------


def test_docstring_worked_example():
    env = GridWorldEnv("S../.#H/..G", step_reward=-1, goal_reward=-1, slip_probability=0.2)
    expected = [(0.1, 3, -1.0, False), (0.8, 1, -1.0, False), (0.1, 0, -1.0, False)]
    assert [o[1:] for o in env.P[0][RIGHT]] == [e[1:] for e in expected]
    assert [o[0] for o in env.P[0][RIGHT]] == pytest.approx([e[0] for e in expected])
    det = GridWorldEnv("S../.#H/..G", step_reward=-1, goal_reward=-1, hole_reward=-10)
    assert det.P[1][DOWN] == [(1.0, 1, -1.0, False)]  # bumps the wall
    assert det.P[2][DOWN] == [(1.0, 5, -10.0, True)]  # falls in the hole
    assert value_iteration(det, 1.0).values[0] == pytest.approx(-4.0)
    # With a free hole, ending the episode early in the hole is optimal (return -2).
    free_hole = GridWorldEnv("S../.#H/..G", step_reward=-1, goal_reward=-1)
    assert value_iteration(free_hole, 1.0).values[0] == pytest.approx(-2.0)


@pytest.mark.parametrize(
    ("name", "map_name", "slippery"),
    [
        ("frozenlake4x4", "4x4", False),
        ("frozenlake8x8", "8x8", False),
        ("frozenlake4x4-slippery", "4x4", True),
        ("frozenlake8x8-slippery", "8x8", True),
    ],
)
def test_frozenlake_model_equals_gymnasium(name, map_name, slippery):
    ours = GridWorldEnv(name)
    theirs = gymnasium.make("FrozenLake-v1", map_name=map_name, is_slippery=slippery).unwrapped
    assert ours.observation_space == theirs.observation_space
    assert ours.action_space == theirs.action_space
    assert ours.start_state == 0
    for s in range(ours.observation_space.n):
        for a in range(4):
            mine = _outcome_distribution(ours.P[s][a])
            gym_dist = _outcome_distribution(theirs.P[s][a])
            assert mine.keys() == gym_dist.keys(), (s, a)
            for key, prob in mine.items():
                assert prob == pytest.approx(gym_dist[key], abs=1e-12), (s, a, key)


def test_duplicate_outcomes_are_merged():
    # Slippery LEFT from the top-left corner: LEFT and UP both leave the agent in place.
    env = GridWorldEnv("frozenlake4x4-slippery")
    outcomes = env.P[0][LEFT]
    assert len(outcomes) == 2
    expected = {(0, 0.0, False): 2 / 3, (4, 0.0, False): 1 / 3}
    assert _outcome_distribution(outcomes) == pytest.approx(expected)


def test_cliff_sends_back_to_start_without_terminating():
    env = GridWorldEnv("cliff")
    start = env.start_state
    assert start == 3 * 12
    (obs, reward, terminated, info) = _rollout(env, [RIGHT])[0]
    assert (obs, reward, terminated) == (start, -100.0, False)
    assert info["is_success"] is False and info["prob"] == 1.0
    # The safe optimal path: up, eleven times right, down — 13 steps of -1.
    trace = _rollout(env, [UP] + [RIGHT] * 11 + [DOWN])
    assert len(trace) == 13
    assert sum(step[1] for step in trace) == -13.0
    assert trace[-1][0] == 3 * 12 + 11 and trace[-1][2] is True
    assert trace[-1][3]["is_success"] is True
    assert all(step[3]["is_success"] is False for step in trace[:-1])


def test_windy_known_trajectory():
    env = GridWorldEnv("windy")
    actions = [RIGHT] * 9 + [DOWN] * 4 + [LEFT] * 2
    # (row, col) after each move; wind (0,0,0,1,1,1,2,2,1,0) from the column moved from.
    expected = [(3, 1), (3, 2), (3, 3), (2, 4), (1, 5), (0, 6), (0, 7), (0, 8), (0, 9),
                (1, 9), (2, 9), (3, 9), (4, 9), (4, 8), (3, 7)]  # fmt: skip
    trace = _rollout(env, actions)
    assert [divmod(obs, 10) for obs, *_ in trace] == expected
    assert sum(step[1] for step in trace) == -15.0
    assert [step[2] for step in trace] == [False] * 14 + [True]
    assert trace[-1][3]["is_success"] is True


def test_wind_uses_start_column_and_stops_at_walls():
    env = GridWorldEnv("#../.../S.G", wind=(0, 2, 0))
    # Moving right out of column 0 (no wind) lands at (2, 1).
    assert env.P[6][RIGHT] == [(1.0, 7, 0.0, False)]
    # Moving left out of column 1 (wind 2): lands at (2, 0), pushed up to (1, 0); the wall
    # at (0, 0) stops the second push.
    assert env.P[7][LEFT] == [(1.0, 3, 0.0, False)]
    # Moving up out of column 1: (1, 1), then pushed up to the top border at (0, 1).
    assert env.P[7][UP] == [(1.0, 1, 0.0, False)]


def test_extra_goals_and_holes():
    env = GridWorldEnv("S.A/.H./..G", extra_goals={"A": 10.0}, goal_reward=1.0)
    assert env.P[1][RIGHT] == [(1.0, 2, 10.0, True)]
    (obs, reward, terminated, info) = _rollout(env, [RIGHT, RIGHT])[-1]
    assert (obs, reward, terminated, info["is_success"]) == (2, 10.0, True, True)
    (obs, reward, terminated, info) = _rollout(env, [RIGHT, DOWN])[-1]
    assert (obs, reward, terminated, info["is_success"]) == (4, 0.0, True, False)


def test_terminal_and_unoccupiable_states_are_absorbing():
    env = GridWorldEnv("frozenlake4x4")
    for s in (5, 7, 11, 12, 15):  # holes and goal
        for a in range(4):
            assert env.P[s][a] == [(1.0, s, 0.0, True)]
    env.reset()
    for action in (DOWN, DOWN, RIGHT, RIGHT, DOWN, RIGHT):
        _, _, terminated, _, info = env.step(action)
    assert terminated and info["is_success"]
    # Stepping on after termination stays put and is not a second success.
    obs, reward, terminated, _, info = env.step(LEFT)
    assert (obs, reward, terminated, info["is_success"]) == (15, 0.0, True, False)


@st.composite
def _random_maps(draw):
    nrow = draw(st.integers(1, 5))
    ncol = draw(st.integers(2 if nrow == 1 else 1, 5))
    cells = draw(st.lists(st.sampled_from(".#HC"), min_size=nrow * ncol, max_size=nrow * ncol))
    start, goal = draw(
        st.lists(st.integers(0, nrow * ncol - 1), min_size=2, max_size=2, unique=True)
    )
    cells[start], cells[goal] = "S", "G"
    layout = "/".join("".join(cells[r * ncol : (r + 1) * ncol]) for r in range(nrow))
    slip = draw(st.floats(0.0, 1.0))
    wind = draw(st.none() | st.lists(st.integers(0, 3), min_size=ncol, max_size=ncol))
    return layout, slip, wind


@settings(max_examples=150, deadline=None)
@given(_random_maps())
def test_random_maps_have_a_valid_transition_model(spec):
    layout, slip, wind = spec
    env = GridWorldEnv(layout, slip_probability=slip, wind=wind, step_reward=-1.0)
    chars = "".join(layout.split("/"))
    n_states = len(chars)
    assert set(env.P) == set(range(n_states))
    for s in range(n_states):
        assert set(env.P[s]) == {0, 1, 2, 3}
        for a in range(4):
            outcomes = env.P[s][a]
            assert math.isclose(sum(p for p, *_ in outcomes), 1.0, abs_tol=1e-12)
            assert all(p > 0.0 for p, *_ in outcomes)
            keys = [tuple(o[1:]) for o in outcomes]
            assert len(keys) == len(set(keys)), "duplicate outcomes must be merged"
            if chars[s] in "#CGH":
                assert outcomes == [(1.0, s, 0.0, True)]
                continue
            for _, next_state, reward, terminated in outcomes:
                assert 0 <= next_state < n_states
                assert chars[next_state] not in "#C"  # never inside a wall or the cliff
                assert terminated == (chars[next_state] in "GH")
                if reward == -100.0:  # fell off the cliff
                    assert next_state == env.start_state and not terminated


# --- sampling and seeding ---------------------------------------------------------------


def test_same_seed_same_trajectory_on_slippery_map():
    env = GridWorldEnv("frozenlake8x8-slippery")
    actions = [RIGHT, DOWN] * 50

    def observations(seed: int) -> list[int]:
        return [step[0] for step in _rollout(env, actions, seed=seed)]

    assert observations(123) == observations(123)
    assert len({tuple(observations(seed)) for seed in range(6)}) > 1


def test_sampled_outcome_frequencies_match_model():
    env = GridWorldEnv("frozenlake4x4-slippery")
    env.reset(seed=0)
    counts: dict[int, int] = {}
    n = 3000
    for _ in range(n):
        env.reset()
        obs, *_ = env.step(RIGHT)
        counts[obs] = counts.get(obs, 0) + 1
    expected = {ns: p for p, ns, _, _ in env.P[0][RIGHT]}  # {4: 1/3, 1: 1/3, 0: 1/3}
    assert set(counts) == set(expected)
    for ns, p in expected.items():
        assert abs(counts[ns] / n - p) < 0.04


def test_step_validation():
    env = GridWorldEnv("empty5x5")
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="invalid action"):
        env.step(4)
    obs, reward, terminated, truncated, info = env.step(np.int64(RIGHT))
    assert (obs, reward, terminated, truncated) == (1, -1.0, False, False)
    assert isinstance(obs, int) and isinstance(reward, float)
    assert info == {"prob": 1.0, "is_success": False}


# --- value iteration --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "optimal_return"),
    [("cliff", -13.0), ("windy", -15.0), ("empty5x5", -8.0)],
)
def test_value_iteration_known_optimal_returns(name, optimal_return):
    env = GridWorldEnv(name)
    result = value_iteration(env, 1.0)
    assert result.values[env.start_state] == pytest.approx(optimal_return)
    assert result.values.shape == (env.observation_space.n,)
    assert result.q_values.shape == (env.observation_space.n, 4)
    assert result.policy.dtype.kind == "i"


def test_value_iteration_maze_matches_bfs_and_greedy_policy_reaches_goal():
    env = GridWorldEnv("maze")
    shortest = _bfs_distance(NAMED_MAPS["maze"].layout)
    assert 20 <= shortest <= 30
    result = value_iteration(env, 1.0)
    assert result.values[env.start_state] == pytest.approx(-shortest)
    state, _ = env.reset()
    for _ in range(shortest):
        state, _, terminated, _, info = env.step(int(result.policy[state]))
    assert terminated and info["is_success"]


def test_value_iteration_ties_go_to_lowest_action():
    result = value_iteration(GridWorldEnv("empty5x5"), 1.0)
    # From the top-left corner DOWN (1) and RIGHT (2) are equally good.
    assert result.q_values[0, DOWN] == pytest.approx(result.q_values[0, RIGHT])
    assert result.policy[0] == DOWN


def test_value_iteration_on_gymnasium_envs():
    cliff = gymnasium.make("CliffWalking-v1")
    assert value_iteration(cliff, 1.0).values[36] == pytest.approx(-13.0)
    ours = value_iteration(GridWorldEnv("frozenlake4x4-slippery"), 0.99)
    theirs = value_iteration(gymnasium.make("FrozenLake-v1"), 0.99)
    np.testing.assert_allclose(ours.values, theirs.values, atol=1e-8)
    taxi_env = gymnasium.make("Taxi-v4")
    taxi = value_iteration(taxi_env, 0.9, tol=1e-8)
    assert taxi.q_values.shape == (500, 6)
    # Taxi is deterministic: the greedy policy delivers the passenger (+20) within 20 moves.
    state, _ = taxi_env.reset(seed=0)
    for _ in range(20):
        state, reward, terminated, _, _ = taxi_env.step(int(taxi.policy[state]))
        if terminated:
            break
    assert terminated and reward == 20


def test_value_iteration_errors():
    env = GridWorldEnv("empty5x5")
    for gamma in (0.0, -0.5, 1.5):
        with pytest.raises(ValueError, match="gamma"):
            value_iteration(env, gamma)
    # A positive step reward and no discount: values grow without bound.
    looping = GridWorldEnv("S.G", step_reward=1.0)
    with pytest.raises(RuntimeError, match="did not converge within 500 iterations"):
        value_iteration(looping, 1.0, max_iterations=500)
    with pytest.raises(ValueError, match="no transition model"):
        value_iteration(gymnasium.make("CartPole-v1"), 0.9)


def test_value_iteration_result_is_read_only():
    result = value_iteration(GridWorldEnv("empty5x5"), 0.9)
    with pytest.raises(ValueError, match="read-only"):
        result.values[0] = 1.0


# --- rendering --------------------------------------------------------------------------


def test_ansi_render_marks_agent():
    env = GridWorldEnv("S../.#H/..G", render_mode="ansi")
    env.reset()
    assert env.render() == "@..\n.#H\n..G\n"
    env.step(RIGHT)
    assert env.render() == "  (Right)\nS@.\n.#H\n..G\n"


def test_rgb_render_shape_and_agent():
    env = GridWorldEnv("windy", render_mode="rgb_array")
    env.reset()
    before = env.render()
    assert before.shape == (7 * 16, 10 * 16, 3) and before.dtype == np.uint8
    env.step(RIGHT)
    after = env.render()
    assert not np.array_equal(before, after)
    assert GridWorldEnv("windy").render() is None
    with pytest.raises(ValueError, match="render_mode"):
        GridWorldEnv("windy", render_mode="human")


# --- registration -----------------------------------------------------------------------


def test_registration_is_idempotent_with_expected_limits():
    register_gridworlds()
    register_gridworlds()
    expected = {
        "rlkit/GridWorld-v0": 200,
        "rlkit/CliffWalking-v0": 200,
        "rlkit/FrozenLake4x4-v0": 100,
        "rlkit/FrozenLake8x8-v0": 200,
        "rlkit/FrozenLake4x4Slippery-v0": 100,
        "rlkit/FrozenLake8x8Slippery-v0": 200,
        "rlkit/WindyGridWorld-v0": 500,
        "rlkit/Maze-v0": 500,
        "rlkit/Empty5x5-v0": 100,
    }
    assert set(GRIDWORLD_IDS) == set(expected)
    for env_id, limit in expected.items():
        assert gymnasium.registry[env_id].max_episode_steps == limit
    generic = gymnasium.make("rlkit/GridWorld-v0", map="S.G")
    assert generic.unwrapped.ncol == 3


@pytest.mark.parametrize("env_id", GRIDWORLD_IDS)
def test_check_env_passes_on_registered_ids(env_id):
    register_gridworlds()
    env = gymnasium.make(env_id)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any checker warning fails the test
        check_env(env.unwrapped)
    env.close()
