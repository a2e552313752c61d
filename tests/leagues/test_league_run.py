"""rlkit league: a tiny league with a fast fake learner; the store, resume, kill -9, bad input."""

import contextlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rlkit.errors import CheckpointError, SpecError
from rlkit.leagues.runner import league_status, read_config, run_league
from rlkit.leagues.store import (
    STORE_NAME,
    LeagueStore,
    LeagueStoreError,
    resolve_league_reference,
)

# A league learner as a user would write one: a softmax preference over actions, trained by
# seeded noise, saved as an rlkit agent checkpoint (numpy state: no torch), so a round takes
# milliseconds and every result repeats exactly.
FAKE_LEARNER = """
import time
from dataclasses import dataclass

import numpy as np

import rlkit
from rlkit.builder import game_spaces
from rlkit.checkpoint import agent_from_checkpoint, load_checkpoint, save_agent
from rlkit.errors import IncompatibleEnvError
from rlkit.registry import make_game


@dataclass(frozen=True)
class PrefConfig:
    temperature: float = 1.0


class PrefAgent(rlkit.Agent):
    Config = PrefConfig
    state_format = "numpy"

    def __init__(self, config, observation_space, action_space, *, seed=None):
        super().__init__(config, observation_space, action_space, seed=seed)
        self.prefs = np.zeros(self.num_actions)
        self.trained = 0

    def act(self, observation, action_mask=None, *, explore=False):
        legal = np.flatnonzero(action_mask)
        logits = self.prefs[legal] / self.config.temperature
        p = np.exp(logits - logits.max())
        return int(legal[self.rng.choice(len(legal), p=p / p.sum())])

    def state_dict(self):
        return {"prefs": self.prefs}

    def load_state_dict(self, arrays):
        self.prefs = np.array(arrays["prefs"], dtype=float)

    def extra_state(self):
        return {**super().extra_state(), "trained": self.trained}

    def load_extra_state(self, state):
        super().load_extra_state(state)
        self.trained = int(state["trained"])


class FakeLearner:
    def __init__(self, game, agent, settings):
        self.game, self.agent, self.settings = game, agent, settings

    @property
    def steps(self):
        return self.agent.trained

    @classmethod
    def create(cls, game, settings, *, init, seed):
        if settings.get("only") not in (None, game):
            raise IncompatibleEnvError(f"FakeLearner plays {settings['only']}, not {game}")
        observation_space, action_space = game_spaces(make_game(game))
        agent = PrefAgent(PrefConfig(), observation_space, action_space, seed=seed)
        if init is not None:  # a fake learner's checkpoint, or any other (a clone): ignored
            arrays = load_checkpoint(init).arrays
            agent.prefs = np.array(arrays.get("prefs", agent.prefs), dtype=float)
        return cls(game, agent, settings)

    def train_against(self, opponent, steps, *, seed, opening_moves=0):
        time.sleep(self.settings.get("sleep", 0.0))
        rng = np.random.default_rng(seed)
        self.agent.prefs = self.agent.prefs + rng.normal(0.0, 1.0, self.agent.prefs.shape)
        self.agent.trained += steps
        return {"episodes": steps // 9, "loss": float(np.abs(self.agent.prefs).mean())}

    def save(self, path):
        save_agent(path, __name__ + ":PrefAgent", self.agent, env=self.game)

    @classmethod
    def load(cls, path, game, settings):
        return cls(game, agent_from_checkpoint(load_checkpoint(path)), settings)
"""

LEARNER = "fake_league_learner:FakeLearner"
SAME = ("round", "pairing", "game", "a", "b", "score", "first", "plies", "moves")


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    """The fake learner's module, importable here and in subprocesses."""
    folder = tmp_path / "plugin"
    folder.mkdir()
    (folder / "fake_league_learner.py").write_text(FAKE_LEARNER)
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join([str(folder), os.environ.get("PYTHONPATH", "")])
    )
    return folder


def write_config(
    path: Path,
    *,
    extra: str = "",
    players: str | None = None,
    league: str = "min_steps = 200\nmax_steps = 300",
    **top,
) -> Path:
    settings = {
        "game": '"tictactoe"',
        "seed": 3,
        "steps_per_round": 100,
        "games_per_match": 6,
        "frozen": '["random"]',
        **{k: json.dumps(v) for k, v in top.items()},
    }
    players = (
        players
        if players is not None
        else "\n".join(
            f'[[players]]\nrole = "{role}"\nlearner = "{LEARNER}"\n'
            for role in ("main", "main_exploiter", "league_exploiter")
        )
    )
    text = "\n".join(f"{k} = {v}" for k, v in settings.items()) + "\n" + extra + "\n"
    path.write_text(text + f"[league]\n{league}\n" + players)
    return path


def stored_results(out: Path) -> list[tuple]:
    with contextlib.closing(sqlite3.connect(out / STORE_NAME)) as db:
        return db.execute(
            f"SELECT {', '.join(SAME)} FROM results ORDER BY round, pairing, game"
        ).fetchall()


def stored_players(out: Path) -> list[tuple]:
    with contextlib.closing(sqlite3.connect(out / STORE_NAME)) as db:
        return db.execute(
            "SELECT name, role, parent, steps, snapshot_steps, frozen, resets FROM players "
            "ORDER BY name"
        ).fetchall()


def cli(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rlkit.leagues.cli", "league", *args],
        capture_output=True,
        text=True,
        timeout=120,
        **kwargs,
    )


# -- a tiny league ---------------------------------------------------------------------------


def test_two_rounds_snapshot_and_resume_match_an_uninterrupted_run(plugin, tmp_path):
    config = read_config(write_config(tmp_path / "league.toml"))
    once = run_league(config, tmp_path / "once", rounds=4, progress=False)
    assert once.rounds == 4
    twice = tmp_path / "twice"
    assert run_league(config, twice, rounds=2, progress=False).rounds == 2
    assert run_league(None, twice, resume=True, rounds=4, progress=False).rounds == 4
    assert stored_results(twice) == stored_results(tmp_path / "once")
    assert stored_players(twice) == stored_players(tmp_path / "once")

    players = {row[0]: row for row in stored_players(twice)}
    # every learner trained exactly 4 rounds of 100 steps
    for name in ("main", "main_exploiter", "league_exploiter"):
        assert players[name][3] == 400
    # min_steps = 200, max_steps = 300: every learner is snapshotted by round 3 at the latest
    snapshots = [row for row in players.values() if row[2] is not None]
    assert {row[2] for row in snapshots} == {"main", "main_exploiter", "league_exploiter"}
    assert "main@0" in players and players["main@0"][3] == 0  # the start, frozen at once
    # the main exploiter is reset at every snapshot
    exploiter_snapshots = sum(row[2] == "main_exploiter" for row in snapshots)
    assert players["main_exploiter"][6] == exploiter_snapshots >= 1
    # each round: a payoff match per learner unless it plays itself, 6 games each
    with LeagueStore.open(twice / STORE_NAME) as store:
        for r in store.rounds():
            plan = r["plan"]
            assert len(store.results(r["round"])) == 6 * len(plan["pairings"])
            for a in store.assignments(r["round"]):
                assert a["trained"] and a["metrics"]["episodes"] == 100 // 9

    # the current main agent is a run folder and a league reference
    assert (twice / "main" / "final.pt").is_file()
    assert resolve_league_reference(f"{twice}:main") == str(twice / "main" / "final.pt")
    assert resolve_league_reference(f"{twice}:main@0") == str(twice / "snapshots" / "main@0.pt")
    assert resolve_league_reference("minimax:depth=2") is None
    from rlkit.match import make_player
    from rlkit.registry import make_game

    make_player(str(twice / "main"), make_game("tictactoe"), seed=0)

    # metrics per player
    lines = (twice / "players" / "main" / "metrics.csv").read_text().splitlines()
    assert lines[0].startswith("steps,round,win_rate_vs_opponent")
    assert len(lines) == 1 + 4

    status = league_status(twice)
    assert status["rounds"] == 4 and status["games"] == len(stored_results(twice))
    assert status["ratings"] is not None
    rated = {r.name for r in status["ratings"].ratings}
    assert "random" in rated and "main" in rated


def test_store_ignores_a_replayed_result_and_reopening_gives_the_same_payoff(plugin, tmp_path):
    config = read_config(write_config(tmp_path / "league.toml"))
    out = tmp_path / "run"
    run_league(config, out, rounds=2, progress=False)
    before = league_status(out)["payoff"]
    with LeagueStore.open(out / STORE_NAME) as store:
        row = store.results(0)[0]
        again = {k: v for k, v in row.items() if k not in ("round", "finished")}
        assert store.add_result(0, again) is False
        assert store.add_result(0, {**again, "score": 1.0 - row["score"]}) is False
        assert len(store.results(0)) == len(stored_results(out)) - len(store.results(1))
    assert league_status(out)["payoff"] == before


def test_a_players_own_steps_per_round_overrides_the_leagues(plugin, tmp_path):
    players = "\n".join(
        f'[[players]]\nrole = "{role}"\nlearner = "{LEARNER}"\n{extra}\n'
        for role, extra in (
            ("main", "steps_per_round = 300"),
            ("main_exploiter", ""),
            ("league_exploiter", "steps_per_round = 50"),
        )
    )
    path = write_config(tmp_path / "league.toml", players=players, league="min_steps = 5000")
    config = read_config(path)
    assert [p.steps_per_round for p in config.players] == [300, None, 50]
    out = tmp_path / "run"
    run_league(config, out, rounds=2, progress=False)
    steps = {row[0]: row[3] for row in stored_players(out)}
    assert (steps["main"], steps["main_exploiter"], steps["league_exploiter"]) == (600, 200, 100)
    # the stored config reads back as the same config (resume compares them)
    assert run_league(None, out, resume=True, rounds=3, progress=False).rounds == 3
    with pytest.raises(SpecError, match=r"players\[0\]: steps_per_round"):
        read_config(
            write_config(
                tmp_path / "bad.toml",
                players=f'[[players]]\nrole = "main"\nlearner = "{LEARNER}"\nsteps_per_round = 0\n',
            )
        )


def test_workers_2_gives_the_same_league_as_workers_1(plugin, tmp_path):
    config = read_config(write_config(tmp_path / "league.toml"))
    run_league(config, tmp_path / "one", rounds=2, progress=False)
    run_league(config, tmp_path / "two", rounds=2, workers=2, progress=False)
    assert stored_results(tmp_path / "one") == stored_results(tmp_path / "two")
    assert stored_players(tmp_path / "one") == stored_players(tmp_path / "two")


def test_supervised_start_from_a_checkpoint_and_from_a_teacher(plugin, tmp_path):
    from rlkit.checkpoint import load_checkpoint

    first = read_config(write_config(tmp_path / "first.toml"))
    run_league(first, tmp_path / "first", rounds=1, progress=False)
    start = tmp_path / "first" / "main" / "final.pt"
    config = read_config(write_config(tmp_path / "ckpt.toml", extra=f'supervised = "{start}"'))
    run_league(config, tmp_path / "ckpt", rounds=1, progress=False)
    with LeagueStore.open(tmp_path / "ckpt" / STORE_NAME) as store:
        assert store.meta("supervised") == str(start.resolve())
    # every learner (and main@0) starts from the supervised weights
    prefs = load_checkpoint(start).arrays["prefs"]
    for name in ("main@0",):
        snapshot = load_checkpoint(tmp_path / "ckpt" / "snapshots" / f"{name}.pt")
        assert (snapshot.arrays["prefs"] == prefs).all()

    teacher = write_config(
        tmp_path / "teacher.toml",
        extra='[supervised]\nteacher = "minimax:depth=2"\ngames = 6\nopening_moves = 2\n'
        'net = "mlp:hidden=8"\nepochs = 1\n',
    )
    out = tmp_path / "teacher"
    run_league(read_config(teacher), out, rounds=1, progress=False)
    assert len(list((out / "supervised" / "records").glob("game_*"))) == 6
    with LeagueStore.open(out / STORE_NAME) as store:
        assert store.meta("supervised") == str(out / "supervised" / "bc" / "final.pt")
    assert load_checkpoint(out / "supervised" / "bc" / "final.pt").metadata["agent"] == "bc"


# -- kill -9 ---------------------------------------------------------------------------------


def rounds_started(out: Path) -> int:
    """Rounds the store records (any phase), read without writing to the store; 0 before the
    store exists."""
    if not (out / STORE_NAME).exists():
        return 0
    try:
        with contextlib.closing(
            sqlite3.connect(f"file:{out / STORE_NAME}?mode=ro", uri=True, timeout=0.1)
        ) as connection:
            return connection.execute("SELECT count(*) FROM rounds").fetchone()[0]
    except sqlite3.Error:  # being created, or locked for a moment
        return 0


@pytest.mark.parametrize(
    "trial", [0, *(pytest.param(t, marks=pytest.mark.slow) for t in range(1, 4))]
)
def test_kill_9_then_resume_loses_nothing_and_counts_nothing_twice(plugin, tmp_path, trial):
    path = write_config(
        tmp_path / "league.toml",
        players="\n".join(
            f'[[players]]\nrole = "{role}"\nlearner = "{LEARNER}"\nsettings = {{ sleep = 0.02 }}\n'
            for role in ("main", "main_exploiter", "league_exploiter")
        ),
    )
    reference = tmp_path / "reference"
    assert (
        cli("run", "--config", str(path), "--out", str(reference), "--rounds", "6").returncode == 0
    )

    out = tmp_path / "killed"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rlkit.leagues.cli",
            "league",
            "run",
            "--config",
            str(path),
            "--out",
            str(out),
            "--rounds",
            "6",
            "--quiet",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    # Kill once round k (1 to 4, by trial) has started, at a random moment within it: rounds
    # take a fraction of a second here, so a fixed delay could miss the run altogether.
    started_rounds = 1 + trial % 4
    deadline = time.monotonic() + 60
    while rounds_started(out) < started_rounds and time.monotonic() < deadline:
        time.sleep(0.005)
    time.sleep(random.Random(trial).uniform(0.0, 0.1))
    process.send_signal(signal.SIGKILL)
    process.wait()
    with LeagueStore.open(out / STORE_NAME) as store:  # killed in the middle, not after
        assert sum(r["phase"] == "done" for r in store.rounds()) < 6
    resumed = cli("run", "--resume", "--out", str(out), "--rounds", "6", "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    assert stored_results(out) == stored_results(reference)
    assert stored_players(out) == stored_players(reference)
    # the main agent (never reset) has trained exactly 6 rounds, by the store and by its file
    from rlkit.checkpoint import load_checkpoint

    main = load_checkpoint(out / "main" / "final.pt")
    assert main.metadata["extra_state"]["trained"] == 600
    status = cli("status", str(out))
    assert status.returncode == 0 and "payoff" in status.stdout and "ratings" in status.stdout


# -- bad input -------------------------------------------------------------------------------


def one_line_error(result: subprocess.CompletedProcess, *words: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word in lines[0], lines[0]


def test_bad_input_is_one_line_and_exit_2(plugin, tmp_path):
    out = str(tmp_path / "out")
    bad_role = write_config(
        tmp_path / "role.toml", players=f'[[players]]\nrole = "mian"\nlearner = "{LEARNER}"\n'
    )
    one_line_error(cli("run", "--config", str(bad_role), "--out", out), "unknown role", "mian")
    bad_learner = write_config(
        tmp_path / "learner.toml", players='[[players]]\nrole = "main"\nlearner = "nope"\n'
    )
    one_line_error(cli("run", "--config", str(bad_learner), "--out", out), "unknown learner")
    bad_key = write_config(tmp_path / "key.toml", extra="stepz = 3")
    one_line_error(cli("run", "--config", str(bad_key), "--out", out), "unknown key", "stepz")
    bad_frozen = write_config(tmp_path / "frozen.toml", frozen=["minimaxx"])
    one_line_error(cli("run", "--config", str(bad_frozen), "--out", out), "minimaxx")
    missing = write_config(tmp_path / "missing.toml", extra='supervised = "no/such.pt"')
    one_line_error(cli("run", "--config", str(missing), "--out", out), "no/such.pt")
    wrong_game = write_config(
        tmp_path / "game.toml",
        players=f'[[players]]\nrole = "main"\nlearner = "{LEARNER}"\n'
        'settings = { only = "connect4" }\n',
    )
    one_line_error(cli("run", "--config", str(wrong_game), "--out", out), "connect4")
    assert not Path(out).exists()  # a league that never started leaves nothing behind
    one_line_error(cli("status", str(tmp_path)), "no league")

    good = write_config(tmp_path / "good.toml")
    assert (
        cli("run", "--config", str(good), "--out", out, "--rounds", "1", "--quiet").returncode == 0
    )
    one_line_error(cli("run", "--config", str(good), "--out", out), "already holds a league")
    store = Path(out) / STORE_NAME
    store.write_bytes(b"garbage" * 100)
    for name in (STORE_NAME + "-wal", STORE_NAME + "-shm"):
        (Path(out) / name).unlink(missing_ok=True)
    one_line_error(cli("run", "--resume", "--out", out), "league.sqlite")
    one_line_error(cli("status", out), "league.sqlite")


def test_config_errors_name_the_key(tmp_path):
    with pytest.raises(SpecError, match="players"):
        read_config(write_config(tmp_path / "a.toml", players=""))
    with pytest.raises(SpecError, match=r"league\.decay"):
        read_config(write_config(tmp_path / "b.toml", league="decay = 1.5"))
    with pytest.raises(CheckpointError, match="supervised"):
        read_config(write_config(tmp_path / "c.toml", extra='supervised = "nowhere.pt"'))
    with pytest.raises(SpecError, match="main"):
        read_config(
            write_config(
                tmp_path / "d.toml",
                players=f'[[players]]\nrole = "league_exploiter"\nlearner = "{LEARNER}"\n',
            )
        )


def test_corrupt_store_is_refused(tmp_path):
    path = tmp_path / STORE_NAME
    path.write_text("not a database at all" * 50)
    with pytest.raises(LeagueStoreError):
        LeagueStore.open(path)


# -- Ray -------------------------------------------------------------------------------------


@pytest.mark.slow
def test_ray_backend_in_a_loopback_namespace_leaves_the_local_store(plugin, tmp_path):
    """As tests/core/test_tournament_ray.py: Ray only inside a loopback-only namespace."""
    import shutil

    pytest.importorskip("ray")
    if os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("ip") is None:
        pytest.skip("a network namespace needs root, unshare and ip")
    probe = subprocess.run(
        ["unshare", "--net", "sh", "-c", "ip link set lo up"], capture_output=True, timeout=30
    )
    if probe.returncode != 0:
        pytest.skip(f"cannot make a loopback-only namespace: {probe.stderr.decode().strip()}")
    path = write_config(tmp_path / "league.toml")
    local = tmp_path / "local"
    assert cli("run", "--config", str(path), "--out", str(local), "--rounds", "2").returncode == 0
    ray_out = tmp_path / "ray"
    command = (
        f"ip link set lo up && {sys.executable} -m rlkit.leagues.cli league run --config {path} "
        f"--out {ray_out} --rounds 2 --backend ray --workers 2 --quiet"
    )
    result = subprocess.run(
        ["unshare", "--net", "sh", "-c", command], capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert stored_results(ray_out) == stored_results(local)
    assert stored_players(ray_out) == stored_players(local)
