"""Bad input, tried as a new user would: every case ends with one line on stderr, exit status 2,
no traceback, and no lost work (issue: hardening from outside checks).

Each row runs ``python -m rlkit ...`` in a subprocess, in a folder of fixtures made once.
"""

from __future__ import annotations

import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PLUGINS = Path(__file__).resolve().parents[1] / "plugins"


def run(args: list[str], cwd: Path, stdin: str | None = None, timeout: float = 120):
    env = {**os.environ, "PYTHONPATH": str(PLUGINS)}
    return subprocess.run(
        [sys.executable, "-m", "rlkit", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


@pytest.fixture(scope="module")
def place(tmp_path_factory) -> Path:
    """A folder with a trained cliff Q-table, foreign files and configs of every bad kind."""
    root = tmp_path_factory.mktemp("bad-input")
    made = run(
        [
            "train",
            "q-learning:alpha=0.5",
            "--env",
            "cliff",
            "--steps",
            "3000",
            "--out",
            "runs/cliff",
            "--quiet",
            "--no-tensorboard",
        ],
        root,
    )
    assert made.returncode == 0, made.stderr
    (root / "text.pt").write_text("these are my notes, not a checkpoint\n")
    (root / "a_file").write_text("x")
    (root / "confdir").mkdir()
    (root / "games").mkdir()
    (root / "games" / "game_00000.txt").write_text("game: tictactoe\n")
    configs = {
        "steps_str.toml": 'agent = "q-learning"\nenv = "cliff"\nsteps = "many"\n',
        "seed_str.toml": 'agent = "q-learning"\nenv = "cliff"\nseed = "abc"\nsteps = 10\n',
        "agent_int.toml": 'agent = 5\nenv = "cliff"\nsteps = 10\n',
        "agent_config_int.toml": 'agent = "q-learning"\nenv = "cliff"\nsteps = 10\n'
        "agent_config = 3\n",
        "steps_float.toml": 'agent = "q-learning"\nenv = "cliff"\nsteps = 100.5\n',
        "seed_negative.toml": 'agent = "q-learning"\nenv = "cliff"\nseed = -1\nsteps = 10\n',
    }
    for name, text in configs.items():
        (root / name).write_text(text)
    (root / "latin1.toml").write_bytes(b'agent = "q-learning"\nenv = "caf\xe9"\nsteps = 10\n')
    import torch

    torch.save(torch.nn.Linear(2, 2), root / "module.pt")  # a whole pickled module
    with (root / "sb3_model.zip").open("wb") as f:  # the layout Stable-Baselines3 saves
        import zipfile

        with zipfile.ZipFile(f, "w") as z:
            z.writestr("data", "{}")
            z.writestr("policy.pth", b"")
            z.writestr("pytorch_variables.pth", b"")
    with (root / "plain.pkl").open("wb") as f:
        pickle.dump({"weights": [1, 2, 3]}, f)
    recorded = run(
        [
            "play",
            "random",
            "random",
            "--env",
            "tictactoe",
            "--games",
            "4",
            "--record",
            "ttt-games",
            "--quiet",
        ],
        root,
    )
    assert recorded.returncode == 0, recorded.stderr
    # A checkpoint of a plug-in learner, trained where its module is importable.
    plug = run(
        [
            "train",
            "custom_learners:NumpyCounter",
            "--env",
            "cliff",
            "--steps",
            "300",
            "--out",
            str(root / "runs" / "plugin"),
            "--quiet",
            "--no-tensorboard",
        ],
        root,
    )
    assert plug.returncode == 0, plug.stderr
    return root


# (name, arguments, a phrase the one line must contain)
CASES = [
    # Time budgets and AlphaZero
    ("minutes zero", ["train", "q-learning", "--env", "cliff", "--minutes", "0"], "positive"),
    ("minutes nan", ["train", "q-learning", "--env", "cliff", "--minutes", "nan"], "finite"),
    (
        "minutes with steps",
        ["train", "q-learning", "--env", "cliff", "--minutes", "1", "--steps", "5"],
        "not allowed with",
    ),
    (
        "alphazero simulations 0",
        [
            "train",
            "alphazero:simulations=0",
            "--env",
            "tictactoe",
            "--episodes",
            "4",
            "--out",
            "z1",
        ],
        "simulations must be at least 1",
    ),
    (
        "alphazero net too big for the board",
        [
            "train",
            "alphazero:net=[resnet:blocks=1,kernel=5]",
            "--env",
            "tictactoe",
            "--episodes",
            "4",
            "--out",
            "z2",
        ],
        "larger than the 3x3 board",
    ),
    (
        "alphazero on backgammon",
        ["train", "alphazero", "--env", "backgammon", "--episodes", "4", "--out", "z3"],
        "alphazero-dice",
    ),
    # A.3: a checkpoint whose spaces do not fit the game, in every command that seats agents
    (
        "checkpoint at the wrong game",
        ["play", "runs/cliff", "random", "--env", "tictactoe"],
        "was trained with observation_space",
    ),
    (
        "checkpoint in bg move",
        ["bg", "move", "--agent", "runs/cliff", "--position", "4HPwATDgc/ABMA", "--dice", "31"],
        "was trained with",
    ),
    ("checkpoint in gtp", ["gtp", "--agent", "runs/cliff"], "was trained with"),
    # --seed -1 everywhere
    (
        "train seed -1",
        ["train", "q-learning", "--env", "cliff", "--steps", "10", "--seed", "-1", "--out", "r1"],
        "non-negative",
    ),
    ("eval seed -1", ["eval", "random", "--env", "cliff", "--seed", "-1"], "non-negative"),
    (
        "play seed -1",
        ["play", "random", "random", "--env", "tictactoe", "--seed", "-1"],
        "non-negative",
    ),
    ("gtp seed -1", ["gtp", "--seed", "-1"], "non-negative"),
    (
        "bg seed -1",
        [
            "bg",
            "move",
            "--agent",
            "pubeval",
            "--position",
            "4HPwATDgc/ABMA",
            "--dice",
            "31",
            "--seed",
            "-1",
        ],
        "non-negative",
    ),
    # TOML values of the wrong type, bytes that are not UTF-8, a folder
    ("toml steps str", ["train", "--config", "steps_str.toml", "--out", "r2"], "steps"),
    ("toml seed str", ["train", "--config", "seed_str.toml", "--out", "r3"], "seed"),
    ("toml agent int", ["train", "--config", "agent_int.toml", "--out", "r4"], "agent"),
    (
        "toml agent_config int",
        ["train", "--config", "agent_config_int.toml", "--out", "r5"],
        "agent_config",
    ),
    ("toml steps float", ["train", "--config", "steps_float.toml", "--out", "r6"], "steps"),
    ("toml seed negative", ["train", "--config", "seed_negative.toml", "--out", "r7"], "seed"),
    ("toml not utf-8", ["train", "--config", "latin1.toml", "--out", "r8"], "UTF-8"),
    ("config is a folder", ["train", "--config", "confdir", "--out", "r9"], "folder"),
    # --out and --record in impossible places
    (
        "out is a file",
        ["train", "q-learning", "--env", "cliff", "--steps", "10", "--out", "a_file"],
        "is a file",
    ),
    (
        "out under a file",
        ["train", "q-learning", "--env", "cliff", "--steps", "10", "--out", "a_file/run"],
        "is a file",
    ),
    (
        "out unwritable",
        ["train", "q-learning", "--env", "cliff", "--steps", "10", "--out", "/proc/rlkit/run"],
        "cannot write",
    ),
    ("out empty", ["train", "q-learning", "--env", "cliff", "--steps", "10", "--out", ""], "--out"),
    (
        "record is a file",
        ["play", "random", "random", "--env", "tictactoe", "--record", "a_file"],
        "is a file",
    ),
    (
        "record under a file",
        ["play", "random", "random", "--env", "tictactoe", "--record", "a_file/games"],
        "is a file",
    ),
    (
        "record unwritable",
        ["play", "random", "random", "--env", "tictactoe", "--record", "/proc/rlkit/games"],
        "--record",
    ),
    (
        "record over old records",
        ["play", "random", "random", "--env", "tictactoe", "--record", "games"],
        "already holds game records",
    ),
    # GTP start-up settings
    ("gtp size 4", ["gtp", "--size", "4"], "size"),
    ("gtp size 50", ["gtp", "--size", "50"], "size"),
    ("gtp komi nan", ["gtp", "--komi", "nan"], "finite"),
    # agents and environments that cannot be made
    (
        "minimax valued by minimax",
        ["play", "minimax:depth=1,value=minimax", "random", "--env", "tictactoe"],
        "no value(state, player)",
    ),
    (
        "third-party env constructor",
        ["eval", "random", "--env", "FrozenLake-v1:map_name=9x9"],
        "FrozenLake-v1",
    ),
    # files that are not checkpoints
    ("text file named .pt", ["eval", "text.pt", "--env", "cliff"], "text file"),
    ("sb3 model zip", ["eval", "sb3_model.zip", "--env", "cliff"], "Stable-Baselines3"),
    ("pickled module", ["eval", "module.pt", "--env", "cliff"], "pickled Python objects"),
    ("plain pickle", ["eval", "plain.pkl", "--env", "cliff"], "pickled"),
    ("missing path", ["eval", "runs/nothing", "--env", "cliff"], "does not exist"),
    ("missing .pt", ["play", "nothing.pt", "random", "--env", "tictactoe"], "does not exist"),
    # resume mistakes
    (
        "resume with config",
        ["train", "--resume", "runs/cliff", "--config", "steps_str.toml"],
        "--config cannot be combined",
    ),
    (
        "resume with out",
        ["train", "--resume", "runs/cliff", "--out", "elsewhere"],
        "--out cannot be combined",
    ),
    (
        "resume smaller budget",
        ["train", "--resume", "runs/cliff", "--steps", "100"],
        "must be larger",
    ),
    ("resume a non-run", ["train", "--resume", "confdir"], "not a run folder"),
    # custom learners whose state cannot be saved: refused before training, not after it
    (
        "learner without state_dict",
        ["train", "custom_learners:Forgetful", "--env", "cliff", "--steps", "100", "--out", "r10"],
        "does not override state_dict",
    ),
    (
        "learner with object state",
        [
            "train",
            "custom_learners:ObjectState",
            "--env",
            "cliff",
            "--steps",
            "100",
            "--out",
            "r11",
        ],
        "cannot hold",
    ),
    ("play a game agent in eval", ["eval", "minimax", "--env", "cliff"], "game"),
    # argparse's own errors
    (
        "unknown option",
        ["play", "random", "random", "--env", "tictactoe", "--gmaes", "3"],
        "unrecognized",
    ),
    ("missing argument", ["play", "random"], "required"),
    ("bad choice", ["eval", "random", "--env", "cliff", "--device", "tpu"], "invalid choice"),
    ("bad integer", ["eval", "random", "--env", "cliff", "--episodes", "many"], "episodes"),
    ("no command", [], "required"),
    ("unknown command", ["trian"], "invalid choice"),
    (
        "bad max episode steps",
        ["eval", "random", "--env", "cliff", "--max-episode-steps", "0"],
        "positive",
    ),
    (
        "bad env max_episode_steps",
        ["eval", "random", "--env", "cliff:max_episode_steps=x"],
        "max_episode_steps",
    ),
    (
        "bc without a data folder",
        ["train", "bc", "--data", "no-games", "--env", "tictactoe", "--out", "b1"],
        "does not exist",
    ),
    (
        "bc on records of another game",
        ["train", "bc", "--data", "ttt-games", "--env", "connect4", "--out", "b2"],
        "not of",
    ),
    (
        "bc network typo",
        [
            "train",
            "bc",
            "--data",
            "ttt-games",
            "--env",
            "tictactoe",
            "--net",
            "resnt",
            "--out",
            "b3",
        ],
        "did you mean 'resnet'",
    ),
    (
        "bc network too big for the board",
        [
            "train",
            "bc",
            "--data",
            "ttt-games",
            "--env",
            "tictactoe",
            "--net",
            "resnet:kernel=5",
            "--out",
            "b4",
        ],
        "larger than",
    ),
    (
        "bc without --data",
        ["train", "bc", "--env", "tictactoe", "--out", "b5"],
        "--data",
    ),
    (
        "gtp with a human",
        ["gtp", "--agent", "human"],
        "plays at a terminal",
    ),
    (
        "bg move with a human",
        ["bg", "move", "--agent", "human", "--position", "4HPwATDgc/ABMA", "--dice", "31"],
        "plays at a terminal",
    ),
    (
        "tournament seats a human",
        ["tournament", "random", "human", "--env", "tictactoe", "--out", "t1"],
        "plays at a terminal",
    ),
    (
        "tournament out empty",
        ["tournament", "random", "minimax", "--env", "tictactoe", "--out", ""],
        "--out",
    ),
    (
        "play absurd game count",
        ["play", "random", "random", "--env", "tictactoe", "--games", "99999999999999999999"],
        "--games must be from 1",
    ),
    (
        "eval absurd episode count",
        ["eval", "random", "--env", "cliff", "--episodes", "99999999999999999999"],
        "--episodes must be from 1",
    ),
    (
        "tournament absurd game count",
        [
            "tournament",
            "random",
            "minimax",
            "--env",
            "tictactoe",
            "--games",
            "99999999999",
            "--out",
            "t3",
        ],
        "--games must be from 1",
    ),
    (
        "tournament seed -1",
        ["tournament", "random", "minimax", "--env", "tictactoe", "--seed", "-1", "--out", "t2"],
        "non-negative",
    ),
]


@pytest.mark.parametrize(("name", "args", "phrase"), CASES, ids=[c[0] for c in CASES])
def test_one_line_and_exit_2(place, name, args, phrase):
    result = run(args, place)
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("rlkit: error:"), lines
    assert phrase in lines[0], lines[0]


def test_no_run_folder_is_left_behind_by_a_refused_learner(place):
    assert not (place / "r10").exists() and not (place / "r11").exists()
    assert not (place / "r1").exists() and not (place / "r2").exists()


def test_old_records_are_untouched(place):
    assert (place / "games" / "game_00000.txt").read_text() == "game: tictactoe\n"


def test_plugin_checkpoint_without_its_module(place, tmp_path):
    """Not "corrupt": the message says the plug-in module cannot be found here."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run(
        [sys.executable, "-m", "rlkit", "eval", str(place / "runs" / "plugin")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "cannot be found here" in result.stderr and "corrupt" not in result.stderr


def test_numpy_state_learner_trains_saves_and_evaluates(place):
    """A custom learner whose state_dict returns numpy is checkpointed (it crashed before)."""
    trained = run(
        [
            "train",
            "custom_learners:NumpyCounter",
            "--env",
            "cliff",
            "--steps",
            "500",
            "--out",
            "np-run",
            "--quiet",
        ],
        place,
    )
    assert trained.returncode == 0, trained.stderr
    from rlkit.checkpoint import load_checkpoint

    counts = load_checkpoint(place / "np-run" / "final.pt").arrays["counts"]
    assert counts.sum() == 500
    evaluated = run(["eval", "np-run", "--episodes", "2", "--max-episode-steps", "20"], place)
    assert evaluated.returncode == 0, evaluated.stderr


def test_interrupted_run_folder_evaluates_its_checkpoint(place):
    """A run folder with checkpoint.pt and no final.pt is a checkpoint, not an unknown agent."""
    folder = place / "interrupted"
    shutil.copytree(place / "runs" / "cliff", folder)
    (folder / "final.pt").rename(folder / "checkpoint.pt")
    result = run(["eval", "interrupted", "--episodes", "2"], place)
    assert result.returncode == 0, result.stderr
    assert "mean return" in result.stdout


def test_endless_env_ends_with_max_episode_steps(place):
    result = run(
        [
            "eval",
            "random",
            "--env",
            "endless_env:EndlessEnv",
            "--episodes",
            "3",
            "--max-episode-steps",
            "50",
            "--json",
        ],
        place,
    )
    assert result.returncode == 0, result.stderr
    assert '"mean_length": 50.0' in result.stdout
    via_spec = run(
        ["eval", "random", "--env", "endless_env:EndlessEnv:max_episode_steps=7", "--json"], place
    )
    assert '"mean_length": 7.0' in via_spec.stdout, via_spec.stderr


def test_bare_minimax_moves_in_connect_four(place):
    """Bare minimax no longer tries to solve connect four: it searches to a default depth."""
    result = run(
        ["play", "minimax", "random", "--env", "connect4", "--games", "1", "--quiet"],
        place,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr


def test_closed_pipe_is_quiet(place):
    """`rlkit list | head -1`: the reader goes away; no BrokenPipeError."""
    env = {**os.environ, "PYTHONPATH": str(PLUGINS)}
    result = subprocess.run(
        f"{sys.executable} -m rlkit list | head -1",
        shell=True,
        cwd=place,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.stdout == "agents:\n"
    assert "Traceback" not in result.stderr and "BrokenPipe" not in result.stderr


def test_custom_game_trains_through_its_environment(place):
    """`rlkit train reinforce --env nim_game:Nim` finds the game's Gymnasium env."""
    result = run(
        [
            "train",
            "reinforce",
            "--env",
            "nim_game:Nim:opponent=random",
            "--steps",
            "300",
            "--out",
            "nim",
            "--quiet",
            "--no-tensorboard",
        ],
        place,
    )
    assert result.returncode == 0, result.stderr
    assert (place / "nim" / "final.pt").exists()


def test_tabular_commands_never_import_torch(place):
    """`rlkit eval` of a Q-table and `rlkit train q-learning` start without torch (~3 s)."""
    for args in (
        ["eval", "runs/cliff", "--episodes", "2"],
        ["train", "q-learning", "--env", "cliff", "--steps", "200", "--out", "no-torch", "--quiet"],
        ["list"],
        ["describe", "q-learning"],
    ):
        env = {**os.environ, "PYTHONPATH": str(PLUGINS)}
        result = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "rlkit", *args],
            cwd=place,
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr[-2000:]
        imported = [
            line.rsplit("|", 1)[-1].strip()
            for line in result.stderr.splitlines()
            if line.startswith("import time:")
        ]
        assert "torch" not in imported, args
