"""The one agent builder and what hangs off it: checkpoint specs with parameters, run-time
settings, and the terminal features of `rlkit play` (--watch, --opening-moves, Ctrl-C)."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time

import numpy as np
import pytest

import rlkit
from rlkit.builder import Runtime, build_agent, is_checkpoint_reference
from rlkit.checkpoint import save_agent
from rlkit.cli import main
from rlkit.errors import CheckpointError, IncompatibleEnvError, SpecError
from rlkit.match import play_match


def test_make_agent_builds_game_agents_too():
    game = rlkit.make_game("backgammon")
    agent = rlkit.make_agent("td-gammon:ply=2", game=game, threads=1)
    assert agent.config.ply == 2 and agent.game is game


def test_game_agent_needs_a_game():
    env = rlkit.make_env("cliff")
    with pytest.raises(SpecError, match="searches a game"):
        rlkit.make_agent("minimax", env=env)


def test_observation_agent_at_a_game_gets_the_game_env_spaces():
    game = rlkit.make_game("tictactoe")
    agent = build_agent("random", game=game, seed=0)
    assert agent.num_actions == 9


@pytest.fixture
def cliff_checkpoint(tmp_path):
    env = rlkit.make_env("cliff")
    agent = rlkit.make_agent("q-learning:epsilon=0.3", env=env, seed=0)
    save_agent(tmp_path / "q.pt", "q-learning", agent, env="cliff")
    return tmp_path / "q.pt"


def test_checkpoint_spec_takes_parameters(cliff_checkpoint):
    env = rlkit.make_env("cliff")
    agent = build_agent(f"{cliff_checkpoint}:epsilon=0.05", env=env)
    assert agent.config.epsilon == 0.05
    assert is_checkpoint_reference(f"{cliff_checkpoint}:epsilon=0.05")
    with pytest.raises(SpecError, match="no parameter"):
        build_agent(f"{cliff_checkpoint}:epsilonn=0.05", env=env)


def test_checkpoint_that_does_not_fit_is_refused_in_one_place(cliff_checkpoint):
    with pytest.raises(IncompatibleEnvError, match="observation_space"):
        build_agent(str(cliff_checkpoint), game=rlkit.make_game("tictactoe"))
    with pytest.raises(IncompatibleEnvError, match="observation_space"):
        build_agent(str(cliff_checkpoint), env=rlkit.make_env("FrozenLake-v1"))


def test_runtime_device_overrides_a_stored_device(tmp_path):
    """A checkpoint saved with device=cuda loads on a CPU machine with device cpu (or auto)."""
    pytest.importorskip("torch")
    env = rlkit.make_env("CartPole-v1")
    agent = rlkit.make_agent("reinforce:device=cpu", env=env, seed=0)
    save_agent(tmp_path / "r.pt", "reinforce", agent, env="CartPole-v1")
    from rlkit.checkpoint import load_checkpoint, save_checkpoint

    ckpt = load_checkpoint(tmp_path / "r.pt")
    meta = {**ckpt.metadata, "config": {**ckpt.metadata["config"], "device": "cuda"}}
    save_checkpoint(tmp_path / "gpu.pt", meta, ckpt.tensors)
    loaded = build_agent(str(tmp_path / "gpu.pt"), env=env, runtime=Runtime(device="cpu"))
    assert loaded.config.device == "cpu"
    assert build_agent(str(tmp_path / "gpu.pt"), env=env).config.device == "auto"


def test_runtime_rejects_bad_settings():
    with pytest.raises(SpecError):
        Runtime(device="tpu")
    with pytest.raises(SpecError):
        Runtime(threads=0)


def test_missing_path_is_named_as_a_path():
    with pytest.raises(CheckpointError, match="does not exist"):
        build_agent("runs/never-trained", env=rlkit.make_env("cliff"))


def test_opening_moves_are_shared_by_both_colourings():
    game = rlkit.make_game("tictactoe")
    result = play_match(game, "random", "random", 6, seed=3, opening_moves=3)
    openings = [r.moves[:3] for r in result.records]
    assert openings[0] == openings[1] and openings[2] == openings[3]
    assert len({openings[0], openings[2], openings[4]}) > 1


def test_watch_prints_every_move(capsys):
    assert main(["play", "random", "random", "--env", "tictactoe", "--games", "1", "--watch"]) == 0
    out = capsys.readouterr().out
    assert out.count("player 0:") + out.count("player 1:") >= 5


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.startswith("rlkit ")


def test_help_shows_defaults(capsys):
    with pytest.raises(SystemExit):
        main(["play", "--help"])
    assert "(default: 10)" in capsys.readouterr().out


def _wait_for(path, proc, seconds=60):
    deadline = time.monotonic() + seconds
    while not path.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.1)


def test_sigterm_saves_like_ctrl_c_and_metrics_keep_one_line_ending(tmp_path):
    run = tmp_path / "run"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rlkit",
            "train",
            "q-learning",
            "--env",
            "cliff",
            "--steps",
            "50000000",
            "--log-interval",
            "500",
            "--out",
            str(run),
            "--no-tensorboard",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _wait_for(run / "metrics.csv", proc)
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert (run / "checkpoint.pt").exists() and "--resume" in err
    from rlkit.checkpoint import load_checkpoint

    steps = load_checkpoint(run / "checkpoint.pt").metadata["training"]["steps"]
    resumed = subprocess.run(
        [
            sys.executable,
            "-m",
            "rlkit",
            "train",
            "--resume",
            str(run),
            "--steps",
            str(steps + 2000),
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert resumed.returncode == 0, resumed.stderr
    data = (run / "metrics.csv").read_bytes()
    assert b"\r\n" not in data and data.count(b"\n") > 2
    # Checkpoints get the permissions of any new file (the umask), like metrics.csv.
    mode = stat.S_IMODE(os.stat(run / "final.pt").st_mode)
    assert mode == stat.S_IMODE(os.stat(run / "metrics.csv").st_mode)


def test_ctrl_c_in_play_prints_the_score_so_far(tmp_path):
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rlkit",
            "play",
            "mcts:simulations=200",
            "random",
            "--env",
            "connect4",
            "--games",
            "1000",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # Interrupt once the first game is done (the progress bar shows 1/1000), not after a fixed
    # sleep: on a cold, loaded machine start-up alone can outlast any fixed delay.
    progress = ""
    while "1/1000" not in progress:
        char = proc.stderr.read(1)
        assert char, f"play ended before its first game: {progress}"
        progress += char
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    err = progress + err
    assert proc.returncode == 130, err
    assert "score so far" in err and "games," in out
    assert "Traceback" not in err


def test_seeded_match_repeats():
    game = rlkit.make_game("connect4")
    a = play_match(game, "mcts:simulations=30", "random", 4, seed=5, opening_moves=2)
    b = play_match(game, "mcts:simulations=30", "random", 4, seed=5, opening_moves=2)
    assert [r.moves for r in a.records] == [r.moves for r in b.records]
    assert np.array_equal(a.points_of_a(), b.points_of_a())
