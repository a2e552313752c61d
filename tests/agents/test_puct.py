"""PUCT search (AlphaZero) against ground truth: tic-tac-toe tactics with a perfect evaluator,
exact visit accounting, lockstep = separate searches, virtual loss, tree reuse, root noise,
the Gumbel root, compaction and configuration errors."""

from __future__ import annotations

import functools
import zlib

import numpy as np
import pytest

from rlkit.agents.puct import _PENDING, PuctConfig, PuctSearch, _considered_visits
from rlkit.envs.connect_four import ConnectFour
from rlkit.envs.tictactoe import TicTacToe
from rlkit.errors import IncompatibleEnvError, SpecError
from rlkit.game import TERMINAL, IllegalMoveError
from rlkit.registry import make_game
from rlkit.search import Evaluator

TTT = TicTacToe()
C4 = ConnectFour()


def play(game, *moves: int):
    state = game.initial_state()
    for move in moves:
        state = game.apply(state, move)
    return state


@functools.cache
def negamax(state) -> float:
    """Exact tic-tac-toe value for the player to move."""
    if TTT.current_player(state) == TERMINAL:
        return float(TTT.returns(state)[state.to_move])
    return max(-negamax(TTT.apply(state, a)) for a in TTT.legal_actions(state))


def optimal_moves(state) -> set[int]:
    values = {a: -negamax(TTT.apply(state, a)) for a in TTT.legal_actions(state)}
    best = max(values.values())
    return {a for a, v in values.items() if v == best}


class Recorder(Evaluator):
    """Records every call's states; subclasses say what the priors and values are."""

    def __init__(self, game) -> None:
        self.game = game
        self.calls: list[list] = []

    def prior_and_value(self, states):
        self.calls.append(list(states))
        priors = np.stack([self.game.legal_mask(s).astype(np.float32) for s in states])
        priors = self.shape_priors(states, priors)
        priors /= priors.sum(axis=1, keepdims=True)
        values = np.array([self.values(s) for s in states], dtype=np.float32)
        return priors.astype(np.float32), values.reshape(len(states), 2)

    def shape_priors(self, states, legal: np.ndarray) -> np.ndarray:
        return legal  # uniform over the legal actions

    def values(self, state) -> list[float]:
        return [0.0, 0.0]


class PerfectTTT(Recorder):
    def values(self, state) -> list[float]:
        v = negamax(state)
        return [v, -v] if state.to_move == 0 else [-v, v]


class Hashed(Recorder):
    """Deterministic, uneven priors and values that depend on the state alone."""

    def shape_priors(self, states, legal):
        out = legal.copy()
        for i, s in enumerate(states):
            seed = zlib.crc32(repr(s).encode())
            out[i] *= np.random.default_rng(seed).uniform(0.1, 1.0, legal.shape[1])
        return out

    def values(self, state):
        v = np.random.default_rng(zlib.crc32(repr(state).encode()) + 1).uniform(-0.9, 0.9)
        return [v, -v]


def searcher(game, evaluator, trees=1, seed=0, **config) -> PuctSearch:
    return PuctSearch(game, evaluator, PuctConfig(**config), trees, np.random.default_rng(seed))


# -- tactics ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("moves", "expected"),
    [
        ((0, 3, 1, 4), {2}),  # x to move wins at 2 (o threatens 5)
        ((0, 4, 1), {2}),  # o must block at 2
        ((0,), {4}),  # the only reply to a corner that does not lose is the centre
    ],
)
@pytest.mark.parametrize("root", ["puct", "gumbel"])
def test_perfect_evaluator_finds_the_optimal_move(moves, expected, root):
    state = play(TTT, *moves)
    assert optimal_moves(state) == expected  # the test's own ground truth
    search = searcher(TTT, PerfectTTT(TTT), simulations=200, root=root)
    search.set_root(0, state)
    result = search.search([0], noise=False)
    assert int(result.action[0]) in expected
    if root == "puct":  # the visit distribution concentrates on the right move
        assert int(np.argmax(result.visits[0])) in expected


def test_gumbel_finds_the_win_in_one_with_16_simulations_even_with_noise():
    state = play(TTT, 0, 3, 1, 4)
    legal = TTT.legal_mask(state)
    for seed in range(8):
        search = searcher(TTT, PerfectTTT(TTT), seed=seed, simulations=16, root="gumbel")
        search.set_root(0, state)
        result = search.search([0], noise=True)
        assert result.action[0] == 2
        assert result.policy[0].sum() == pytest.approx(1.0, abs=1e-6)
        assert np.all(result.policy[0][~legal] == 0)
        assert result.visits[0].sum() == 16
        assert int(np.argmax(result.policy[0])) == 2  # the improved policy puts the win first


# -- accounting ---------------------------------------------------------------------------------
@pytest.mark.parametrize("root", ["puct", "gumbel"])
def test_visits_sum_to_simulations_and_policy_is_a_distribution(root):
    state = play(TTT, 4, 0, 8)
    legal = TTT.legal_mask(state)
    search = searcher(TTT, Recorder(TTT), simulations=57, root=root)
    search.set_root(0, state)
    result = search.search([0], noise=True)
    # A fresh root is evaluated once before the simulations; that evaluation is the root's
    # own visit and is not in its children's counts.
    assert result.visits.dtype == np.int32 and result.visits[0].sum() == 57
    assert np.all(result.visits[0][~legal] == 0)
    assert result.policy.dtype == np.float32
    assert result.policy[0].sum() == pytest.approx(1.0, abs=1e-6)
    assert np.all(result.policy[0][~legal] == 0) and np.all(result.q[0][~legal] == 0)
    assert legal[result.action[0]]
    if root == "puct":
        np.testing.assert_allclose(result.policy[0], result.visits[0] / 57, rtol=1e-6)


def test_root_value_and_q_are_for_the_player_to_move():
    state = play(TTT, 0, 3, 1, 4)  # x (player 0) to move, wins at 2
    search = searcher(TTT, PerfectTTT(TTT), simulations=100)
    search.set_root(0, state)
    result = search.search([0], noise=False)
    assert result.q[0, 2] == pytest.approx(1.0)
    assert result.root_value[0] > 0.5
    state = play(TTT, 0, 3, 1, 4, 8)  # o (player 1) to move, wins at 5
    search.set_root(0, state)
    result = search.search([0], noise=False)
    assert result.action[0] == 5 and result.q[0, 5] == pytest.approx(1.0)


# -- lockstep, virtual loss ---------------------------------------------------------------------
@pytest.mark.parametrize("root", ["puct", "gumbel"])
def test_lockstep_trees_equal_separate_searches(root):
    positions = [play(C4), play(C4, 3, 3), play(C4, 0, 1, 2), play(C4, 6, 6, 6, 5, 4)]
    together = searcher(C4, Hashed(C4), trees=len(positions), simulations=120, root=root)
    for t, s in enumerate(positions):
        together.set_root(t, s)
    order = [2, 0, 3, 1]  # rows follow the order asked
    result = together.search(order, noise=False)
    assert len(together.evaluator.calls[-1]) == len(positions)  # one call per step for all
    for row, t in enumerate(order):
        alone = searcher(C4, Hashed(C4), simulations=120, root=root)
        alone.set_root(0, positions[t])
        single = alone.search([0], noise=False)
        np.testing.assert_array_equal(result.visits[row], single.visits[0])
        np.testing.assert_array_equal(result.q[row], single.q[0])
        assert result.action[row] == single.action[0]


def test_several_leaves_per_tree_are_distinct_and_the_visit_sum_is_exact():
    evaluator = Recorder(C4)
    search = searcher(C4, evaluator, trees=3, simulations=101, leaves_per_tree=4)
    for t, s in enumerate([play(C4), play(C4, 3), play(C4, 3, 2)]):
        search.set_root(t, s)
    result = search.search([0, 1, 2], noise=False)
    np.testing.assert_array_equal(result.visits.sum(axis=1), [101, 101, 101])
    steps = evaluator.calls[1:]  # the first call evaluates the three roots
    sizes = [len(call) for call in steps]
    assert max(sizes) <= 12 and max(sizes) > 3  # several leaves per tree in a step
    assert sum(sizes) == 3 * 101  # no terminal leaf this early: every simulation evaluated
    assert len(steps) < 101
    for call in steps:  # never the same leaf twice in one call
        assert len({(s.stones0, s.stones1) for s in call}) == len(call)


def test_virtual_loss_spreads_the_leaves_of_one_step():
    evaluator = Recorder(C4)
    search = searcher(C4, evaluator, simulations=8, leaves_per_tree=8)
    search.set_root(0, play(C4))
    search.search([0], noise=False)
    # 8 selections from a root with 7 children, uniform priors: virtual loss sends the first
    # 7 to 7 different children, the 8th runs into one of them and ends the step.
    assert len(evaluator.calls[1]) == 7


# -- tree reuse ---------------------------------------------------------------------------------
def test_advance_keeps_the_child_subtree():
    search = searcher(C4, Hashed(C4), simulations=200)
    search.set_root(0, play(C4, 3))
    first = search.search([0], noise=False)
    action = int(first.action[0])
    kept = int(first.visits[0, action])
    assert kept > 1
    search.advance(0, action)
    assert search.root_state(0) == play(C4, 3, action)
    second = search.search([0], noise=False)
    # the child had ``kept`` visits: its own evaluation plus kept - 1 through its children
    assert second.visits[0].sum() == 200 + kept - 1


def test_advance_to_an_unexpanded_child_starts_a_fresh_root():
    search = searcher(TTT, Recorder(TTT), simulations=3)
    search.set_root(0, play(TTT))
    result = search.search([0], noise=False)
    unvisited = int(np.flatnonzero(result.visits[0] == 0)[0])
    search.advance(0, unvisited)
    assert search.root_state(0) == play(TTT, unvisited)
    assert search.search([0], noise=False).visits[0].sum() == 3
    with pytest.raises(IllegalMoveError):
        search.advance(0, unvisited)  # that cell is taken now


def test_search_refuses_a_finished_game_and_a_tree_without_root():
    search = searcher(TTT, Recorder(TTT), trees=2, simulations=3)
    with pytest.raises(ValueError, match="set_root"):
        search.search([0], noise=False)
    search.set_root(0, play(TTT, 0, 3, 1, 4, 2))
    with pytest.raises(ValueError, match="over"):
        search.search([0], noise=False)
    search.set_root(1, play(TTT))
    with pytest.raises(ValueError, match="distinct"):
        search.search([1, 1], noise=False)


def test_compaction_preserves_the_trees():
    """A whole game with tree reuse overflows the first pool; the compacted search must give
    the same visits as one whose pool never fills."""

    def game_visits(search: PuctSearch) -> list[np.ndarray]:
        search.set_root(0, play(C4))
        out = []
        for _ in range(20):
            result = search.search([0], noise=False)
            out.append(result.visits[0].copy())
            search.advance(0, int(result.action[0]))
        return out

    small = searcher(C4, Hashed(C4), simulations=150)
    assert len(small._nodes) < 20 * 150  # it has to compact
    large = searcher(C4, Hashed(C4), simulations=150)
    large._allocate(1 << 15, 1 << 18)
    for a, b in zip(game_visits(small), game_visits(large), strict=True):
        np.testing.assert_array_equal(a, b)
    assert len(small._nodes) < len(large._nodes)


def test_a_failed_evaluation_leaves_the_tree_usable():
    class Failing(Recorder):
        def prior_and_value(self, states):
            if len(self.calls) == 2:  # the root, one step, then the failure
                self.calls.append([])
                raise KeyboardInterrupt
            return super().prior_and_value(states)

    search = searcher(C4, Failing(C4), simulations=10, leaves_per_tree=2)
    search.set_root(0, play(C4))
    with pytest.raises(KeyboardInterrupt):
        search.search([0], noise=False)
    assert not search._nodes[:, _PENDING].any()  # no pending visit left behind
    search.evaluator = Recorder(C4)
    result = search.search([0], noise=False)
    assert result.visits[0].sum() == 10 + 2  # plus the step that completed before the failure
    assert not search._nodes[:, _PENDING].any()


def test_reset_empties_every_tree():
    search = searcher(TTT, Recorder(TTT), trees=2, simulations=5)
    search.set_root(0, play(TTT))
    search.search([0], noise=False)
    search.reset()
    with pytest.raises(ValueError, match="set_root"):
        search.root_state(0)
    search.set_root(1, play(TTT, 4))
    assert search.search([1], noise=False).visits[0].sum() == 5


# -- noise --------------------------------------------------------------------------------------
def test_dirichlet_noise_changes_only_the_root_priors_of_a_noisy_search():
    state = play(C4, 3)
    uniform = C4.legal_mask(state) / C4.legal_mask(state).sum()
    search = searcher(C4, Recorder(C4), seed=5, simulations=64)
    search.set_root(0, state)
    plain = search.search([0], noise=False)
    np.testing.assert_allclose(plain.prior[0], uniform, rtol=1e-6)
    noisy = search.search([0], noise=True)
    assert not np.allclose(noisy.prior[0], uniform)
    assert noisy.prior[0].sum() == pytest.approx(1.0, abs=1e-5)
    # the stored priors stay the evaluator's: a later search without noise sees them
    np.testing.assert_allclose(search.search([0], noise=False).prior[0], uniform, rtol=1e-6)
    # and a child that becomes the root has the evaluator's priors, never the noise
    child = int(np.argmax(noisy.visits[0]))
    search.advance(0, child)
    child_state = play(C4, 3, child)
    child_uniform = C4.legal_mask(child_state) / C4.legal_mask(child_state).sum()
    np.testing.assert_allclose(search.search([0], noise=False).prior[0], child_uniform, rtol=1e-6)


def test_noise_is_deterministic_given_the_seed():
    def run(seed: int, root: str):
        # under gumbel, zero values and uniform priors leave the choices to the noise alone
        evaluator = Hashed(C4) if root == "puct" else Recorder(C4)
        search = searcher(C4, evaluator, trees=2, seed=seed, simulations=40, root=root)
        search.set_root(0, play(C4))
        search.set_root(1, play(C4, 2))
        return search.search([0, 1], noise=True)

    for root in ("puct", "gumbel"):
        a, b, c = run(7, root), run(7, root), run(8, root)
        np.testing.assert_array_equal(a.visits, b.visits)
        np.testing.assert_array_equal(a.policy, b.policy)
        np.testing.assert_array_equal(a.prior, b.prior)
        assert not np.array_equal(a.visits, c.visits)


def test_dirichlet_alpha_zero_means_ten_over_the_legal_actions():
    # the auto alpha is 10 / 7 on an empty connect four board: noise with that alpha drawn
    # from the same generator reproduces the root priors exactly
    search = searcher(C4, Recorder(C4), seed=3, simulations=1, dirichlet_fraction=0.5)
    search.set_root(0, play(C4))
    result = search.search([0], noise=True)
    expected = 0.5 / 7 + 0.5 * np.random.default_rng(3).dirichlet(np.full(7, 10 / 7))
    np.testing.assert_allclose(result.prior[0], expected, rtol=1e-5)


# -- Gumbel schedule ----------------------------------------------------------------------------
def test_sequential_halving_schedule_is_mctx():
    table = _considered_visits(4, 16)
    assert table[4].tolist() == [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert table[1].tolist() == list(range(16))


def test_gumbel_without_noise_searches_the_top_m_prior_actions():
    class Favourite(Recorder):  # prior order 3 > 2 > 4 > the rest
        def shape_priors(self, states, legal):
            return legal * np.array([1, 1, 4, 8, 2, 1, 1], dtype=np.float32)

    search = searcher(C4, Favourite(C4), simulations=3, root="gumbel", gumbel_actions=3)
    search.set_root(0, play(C4))
    result = search.search([0], noise=False)
    assert np.flatnonzero(result.visits[0]).tolist() == [2, 3, 4]


# -- errors -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("simulations", 0, "simulations must be at least 1, got 0"),
        ("leaves_per_tree", -2, "leaves_per_tree must be at least 1, got -2"),
        ("simulations", 2.5, "simulations must be an integer, got 2.5"),
        ("c_base", 0.0, "c_base must be positive, got 0.0"),
        ("dirichlet_fraction", 1.5, "dirichlet_fraction must be in [0, 1], got 1.5"),
        ("virtual_loss", float("nan"), "virtual_loss must be finite, got nan"),
        ("root", "muzero", "root must be 'puct' or 'gumbel', got 'muzero'"),
    ],
)
def test_bad_config_values_raise_spec_error(field, value, message):
    with pytest.raises(SpecError) as info:
        PuctConfig(**{field: value})
    assert str(info.value) == message


def test_a_game_with_chance_nodes_is_refused():
    game = make_game("backgammon")
    with pytest.raises(IncompatibleEnvError, match="has chance nodes: use alphazero-dice"):
        PuctSearch(game, Recorder(game), PuctConfig(), 1, np.random.default_rng(0))
