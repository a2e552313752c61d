"""AlphaZero: self-play records, training, determinism, exact resume, kill -9, bad input."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from rlkit.agents.alphazero import AlphaZero, AlphaZeroConfig, ReplayBuffer, augment_randomly
from rlkit.builder import load_agent
from rlkit.checkpoint import load_checkpoint
from rlkit.errors import IncompatibleEnvError, SpecError
from rlkit.match import play_match
from rlkit.registry import make_game
from rlkit.training import RunSettings, train

TINY = dict(
    net="mlp:hidden=32",
    simulations=8,
    games_in_flight=4,
    games_per_generation=4,
    batch_size=32,
    eval_every=0,
    device="cpu",
    autocast="off",
)
TINY_SPEC = "alphazero:" + ",".join(
    f"{k}=[{v}]" if ":" in str(v) else f"{k}={v}" for k, v in TINY.items()
)


def make(game: str = "tictactoe", seed: int = 0, **overrides) -> AlphaZero:
    return AlphaZero(AlphaZeroConfig(**{**TINY, **overrides}), make_game(game), seed=seed)


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.run(
        [sys.executable, "-m", "rlkit", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=300,
    )


# -- self-play ---------------------------------------------------------------------------------
def test_self_play_records_every_decision_with_a_search_policy_and_the_movers_result():
    agent = make()
    games = agent.self_play(6)
    assert len(games) == 6
    for played in games:
        n = played["moves"]
        assert played["x"].shape == (n, 3, 3, 3) and played["policy"].shape == (n, 9)
        np.testing.assert_allclose(played["policy"].sum(axis=1), 1.0, atol=1e-5)
        assert not (played["policy"][~played["legal_mask"]]).any()
        # z alternates with the mover: tic-tac-toe players alternate, so signs alternate.
        z = played["z"]
        assert set(np.unique(np.abs(z))) <= {0.0, 1.0}
        if played["returns"][0] != 0:
            assert (z[::2] == played["returns"][0]).all() and (z[1::2] == -z[0]).all()


def test_q_weight_mixes_the_outcome_with_the_search_value():
    def targets(q_weight: float):
        games = make(seed=3, q_weight=q_weight).self_play(4)
        return [g["moves"] for g in games], np.concatenate([g["z"] for g in games])

    moves, z = targets(0.0)  # the outcome alone
    same_moves, q = targets(1.0)  # the root values alone (the same games: play is unchanged)
    assert same_moves == moves and set(np.unique(np.abs(z))) <= {0.0, 1.0}
    assert np.abs(q).max() <= 1 and not set(np.unique(np.abs(q))) <= {0.0, 1.0}
    np.testing.assert_allclose(targets(0.5)[1], 0.5 * z + 0.5 * q, atol=1e-6)
    with pytest.raises(SpecError, match="q_weight"):
        AlphaZeroConfig(**{**TINY, "q_weight": 1.5})


def test_same_seed_same_self_play_and_training():
    a, b = make(seed=3), make(seed=3)
    for agent in (a, b):
        games = agent.self_play(4)
        for g in games:
            agent.replay.add(g["x"], g["policy"], g["legal_mask"], g["z"])
        agent.train_generation(sum(g["moves"] for g in games))
    for (name, p), (_, q) in zip(
        a.network.state_dict().items(), b.network.state_dict().items(), strict=True
    ):
        assert torch.equal(p, q), name


def test_replay_buffer_keeps_the_newest_rows():
    buffer = ReplayBuffer(5, (1,), 2)
    rows = np.arange(7, dtype=np.float32)
    buffer.add(rows[:, None], np.ones((7, 2), np.float32) / 2, np.ones((7, 2), bool), rows)
    assert len(buffer) == 5 and buffer.added == 7
    assert sorted(buffer.z.tolist()) == [2, 3, 4, 5, 6]


def test_random_symmetry_moves_the_policy_with_the_board():
    game = make_game("tictactoe")
    x = np.zeros((200, 3, 3, 3), np.float32)
    x[:, 0, 0, 2] = 1.0  # a stone in the top-right corner (action 2)
    policy = np.zeros((200, 9), np.float32)
    policy[:, 2] = 1.0
    arrays = {"x": x, "policy": policy, "legal_mask": np.ones((200, 9), bool), "z": np.zeros(200)}
    out = augment_randomly(arrays, game, np.random.default_rng(0))
    for row in range(200):  # the policy's mass stays on the stone's square
        cell = int(np.flatnonzero(out["x"][row, 0].reshape(-1))[0])
        assert out["policy"][row, cell] == 1.0
    assert len({int(np.argmax(p)) for p in out["policy"]}) == 4  # the 4 corners all appear


# -- acting ------------------------------------------------------------------------------------
def test_acts_legally_and_keeps_its_tree_across_moves():
    game = make_game("connect4")
    agent = make("connect4", simulations=16, leaves_per_tree=4)
    rng = np.random.default_rng(0)
    state, moves = game.initial_state(), 0
    while not game.is_terminal(state):
        if moves % 2 == 0:
            action = agent.act(state)
            assert action in game.legal_actions(state)
            kept = agent._play_search
        else:  # a random reply: the next search starts from the reused subtree
            legal = game.legal_actions(state)
            action = legal[int(rng.integers(len(legal)))]
        state = game.apply(state, action)
        moves += 1
        if moves % 2 == 1 and moves > 1:
            assert agent._play_search is kept
    assert moves >= 7


# -- bad input ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "overrides, words",
    [
        ({"simulations": 0}, "simulations must be at least 1"),
        ({"search": "beam"}, "search must be"),
        ({"dirichlet_fraction": 2.0}, "dirichlet_fraction"),
        ({"lr_schedule": "cosine:min=2"}, "cosine schedule"),
        ({"lr_schedule": "sawtooth"}, "schedule"),
    ],
)
def test_bad_config_is_one_line(overrides, words):
    with pytest.raises(SpecError, match=words):
        AlphaZeroConfig(**{**TINY, **overrides})


def test_backgammon_is_refused_with_the_dice_variant_named():
    with pytest.raises(IncompatibleEnvError, match="alphazero-dice"):
        make("backgammon")


def test_a_network_that_does_not_fit_the_board_is_refused():
    with pytest.raises(SpecError, match="larger than the 3x3 board"):
        make(net="resnet:blocks=1,channels=8,kernel=5")


# -- runs: resume exactly, kill -9, the CLI ----------------------------------------------------
def _settings(episodes: int) -> RunSettings:
    return RunSettings(agent=TINY_SPEC, env="tictactoe", seed=1, episodes=episodes)


def test_resume_from_a_generation_checkpoint_continues_exactly(tmp_path):
    straight = train(_settings(12), tmp_path / "a", progress=False, tensorboard=False)
    train(_settings(8), tmp_path / "b", progress=False, tensorboard=False)
    resumed = train(_settings(12), tmp_path / "b", resume=True, progress=False, tensorboard=False)
    assert resumed.generations == straight.generations == 3
    for (name, p), (_, q) in zip(
        straight.network.state_dict().items(), resumed.network.state_dict().items(), strict=True
    ):
        assert torch.equal(p, q), name
    assert resumed.replay.added == straight.replay.added


def test_lr_schedule_is_laid_out_over_the_budget_and_a_resume_continues_it(tmp_path):
    spec = TINY_SPEC + ",lr_schedule=[cosine:min=0.1]"
    settings = RunSettings(agent=spec, env="tictactoe", seed=1, episodes=16)
    agent = train(settings, tmp_path / "a", progress=False, tensorboard=False)
    # 4 generations of 4 games; the last trains after 12 of the 16 games: t = 0.75
    factor = 0.1 + 0.9 * 0.5 * (1 + np.cos(np.pi * 0.75))
    assert agent.optimizer.param_groups[0]["lr"] == pytest.approx(2e-3 * factor)
    part = RunSettings(agent=spec, env="tictactoe", seed=1, episodes=8)
    train(part, tmp_path / "b", progress=False, tensorboard=False)
    resumed = train(settings, tmp_path / "b", resume=True, progress=False, tensorboard=False)
    # the resumed run goes on from where its games put it on the new budget, not from t = 0
    assert resumed.generations == 4
    assert resumed.optimizer.param_groups[0]["lr"] == pytest.approx(2e-3 * factor)


def test_kill_9_then_resume_continues_from_the_last_generation(tmp_path):
    run = tmp_path / "run"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "rlkit", "train", TINY_SPEC, "--env", "tictactoe",
         "--minutes", "10", "--out", str(run), "--quiet", "--no-tensorboard"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while not (run / "checkpoint.pt").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(0.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert (run / "checkpoint.pt").exists(), proc.stderr.read().decode()
    done = load_checkpoint(run / "checkpoint.pt").metadata["extra_state"]["generations"]
    result = cli("train", "--resume", str(run), "--episodes", "400", "--quiet",
                 "--no-tensorboard", cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    final = load_checkpoint(run / "final.pt")
    assert final.metadata["extra_state"]["generations"] > done
    assert final.metadata["training"]["episodes"] >= 400


def test_checkpoint_plays_with_play_time_overrides_and_refuses_another_game(tmp_path):
    train(_settings(4), tmp_path / "run", progress=False, tensorboard=False)
    agent = load_agent(str(tmp_path / "run") + ":simulations=3", game=make_game("tictactoe"))
    assert agent.config.simulations == 3
    result = cli("play", str(tmp_path / "run"), "random", "--env", "connect4", cwd=tmp_path)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_cli_refuses_zero_simulations_in_one_line(tmp_path):
    result = cli("train", "alphazero:simulations=0", "--env", "tictactoe", "--episodes", "4",
                 "--out", str(tmp_path / "r"), cwd=tmp_path)  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert "simulations must be at least 1" in result.stderr
    assert not (tmp_path / "r").exists()


# -- learning --------------------------------------------------------------------------------------
@pytest.mark.slow
def test_tic_tac_toe_from_self_play_never_loses_to_perfect_play(tmp_path):
    settings = RunSettings(
        agent="alphazero:simulations=32,games_in_flight=32,games_per_generation=32,"
        "eval_every=0,device=cpu",
        env="tictactoe",
        seed=0,
        minutes=3,
    )
    train(settings, tmp_path / "ttt", progress=False, tensorboard=False)
    # 100 games, colours alternating (50 as each player).
    result = play_match(make_game("tictactoe"), str(tmp_path / "ttt"), "minimax", 100, seed=1)
    assert result.summary()["losses"] == 0


def test_evaluation_scores_references_and_the_previous_network():
    agent = make(eval_opponents="random;minimax:depth=1", eval_games=4, eval_simulations=4)
    first = agent.evaluate_references()
    assert set(first) == {
        "score_vs_random", "elo_vs_random", "score_vs_minimax_depth_1", "elo_vs_minimax_depth_1"
    }  # fmt: skip
    assert all(0 <= first[k] <= 1 for k in first if k.startswith("score"))
    second = agent.evaluate_references()
    assert "score_vs_previous" in second and 0 <= second["score_vs_previous"] <= 1
