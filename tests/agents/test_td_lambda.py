"""TD(lambda) self-play: the 198 inputs by hand, the compiled learner against a plain autograd
replay of TD(lambda), seeding, checkpoints, 2-ply play, and a short learning run."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch

from rlkit.agents.td_lambda import (
    NUM_FEATURES,
    TDLambda,
    TDLambdaConfig,
    encode_board,
    encode_boards,
    equity,
    flip_outputs,
)
from rlkit.envs import backgammon_kernels as kernels
from rlkit.envs.backgammon import START_BOARD, BackgammonGame
from rlkit.envs.tictactoe import TicTacToe
from rlkit.errors import CheckpointError, IncompatibleEnvError
from rlkit.game import CHANCE, TERMINAL
from rlkit.match import Player, make_player, play_game
from rlkit.specs import build_config

GAME = BackgammonGame()
START_ID = "4HPwATDgc/ABMA"


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """As the CLI runs (--threads 1): small forward passes are fastest on one thread."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def agent(seed: int = 0, **params) -> TDLambda:
    return TDLambda(TDLambdaConfig(**params), GAME, seed=seed)


def decision_states(seed: int, count: int) -> list:
    """States with a player to move, from uniformly random games."""
    rng = np.random.default_rng(seed)
    states = []
    while len(states) < count:
        state = GAME.initial_state()
        while GAME.current_player(state) != TERMINAL and len(states) < count:
            if GAME.current_player(state) == CHANCE:
                state = GAME.apply(state, GAME.sample_chance(state, rng))
                continue
            states.append(state)
            legal = GAME.legal_actions(state)
            state = GAME.apply(state, legal[int(rng.integers(len(legal)))])
    return states


# -- the 198 inputs ----------------------------------------------------------------------------
def test_encoding_of_the_starting_position():
    x = encode_board(START_BOARD, 0)
    assert x.shape == (NUM_FEATURES,) and x.dtype == np.float32
    expected = np.zeros(198, np.float32)
    for base in (0, 98):  # both sides have the same checkers, each from its own side
        expected[base + 4 * 5 : base + 4 * 5 + 4] = [1, 1, 1, 1]  # 6-point: 5, (5-3)/2 = 1
        expected[base + 4 * 7 : base + 4 * 7 + 3] = 1  # 8-point: 3
        expected[base + 4 * 12 : base + 4 * 12 + 4] = [1, 1, 1, 1]  # 13-point: 5
        expected[base + 4 * 23 : base + 4 * 23 + 2] = 1  # 24-point: 2
    # ... but the opponent's points are numbered from player 0's side: 25 - p.
    opp = expected[98:194].reshape(24, 4).copy()
    expected[98:194] = opp[::-1].reshape(-1)
    expected[197] = 1  # the opponent is on roll
    np.testing.assert_array_equal(x, expected)
    assert x.sum() == 27.0  # 13 + 13 + 1


def test_encoding_of_bar_borne_off_and_big_stacks():
    # Player 0: 9 on its 6-point, 1 on the bar, 5 off. Player 1: 2 on its 24 (player 0's 1),
    # 1 on the bar, 12 off.
    state = GAME.state_from_points({6: 9, "bar": 1}, {24: 2, "bar": 1})
    board = np.frombuffer(state.board, np.int8)
    x = encode_board(board, 0)
    assert x[20:24].tolist() == [1, 1, 1, 3.0]  # (9 - 3) / 2
    assert (x[96], x[97]) == (0.5, 5 / 15)
    assert x[98:100].tolist() == [1, 1] and x[100:102].tolist() == [0, 0]  # player 0's 1-point
    assert (x[194], x[195]) == (0.5, np.float32(12 / 15))
    assert (x[196], x[197]) == (0, 1)
    assert x.sum() == pytest.approx(6 + 0.5 + 5 / 15 + 2 + 0.5 + 12 / 15 + 1)
    # The same position seen by player 1, on roll itself
    y = encode_board(board, 1, on_roll=1)
    assert y[4 * 23 : 4 * 23 + 2].tolist() == [1, 1] and (y[196], y[197]) == (1, 0)
    assert y[98 + 4 * 18 + 3] == 3.0  # player 0's 6-point is player 1's 19-point
    np.testing.assert_array_equal(encode_boards(np.stack([board, board]), 0)[1], x)


def test_flip_and_equity():
    o = np.array([0.7, 0.2, 0.05, 0.1, 0.01])
    assert equity(o) == pytest.approx(0.4 + 0.1 + 0.04)
    assert equity(flip_outputs(o)) == pytest.approx(-equity(o))
    np.testing.assert_allclose(flip_outputs(flip_outputs(o)), o)


# -- learning: the compiled TD(lambda) against an autograd replay ------------------------------
def reference_td_lambda(net: torch.nn.Module, afterstates, alpha: float, lam: float) -> None:
    """TD(lambda) with one eligibility trace per output and parameter, written plainly:
    the recorded afterstates alternate between the players; each is valued for its mover,
    its successor flipped to the same player's view (or the game's result at the end)."""
    params = list(net.parameters())
    traces = [torch.zeros(5, *p.shape, dtype=torch.float64) for p in params]
    flip_rows = [3, 4, 1, 2]
    v_prev = None
    for t, row in enumerate(afterstates):
        board, mover = row[:52], int(row[52])
        finished = board[26 * mover] == 15
        x = torch.from_numpy(encode_board(board, mover)).double()
        if finished:
            points = kernels.result_points(board, mover)
            value = torch.tensor([1.0, points >= 2, points == 3, 0, 0], dtype=torch.float64)
        else:
            with torch.no_grad():
                value = torch.sigmoid(net(x))
        if t > 0:
            target = torch.cat([1 - value[:1], value[[3, 4, 1, 2]]])  # the previous mover's
            delta = target - v_prev
            with torch.no_grad():
                for p, e in zip(params, traces, strict=True):
                    p += alpha * torch.einsum("k,k...->...", delta, e)
                    e.copy_(lam * torch.cat([-e[:1], e[flip_rows]]))
        if finished:
            return
        out = torch.sigmoid(net(x))
        for k in range(5):
            grads = torch.autograd.grad(out[k], params, retain_graph=True)
            for e, g in zip(traces, grads, strict=True):
                e[k] += g
        v_prev = out.detach()


@pytest.mark.parametrize("lam", [0.0, 0.7])
def test_compiled_learner_matches_a_plain_td_lambda_replay(lam):
    learner = agent(seed=3, hidden=6, alpha=0.05, trace_decay=lam)
    for _ in range(3):  # a few games first, so the weights are not the initial ones
        learner.train_game()
    reference = copy.deepcopy(learner.net).double()
    played = learner.train_game(record=True)
    assert played.winner in (0, 1) and played.afterstates.shape == (played.moves, 53)
    reference_td_lambda(reference, played.afterstates, alpha=0.05, lam=lam)
    for name, tensor in learner.net.state_dict().items():
        expected = reference.state_dict()[name].float()
        torch.testing.assert_close(tensor, expected, atol=2e-4, rtol=1e-3, msg=name)


def test_trace_decay_zero_and_one_differ_only_through_the_traces():
    # With lambda = 0 only the last gradient is eligible; lambda = 1 keeps them all: the
    # same recorded game moves the weights differently.
    a, b = agent(seed=5, hidden=6, trace_decay=0.0), agent(seed=5, hidden=6, trace_decay=1.0)
    ga, gb = a.train_game(record=True), b.train_game(record=True)
    assert ga.afterstates[0].tolist() == gb.afterstates[0].tolist()  # same start
    assert not torch.equal(a.net.layers[0].weight, b.net.layers[0].weight)


def test_self_play_changes_the_weights_and_reports_games():
    learner = agent(seed=1)
    before = {k: v.clone() for k, v in learner.net.state_dict().items()}
    results = [learner.train_game() for _ in range(5)]
    assert learner.games_trained == 5
    assert all(r.winner in (0, 1) and r.points in (1, 2, 3) and r.moves > 10 for r in results)
    assert all(0 < r.td_error < 1 for r in results)
    after = learner.net.state_dict()
    assert all(not torch.equal(before[k], after[k]) for k in before)


def test_seeded_runs_repeat_exactly():
    a, b, c = agent(seed=7), agent(seed=7), agent(seed=8)
    for learner in (a, b, c):
        for _ in range(5):
            learner.train_game()
    for name, tensor in a.net.state_dict().items():
        assert torch.equal(tensor, b.net.state_dict()[name])
    assert not torch.equal(a.net.layers[0].weight, c.net.layers[0].weight)


# -- playing, checkpoints ----------------------------------------------------------------------
def test_act_plays_the_best_one_ply_equity():
    learner = agent(seed=2)
    for state in decision_states(0, 40):
        after = GAME.afterstates(state)
        boards = np.stack([np.frombuffer(s.board, np.int8) for _, s in after])
        values = equity(learner.outputs(boards, state.turn))
        assert learner.act(state) == after[int(np.argmax(values))][0]


def test_a_winning_move_is_played():
    learner = agent(seed=0)
    state = GAME.state_from_points({1: 1, 2: 1}, {6: 15}, (2, 1))  # 2/off 1/off wins a gammon
    assert GAME.move_to_notation(state, learner.act(state)) == "2/off 1/off"


def two_ply_reference(learner: TDLambda, state) -> int:
    """2-ply by the game's own API: for each move, each of the 21 rolls, the opponent's best
    1-ply reply; the move with the best mean (weighted by the rolls' probabilities)."""
    me = state.turn
    best_value, best_action = -math.inf, None
    for action, after in GAME.afterstates(state):
        if GAME.current_player(after) == TERMINAL:
            value = float(GAME.returns(after)[me])
        else:
            value = 0.0
            for high in range(1, 7):
                for low in range(1, high + 1):
                    rolled = GAME.with_dice(after, (high, low))
                    boards = np.stack(
                        [np.frombuffer(s.board, np.int8) for _, s in GAME.afterstates(rolled)]
                    )
                    theirs = equity(learner.outputs(boards, 1 - me)).max()
                    value -= (1 if high == low else 2) / 36 * theirs
        if value > best_value + 1e-9:
            best_value, best_action = value, action
    return best_action


def test_two_ply_matches_a_plain_expectiminimax():
    learner = agent(seed=0, ply=2, candidates=1000)  # every move gets the look-ahead
    for _ in range(20):
        learner.train_game()
    for state in decision_states(4, 12)[::3]:
        assert learner.act(state) == two_ply_reference(learner, state)


def test_two_ply_looks_ahead_from_only_the_candidates(monkeypatch):
    """With candidates=4 the look-ahead generates replies for 4 moves x 21 rolls, whatever the
    number of legal moves (its speed is measured in scripts/bench_search_limits.py)."""
    import types

    import rlkit.agents.td_lambda as td_module

    learner = agent(seed=0, ply=2, candidates=4)
    for state in decision_states(5, 4):
        assert learner.act(state) in GAME.legal_actions(state)
    calls = []

    def generate(*args):
        calls.append(args[0].tobytes())
        return kernels.generate(*args)

    monkeypatch.setattr(td_module, "kernels", types.SimpleNamespace(generate=generate))
    state = GAME.state_from_position_id(START_ID, (6, 5))
    assert len(GAME.legal_actions(state)) > 4
    learner.act(state)
    assert len(calls) == 4 * 21 and len(set(calls)) == 4


def test_checkpoint_round_trip_gives_the_same_moves_and_the_same_future():
    learner = agent(seed=4)
    for _ in range(10):
        learner.train_game()
    tensors, extra = learner.state_dict(), learner.extra_state()
    restored = agent(seed=99)
    restored.load_state_dict(tensors)
    restored.load_extra_state(extra)
    assert restored.games_trained == 10
    for state in decision_states(1, 30):
        assert restored.act(state) == learner.act(state)
    learner.train_game()
    restored.train_game()  # the dice generator continues where it was saved
    for name, tensor in learner.net.state_dict().items():
        assert torch.equal(tensor, restored.net.state_dict()[name])


def test_loading_other_weights_fails_clearly():
    with pytest.raises(CheckpointError, match="hidden=40"):
        agent(hidden=40).load_state_dict(agent(hidden=80).state_dict())
    with pytest.raises(CheckpointError, match="unexpected"):
        agent().load_state_dict({"policy.weight": torch.zeros(1)})


def test_config_validation_and_game_check():
    with pytest.raises(ValueError, match="trace_decay"):
        TDLambdaConfig(trace_decay=1.5)
    with pytest.raises(ValueError, match="ply"):
        TDLambdaConfig(ply=3)
    with pytest.raises(ValueError, match="eval_games"):
        TDLambdaConfig(eval_games=7)
    assert (
        build_config(TDLambdaConfig, {"hidden": "40", "trace_decay": "0"}, owner="t").hidden == 40
    )
    with pytest.raises(IncompatibleEnvError, match="backgammon"):
        TDLambda(TDLambdaConfig(), TicTacToe())


# -- fit and the session -----------------------------------------------------------------------
class FakeSession:
    def __init__(self, games: int) -> None:
        self.games, self.rows = games, []

    @property
    def finished(self) -> bool:
        return len(self.rows) >= self.games

    def end_episode(self, episode_return: float, length: int, metrics: dict) -> None:
        self.rows.append((episode_return, length, metrics))


def test_fit_reports_every_game_with_the_same_metric_keys():
    learner = agent(seed=0, eval_every=4, eval_games=20)
    session = FakeSession(9)
    learner.fit(GAME, session)
    assert len(session.rows) == 9 and learner.games_trained == 9
    keys = {tuple(sorted(m)) for _, _, m in session.rows}
    assert keys == {("alpha", "points", "pubeval_ppg", "td_error")}
    ppg = [m["pubeval_ppg"] for _, _, m in session.rows]
    assert all(math.isnan(p) for p in ppg[:3]) and not math.isnan(ppg[3])
    assert ppg[4:7] == [ppg[3]] * 3 and len(learner.evaluations) == 2
    assert all(abs(r) in (1, 2, 3) for r, _, _ in session.rows)


def test_evaluation_against_pubeval_uses_fixed_dice():
    learner = agent(seed=0)
    first = learner.evaluate_against_pubeval(20)
    assert first == learner.evaluate_against_pubeval(20)
    assert -3 <= first["points_per_game"] <= 3 and 0 <= first["win_rate"] <= 1


# -- learning ----------------------------------------------------------------------------------
def test_short_self_play_beats_random():
    learner = agent(seed=0, eval_every=0)
    for _ in range(1500):  # self-play speed: scripts/bench_search_limits.py
        learner.train_game()
    players = [Player("td-lambda", learner), make_player("random", GAME, seed=1)]
    rng = np.random.default_rng(0)
    wins = 0
    for g in range(200):
        seats = players if g % 2 == 0 else players[::-1]
        record = play_game(GAME, seats, rng)
        wins += record.returns[g % 2] > 0
    assert wins > 180, wins


def test_resumed_training_run_repeats_the_uninterrupted_one(tmp_path):
    import shutil

    from rlkit.checkpoint import load_checkpoint
    from rlkit.training import RunSettings, train

    settings = RunSettings(
        agent="td-lambda:hidden=20,eval_every=25,eval_games=10",
        env="backgammon",
        seed=3,
        episodes=60,
        checkpoint_interval=1500,
        log_interval=500,
    )
    whole, resumed = tmp_path / "whole", tmp_path / "resumed"
    train(settings, whole, progress=False, tensorboard=False)
    resumed.mkdir()
    for name in ("checkpoint.pt", "config.toml", "metrics.csv"):  # as if stopped there
        shutil.copy(whole / name, resumed / name)
    assert load_checkpoint(resumed / "checkpoint.pt").metadata["training"]["episodes"] < 60
    train(settings, resumed, resume=True, progress=False, tensorboard=False)
    a, b = load_checkpoint(whole / "final.pt"), load_checkpoint(resumed / "final.pt")
    assert all(torch.equal(a.tensors[k], b.tensors[k]) for k in a.tensors)
    assert (whole / "metrics.csv").read_text() == (resumed / "metrics.csv").read_text()


def test_learning_rate_anneals_exponentially_over_games():
    learner = TDLambda(TDLambdaConfig(alpha=0.1, alpha_final=0.001, alpha_decay_games=100), GAME)
    assert learner.learning_rate() == pytest.approx(0.1)
    learner.games_trained = 50
    assert learner.learning_rate() == pytest.approx(0.01)
    learner.games_trained = 1_000
    assert learner.learning_rate() == pytest.approx(0.001)
    assert TDLambda(TDLambdaConfig(alpha=0.05), GAME).learning_rate() == 0.05
