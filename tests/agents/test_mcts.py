"""MCTS (UCT) against ground truth: tic-tac-toe tactics, a dice game's expectation, formulas,
the batched evaluation protocol (one call per leaf, virtual loss, lockstep trees), and sound
passing in Go."""

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
    run_many,
    sound_root_choice,
    uct_score,
)
from rlkit.agents.random_agent import RandomAgent
from rlkit.envs.go import GoGame
from rlkit.envs.tictactoe import TicTacToe
from rlkit.errors import SpecError
from rlkit.game import CHANCE, TERMINAL, Game, GameInfo
from rlkit.search import Evaluator
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
    evaluator = RandomRolloutEvaluator(game, n_rollouts=20_000, rng=1)
    uniform_answer = sum(p * sum(row) / 2 for p, row in zip(DICE_PROBS, DICE_TABLE, strict=True))
    value = evaluator.value(DiceState(1, -1, 0.0))
    assert value[0] == pytest.approx(uniform_answer, abs=0.02)
    assert value[1] == pytest.approx(-value[0])
    # From the decision at the start: stand (-0.3) or roll, each half the time.
    priors, values = evaluator.prior_and_value([game.initial_state(), DiceState(2, 1, 0.0)])
    assert priors.dtype == values.dtype == np.float32
    assert priors.tolist() == [[0.5, 0.5, 0.0], [0.5, 0.5, 0.0]]
    assert values[0, 0] == pytest.approx((STAND + uniform_answer) / 2, abs=0.02)
    assert values[1, 0] == pytest.approx(0.0, abs=0.02)  # after face 1: -1 or +1, half each


def test_rollout_priors_are_uniform_over_the_legal_actions():
    state = play(4, 0)
    priors, values = RandomRolloutEvaluator(TTT, rng=0).prior_and_value([state, play(4)])
    assert priors.shape == (2, 9) and values.shape == (2, 2)
    assert priors[0].tolist() == pytest.approx(
        [0, 1 / 7, 1 / 7, 1 / 7, 0, 1 / 7, 1 / 7, 1 / 7, 1 / 7]
    )
    assert priors.sum(axis=1) == pytest.approx([1.0, 1.0])
    assert np.all(values[:, 0] == -values[:, 1]) and np.all(np.isin(values, [-1, 0, 1]))


def test_fast_rollout_hook_is_used():
    calls = []

    class HookedTicTacToe(TicTacToe):
        def random_rollout(self, state, rng):
            calls.append(state)
            return np.array([0.25, -0.25])

    evaluator = RandomRolloutEvaluator(HookedTicTacToe(), 2, rng=0)
    _, values = evaluator.prior_and_value([TTT.initial_state()])
    assert values.tolist() == [[0.25, -0.25]] and len(calls) == 2


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
    search = Search(TTT, RandomRolloutEvaluator(TTT), score=score, c=c, rng=0)
    chosen = search._select(parent, c)
    scores = [score(parent, ch, c) for ch in parent.children]
    assert score(parent, chosen, c) == pytest.approx(max(scores), rel=1e-9, abs=1e-12)


def test_custom_score_function_is_used():
    def highest_action(parent, child, c):
        return child.action

    search = Search(TTT, RandomRolloutEvaluator(TTT, rng=0), score=highest_action, rng=0)
    root = search.run(search.new_root(TTT.initial_state()), 50)
    assert max(root.children, key=lambda ch: ch.visits).action == 8
    assert root.child(8).visits == 49


def test_puct_follows_the_priors():
    class FavourCorner(RandomRolloutEvaluator):
        def prior_and_value(self, states):
            priors, values = super().prior_and_value(states)
            for row, state in zip(priors, states, strict=True):
                legal = TTT.legal_actions(state)
                row[legal] = 0.01
                row[legal[0]] = 1.0 - 0.01 * (len(legal) - 1)
            return priors, values

    search = Search(TTT, FavourCorner(TTT, rng=0), score=puct_score, c=3.0, rng=0)
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
        ({"leaves_per_batch": "0"}, "leaves_per_batch"),
    ],
)
def test_config_rejects_bad_values(params, message):
    with pytest.raises(SpecError, match=message):
        build_config(MCTS.Config, params, owner="mcts")


# -- the batched evaluation protocol -------------------------------------------------------------
class SineEvaluator(Evaluator):
    """Deterministic tic-tac-toe evaluator (no randomness, so trees can be compared): uniform
    priors, and a value for player 0 that is a fixed function of the board. Records every
    call's states."""

    def __init__(self):
        self.game = TTT
        self.batches: list[list] = []

    def prior_and_value(self, states):
        self.batches.append(list(states))
        priors = np.zeros((len(states), 9), np.float32)
        values = np.zeros((len(states), 2), np.float32)
        for i, state in enumerate(states):
            legal = TTT.legal_actions(state)
            priors[i, legal] = 1.0 / len(legal)
            v = math.sin(sum(cell * 3**k for k, cell in enumerate(state.board)))
            values[i] = (v, -v)
        return priors, values


class CountingRollouts(RandomRolloutEvaluator):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.batches: list[list] = []

    def prior_and_value(self, states):
        self.batches.append(list(states))
        return super().prior_and_value(states)


def tree_nodes(root: SearchNode) -> list[SearchNode]:
    nodes, stack = [], [root]
    while stack:
        node = stack.pop()
        nodes.append(node)
        stack.extend(node.children or ())
    return nodes


def tree_stats(root: SearchNode) -> list:
    """Every node's path of actions, visits and total reward, in a canonical order."""
    out, stack = [], [((), root)]
    while stack:
        key, node = stack.pop()
        out.append((key, node.visits, round(node.total_reward, 9)))
        stack.extend(((*key, ch.action), ch) for ch in node.children or ())
    return sorted(out)


@pytest.mark.parametrize("leaves_per_batch", [1, 8])
def test_each_leaf_is_evaluated_once_in_one_call(leaves_per_batch):
    evaluator = CountingRollouts(TTT, rng=0)
    search = Search(TTT, evaluator, rng=0)
    root = search.run(search.new_root(play(4)), 400, leaves_per_batch=leaves_per_batch)
    evaluated = [s for batch in evaluator.batches for s in batch]
    assert len({id(s) for s in evaluated}) == len(evaluated)  # no leaf twice
    decision_nodes = [
        n for n in tree_nodes(root) if n.visits and n.to_play not in (TERMINAL, CHANCE)
    ]
    assert {id(n.state) for n in decision_nodes} == {id(s) for s in evaluated}
    assert root.visits == 400 == sum(ch.visits for ch in root.children) + 1
    if leaves_per_batch == 1:
        assert all(len(batch) == 1 for batch in evaluator.batches)
    else:
        assert max(map(len, evaluator.batches)) == 8 and len(evaluator.batches) < 400 / 2


@pytest.mark.parametrize("selection", [uct_score, puct_score])
def test_one_leaf_at_a_time_rollouts_match_the_protocol_path(selection):
    """One leaf at a time, the search asks the built-in rollout evaluator for values alone
    (priors made when needed); through `prior_and_value` the tree is the same."""
    fast = Search(TTT, RandomRolloutEvaluator(TTT, rng=5), score=selection, rng=5)
    slow = Search(TTT, CountingRollouts(TTT, rng=5), score=selection, rng=5)
    roots = [s.run(s.new_root(play(4)), 500) for s in (fast, slow)]
    assert tree_stats(roots[0]) == tree_stats(roots[1])
    assert len(slow.evaluator.batches) > 100


def test_virtual_loss_spreads_a_batch_over_distinct_leaves_and_is_taken_back():
    evaluator = SineEvaluator()
    search = Search(TTT, evaluator, score=puct_score, c=1.0, rng=0)  # PUCT: priors, no +inf
    backups = []
    backup = search.backup

    def recording_backup(path, values, *, virtual_loss=False):
        backups.append((list(path), list(values)))
        backup(path, values, virtual_loss=virtual_loss)

    search.backup = recording_backup
    root = search.run(search.new_root(play(4, 0)), 300, leaves_per_batch=6)
    assert root.visits == 300 == len(backups)
    assert any(len(batch) > 1 for batch in evaluator.batches)
    for batch in evaluator.batches:  # distinct leaves in every call
        assert len({id(s) for s in batch}) == len(batch) <= 6
    # Every node's statistics are exactly its backed-up values: no virtual loss is left.
    expected: dict[int, list] = {}
    for path, values in backups:
        for node in path:
            count, total = expected.setdefault(id(node), [0, 0.0])
            expected[id(node)] = [count + 1, total + values[node.player]]
    for node in tree_nodes(root):
        count, total = expected.get(id(node), [0, 0.0])
        assert node.visits == count and node.total_reward == pytest.approx(total, abs=1e-9)


def test_select_leaf_and_backup_are_one_simulation():
    search = Search(TTT, SineEvaluator(), rng=3)
    root = search.new_root(play(0, 4))
    path = search.select_leaf(root)
    assert path == [root] and root.children is None  # not evaluated yet: the root is the leaf
    (priors,), (values,) = search.evaluator.prior_and_value([root.state])
    search.expand(root, priors)
    search.backup(path, values.tolist())
    assert root.visits == 1 and root.value == pytest.approx(values[0])
    first = search.select_leaf(root, virtual_loss=True)
    second = search.select_leaf(root, virtual_loss=True)
    assert len(first) == len(second) == 2 and first[-1] is not second[-1]
    assert root.visits == 3 and first[-1].visits == 1 and first[-1].value == -1.0  # a loss


@pytest.mark.parametrize("leaves_per_batch", [1, 4])
def test_lockstep_trees_end_as_each_tree_alone(leaves_per_batch):
    """With a deterministic evaluator each tree's search depends only on its own random
    stream, so stepping three trees together (one call per step for all their leaves) gives
    the trees that three separate runs give. (A shared random-rollout evaluator would hand
    out its playouts in another order, so there only the statistics agree.)"""
    starts = [play(), play(4), play(0, 4)]

    def searches():
        evaluator = SineEvaluator()
        return evaluator, [Search(TTT, evaluator, rng=seed) for seed in (1, 2, 3)]

    alone = []
    for search, state in zip(searches()[1], starts, strict=True):
        alone.append(search.run(search.new_root(state), 120, leaves_per_batch=leaves_per_batch))
    evaluator, together = searches()
    roots = run_many(
        [(s, s.new_root(state)) for s, state in zip(together, starts, strict=True)],
        120,
        leaves_per_batch=leaves_per_batch,
    )
    assert [tree_stats(r) for r in roots] == [tree_stats(r) for r in alone]
    assert [r.visits for r in roots] == [120] * 3
    assert max(map(len, evaluator.batches)) == 3 * leaves_per_batch
    assert len(evaluator.batches) <= 120  # one call per step, for all three trees


def test_lockstep_refuses_searches_with_different_evaluators():
    a, b = Search(TTT, SineEvaluator()), Search(TTT, SineEvaluator())
    with pytest.raises(ValueError, match="evaluator"):
        run_many([(a, a.new_root(play())), (b, b.new_root(play()))], 10)
    with pytest.raises(ValueError, match="leaves_per_batch"):
        run_many([(a, a.new_root(play()))], 10, leaves_per_batch=0)


def test_batched_search_keeps_tactics_solver_and_chance():
    assert mcts(simulations=1000, leaves_per_batch=8).act(play(0, 4, 1)) == 2
    root = mcts(simulations=1000, solve=True, leaves_per_batch=8).search(play(0, 3, 1, 4))
    assert root.outcome == [1.0, -1.0] and root.visits < 1000
    agent = MCTS(MCTS.Config(simulations=20_000, leaves_per_batch=16), DiceGame(), seed=0)
    root = agent.search(DiceState(1, -1, 0.0))
    assert root.visits == 20_000 and root.value == pytest.approx(ROLL_VALUE, abs=0.05)


# -- passing (Go) --------------------------------------------------------------------------------
def go_position(game: GoGame, black: list[int], white: list[int]):
    """Stones placed by alternate moves (the side with fewer stones passes), Black to move."""
    state = game.initial_state()
    black, white = list(black), list(white)
    while black or white:
        for stones in (black, white):
            state = game.apply(state, stones.pop(0) if stones else game.pass_action)
    assert game.current_player(state) == 0
    return state


GO5 = GoGame(size=5, komi=0.5)
# Black holds column B, White column C: columns A (Black) and D-E (White) are settled territory,
# 10 points to 15, so White wins.
SETTLED = go_position(GO5, [1, 6, 11, 16, 21], [2, 7, 12, 17, 22])
# Lost for Black (komi 30 is more than the board) and far from settled: most points empty.
LOST_GAME = GoGame(size=5, komi=30.5)
LOST = go_position(LOST_GAME, [12], [6])


def test_go_names_its_pass_action():
    assert GO5.pass_action == 25 == GO5.info.num_actions - 1


def test_sound_choice_is_the_first_ranked_move_without_a_pass():
    assert sound_root_choice(TTT, play(4), [0, 8, 2]) == 0
    with pytest.raises(ValueError, match="ranked"):
        sound_root_choice(TTT, play(4), [])


def test_a_lost_open_position_is_played_on_instead_of_passed():
    game, pass_ = LOST_GAME, LOST_GAME.pass_action
    assert sound_root_choice(game, LOST, [pass_, 7, 3]) == 7
    assert sound_root_choice(game, LOST, [pass_]) == game.legal_actions(LOST)[0]
    after_pass = game.apply(game.apply(LOST, 0), pass_)  # White just passed; Black to move
    assert sound_root_choice(game, after_pass, [pass_, 18]) == 18
    assert sound_root_choice(game, LOST, [3, pass_]) == 3


def test_passes_when_passing_wins_or_the_board_is_settled_or_nothing_else_is_legal():
    pass_ = GO5.pass_action
    white_to_move = GO5.apply(SETTLED, pass_)  # Black passed: White's pass wins the game
    assert sound_root_choice(GO5, white_to_move, [pass_, 3]) == pass_
    # Black loses the settled board either way: a pass ends it instead of filling territory.
    assert sound_root_choice(GO5, SETTLED, [pass_, 0]) == pass_
    # Only a pass is legal: every empty point is an eye of White's one chain.
    full = go_position(GO5, [], [p for p in range(25) if p not in (0, 24)])
    assert GO5.legal_actions(full) == [pass_]
    assert sound_root_choice(GO5, full, [pass_]) == pass_


def test_an_unsettled_board_with_dame_or_atari_is_not_settled():
    from rlkit.agents.mcts import _is_settled

    assert _is_settled(GO5, SETTLED)
    assert not _is_settled(GO5, GO5.initial_state())
    dame = go_position(GO5, [1, 6, 11, 16, 21], [3, 8, 13, 18, 23])  # column C touches both
    assert not _is_settled(GO5, dame)
    atari = go_position(GO5, [1, 6, 11, 16, 21, 3], [2, 7, 12, 17, 22])  # a black stone at D5
    assert not _is_settled(GO5, atari)


def test_the_agent_does_not_pass_a_lost_open_game(monkeypatch):
    # The search itself ranks the pass first: the agent must still not pass.
    agent = MCTS(MCTS.Config(simulations=50), LOST_GAME, seed=0)
    ranked = agent.ranked_actions
    monkeypatch.setattr(
        agent, "ranked_actions", lambda root: [LOST_GAME.pass_action, *ranked(root)]
    )
    for seed in range(5):
        agent.rng = np.random.default_rng(seed)
        move = agent.act(LOST)
        assert move != LOST_GAME.pass_action and move in LOST_GAME.legal_actions(LOST)


def test_the_agent_passes_to_win_a_settled_game():
    white_to_move = GO5.apply(SETTLED, GO5.pass_action)
    for seed in range(3):
        agent = MCTS(MCTS.Config(simulations=300, solve=True), GO5, seed=seed)
        assert agent.act(white_to_move) == GO5.pass_action


def test_agent_against_random_finishes_5x5_games():
    game = GoGame(size=5, komi=0.5)
    for seed in range(2):
        agent = MCTS(MCTS.Config(simulations=40), game, seed=seed)
        rand = np.random.default_rng(seed)
        state, moves = game.initial_state(), 0
        while (player := game.current_player(state)) != TERMINAL:
            if player == seed % 2:
                action = agent.act(state)
            else:
                legal = game.legal_actions(state)
                action = legal[int(rand.integers(len(legal)))]
            state = game.apply(state, action)
            moves += 1
        assert moves <= game.max_game_length


def test_a_lost_game_is_played_on_until_the_board_is_settled():
    """Komi 30.5 on 5x5: Black loses every line, so all moves look alike to the search. The
    old agent passed with 20 legal moves left; Black may pass only once the board is settled
    or the pass is its only legal move (White, random, never passes by choice)."""
    from rlkit.agents.mcts import _is_settled

    game = LOST_GAME
    for seed in range(3):
        agent = MCTS(MCTS.Config(simulations=30), game, seed=seed)
        rand = np.random.default_rng(seed)
        state = game.initial_state()
        while (player := game.current_player(state)) != TERMINAL:
            legal = game.legal_actions(state)
            if player == 0:
                action = agent.act(state)
                if action == game.pass_action:
                    assert legal == [game.pass_action] or _is_settled(game, state)
            else:
                moves = [a for a in legal if a != game.pass_action] or legal
                action = moves[int(rand.integers(len(moves)))]
            state = game.apply(state, action)
