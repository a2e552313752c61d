"""rlkit tournament: plans, seeds, the store, kill -9 and resume, bad input."""

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rlkit.cli import main
from rlkit.errors import SpecError
from rlkit.tournament import (
    Job,
    JobRunner,
    TournamentError,
    TournamentPlan,
    game_seeds,
    plan_tournament,
    play_job,
    run_tournament,
)
from rlkit.tournament_store import GAME_COLUMNS, STORE_NAME, StoreError, TournamentStore

PLUGINS = Path(__file__).parent.parent / "plugins"
# Columns that must repeat exactly: all but `seconds` and `finished` (wall-clock facts).
SAME = tuple(c for c in GAME_COLUMNS if c not in ("seconds", "finished"))
CHEAP = ["random", "minimax:depth=1", "mcts:simulations=20"]


def stored(folder: Path) -> list[tuple]:
    with contextlib.closing(sqlite3.connect(folder / STORE_NAME)) as db:
        return db.execute(f"SELECT {', '.join(SAME)} FROM games ORDER BY pairing, game").fetchall()


def same_columns(row: dict) -> tuple:
    return tuple(row[c] for c in SAME)


def cli(*args: str, cwd: Path | None = None, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rlkit", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        **kwargs,
    )


# -- plans and seeds ------------------------------------------------------------------------------


def test_round_robin_and_gauntlet_pairings():
    plan = plan_tournament(["a", "b", "c", "d"], "tictactoe", games=3)
    assert [(p.a, p.b) for p in plan.pairings] == [
        ("a", "b"),
        ("a", "c"),
        ("a", "d"),
        ("b", "c"),
        ("b", "d"),
        ("c", "d"),
    ]
    assert plan.total_games == 18 and len({j.key for j in plan.jobs()}) == 18
    gauntlet = plan_tournament(["a", "b", "c", "d"], "tictactoe", format="gauntlet", candidates=2)
    assert [(p.a, p.b) for p in gauntlet.pairings] == [
        ("a", "c"),
        ("a", "d"),
        ("b", "c"),
        ("b", "d"),
    ]
    assert TournamentPlan.from_dict(json.loads(json.dumps(plan.to_dict()))) == plan


def test_pairings_file(tmp_path):
    file = tmp_path / "pairs.txt"
    file.write_text("# who plays whom\nrandom minimax 4\nrandom mcts   # default games\n")
    plan = plan_tournament([], "tictactoe", games=2, pairings_file=file)
    assert plan.agents == ("random", "minimax", "mcts") and plan.format == "pairings"
    assert [(p.a, p.b, p.games) for p in plan.pairings] == [
        ("random", "minimax", 4),
        ("random", "mcts", 2),
    ]
    for text, message in [
        ("random random\n", "cannot play itself"),
        ("random minimax\nminimax random\n", "listed twice"),
        ("random minimax zero\n", "games must be an integer from 1"),
        ("random\n", "expected 'AGENT_A AGENT_B"),
        ("# nothing\n", "lists no pairing"),
    ]:
        file.write_text(text)
        with pytest.raises(SpecError, match=message):
            plan_tournament([], "tictactoe", pairings_file=file)
    file.write_text("random minimax\n")
    with pytest.raises(SpecError, match="not one of the agents"):
        plan_tournament(["random", "mcts"], "tictactoe", pairings_file=file)
    # an agent named on the command line must play: it could not be rated at the end
    with pytest.raises(SpecError, match="'mcts' is named on the command line but plays in no"):
        plan_tournament(["random", "minimax", "mcts"], "tictactoe", pairings_file=file)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"agents": ["random", "random"]}, "listed twice"),
        ({"agents": ["random"]}, "at least two agents"),
        ({"games": 0}, "--games must be from 1"),
        ({"seed": -1}, "non-negative"),
        ({"format": "swiss"}, "unknown --format"),
        ({"format": "gauntlet", "candidates": 2}, "--candidates must be between 1 and 1"),
        ({"timeout": 0.0}, "--timeout"),
    ],
)
def test_bad_plans_are_refused(kwargs, message):
    kwargs = {"agents": ["random", "minimax"], **kwargs}
    with pytest.raises((SpecError, TournamentError), match=message):
        plan_tournament(kwargs.pop("agents"), "tictactoe", **kwargs)


def test_seeds_depend_on_the_key_only_and_swap_shares_dice():
    plan = plan_tournament(["a", "b", "c"], "backgammon", games=4, seed=7)
    swapped = plan_tournament(["a", "b", "c"], "backgammon", games=4, seed=7, swap=True)
    states = {}
    for job in plan.jobs():
        chance, seed_a, seed_b = game_seeds(plan, job)
        states[job.key] = (tuple(chance.generate_state(4)), seed_a, seed_b)
        assert game_seeds(plan, job)[1:] == (seed_a, seed_b)  # a pure function of the key
    every_seed = [s for chance, a, b in states.values() for s in (chance, a, b)]
    assert len(set(every_seed)) == len(every_seed)  # no two games or agents share a seed
    for job in swapped.jobs():
        chance = tuple(game_seeds(swapped, job)[0].generate_state(4))
        assert chance == states[(job.pairing, job.game - job.game % 2)][0]


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(order=st.permutations(range(12)))
def test_results_do_not_depend_on_order_or_history(order):
    """A worker that plays the jobs in any order gives every job the same result."""
    plan = plan_tournament(CHEAP, "tictactoe", games=4, seed=3)
    jobs = plan.jobs()
    runner = JobRunner(plan)
    try:
        rows = {jobs[i].key: same_columns(runner.play(jobs[i])) for i in order}
    finally:
        runner.close()
    reference = _reference_rows(plan)
    assert [rows[j.key] for j in jobs] == [reference[j.key] for j in jobs]


_REFERENCE: dict = {}


def _reference_rows(plan: TournamentPlan) -> dict:
    key = json.dumps(plan.to_dict(), sort_keys=True)
    if key not in _REFERENCE:
        _REFERENCE[key] = {job.key: same_columns(play_job(plan, job)) for job in plan.jobs()}
    return _REFERENCE[key]


# -- whole tournaments ----------------------------------------------------------------------------


def test_tournament_writes_store_csv_json_svg_and_replays_games_alone(tmp_path, capsys):
    out = tmp_path / "t"
    args = [*CHEAP, "--env", "tictactoe", "--games", "4", "--seed", "5", "--out", str(out)]
    assert main(["tournament", *args, "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "crosstable" in text and "mcts:simulations=20" in text
    rows = stored(out)
    assert len(rows) == 12 and [r[:2] for r in rows] == sorted({r[:2] for r in rows})
    # colours alternate: a moves first in even games
    assert all(r[5] == (r[2] if r[1] % 2 == 0 else r[3]) for r in rows)
    # the store is all `rlkit ratings` needs
    with contextlib.closing(sqlite3.connect(out / STORE_NAME)) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        scores = db.execute("SELECT score FROM games").fetchall()
    assert {s for (s,) in scores} <= {0.0, 0.5, 1.0}
    summary = json.loads((out / "ratings.json").read_text())
    assert summary["games_played"] == 12
    assert {r["name"] for r in summary["ratings"]["ratings"]} == set(CHEAP)
    assert (out / "results.csv").read_text().count("\n") == 13
    svg = ET.parse(out / "ratings.svg").getroot()
    assert svg.tag.endswith("svg") and len(svg.findall("{*}circle")) == 3
    # any game replays alone, from the stored plan only
    with TournamentStore.open(out / STORE_NAME) as store:
        plan = TournamentPlan.from_dict(store.plan)
    job = plan.jobs()[7]
    assert same_columns(play_job(plan, job)) == next(r for r in rows if r[:2] == job.key)


def test_config_file_gives_the_same_tournament(tmp_path, capsys):
    config = tmp_path / "t.toml"
    config.write_text(
        'agents = ["random", "minimax:depth=1", "mcts:simulations=20"]\n'
        'env = "tictactoe"\ngames = 4\nseed = 5\nquiet = 1\n'
    )
    assert main(["tournament", "--config", str(config), "--out", str(tmp_path / "x")]) == 2
    config.write_text(config.read_text().replace("quiet = 1\n", "").replace("4", '"4"'))
    assert main(["tournament", "--config", str(config), "--out", str(tmp_path / "x")]) == 2
    assert "games must be int, got '" in capsys.readouterr().err
    config.write_text(config.read_text().replace('"4"', "4"))
    assert (
        main(["tournament", "--config", str(config), "--out", str(tmp_path / "c"), "--quiet"]) == 0
    )
    plan = plan_tournament(CHEAP, "tictactoe", games=4, seed=5)
    assert [r for r in stored(tmp_path / "c")] == [
        _reference_rows(plan)[j.key] for j in sorted(plan.jobs())
    ]


def test_agents_that_raise_or_time_out_lose_and_the_tournament_goes_on(tmp_path, monkeypatch):
    monkeypatch.chdir(PLUGINS)
    raising, sleepy = "raising_agent:Raising:after=1", "raising_agent:Sleepy:seconds=0.5"
    plan = plan_tournament(["random", raising, sleepy], "tictactoe", games=2, timeout=0.05)
    outcome = run_tournament(plan, tmp_path / "t")
    rows = {(r["a"], r["b"], r["game"]): r for r in outcome.rows}
    assert len(rows) == 6
    for game in (0, 1):
        crash = rows[("random", raising, game)]
        assert crash["score"] == 1.0 and crash["forfeit"] == raising
        assert crash["reason"] == "raised RuntimeError: deliberate failure on move 2"
        slow = rows[("random", sleepy, game)]
        assert slow["score"] == 1.0 and slow["forfeit"] == sleepy
        assert slow["reason"] == "no move within the 0.05 s limit"
    assert outcome.table.ratings[0].name == "random"


def test_unknown_agent_is_reported_before_any_game(tmp_path, capsys):
    out = tmp_path / "t"
    code = main(["tournament", "random", "rnadom", "--env", "tictactoe", "--out", str(out)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith("rlkit: error: unknown agent 'rnadom'")
    assert "\n" not in err and not out.exists()


def test_bad_input_is_one_line_and_loses_nothing(tmp_path, capsys):
    out = tmp_path / "t"
    base = ["tournament", "random", "minimax:depth=1", "--env", "tictactoe", "--games", "2"]
    assert main([*base, "--out", str(out), "--quiet"]) == 0
    capsys.readouterr()
    before = stored(out)

    def refused(argv, message):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err, err
        assert stored(out) == before

    refused(
        ["tournament", "random", "random", "--env", "tictactoe", "--out", str(tmp_path / "d")],
        "agent 'random' is listed twice",
    )
    refused([*base, "--out", str(out)], "already holds a tournament; continue it with")
    refused(["tournament", "--resume", str(out)], "nothing to resume: all 2 games")
    refused(["tournament", "--resume", str(out), "--games", "4"], "--resume plays the stored plan")
    refused(["tournament", "--resume", str(tmp_path)], "holds no tournament to resume")
    refused(["tournament", "--resume", str(tmp_path / "none")], "holds no tournament to resume")
    assert not (tmp_path / "none").exists()  # refused before the folder's lock is made
    refused([*base, "--out", str(tmp_path / "e"), "--anchor", "mcts"], "--anchor 'mcts' is not")
    # a foreign SQLite file, and one that is not SQLite at all: refused, left as they were
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    with contextlib.closing(sqlite3.connect(foreign / STORE_NAME)) as db:
        db.execute("CREATE TABLE games (a TEXT, b TEXT, score REAL)")
        db.commit()
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / STORE_NAME).write_bytes(b"this is not a database" * 100)
    for folder, message in [(foreign, "not an rlkit tournament"), (corrupt, "not a readable")]:
        content = (folder / STORE_NAME).read_bytes()
        assert main(["tournament", "--resume", str(folder)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err, err
        assert (folder / STORE_NAME).read_bytes() == content
    with pytest.raises(StoreError, match="not an rlkit tournament"):
        TournamentStore.open(foreign / STORE_NAME)


def test_a_replayed_game_never_counts_twice(tmp_path):
    plan = plan_tournament(CHEAP[:2], "tictactoe", games=2)
    store = TournamentStore.create(tmp_path / STORE_NAME, plan.to_dict())
    row = play_job(plan, Job(0, 1, *CHEAP[:2]))
    assert store.add(row) is True
    assert store.add({**row, "score": 1.0 - row["score"]}) is False
    assert [r["score"] for r in store.rows()] == [row["score"]]
    store.close()


# -- kill -9, SIGTERM and resume ------------------------------------------------------------------


def _count(folder: Path) -> int:
    try:
        with contextlib.closing(sqlite3.connect(folder / STORE_NAME)) as db:
            return db.execute("SELECT COUNT(*) FROM games").fetchone()[0]
    except sqlite3.Error:
        return 0


def _run_until(args: list[str], rows: int, how: int) -> tuple[int, str]:
    """Start `rlkit tournament ARGS` in its own process group; once ``rows`` games are
    stored, send ``how`` to the whole group."""
    folder = Path(args[args.index("--out") + 1] if "--out" in args else args[-1])
    process = subprocess.Popen(
        [sys.executable, "-m", "rlkit", "tournament", *args, "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while process.poll() is None and _count(folder) < rows and time.monotonic() < deadline:
        time.sleep(0.01)
    if process.poll() is None:
        os.killpg(process.pid, how)
    _, err = process.communicate(timeout=30)
    return process.returncode, err


def test_kill_9_at_several_moments_then_resume_gives_the_uninterrupted_results(tmp_path):
    agents = ["random", "mcts:simulations=100", "mcts:simulations=200"]
    plan = plan_tournament(agents, "tictactoe", games=12, seed=11)
    out = tmp_path / "t"
    args = [*agents, "--env", "tictactoe", "--games", "12", "--seed", "11", "--workers", "2"]
    code, err = _run_until([*args, "--out", str(out)], rows=3, how=signal.SIGKILL)
    assert code == -signal.SIGKILL, err
    counts = [_count(out)]
    for rows in (12, 20):
        code, _ = _run_until(["--workers", "2", "--resume", str(out)], rows, signal.SIGKILL)
        assert code == -signal.SIGKILL
        counts.append(_count(out))
        with contextlib.closing(sqlite3.connect(out / STORE_NAME)) as db:
            assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    # SIGTERM stops like Ctrl-C: exit 130 and how to resume
    code, err = _run_until(["--resume", str(out)], rows=counts[-1] + 3, how=signal.SIGTERM)
    if code != 0:  # (it may have finished first on a fast machine)
        assert code == 130 and f"--resume {out}" in err, err
    counts.append(_count(out))
    assert counts == sorted(counts) and 0 < counts[0] < plan.total_games
    if counts[-1] < plan.total_games:
        final = cli("tournament", "--resume", str(out), "--quiet")
        assert final.returncode == 0, final.stderr
    rows = stored(out)
    assert len(rows) == plan.total_games == 36
    reference = _reference_rows(plan)
    assert rows == [reference[job.key] for job in sorted(plan.jobs())]


def test_workers_and_inline_agree_and_rlkit_ratings_reads_the_store(tmp_path):
    plan = plan_tournament(CHEAP, "tictactoe", games=4, seed=3)
    outcome = run_tournament(plan, tmp_path / "w", workers=2)
    assert [same_columns(r) for r in outcome.rows] == [
        _reference_rows(plan)[j.key] for j in sorted(plan.jobs())
    ]
    result = cli("ratings", str(tmp_path / "w" / STORE_NAME))
    assert result.returncode == 0, result.stderr
    assert "mcts:simulations=20" in result.stdout


def test_elo_order_on_cheap_agents(tmp_path):
    """Perfect play (minimax) over random play, by a clear margin on tic-tac-toe."""
    plan = plan_tournament(["random", "minimax"], "tictactoe", games=20, seed=0)
    table = run_tournament(plan, tmp_path / "t").table
    best, worst = table.ratings
    assert best.name == "minimax" and best.ci95[0] > worst.ci95[1]
    assert np.isclose(best.score + worst.score, 1.0)


def test_a_checkpoint_is_loaded_once_per_worker_and_reseeded_every_game(tmp_path, monkeypatch):
    """A kept agent (checkpoint) plays each game as if loaded fresh with the game's seed."""
    import rlkit
    from rlkit.checkpoint import save_agent

    game = rlkit.make_game("tictactoe")
    save_agent(tmp_path / "r.pt", "random", rlkit.make_agent("random", game=game, seed=1))
    plan = plan_tournament([str(tmp_path / "r.pt"), "minimax:depth=1"], "tictactoe", games=6)
    loads = []
    import rlkit.match

    real = rlkit.match.make_player
    monkeypatch.setattr(
        rlkit.match, "make_player", lambda *a, **k: loads.append(a) or real(*a, **k)
    )
    jobs = plan.jobs()
    runner = JobRunner(plan)
    forward = [same_columns(runner.play(job)) for job in jobs]
    backward = [same_columns(runner.play(job)) for job in reversed(jobs)][::-1]
    runner.close()
    assert forward == backward
    # The checkpoint is loaded once and re-seeded; the spec agent is built for every game.
    assert sum(a[0] == str(tmp_path / "r.pt") for a in loads) == 1
    assert sum(a[0] == "minimax:depth=1" for a in loads) == 2 * len(jobs)
    assert len({row[-1] for row in forward}) > 1  # the checkpoint's random moves vary by game


def test_ray_backend_without_ray_says_how_to_install_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError
    argv = ["tournament", *CHEAP[:2], "--env", "tictactoe", "--backend", "ray"]
    assert main([*argv, "--out", str(tmp_path / "t")]) == 2
    assert capsys.readouterr().err == (
        "rlkit: error: --backend ray needs Ray: pip install rlkit[distributed]\n"
    )
    assert not (tmp_path / "t").exists()


def test_opening_moves_vary_deterministic_games_and_pairs_share_them():
    plan = plan_tournament(
        ["minimax:depth=1,deterministic=true", "minimax:depth=2,deterministic=true"],
        "connect4",
        games=8,
        opening_moves=2,
    )
    runner = JobRunner(plan)
    rows = [runner.play(job) for job in plan.jobs()]
    openings = [tuple(row["moves"].split()[:2]) for row in rows]
    assert all(openings[g] == openings[g + 1] for g in range(0, 8, 2))  # pairs share it
    assert len(set(openings)) > 1  # and pairs differ
    assert TournamentPlan.from_dict(plan.to_dict()) == plan
    with pytest.raises(SpecError, match="opening-moves"):
        plan_tournament(["random", "minimax"], "connect4", opening_moves=-1)
