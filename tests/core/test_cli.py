"""The command line as a new user meets it: train, eval, list, resume, and every mistake."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rlkit.cli import main

PLUGINS = Path(__file__).parent.parent / "plugins"


def rlkit_cli(*args: str, cwd: Path | None = None, timeout: float = 120):
    """Run the installed command the way a user would, in a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "rlkit", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
    )


def test_train_writes_run_folder_and_eval_reads_it(tmp_path, capsys):
    run = tmp_path / "lake"
    assert (
        main(
            [
                "train",
                "q-learning:alpha=0.5",
                "--env",
                "FrozenLake-v1:is_slippery=false",
                "--steps",
                "20000",
                "--seed",
                "3",
                "--out",
                str(run),
                "--quiet",
            ]
        )
        == 0
    )
    assert {"config.toml", "metrics.csv", "final.pt"} <= {p.name for p in run.iterdir()}
    capsys.readouterr()
    assert main(["eval", str(run), "--episodes", "20", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["mean_return"] == 1.0 and result["episodes"] == 20 and result["ci95"] == 0.0


@pytest.mark.parametrize(
    ("agent", "env", "steps"),
    [("q-learning", "FrozenLake-v1", "30000"), ("reinforce", "CartPole-v1", "8000")],
)
def test_seeded_runs_repeat_exactly(tmp_path, agent, env, steps):
    def run(name: str, seed: str) -> str:
        args = ["train", agent, "--env", env, "--steps", steps, "--seed", seed]
        assert main([*args, "--log-interval", "500", "--out", str(tmp_path / name), "--quiet"]) == 0
        return (tmp_path / name / "metrics.csv").read_text()

    first = run("a", "11")
    assert first == run("b", "11")
    assert len(first.splitlines()) > 10
    assert first != run("c", "12")


def test_resume_from_periodic_checkpoint_matches_uninterrupted_run(tmp_path):
    args = [
        "q-learning",
        "--env",
        "FrozenLake-v1",
        "--steps",
        "30000",
        "--seed",
        "5",
        "--checkpoint-interval",
        "7000",
        "--quiet",
    ]
    assert main(["train", *args, "--out", str(tmp_path / "full")]) == 0
    # Simulate a crash after the last periodic checkpoint: no final.pt, metrics run ahead.
    crashed = tmp_path / "crashed"
    crashed.mkdir()
    for name in ("config.toml", "metrics.csv", "checkpoint.pt"):
        (crashed / name).write_bytes((tmp_path / "full" / name).read_bytes())
    assert main(["train", "--resume", str(crashed), "--quiet"]) == 0
    assert (crashed / "metrics.csv").read_text() == (tmp_path / "full" / "metrics.csv").read_text()
    from rlkit import load_agent

    assert load_agent(crashed / "final.pt").q == load_agent(tmp_path / "full" / "final.pt").q


def test_ctrl_c_saves_a_checkpoint_and_resume_finishes(tmp_path):
    run = tmp_path / "run"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rlkit",
            "train",
            "q-learning",
            "--env",
            "FrozenLake-v1",
            "--steps",
            "50000000",
            "--out",
            str(run),
            "--no-tensorboard",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not (run / "config.toml").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert (run / "checkpoint.pt").exists() and not (run / "final.pt").exists()
    assert "--resume" in err
    # A budget below what the run has done would silently do nothing: refused in one line.
    smaller = rlkit_cli("train", "--resume", str(run), "--steps", "1000", "--quiet")
    assert smaller.returncode == 2 and "must be larger" in smaller.stderr
    assert smaller.stderr.count("\n") == 1 and "Traceback" not in smaller.stderr
    from rlkit.checkpoint import load_checkpoint

    trained = load_checkpoint(run / "checkpoint.pt").metadata["training"]["steps"]
    done = rlkit_cli("train", "--resume", str(run), "--steps", str(trained + 1000), "--quiet")
    assert done.returncode == 0, done.stderr
    assert (run / "final.pt").exists()


def test_refuses_to_overwrite_a_run(tmp_path):
    run = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "random",
                "--env",
                "FrozenLake-v1",
                "--steps",
                "100",
                "--out",
                str(run),
                "--quiet",
            ]
        )
        == 2
    )  # random does not learn
    main(
        [
            "train",
            "q-learning",
            "--env",
            "FrozenLake-v1",
            "--steps",
            "100",
            "--out",
            str(run),
            "--quiet",
        ]
    )
    before = (run / "final.pt").read_bytes()
    result = rlkit_cli(
        "train", "q-learning", "--env", "FrozenLake-v1", "--steps", "100", "--out", str(run)
    )
    assert result.returncode == 2 and "already holds a run" in result.stderr
    assert (run / "final.pt").read_bytes() == before


def test_config_file_supplies_settings_and_parameters(tmp_path, capsys):
    config = tmp_path / "lake.toml"
    config.write_text(
        'agent = "q-learning"\nenv = "FrozenLake-v1:is_slippery=false"\n'
        "steps = 5000\nseed = 2\n\n[agent_config]\nalpha = 0.7\ngamma = 0.9\n"
    )
    assert main(["train", "--config", str(config), "--out", str(tmp_path / "r"), "--quiet"]) == 0
    written = (tmp_path / "r" / "config.toml").read_text()
    assert "alpha = 0.7" in written and "gamma = 0.9" in written and "steps = 5000" in written


def test_custom_env_module_trains_and_evaluates(tmp_path):
    """The plug-in path of the README: --env module:Class from the user's folder."""
    run = tmp_path / "corridor"
    trained = rlkit_cli(
        "train",
        "q-learning:epsilon_decay_steps=3000",
        "--env",
        "corridor_env:CorridorEnv:length=8",
        "--steps",
        "6000",
        "--out",
        str(run),
        "--quiet",
        cwd=PLUGINS,
    )
    assert trained.returncode == 0, trained.stderr
    evaluated = rlkit_cli("eval", str(run), "--episodes", "10", "--json", cwd=PLUGINS)
    assert evaluated.returncode == 0, evaluated.stderr
    result = json.loads(evaluated.stdout)
    assert result["mean_return"] == 10 - (8 - 2) and result["success_rate"] == 1.0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["train", "q-lerning", "--env", "FrozenLake-v1", "--steps", "10", "--out", "x"],
            "unknown agent 'q-lerning'; did you mean 'q-learning'",
        ),
        (
            ["train", "q-learning", "--env", "FrozenLak-v1", "--steps", "10", "--out", "x"],
            "unknown environment 'FrozenLak-v1'; did you mean 'FrozenLake-v1'",
        ),
        (
            [
                "train",
                "q-learning:alpha=fast",
                "--env",
                "FrozenLake-v1",
                "--steps",
                "10",
                "--out",
                "x",
            ],
            "q-learning parameter 'alpha': expected float, got 'fast'",
        ),
        (
            [
                "train",
                "q-learning:alpah=0.1",
                "--env",
                "FrozenLake-v1",
                "--steps",
                "10",
                "--out",
                "x",
            ],
            "has no parameter 'alpah'; did you mean 'alpha'",
        ),
        (
            ["train", "q-learning", "--env", "CartPole-v1", "--steps", "10", "--out", "x"],
            "needs a Discrete observation space",
        ),
        (["train", "q-learning", "--env", "FrozenLake-v1", "--out", "x"], "training budget"),
        (
            ["train", "q-learning", "--env", "FrozenLake-v1:size=3", "--steps", "10", "--out", "x"],
            "rejected its parameters",
        ),
        (["eval", "nowhere/final.pt", "--env", "FrozenLake-v1"], "does not exist"),
        (["eval", "random", "--env", "gridworld:map=..../...G"], "no start"),
        (["eval", "random", "--env", "maze:slip_probability=2"], "slip_probability must be"),
        (["train", "--resume", "nowhere"], "not a run folder"),
        (["train", "--config", "missing.toml", "--out", "x"], "does not exist"),
    ],
)
def test_bad_input_gives_one_line_error(tmp_path, args, message):
    result = rlkit_cli(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_truncated_and_foreign_checkpoints_are_reported(tmp_path):
    run = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "q-learning",
                "--env",
                "FrozenLake-v1",
                "--steps",
                "500",
                "--out",
                str(run),
                "--quiet",
            ]
        )
        == 0
    )
    data = (run / "final.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint at all")
    import torch

    torch.save({"weights": torch.zeros(3)}, tmp_path / "foreign.pt")
    for name, message in [
        ("cut.pt", "truncated or corrupt"),
        ("junk.pt", "is a text file"),
        ("foreign.pt", "not an rlkit checkpoint"),
    ]:
        result = rlkit_cli("eval", str(tmp_path / name), "--env", "FrozenLake-v1")
        assert result.returncode == 2, result.stderr
        assert message in result.stderr and "Traceback" not in result.stderr


def test_eval_refuses_env_with_other_spaces(tmp_path):
    run = tmp_path / "run"
    main(
        [
            "train",
            "q-learning",
            "--env",
            "FrozenLake-v1",
            "--steps",
            "200",
            "--out",
            str(run),
            "--quiet",
        ]
    )
    result = rlkit_cli("eval", str(run), "--env", "FrozenLake-v1:map_name=8x8")
    assert result.returncode == 2 and "observation_space" in result.stderr


def test_list_names_agents_and_envs(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in ("q-learning", "reinforce", "random", "sb3:PPO", "gridworld", "maze"):
        assert name in out
    assert os.linesep.join([""]) == ""  # one line each: checked by eye in README


def test_custom_agent_module_evaluates():
    """The README's custom agent, named module:Class with a parameter."""
    result = rlkit_cli(
        "eval",
        "always_agent:Always:action=1",
        "--env",
        "corridor_env:CorridorEnv",
        "--episodes",
        "5",
        "--json",
        cwd=PLUGINS,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["mean_return"] == 10 - (6 - 2)


def test_map_on_the_command_line(tmp_path):
    run = tmp_path / "mine"
    env = "gridworld:map=S..#/.#../...G,step_reward=-1,goal_reward=-1"
    assert (
        main(
            [
                "train",
                "q-learning:alpha=0.5",
                "--env",
                env,
                "--steps",
                "5000",
                "--out",
                str(run),
                "--quiet",
            ]
        )
        == 0
    )
    result = rlkit_cli("eval", str(run), "--episodes", "3", "--json")
    assert json.loads(result.stdout)["mean_return"] == -5


def test_a_minutes_budget_stops_on_time_and_a_resume_adds_to_it(tmp_path, monkeypatch):
    import itertools

    from rlkit.checkpoint import load_checkpoint

    # A fake clock that advances 10 ms each time the session reads it: the budget is
    # measured on it, so the seconds below do not depend on how loaded the machine is.
    tick = 0.01
    ticks = itertools.count()
    monkeypatch.setattr("rlkit.training.training_clock", lambda: tick * next(ticks))

    run = tmp_path / "timed"
    args = ["train", "q-learning", "--env", "cliff", "--quiet", "--no-tensorboard"]
    assert main([*args, "--minutes", "0.02", "--out", str(run)]) == 0
    first = load_checkpoint(run / "final.pt").metadata["training"]
    # counted in fake-clock ticks: the 120-tick budget (0.02 min), overshot by at most a few
    assert 120 <= round(first["seconds"] / tick) < 130 and first["steps"] > 0
    assert main(["train", "--resume", str(run), "--minutes", "0.04", "--quiet"]) == 0
    second = load_checkpoint(run / "final.pt").metadata["training"]
    assert 240 <= round(second["seconds"] / tick) < 250 and second["steps"] > first["steps"]


def test_metrics_that_appear_later_widen_the_csv_header(tmp_path):
    from rlkit.training import MetricsLog

    log = MetricsLog(tmp_path, tensorboard=False)
    log.write({"steps": 1, "loss": 2.0})
    log.write({"steps": 2, "loss": 1.5, "score_vs_random": 0.75})
    assert (tmp_path / "metrics.csv").read_text().splitlines() == [
        "steps,loss,score_vs_random",
        "1,2,",
        "2,1.5,0.75",
    ]
