"""scripts/league_eval.py on a tiny real league: the panel curve, final against start, the
fresh exploiter, and a missing run as one line."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "league_eval.py"
TINY = """
game = "tictactoe"
seed = 0
steps_per_round = 200
games_per_match = 4
opening_moves = 1
workers = 1

[supervised]
teacher = "minimax:depth=2"
games = 10
opening_moves = 2
net = "mlp:hidden=16"
epochs = 1

[league]
pfsp_probability = 0.0
verification_probability = 0.0
selfplay_threshold = 0.0
min_steps = 300
max_steps = 400

[[players]]
role = "main"
learner = "reinforce"
settings = { learning_rate = 1e-3, episodes_per_update = 4, device = "cpu" }
"""


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=300
    )


@pytest.fixture(scope="module")
def league(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("league_eval")
    (folder / "tiny.toml").write_text(TINY)
    done = run(
        "-m", "rlkit.leagues.cli", "league", "run", "--config", "tiny.toml", "--out", "run",
        "--rounds", "5", "--quiet", cwd=folder,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return folder / "run"


def test_panel_versus_and_exploit_on_a_small_league(league):
    panel = run(str(SCRIPT), "panel", str(league), "--games", "2", "--panel", "random;minimax",
                "--plot", str(league / "panel.svg"), cwd=league)  # fmt: skip
    assert panel.returncode == 0, panel.stderr
    with open(league / "panel.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert rows[0]["version"] == "main@0" and int(rows[0]["steps"]) == 0
    assert len(rows) >= 2 and [int(r["steps"]) for r in rows] == sorted(
        int(r["steps"]) for r in rows
    )
    for row in rows:
        scores = [float(row["random"]), float(row["minimax"])]
        assert all(0 <= s <= 1 for s in scores)
        assert float(row["mean"]) == pytest.approx(sum(scores) / 2)
    assert (league / "panel.svg").read_text().startswith("<svg")

    versus = run(str(SCRIPT), "versus", str(league), "--games", "4", cwd=league)
    assert versus.returncode == 0, versus.stderr
    assert "against main@0 (the supervised start)" in versus.stdout and "of 4" in versus.stdout

    exploit = run(str(SCRIPT), "exploit", str(league), "--steps", "50", "--games", "4", cwd=league)
    assert exploit.returncode == 0, exploit.stderr
    assert "fresh exploiter trained" in exploit.stdout and "win rate" in exploit.stdout
    assert (league / "exploiter.pt").is_file()


def test_a_folder_without_a_league_is_one_line(tmp_path):
    done = run(str(SCRIPT), "versus", str(tmp_path), cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "holds no league" in done.stderr
