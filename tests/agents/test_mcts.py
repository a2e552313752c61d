"""MCTS (UCT) against ground truth: tic-tac-toe tactics, a dice game's expectation, formulas."""

from __future__ import annotations

import math
from typing import NamedTuple

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rlkit.agent import NoConfig
from rlkit.agents.mcts import (
    MCTS,
    RandomRolloutEvaluator,
    Search,
    SearchError,
    SearchNode,
    puct_score,
    uct_score,
)
from rlkit.agents.random_agent import RandomAgent
from rlkit.envs.tictactoe import TicTacToe
from rlkit.errors import SpecError
from rlkit.game import CHANCE, TERMINAL, Game, GameInfo
from rlkit.specs import build_config

TTT = TicTacToe()


def play(*moves: int):
    state = TTT.initial_state()
    for move in moves:
        state = TTT.apply(state, move)
    return state


def mcts(seed: int = 0, **config) -> MCTS:
    return MCTS(MCTS.Config(**config), TTT, seed=seed)


# -- tic-tac-toe tactics -------------------------------------------------------------------------
# (moves so far, the only good replies). Boards drawn with x to move first.
TACTICS = [
    pytest.param((0, 3, 1, 4), {2}, id="x wins 0-1-2 (rather than blocking 3-4-5)"),
    pytest.param((0, 3, 1, 4, 8), {5}, id="o wins 3-4-5 (rather than blocking 0-1-2)"),
    pytest.param((4, 0, 8, 2, 6), {1}, id="o wins 0-1-2"),
    pytest.param((0, 4, 1), {2}, id="o blocks 0-1-2"),
    pytest.param((4, 0, 2), {6}, id="o blocks 2-4-6"),
    pytest.param((4, 0, 8, 6), {3}, id="x blocks 0-3-6"),
    pytest.param((0, 4, 8, 2), {6}, id="x blocks 2-4-6"),
]


@pytest.mark.parametrize("moves, good", TACTICS)
@pytest.mark.parametrize("selection", ["uct", "puct"])
def test_takes_wins_and_blocks(moves, good, selection):
    state = play(*moves)
    for seed in range(3):
        assert mcts(seed, simulations=1000, selection=selection).act(state) in good


@pytest.mark.parametrize("final_move", ["most_visits", "max_value"])
def test_final_move_rules_take_the_win(final_move):
    assert mcts(simulations=500, final_move=final_move).act(play(0, 3, 1, 4)) == 2


def test_never_loses_to_random():
    results = []
    for game_index in range(30):
        for mcts_player in (0, 1):
            agent = mcts(seed=game_index, simulations=1000)
            rand = RandomAgent(
                NoConfig(), gym.spaces.Box(0, 1, (3, 3, 3)), gym.spaces.Discrete(9), seed=game_index
            )
            state = TTT.initial_state()
            while (player := TTT.current_player(state)) != TERMINAL:
                if player == mcts_player:
                    action = agent.act(state)
                else:
                    action = rand.act(None, TTT.legal_mask(state))
                state = TTT.apply(state, action)
            results.append(TTT.returns(state)[mcts_player])
    assert min(results) >= 0.0, f"MCTS lost {results.count(-1.0)} of {len(results)} games"
    assert results.count(1.0) >= 40  # and mostly wins


# -- values, terminal states, determinism --------------------------------------------------------
def test_terminal_children_carry_exact_values():
    root = mcts(simulations=300).search(play(0, 3, 1, 4))
    win = root.child(2)
    assert win.to_play == TERMINAL
    assert win.outcome == [1.0, -1.0]
    assert win.value == 1.0 and win.player == 0
    assert root.visits == 300 == sum(ch.visits for ch in root.children) + 1
    assert root.player == 0 and root.value > 0.5


def test_search_from_a_terminal_state_returns_its_returns():
    state = play(0, 3, 1, 4, 2)  # x has won
    root = mcts(simulations=10).search(state)
    assert root.outcome == [1.0, -1.0] and root.children is None
    assert root.visits == 10 and root.value == 1.0
    with pytest.raises(SearchError, match="over"):
        mcts().act(state)


def test_same_seed_same_search_and_moves():
    def trace(seed):
        agent = mcts(seed, simulations=200)
        state, moves = TTT.initial_state(), []
        root = agent.search(state)
        stats = sorted((ch.action, ch.visits, ch.total_reward) for ch in root.children)
        while TTT.current_player(state) != TERMINAL:
            moves.append(agent.act(state))
            state = TTT.apply(state, moves[-1])
        return stats, moves

    assert trace(7) == trace(7)
    assert trace(7)[0] != trace(8)[0]


def test_one_simulation_still_returns_a_legal_move():
    state = play(4)
    assert mcts(simulations=1).act(state) in TTT.legal_actions(state)


def test_time_cap_stops_the_search(monkeypatch):
    """A clock that advances 1 ms per reading: a 0.05 s cap allows about 50 simulations
    (wall-clock timing: scripts/bench_search_limits.py)."""
    import types

    clock = iter(i * 1e-3 for i in range(10**9))
    monkeypatch.setattr(
        "rlkit.agents.mcts.time", types.SimpleNamespace(perf_counter=lambda: next(clock))
    )
    root = mcts(simulations=10**9, time=0.05).search(TTT.initial_state())
    assert 1 <= root.visits <= 60


def test_solver_proves_a_win_and_stops_early():
    root = mcts(simulations=1000, solve=True).search(play(0, 3, 1, 4))
    assert root.outcome == [1.0, -1.0]
    assert root.visits < 1000
    assert mcts(simulations=1000, solve=True).act(play(0, 3, 1, 4)) == 2


def test_solver_proves_a_drawn_position_drawn():
    root = mcts(simulations=200_000, solve=True).search(play(4, 0))  # x centre, o corner
    assert root.outcome == [0.0, 0.0]
    assert root.visits < 200_000


def test_reuse_tree_continues_from_the_kept_subtree():
    agent = mcts(simulations=300, reuse_tree=True)
    state = TTT.initial_state()
    state = TTT.apply(state, agent.act(state))
    state = TTT.apply(state, TTT.legal_actions(state)[0])
    root = agent.search(state)
    assert root.visits > 300  # started from a node the first search had visited
    agent.new_game()
    assert agent.search(TTT.initial_state()).visits == 300


# -- chance nodes --------------------------------------------------------------------------------
class DiceState(NamedTuple):
    stage: int  # 0: player 0 stands or rolls; 1: the die; 2: player 1 answers; 3: over
    die: int
    result: float  # player 0's return once over


# Player 1's answers after each face, as player 0's return; player 1 minimises it.
DICE_PROBS = (0.5, 0.3, 0.2)
DICE_TABLE = ((1.0, 0.0), (-1.0, 1.0), (1.0, 1.0))
STAND = -0.3
ROLL_VALUE = sum(p * min(row) for p, row in zip(DICE_PROBS, DICE_TABLE, strict=True))  # -0.1


class DiceGame(Game[DiceState]):
    """Player 0 stands (-0.3) or rolls a three-sided die; player 1 then picks the column of
    ``DICE_TABLE`` that hurts player 0 most."""

    info = GameInfo("dice", 2, 3, True, True, -1.0, 1.0, 2, (1,))

    def initial_state(self):
        return DiceState(0, -1, 0.0)

    def current_player(self, state):
        return (0, CHANCE, 1, TERMINAL)[state.stage]

    def legal_actions(self, state):
        return [0, 1] if state.stage in (0, 2) else []

    def chance_outcomes(self, state):
        return list(enumerate(DICE_PROBS))

    def apply(self, state, action):
        if state.stage == 0:
            return DiceState(3, -1, STAND) if action == 0 else DiceState(1, -1, 0.0)
        if state.stage == 1:
            return DiceState(2, action, 0.0)
        return DiceState(3, state.die, DICE_TABLE[state.die][action])

    def returns(self, state):
        return np.array([state.result, -state.result])

    def observation(self, state, player):
        return np.zeros(1, np.float32)

    def render(self, state):
        return str(state)


def test_chance_root_value_converges_to_the_expectation():
    game = DiceGame()
    agent = MCTS(MCTS.Config(simulations=20_000), game, seed=0)
    root = agent.search(DiceState(1, -1, 0.0))
    assert root.to_play == CHANCE and root.player == 0
    assert root.value == pytest.approx(ROLL_VALUE, abs=0.05)
    frequencies = [root.child(face).visits / root.visits for face in range(3)]
    assert frequencies == pytest.approx(DICE_PROBS, abs=0.02)
    for face, row in enumerate(DICE_TABLE):
        node = root.child(face)
        assert node.player == 0  # values below a chance node keep the chance node's view
        assert max(node.children, key=lambda ch: ch.visits).outcome[0] == min(row)


def test_rolls_when_rolling_is_better_in_expectation():
    game = DiceGame()
    for seed in range(3):
        agent = MCTS(MCTS.Config(simulations=3000), game, seed=seed)
        root = agent.search(game.initial_state())
        assert root.child(1).value == pytest.approx(ROLL_VALUE, abs=0.1)
        assert root.child(0).value == pytest.approx(STAND)
        assert agent.act(game.initial_state()) == 1


def test_rollouts_through_chance_average_correctly():
    game = DiceGame()
    evaluator = RandomRolloutEvaluator(n_rollouts=20_000, rng=1)
    uniform_answer = sum(p * sum(row) / 2 for p, row in zip(DICE_PROBS, DICE_TABLE, strict=True))
    value = evaluator.evaluate(game, DiceState(1, -1, 0.0))
    assert value[0] == pytest.approx(uniform_answer, abs=0.02)
    assert value[1] == pytest.approx(-value[0])
    assert evaluator.prior(game, game.initial_state()) == [(0, 0.5), (1, 0.5)]


def test_fast_rollout_hook_is_used():
    calls = []

    class HookedTicTacToe(TicTacToe):
        def random_rollout(self, state, rng):
            calls.append(state)
            return np.array([0.25, -0.25])

    evaluator = RandomRolloutEvaluator(2, rng=0)
    value = evaluator.evaluate(HookedTicTacToe(), TTT.initial_state())
    assert list(value) == [0.25, -0.25] and len(calls) == 2


# -- selection rules -----------------------------------------------------------------------------
def node(visits: int, total: float = 0.0, prior: float = 1.0, action: int = 0) -> SearchNode:
    n = SearchNode(action, 0, prior)
    n.visits, n.total_reward = visits, total
    return n


def test_uct_formula():
    parent = node(50)
    assert uct_score(parent, node(0), 1.4) == math.inf
    assert uct_score(parent, node(10, 4.0), 1.4) == pytest.approx(
        0.4 + 1.4 * math.sqrt(math.log(50) / 10)
    )
    assert uct_score(parent, node(10, 4.0), 0.0) == pytest.approx(0.4)


def test_puct_formula():
    parent = node(36)
    assert puct_score(parent, node(0, prior=0.5), 2.0) == pytest.approx(2.0 * 0.5 * 6 / 1)
    assert puct_score(parent, node(5, -2.0, prior=0.1), 2.0) == pytest.approx(
        -0.4 + 2.0 * 0.1 * 6 / 6
    )


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 50), st.floats(-1.0, 1.0), st.floats(0.01, 1.0, allow_subnormal=False)
        ),
        min_size=1,
        max_size=12,
    ),
    st.floats(0.0, 3.0),
    st.sampled_from([uct_score, puct_score]),
)
def test_inlined_selection_matches_the_score_function(children, c, score):
    parent = node(1 + sum(v for v, _, _ in children))
    parent.children = [node(v, v * mean, p, a) for a, (v, mean, p) in enumerate(children)]
    search = Search(TTT, RandomRolloutEvaluator(), score=score, c=c, rng=0)
    chosen = search._select(parent, c)
    scores = [score(parent, ch, c) for ch in parent.children]
    assert score(parent, chosen, c) == pytest.approx(max(scores), rel=1e-9, abs=1e-12)


def test_custom_score_function_is_used():
    def highest_action(parent, child, c):
        return child.action

    search = Search(TTT, RandomRolloutEvaluator(rng=0), score=highest_action, rng=0)
    root = search.run(search.new_root(TTT.initial_state()), 50)
    assert max(root.children, key=lambda ch: ch.visits).action == 8
    assert root.child(8).visits == 49


def test_puct_follows_the_priors():
    class FavourCorner(RandomRolloutEvaluator):
        def prior(self, game, state):
            legal = game.legal_actions(state)
            return [(a, 0.92 if a == legal[0] else 0.01) for a in legal]

    search = Search(TTT, FavourCorner(rng=0), score=puct_score, c=3.0, rng=0)
    root = search.run(search.new_root(TTT.initial_state()), 200)
    assert max(root.children, key=lambda ch: ch.visits).action == 0


# -- config --------------------------------------------------------------------------------------
def test_config_from_spec_parameters():
    config = build_config(
        MCTS.Config,
        {"simulations": "2000", "time": "none", "final_move": "max_value", "solve": "true"},
        owner="mcts",
    )
    assert config == MCTS.Config(simulations=2000, final_move="max_value", solve=True)
    assert build_config(MCTS.Config, {"time": "0.5"}, owner="mcts").time == 0.5


@pytest.mark.parametrize(
    "params, message",
    [
        ({"simulations": "0"}, "simulations"),
        ({"uct_c": "-1"}, "uct_c"),
        ({"rollouts": "0"}, "rollouts"),
        ({"time": "0"}, "time"),
        ({"selection": "ucb"}, "selection"),
    ],
)
def test_config_rejects_bad_values(params, message):
    with pytest.raises(SpecError, match=message):
        build_config(MCTS.Config, params, owner="mcts")
