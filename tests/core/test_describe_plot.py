"""``rlkit describe`` (parameters with types, defaults and docs; checkpoints; games and envs)
and ``rlkit plot`` (an SVG of any run's metrics.csv), through the command line."""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from rlkit.cli import main
from rlkit.describe import config_field_docs, describe_fields


def run(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


# -- describe -----------------------------------------------------------------------------------
def test_describe_lists_parameters_with_type_default_and_docstring(capsys):
    status, out, _ = run(capsys, "describe", "q-learning")
    assert status == 0
    assert out.startswith("q-learning: tabular epsilon-greedy Q-learning")
    assert "  alpha: float = 0.1\n      Learning rate at the start of training.\n" in out
    assert "  gamma: float = 0.99\n      Discount factor.\n" in out
    # A type alias is shown as what it stands for.
    assert "  epsilon_schedule: Literal['constant', 'linear', 'exponential'] = 'linear'" in out


def test_describe_a_nested_config_class_and_a_spec_with_values(capsys):
    status, out, _ = run(capsys, "describe", "mcts:simulations=50")
    assert status == 0
    assert "  simulations: int = 50  (default 1000)\n      Simulations per move" in out
    assert "  time: float | None = none\n" in out
    status, out, _ = run(capsys, "describe", "minimax:depth=4")
    assert "  depth: int | None = 4  (default none)\n" in out


def test_describe_human_agent(capsys):
    status, out, _ = run(capsys, "describe", "human")
    assert status == 0
    assert "  hint: str | None = none\n      Agent spec or checkpoint that answers ``hint``" in out


@dataclass(frozen=True)
class BaseConfig:
    rate: float = 0.5
    """How fast."""


@dataclass(frozen=True)
class DerivedConfig(BaseConfig):
    size: tuple[int, ...] = (64, 64)
    """Layer sizes."""
    quiet: bool = False


def test_field_docs_come_from_the_class_and_its_bases():
    assert config_field_docs(DerivedConfig) == {
        "rate": ("float", "How fast."),
        "size": ("tuple[int, ...]", "Layer sizes."),
        "quiet": ("bool", ""),
    }
    fields = describe_fields(DerivedConfig, {"rate": 0.25})
    assert [(f.name, f.default) for f in fields] == [
        ("rate", 0.25),
        ("size", (64, 64)),
        ("quiet", False),
    ]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["describe", "q-lerning"], "did you mean 'q-learning'"),
        (["describe", "minimax:depht=3"], "did you mean 'depth'"),
        (["describe", "minimax:depth=x"], "expected int or none"),
        (["describe", "runs/missing.pt"], "does not exist"),
    ],
)
def test_describe_mistakes_are_one_line(capsys, argv, expected):
    status, out, err = run(capsys, *argv)
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("rlkit: error: ") and expected in err


def test_describe_a_checkpoint_and_a_run_folder(tmp_path, capsys):
    import torch

    from rlkit.checkpoint import save_checkpoint

    metadata = {
        "agent": "q-learning",
        "config": {"alpha": 0.5, "gamma": 0.99},
        "env": "cliff",
        "observation_space": {"type": "Discrete", "n": 48, "start": 0},
        "action_space": {"type": "Discrete", "n": 4, "start": 0},
        "training": {"steps": 5000, "episodes": 42},
        "rlkit_version": "0.1.0",
    }
    run_dir = tmp_path / "cliff"
    save_checkpoint(run_dir / "checkpoint.pt", metadata, {"q": torch.zeros(48, 4)})
    (run_dir / "metrics.csv").write_text("steps,return_mean\n1000,-80\n2000,-40\n")
    status, out, _ = run(capsys, "describe", str(run_dir))  # interrupted: no final.pt
    assert status == 0
    assert f"checkpoint {run_dir / 'checkpoint.pt'}\n  agent: q-learning\n  env: cliff\n" in out
    assert "  observation space: Discrete(48)\n  action space: Discrete(4)\n" in out
    assert "  training: steps 5000, episodes 42\n" in out
    assert "  metrics: 2 rows of steps, return_mean (rlkit plot " in out
    assert "  tensors: 1 (192 numbers)\n    q [48, 4] float32\n" in out
    assert "  alpha: float = 0.5  (default 0.1)\n      Learning rate" in out
    assert "  gamma: float = 0.99\n" in out


def test_a_folder_named_like_an_agent_is_not_a_checkpoint(tmp_path, monkeypatch, capsys):
    (tmp_path / "random").mkdir()
    monkeypatch.chdir(tmp_path)
    status, out, _ = run(capsys, "describe", "random")
    assert status == 0 and out.startswith("random: uniformly random legal action")
    (tmp_path / "random" / "config.toml").write_text("")  # a run that saved nothing yet
    status, _, err = run(capsys, "describe", "random")
    assert status == 2 and "holds no checkpoint (final.pt or checkpoint.pt)" in err


def test_describe_games_and_environments(capsys):
    status, out, _ = run(capsys, "describe", "go:size=9")
    assert status == 0
    assert "  num_actions: 82\n" in out and "  has_chance: false\n" in out
    assert "observation space: Dict(" in out  # go is an environment too
    status, out, _ = run(capsys, "describe", "cliff")
    assert status == 0
    assert "  observation space: Discrete(48)\n  action space: Discrete(4)\n" in out


def test_describe_of_a_tabular_agent_does_not_import_torch():
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "rlkit", "describe", "q-learning"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    imported = [line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines()]
    assert not [name for name in imported if name.split(".")[0] == "torch"]


# -- plot ---------------------------------------------------------------------------------------
METRICS = """steps,episodes,return_mean,length_mean,pubeval_ppg
1000,10,-50.5,30,
2000,25,-20,12,nan
3000,41,-13,13,0.25
4000,60,-13,13,0.5
5000,79,-12.5,12,0.375
"""


def polylines(svg: str) -> list[list[tuple[float, float]]]:
    """The vertices of each polyline in an SVG text."""
    return [
        [tuple(map(float, pair.split(","))) for pair in points.split()]
        for points in re.findall(r'<polyline[^>]* points="([^"]*)"', svg)
    ]


def test_plot_defaults_to_return_mean_by_steps(tmp_path, capsys):
    (tmp_path / "metrics.csv").write_text(METRICS)
    status, out, _ = run(capsys, "plot", str(tmp_path))
    assert status == 0
    assert out == f"{tmp_path / 'return_mean.svg'}\n"
    svg = (tmp_path / "return_mean.svg").read_text()
    assert svg.startswith("<svg ") and svg.rstrip().endswith("</svg>")
    (line,) = polylines(svg)
    assert len(line) == 5
    xs = [x for x, _ in line]
    assert xs == sorted(xs)  # steps increase to the right...
    ys = [y for _, y in line]
    assert ys[0] > ys[1] > ys[2]  # ...and higher returns are drawn higher (smaller SVG y)
    assert ">steps</text>" in svg and ">return_mean</text>" in svg


def test_plot_a_column_with_gaps_smoothed_to_a_chosen_file(tmp_path, capsys):
    csv_path = tmp_path / "metrics.csv"
    csv_path.write_text(METRICS)
    out_path = tmp_path / "figures" / "ppg.svg"
    argv = ["plot", str(csv_path), "--y", "pubeval_ppg", "--x", "episodes", "--smooth", "2"]
    status, out, _ = run(capsys, *argv, "--out", str(out_path))
    assert status == 0 and out == f"{out_path}\n"
    raw, smoothed = polylines(out_path.read_text())
    assert len(raw) == len(smoothed) == 3  # the empty and the NaN rows are skipped
    assert smoothed[0] == raw[0] and smoothed[1][1] > raw[1][1]  # the mean lags the rise


def test_plot_falls_back_to_the_first_columns(tmp_path, capsys):
    (tmp_path / "loss.csv").write_text("epoch,name,loss\n1,a,0.5\n2,b,0.25\n3,c,0.125\n")
    status, out, _ = run(capsys, "plot", str(tmp_path / "loss.csv"))
    assert status == 0 and out == f"{tmp_path / 'loss.svg'}\n"  # x: epoch, y: loss
    (line,) = polylines((tmp_path / "loss.svg").read_text())
    assert len(line) == 3


@pytest.mark.parametrize(
    ("content", "argv", "expected"),
    [
        (METRICS, ["--y", "retrn_mean"], "no column 'retrn_mean'; did you mean 'return_mean'"),
        (METRICS, ["--x", "time"], "(columns: steps, episodes, return_mean, length_mean, pub"),
        (METRICS, ["--smooth", "0"], "--smooth must be at least 1"),
        ("", [], "is empty"),
        ("steps,return_mean\n", [], "has a header but no rows"),
        ("steps,loss\n1,nan\n2,\n", [], "no numeric column besides 'steps'"),
        ("steps,return_mean\n1,nan\n2,\n", [], "no row has finite numbers in both"),
        ("steps,return_mean\n1,nan\n2,inf\n", ["--y", "return_mean"], "no row has finite"),
        (None, [], "has no metrics.csv"),
    ],
)
def test_plot_mistakes_are_one_line(tmp_path, capsys, content, argv, expected):
    if content is not None:
        (tmp_path / "metrics.csv").write_text(content)
    status, out, err = run(capsys, "plot", str(tmp_path), *argv)
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("rlkit: error: ") and expected in err


def test_plot_refuses_outputs_it_cannot_write(tmp_path, capsys):
    (tmp_path / "metrics.csv").write_text(METRICS)
    for out_path, expected in [
        (tmp_path / "metrics.csv" / "x.svg", "is a file"),
        (tmp_path, "is a folder"),
    ]:
        status, _, err = run(capsys, "plot", str(tmp_path), "--out", str(out_path))
        assert status == 2 and expected in err and err.count("\n") == 1
    status, _, err = run(capsys, "plot", str(tmp_path / "missing"))
    assert status == 2 and "does not exist" in err


def test_learning_curve_script_wraps_rlkit_plot(tmp_path):
    csv_path = tmp_path / "metrics.csv"
    csv_path.write_text(METRICS)
    script = Path(__file__).parents[2] / "scripts" / "plot_learning_curve.py"
    out_path = tmp_path / "curve.svg"
    proc = subprocess.run(
        [sys.executable, str(script), str(csv_path), "-o", str(out_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"wrote {out_path} (3 points)\n"
    svg = out_path.read_text()
    assert "points per game against pubeval" in svg and len(polylines(svg)) == 2
