"""Running a league: config, supervised start, rounds of training and payoff matches, resume.

A league (Vinyals et al., Nature 575, 2019) grows in rounds. Each round:

1. **Matchmaking.** Every learning player asks its role (:mod:`rlkit.leagues.roles`) for an
   opponent, from the payoff recomputed from every stored result. The round and its
   assignments are stored in one transaction.
2. **Training.** Every learner loads its last saved checkpoint (or is kept in memory with
   ``workers = 1``), trains ``steps_per_round`` environment steps (whole episodes) against its
   opponent's checkpoint as it was at matchmaking, and saves a new checkpoint under a new name
   (atomically). The new file and the learner's step count are recorded in one transaction.
   With ``workers > 1`` the learners train in parallel, each in its own spawned process.
3. **Payoff matches.** Each learner plays ``games_per_match`` games against its opponent (a
   learner's opponent that is itself, in self-play, plays no payoff games: the result would
   be 0.5 by symmetry), planned as a tournament (:class:`rlkit.tournament.TournamentPlan`,
   colours alternating, seeds derived from the league seed and the round) and played by the
   tournament scheduler on local processes or Ray. Each game is stored in its own
   transaction, keyed ``(round, pairing, game)``.
4. **Snapshots and resets.** With the payoff now including the round's games, every learner
   whose role says so is snapshotted (a copy of its checkpoint joins the frozen pool as
   ``NAME@K`` with ``parent = NAME``) and possibly reset to the supervised start; all of it,
   and the round's end, in one transaction.

At the start, the supervised policy is made (``[supervised]``: the teacher's games through
:func:`rlkit.match.play_match`, cloned with :func:`rlkit.agents.bc.train_bc`) or taken from
a checkpoint, every learner is created from it, and, as in AlphaStar's pseudocode, a frozen copy
of every main agent joins the pool so that PFSP has something to choose from.

Resume (``kill -9`` at any moment, then ``--resume``): the stored phase of the last round says
what is left; learners continue from their last recorded checkpoint; only games missing from
the store are played; random choices come from seeds derived from ``(seed, round, player)``,
so a redone step decides as the interrupted one would have.

Files in ``OUT``: ``league.sqlite`` (:mod:`rlkit.leagues.store`), ``players/NAME/`` (the
learner's checkpoints and ``metrics.csv`` + TensorBoard ``tb/``), ``NAME/final.pt`` (the
learner's checkpoint as of the last finished round, so ``OUT/NAME`` is a run folder any agent
argument accepts), ``snapshots/NAME@K.pt``, ``supervised/`` (records and the cloned policy).
"""

from __future__ import annotations

import contextlib
import importlib
import math
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rlkit.errors import CheckpointError, RlkitError, SpecError
from rlkit.leagues.payoff import Payoff
from rlkit.leagues.roles import (
    FROZEN,
    LEARNING_ROLES,
    MAIN,
    League,
    LeaguePlayer,
    RoleSettings,
    make_role,
)
from rlkit.leagues.store import STORE_NAME, LeagueStore, LeagueStoreError, PlayerRow
from rlkit.sqlite_store import lock_folder

BACKENDS = ("local", "ray")
RESERVED_NAMES = ("players", "snapshots", "supervised")
"""Folder names in a league's folder that a player may not take."""


class LeagueError(RlkitError):
    """A league that cannot be started, resumed or continued as asked."""


# -- config -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlayerConfig:
    """One learning player (a ``[[players]]`` table).

    Attributes:
        name: unique name (default: the role, numbered when a role repeats).
        role: ``main``, ``main_exploiter`` or ``league_exploiter``.
        learner: a learner name (``reinforce``, ``maskable-ppo``) or ``module:Class``.
        settings: the learner's own settings (the ``settings`` sub-table).
        steps_per_round: this player's training steps per round (None: the league's
            ``steps_per_round``). How the league's compute is shared: the main agent is what
            the league ships, exploiters only have to find its weaknesses.
    """

    name: str
    role: str
    learner: str
    settings: dict[str, Any] = field(default_factory=dict)
    steps_per_round: int | None = None


@dataclass(frozen=True)
class SupervisedConfig:
    """The supervised start: a checkpoint, or a teacher whose games are behaviour-cloned.

    Attributes:
        checkpoint: an agent checkpoint to start from (then nothing else is used).
        teacher: agent spec whose self-play games are cloned.
        games: teacher games to record.
        opening_moves: random first moves per game, so that a deterministic teacher's games
            differ (they are left out of the cloned positions).
        net: network spec for the clone (None: the game's default).
        epochs: training epochs (None: the trainer's default).
    """

    checkpoint: str | None = None
    teacher: str = "minimax:depth=3"
    games: int = 200
    opening_moves: int = 4
    net: str | None = None
    epochs: int | None = None


@dataclass(frozen=True)
class LeagueConfig:
    """A league (the TOML file's top level).

    Attributes:
        game: game spec, e.g. ``connect4``.
        players: the learning players; at least one ``main``.
        seed: every random choice and learner seed derives from it.
        supervised: the supervised start (None: learners start from scratch).
        frozen: agent specs that join the frozen pool from the start (``minimax:depth=2``).
        steps_per_round: environment steps each learner trains per round.
        games_per_match: payoff games per learner and round.
        opening_moves: random first moves of each payoff game, shared by the two games of a
            colour-swapped pair: greedy network agents are deterministic, and without them
            every pair of players would play the same two games over and over. Training
            episodes open the same way, so learners train on the positions they are rated on
            (against a deterministic opponent without them, a learner wins its training games
            by one memorised line and not from the varied openings of the payoff games).
        backend: ``local`` processes or ``ray`` for the payoff matches.
        workers: processes for training (learners in parallel) and for matches (1: all in
            this process).
        league: matchmaking, snapshot and reset constants.
    """

    game: str
    players: tuple[PlayerConfig, ...]
    seed: int = 0
    supervised: SupervisedConfig | None = None
    frozen: tuple[str, ...] = ()
    steps_per_round: int = 10_000
    games_per_match: int = 20
    opening_moves: int = 2
    backend: str = "local"
    workers: int = 1
    league: RoleSettings = field(default_factory=RoleSettings)

    def __post_init__(self) -> None:
        if not self.players:
            raise SpecError("a league needs [[players]] tables, at least one with role = 'main'")
        if not any(p.role == MAIN for p in self.players):
            raise SpecError("a league needs at least one player with role = 'main'")
        names = [p.name for p in self.players] + list(self.frozen)
        duplicate = next((n for n in names if names.count(n) > 1), None)
        if duplicate is not None:
            raise SpecError(f"player name {duplicate!r} is used twice; give each a unique name")
        for key in ("steps_per_round", "games_per_match", "workers"):
            if getattr(self, key) < 1:
                raise SpecError(f"{key} must be at least 1, got {getattr(self, key)}")
        if self.opening_moves < 0:
            raise SpecError(f"opening_moves must be at least 0, got {self.opening_moves}")
        if self.seed < 0:
            raise SpecError(f"seed must be a non-negative integer, got {self.seed}")
        if self.backend not in BACKENDS:
            raise SpecError(f"unknown backend {self.backend!r}: use local or ray")

    def to_dict(self) -> dict[str, Any]:
        """JSON for the store (``from_dict`` reads it back)."""
        from dataclasses import asdict

        data = asdict(self)
        data["players"] = [  # TOML has no null: an unset field is left out
            {k: v for k, v in asdict(p).items() if v is not None} for p in self.players
        ]
        data["frozen"] = list(self.frozen)
        if self.supervised is None:
            del data["supervised"]
        else:  # TOML has no null: an unset field is left out
            data["supervised"] = {k: v for k, v in data["supervised"].items() if v is not None}
        return data


_TOP_KEYS: dict[str, tuple[type, ...]] = {
    "game": (str,),
    "seed": (int,),
    "supervised": (str, dict),
    "frozen": (list,),
    "steps_per_round": (int,),
    "games_per_match": (int,),
    "opening_moves": (int,),
    "backend": (str,),
    "workers": (int,),
    "league": (dict,),
    "players": (list,),
}
_PLAYER_KEYS: dict[str, tuple[type, ...]] = {
    "name": (str,),
    "role": (str,),
    "learner": (str,),
    "settings": (dict,),
    "steps_per_round": (int,),
}
_SUPERVISED_KEYS: dict[str, tuple[type, ...]] = {
    "checkpoint": (str,),
    "teacher": (str,),
    "games": (int,),
    "opening_moves": (int,),
    "net": (str,),
    "epochs": (int,),
}


def _check_keys(data: dict[str, Any], known: dict[str, tuple[type, ...]], where: str) -> None:
    """Refuse unknown keys and values of the wrong type, naming the key."""
    for key, value in data.items():
        if key not in known:
            raise SpecError(f"{where}: unknown key {key!r} (known: {', '.join(known)})")
        types = known[key]
        wrong_bool = isinstance(value, bool) and bool not in types
        if wrong_bool or not isinstance(value, types):
            expected = " or ".join("table" if t is dict else t.__name__ for t in types)
            raise SpecError(f"{where}: {key} must be {expected}, got {value!r}")


def config_from_dict(data: dict[str, Any], where: str = "config") -> LeagueConfig:
    """Build and check a :class:`LeagueConfig` from TOML (or stored JSON) data.

    Raises:
        SpecError: an unknown key, role or value, naming it; CheckpointError: a supervised
            checkpoint that does not exist.
    """
    _check_keys(data, _TOP_KEYS, where)
    if "game" not in data:
        raise SpecError(f'{where}: name the game, e.g. game = "connect4"')
    players: list[PlayerConfig] = []
    raw_players = data.get("players", [])
    role_counts = {
        r: sum(isinstance(p, dict) and p.get("role") == r for p in raw_players)
        for r in LEARNING_ROLES
    }
    for i, raw in enumerate(raw_players):
        here = f"{where}: players[{i}]"
        if not isinstance(raw, dict):
            raise SpecError(f"{here} must be a table ([[players]])")
        _check_keys(raw, _PLAYER_KEYS, here)
        for key in ("role", "learner"):
            if key not in raw:
                raise SpecError(f"{here}: missing key {key!r}")
        role = raw["role"]
        if role not in LEARNING_ROLES:
            raise SpecError(f"{here}: unknown role {role!r} (known: {', '.join(LEARNING_ROLES)})")
        number = sum(p.role == role for p in players) + 1
        name = raw.get("name") or (role if role_counts[role] == 1 else f"{role}_{number}")
        if not name.replace("_", "").replace("-", "").isalnum() or name in RESERVED_NAMES:
            raise SpecError(
                f"{here}: name {name!r} must be letters, digits, '-' and '_' and not one of "
                f"{', '.join(RESERVED_NAMES)}"
            )
        steps = raw.get("steps_per_round")
        if steps is not None and steps < 1:
            raise SpecError(f"{here}: steps_per_round must be at least 1, got {steps}")
        players.append(
            PlayerConfig(name, role, raw["learner"], dict(raw.get("settings", {})), steps)
        )
    supervised = data.get("supervised")
    if isinstance(supervised, str):
        supervised = {"checkpoint": supervised}
    if supervised is not None:
        _check_keys(supervised, _SUPERVISED_KEYS, f"{where}: supervised")
        checkpoint = supervised.get("checkpoint")
        if checkpoint is not None:
            path = Path(checkpoint)
            if not path.exists():
                raise CheckpointError(
                    f"{where}: supervised checkpoint {checkpoint!r} does not exist"
                )
            supervised = {**supervised, "checkpoint": str(path.resolve())}
        for key in ("games", "epochs"):
            if key in supervised and supervised[key] < 1:
                raise SpecError(f"{where}: supervised.{key} must be at least 1")
        if supervised.get("opening_moves", 0) < 0:
            raise SpecError(f"{where}: supervised.opening_moves must be at least 0")
        supervised = SupervisedConfig(**supervised)
    league = data.get("league", {})
    known_league = {f: (int, float) for f in RoleSettings.__dataclass_fields__}
    _check_keys(league, known_league, f"{where}: league")
    frozen = data.get("frozen", [])
    if not all(isinstance(spec, str) for spec in frozen):
        raise SpecError(f"{where}: frozen must be a list of agent specs (strings)")
    top = {
        k: data[k]
        for k in (
            "seed",
            "steps_per_round",
            "games_per_match",
            "opening_moves",
            "backend",
            "workers",
        )
        if k in data
    }
    return LeagueConfig(
        game=data["game"],
        players=tuple(players),
        supervised=supervised,
        frozen=tuple(frozen),
        league=RoleSettings(**league),
        **top,
    )


def read_config(path: str | Path) -> LeagueConfig:
    """Read a league TOML file (see ``configs/league-connect4.toml``).

    Raises:
        SpecError, CheckpointError: one line naming the problem.
    """
    from rlkit.tomlio import load_toml

    return config_from_dict(load_toml(path), where=str(path))


# -- learners ---------------------------------------------------------------------------------


def resolve_learner(name: str) -> type:
    """The learner class for a name in :data:`rlkit.leagues.learners.LEARNERS` or a
    ``module:Class`` path.

    Raises:
        SpecError: unknown name, or a class without the learner interface.
    """
    if ":" in name:
        module_name, _, class_name = name.partition(":")
        try:
            cls = getattr(importlib.import_module(module_name), class_name)
        except (ImportError, AttributeError) as exc:
            raise SpecError(f"learner {name!r} cannot be imported ({exc})") from None
    else:
        try:
            from rlkit.leagues.learners import LEARNERS
        except ImportError as exc:
            raise SpecError(f"learner {name!r}: the league learners cannot load ({exc})") from None
        if name not in LEARNERS:
            raise SpecError(
                f"unknown learner {name!r} (known: {', '.join(sorted(LEARNERS))}, or module:Class)"
            )
        cls = LEARNERS[name]
    missing = [m for m in ("create", "load", "train_against", "save") if not hasattr(cls, m)]
    if missing:
        raise SpecError(f"learner {name!r} is not a league learner (no {', '.join(missing)})")
    return cls


def _train_task(task: dict[str, Any]) -> dict[str, Any]:
    """Train one learner for one round (in this process or a spawned one).

    ``task``: learner, game, settings, checkpoint (to load), opponent (spec), steps, seed,
    opening_moves (random first moves of each training episode, as in the payoff games), out
    (the new checkpoint). Returns the steps trained and the learner's metrics.
    """
    cls = resolve_learner(task["learner"])
    learner = task.get("live") or cls.load(task["checkpoint"], task["game"], task["settings"])
    _one_thread()
    before = int(learner.steps)
    metrics = learner.train_against(
        task["opponent"], task["steps"], seed=task["seed"], opening_moves=task["opening_moves"]
    )
    learner.save(task["out"])
    result = {"steps": int(learner.steps) - before, "metrics": _numeric(metrics)}
    if "live" in task:
        result["learner"] = learner
    return result


def _one_thread() -> None:
    """One torch thread per learner: the league runs one learner per core (``workers``), and
    small networks train fastest on one thread (more threads spin against each other)."""
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)


def _numeric(metrics: Any) -> dict[str, float]:
    out = {}
    for key, value in dict(metrics or {}).items():
        with contextlib.suppress(TypeError, ValueError):
            number = float(value)
            if math.isfinite(number):
                out[str(key)] = number
    return out


# -- seeds ------------------------------------------------------------------------------------


def derived_seed(seed: int, *key: int) -> int:
    """A 32-bit seed from the league seed and a key (purpose, round, player index)."""
    return int(np.random.SeedSequence(seed, spawn_key=key).generate_state(1)[0])


_CREATE, _MATCHMAKING, _TRAIN, _PLAN, _RESET, _RECREATE = range(6)


# -- the run ----------------------------------------------------------------------------------


@dataclass
class LeagueOutcome:
    """What :func:`run_league` leaves: the folder, rounds finished, and why it stopped."""

    out: Path
    rounds: int
    stopped: str
    players: list[PlayerRow] = field(default_factory=list)


def run_league(
    config: LeagueConfig | None,
    out: str | Path,
    *,
    resume: bool = False,
    minutes: float | None = None,
    rounds: int | None = None,
    backend: str | None = None,
    workers: int | None = None,
    progress: bool = True,
    log: Callable[[str], None] | None = None,
) -> LeagueOutcome:
    """Grow a league in ``out`` until ``minutes`` pass or ``rounds`` rounds are finished.

    Args:
        config: the league (None with ``resume``: the stored config is used; if given, it
            must equal the stored one).
        out: the league folder.
        resume: continue the league in ``out``.
        minutes: wall-clock budget; no new round starts after it (None: no limit).
        rounds: stop once this many rounds (in total) are finished (None: no limit).
        backend, workers: override the config's (they change speed, not results).
        progress: a line per round on stderr.
        log: where progress lines go (default: stderr).

    Raises:
        LeagueError, LeagueStoreError, SpecError, CheckpointError: one-line problems.
        KeyboardInterrupt: Ctrl-C; everything recorded stays recorded.
    """
    start = time.monotonic()
    out = Path(out).resolve()
    store_path = out / STORE_NAME
    if resume:
        if not store_path.is_file():
            raise LeagueError(f"{out} holds no league to resume (no {STORE_NAME})")
        lock = lock_folder(out, "league", LeagueError)
        try:
            store = LeagueStore.open(store_path)
            try:
                stored = config_from_dict(store.config(), where=str(store_path))
            except RlkitError as exc:
                store.close()
                raise LeagueStoreError(f"{store_path} holds a config that fails: {exc}") from None
            if config is not None and config.to_dict() != stored.to_dict():
                store.close()
                raise LeagueError(
                    f"the config differs from the one {out} was started with; resume without "
                    "--config (or start a new league with another --out)"
                )
            config = stored
        except BaseException:
            lock.close()
            raise
    else:
        if config is None:
            raise SpecError("give a league config (--config)")
        if store_path.exists():
            raise LeagueError(
                f"{out} already holds a league; continue it with --resume or choose a new --out"
            )
        clash = [name for name in RESERVED_NAMES if (out / name).exists()]
        if clash:
            raise LeagueError(f"{out} already holds {clash[0]}/; choose a new --out")
        for player in config.players:  # before anything is made: a typo leaves nothing behind
            resolve_learner(player.learner)
        from rlkit.match import make_player
        from rlkit.registry import make_game

        game = make_game(config.game)
        for spec in config.frozen:  # fixed frozen players must be agents that play this game
            agent = make_player(spec, game, seed=0).agent
            close = getattr(agent, "close", None)
            if callable(close):
                close()
        lock = lock_folder(out, "league", LeagueError)
        try:
            store = LeagueStore.create(store_path, config.to_dict())
        except BaseException:
            lock.close()
            raise
    runner: _Runner | None = None
    try:
        with store:
            runner = _Runner(
                config,
                out,
                store,
                backend or config.backend,
                workers or config.workers,
                progress,
                log,
            )
            try:
                return runner.run(start, minutes, rounds)
            finally:
                runner.close()
    except BaseException:
        if not resume and (runner is None or not runner.started):
            _remove_unstarted(out)  # nothing to resume: leave no half-made league behind
        raise
    finally:
        lock.close()


def _remove_unstarted(out: Path) -> None:
    """Remove what a league that failed before its players were recorded made."""
    for name in (STORE_NAME, STORE_NAME + "-wal", STORE_NAME + "-shm", ".lock"):
        (out / name).unlink(missing_ok=True)
    for name in RESERVED_NAMES:
        shutil.rmtree(out / name, ignore_errors=True)
    with contextlib.suppress(OSError):
        out.rmdir()  # only if empty


def _copy_atomically(source: Path, target: Path) -> None:
    from rlkit.checkpoint import write_atomically

    write_atomically(target, lambda tmp: shutil.copyfile(source, tmp))


class _Runner:
    """One run of a league (see the module docstring for the round)."""

    def __init__(
        self,
        config: LeagueConfig,
        out: Path,
        store: LeagueStore,
        backend: str,
        workers: int,
        progress: bool,
        log: Callable[[str], None] | None,
    ) -> None:
        if backend not in BACKENDS:
            raise SpecError(f"unknown backend {backend!r}: use local or ray")
        self.config = config
        self.out = out
        self.store = store
        self.backend = backend
        self.workers = workers
        self.progress = progress
        self.log = log or (lambda line: print(line, file=sys.stderr, flush=True))
        self.index = {p.name: i for i, p in enumerate(config.players)}
        self.by_name = {p.name: p for p in config.players}
        self.live: dict[str, tuple[str, Any]] = {}  # workers == 1: learner kept in memory
        self._pool: Any = None
        self._metrics: dict[str, Any] = {}
        self._ray: Any = None  # Ray, when this run started it (once, for every round)
        self.started = False
        """Whether the league's players are recorded (from then on it can be resumed)."""

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
        if self._ray is not None:
            self._ray.shutdown()
        for log in self._metrics.values():
            log.close()

    # -- helpers ----------------------------------------------------------------------------------
    def path(self, relative: str) -> str:
        return str(self.out / relative)

    def spec_of(self, row: PlayerRow) -> str:
        """What plays as ``row``: a fixed frozen player's agent spec, else its checkpoint."""
        return row.checkpoint if row.role == FROZEN else self.path(row.checkpoint)

    def payoff(self) -> Payoff:
        results = self.store.results()
        return Payoff.from_results(
            ((r["a"], r["b"], r["score"]) for r in results), self.config.league.decay
        )

    def league(self, players: list[PlayerRow]) -> League:
        return League(
            [
                LeaguePlayer(p.name, p.role, p.frozen, p.parent, p.steps, p.snapshot_steps)
                for p in players
            ],
            self.payoff(),
        )

    def learners(self, players: list[PlayerRow]) -> list[PlayerRow]:
        """Learning players in config order."""
        rows = {p.name: p for p in players if not p.frozen}
        return [rows[p.name] for p in self.config.players]

    def create_learner(self, player: PlayerConfig, seed: int) -> Any:
        cls = resolve_learner(player.learner)
        learner = cls.create(self.config.game, player.settings, init=self.supervised, seed=seed)
        _one_thread()
        return learner

    def publish(self, row: PlayerRow) -> None:
        """``OUT/NAME/final.pt``: the learner as of now, a run folder for agent arguments."""
        _copy_atomically(self.out / row.checkpoint, self.out / row.name / "final.pt")

    # -- setup ------------------------------------------------------------------------------------
    def setup(self) -> None:
        """Supervised start, learners, and the initial frozen pool (once per league)."""
        if self.store.players():
            self.supervised = self.store.meta("supervised") or None
            self.started = True
            return
        self.supervised = self.make_supervised()
        rows: list[PlayerRow] = []
        snapshots: list[PlayerRow] = []
        for i, player in enumerate(self.config.players):
            learner = self.create_learner(player, derived_seed(self.config.seed, _CREATE, i))
            relative = f"players/{player.name}/start.pt"
            learner.save(self.path(relative))
            if self.workers == 1:
                self.live[player.name] = (relative, learner)
            rows.append(PlayerRow(player.name, player.role, player.learner, None, relative))
            if player.role == MAIN:  # AlphaStar adds a frozen copy of each main agent at start
                snapshot = f"snapshots/{player.name}@0.pt"
                _copy_atomically(self.out / relative, self.out / snapshot)
                snapshots.append(
                    PlayerRow(
                        f"{player.name}@0", MAIN, player.learner, player.name, snapshot, frozen=True
                    )
                )
        fixed = [
            PlayerRow(spec, FROZEN, None, None, spec, frozen=True) for spec in self.config.frozen
        ]
        self.store.add_players(rows + snapshots + fixed)
        self.started = True
        for row in rows:
            self.publish(row)

    def make_supervised(self) -> str | None:
        """The supervised start's checkpoint path (made now from a teacher, if configured)."""
        supervised = self.config.supervised
        if supervised is None:
            return None
        if supervised.checkpoint is not None:
            path = supervised.checkpoint
        else:
            from rlkit.agents.bc import train_bc
            from rlkit.match import play_match
            from rlkit.registry import make_game

            folder = self.out / "supervised"
            if folder.exists():  # a start interrupted before it was recorded: begin again
                shutil.rmtree(folder)
            self.log(f"supervised start: {supervised.games} games of {supervised.teacher}")
            match = play_match(
                make_game(self.config.game),
                supervised.teacher,
                supervised.teacher,
                supervised.games,
                seed=self.config.seed,
                opening_moves=supervised.opening_moves,
                record_dir=folder / "records",
                threads=1,
            )
            if match.interrupted:
                raise KeyboardInterrupt
            train_bc(
                data=folder / "records",
                env=self.config.game,
                net=supervised.net,
                out=folder / "bc",
                seed=self.config.seed,
                progress=self.progress,
                epochs=supervised.epochs,
                threads=1,
            )
            path = str(folder / "bc" / "final.pt")
        self.store.set_meta("supervised", path)
        return path

    # -- the loop ---------------------------------------------------------------------------------
    def run(self, start: float, minutes: float | None, rounds: int | None) -> LeagueOutcome:
        self.setup()
        finished = sum(r["phase"] == "done" for r in self.store.rounds())
        stopped = "rounds"
        while True:
            existing = self.store.rounds()
            current = existing[-1] if existing and existing[-1]["phase"] != "done" else None
            if current is None:
                if rounds is not None and finished >= rounds:
                    stopped = "rounds"
                    break
                if minutes is not None and time.monotonic() - start >= 60 * minutes:
                    stopped = "minutes"
                    break
            number = current["round"] if current else len(existing)
            round_start = time.monotonic()
            self.play_round(number, current)
            finished += 1
            if self.progress:
                self.report(number, start, round_start, minutes, rounds, finished)
        return LeagueOutcome(self.out, finished, stopped, self.store.players())

    def play_round(self, number: int, current: dict[str, Any] | None) -> None:
        if current is None:
            self.matchmake(number)
            current = {"phase": "matched"}
        self.timing = {"train": 0.0, "matches": 0.0}
        if current["phase"] == "matched":
            begin = time.monotonic()
            self.train(number)
            self.plan(number)
            self.timing["train"] = time.monotonic() - begin
        begin = time.monotonic()
        self.play_matches(number)
        self.timing["matches"] = time.monotonic() - begin
        self.snapshot(number)
        self.cleanup()

    def matchmake(self, number: int) -> None:
        players = self.store.players()
        league = self.league(players)
        rows = {p.name: p for p in players}
        assignments = []
        for row in self.learners(players):
            i = self.index[row.name]
            rng = np.random.default_rng(derived_seed(self.config.seed, _MATCHMAKING, number, i))
            role = make_role(row.role, self.config.league)
            player = next(p for p in league.players if p.name == row.name)
            match = role.get_match(player, league, rng)
            assignments.append(
                {
                    "player": row.name,
                    "opponent": match.opponent,
                    "opponent_checkpoint": self.spec_of(rows[match.opponent]),
                    "branch": match.branch,
                }
            )
        self.store.begin_round(number, assignments)

    def train(self, number: int) -> None:
        players = {p.name: p for p in self.store.players()}
        tasks = []
        for a in self.store.assignments(number):
            if a["trained"]:
                continue
            row = players[a["player"]]
            player = self.by_name[row.name]
            relative = f"players/{row.name}/r{number:05d}.pt"
            task = {
                "learner": player.learner,
                "game": self.config.game,
                "settings": player.settings,
                "checkpoint": self.path(row.checkpoint),
                "opponent": a["opponent_checkpoint"],
                "steps": player.steps_per_round or self.config.steps_per_round,
                "opening_moves": self.config.opening_moves,
                "seed": derived_seed(self.config.seed, _TRAIN, number, self.index[row.name]),
                "out": self.path(relative),
            }
            tasks.append((row, relative, task))
        if self.workers == 1 or len(tasks) <= 1:
            for row, relative, task in tasks:
                live = self.live.get(row.name)
                if live is not None and live[0] == row.checkpoint:
                    task["live"] = live[1]
                else:
                    task["live"] = None  # loaded from its checkpoint, then kept
                result = _train_task(task)
                self.live[row.name] = (relative, result.pop("learner"))
                self.record(number, row, relative, result)
            return
        import concurrent.futures
        import multiprocessing

        if self._pool is None:  # spawn: the parent may hold torch threads a fork would copy
            self._pool = concurrent.futures.ProcessPoolExecutor(
                max_workers=min(self.workers, len(self.config.players)),
                mp_context=multiprocessing.get_context("spawn"),
            )
        futures = {
            self._pool.submit(_train_task, task): (row, relative) for row, relative, task in tasks
        }
        for future in concurrent.futures.as_completed(futures):
            row, relative = futures[future]
            self.record(number, row, relative, future.result())

    def record(self, number: int, row: PlayerRow, relative: str, result: dict) -> None:
        self.store.record_training(
            number, row.name, relative, row.steps + result["steps"], result["metrics"]
        )

    def plan(self, number: int) -> None:
        """Plan the round's payoff matches (after every learner trained) and store the plan."""
        from rlkit.tournament import Pairing, TournamentPlan

        players = {p.name: p for p in self.store.players()}
        names: dict[str, str] = {}
        pairings: list[Pairing] = []
        seen: set[frozenset[str]] = set()
        for a in self.store.assignments(number):
            if a["player"] == a["opponent"] or frozenset((a["player"], a["opponent"])) in seen:
                continue  # self-play needs no payoff games; a pair plays once a round
            seen.add(frozenset((a["player"], a["opponent"])))
            specs = [self.spec_of(players[a["player"]]), self.spec_of(players[a["opponent"]])]
            names.update(zip(specs, (a["player"], a["opponent"]), strict=True))
            pairings.append(Pairing(specs[0], specs[1], self.config.games_per_match))
        plan = TournamentPlan(
            env=self.config.game,
            agents=tuple(names),
            pairings=tuple(pairings),
            seed=derived_seed(self.config.seed, _PLAN, number),
            format="pairings",
            opening_moves=self.config.opening_moves,
        )
        self.store.set_round_plan(number, plan.to_dict(), names)

    def play_matches(self, number: int) -> None:
        """Play the round's missing payoff games through the tournament scheduler."""
        from rlkit.tournament import TournamentPlan, run_jobs

        stored = next(r for r in self.store.rounds() if r["round"] == number)
        if not stored["plan"]["pairings"]:
            return
        plan = TournamentPlan.from_dict(stored["plan"])
        names = stored["names"]
        done = self.store.finished_keys(number)
        jobs = [job for job in plan.jobs() if job.key not in done]

        def on_row(row: dict[str, Any]) -> None:
            self.store.add_result(
                number,
                {
                    **row,
                    "a": names[row["a"]],
                    "b": names[row["b"]],
                    "first": names.get(row["first"], row["first"]),
                    "forfeit": names.get(row["forfeit"], row["forfeit"]),
                },
            )

        if self.backend == "ray" and self._ray is None and jobs:
            from rlkit.tournament import import_ray

            ray = import_ray()
            if not ray.is_initialized():  # one Ray for the whole run, not one per round
                ray.init(include_dashboard=False, log_to_driver=False)
                self._ray = ray
        run_jobs(
            plan,
            jobs,
            backend=self.backend,
            workers=self.workers,
            on_row=on_row,
            options={"device": "cpu", "threads": 1},
        )

    def snapshot(self, number: int) -> None:
        """Snapshot (and reset) the learners whose role says so; close the round."""
        players = self.store.players()
        league = self.league(players)
        new_rows: list[PlayerRow] = []
        updates: list[tuple[str, str, int, int]] = []
        reset: set[str] = set()
        for row in self.learners(players):
            i = self.index[row.name]
            role = make_role(row.role, self.config.league)
            player = next(p for p in league.players if p.name == row.name)
            if not role.ready_to_snapshot(player, league):
                continue
            k = sum(p.parent == row.name for p in players) + (row.role != MAIN)
            name = f"{row.name}@{k}"
            relative = f"snapshots/{name}.pt"
            _copy_atomically(self.out / row.checkpoint, self.out / relative)
            new_rows.append(
                PlayerRow(
                    name,
                    row.role,
                    row.learner,
                    row.name,
                    relative,
                    row.steps,
                    row.steps,
                    frozen=True,
                    joined=number,
                )
            )
            checkpoint, resets = row.checkpoint, row.resets
            rng = np.random.default_rng(derived_seed(self.config.seed, _RESET, number, i))
            if role.resets_on_snapshot(rng):
                learner = self.create_learner(
                    self.by_name[row.name], derived_seed(self.config.seed, _RECREATE, number, i)
                )
                checkpoint = f"players/{row.name}/r{number:05d}-reset.pt"
                learner.save(self.path(checkpoint))
                if self.workers == 1:
                    self.live[row.name] = (checkpoint, learner)
                resets += 1
                reset.add(row.name)
            updates.append((row.name, checkpoint, row.steps, resets))
        self.store.finish_round(number, new_rows, updates)
        self.write_metrics(number, league, {r.name for r in new_rows}, reset)

    def write_metrics(
        self, number: int, league: League, snapshots: set[str], resets: set[str]
    ) -> None:
        from rlkit.training import MetricsLog

        assignments = {a["player"]: a for a in self.store.assignments(number)}
        players = self.store.players()
        historical = league.historical()
        for row in self.learners(players):
            log = self._metrics.get(row.name)
            if log is None:
                log = self._metrics[row.name] = MetricsLog(self.out / "players" / row.name)
            a = assignments[row.name]
            rates = league.payoff.win_rates(row.name, historical)
            metrics = {
                "steps": row.steps,
                "round": number,
                "win_rate_vs_opponent": league.payoff.win_rate(row.name, a["opponent"]),
                "min_win_rate_vs_frozen": float(rates.min()) if rates.size else 0.5,
                "snapshot": float(any(s.startswith(row.name + "@") for s in snapshots)),
                "reset": float(row.name in resets),
                **{f"learner/{k}": v for k, v in sorted((a["metrics"] or {}).items())},
            }
            log.write(metrics)
            self.publish(row)
        self._last = (assignments, snapshots, resets, league)

    def cleanup(self) -> None:
        """Remove learners' checkpoints that no stored player or plan points at any more."""
        keep = {self.out / p.checkpoint for p in self.store.players() if p.role != FROZEN}
        for player in self.config.players:
            folder = self.out / "players" / player.name
            for path in folder.glob("*.pt"):
                if path not in keep:
                    path.unlink(missing_ok=True)

    def report(
        self,
        number: int,
        start: float,
        round_start: float,
        minutes: float | None,
        rounds: int | None,
        finished: int,
    ) -> None:
        """One progress line: elapsed, rate, ETA, and each learner's round."""
        now = time.monotonic()
        elapsed, took = now - start, now - round_start
        players = {p.name: p for p in self.store.players()}
        steps = sum(players[p.name].steps for p in self.config.players)
        left = []
        if minutes is not None:
            left.append(max(0.0, 60 * minutes - elapsed))
        if rounds is not None:
            left.append(max(0, rounds - finished) * took)
        eta = f", ETA {_clock(min(left))}" if left else ""
        assignments, snapshots, resets, league = self._last
        parts = []
        for p in self.config.players:
            a = assignments[p.name]
            p_rate = league.payoff.win_rate(p.name, a["opponent"])
            mark = " +snapshot" if any(s.startswith(p.name + "@") for s in snapshots) else ""
            mark += " reset" if p.name in resets else ""
            parts.append(f"{p.name} vs {a['opponent']} ({a['branch']}) p={p_rate:.2f}{mark}")
        frozen = sum(r.frozen for r in players.values())
        self.log(
            f"round {number}: {_clock(elapsed)} elapsed, {took:.1f} s/round (training "
            f"{self.timing['train']:.1f} s, matches {self.timing['matches']:.1f} s), "
            f"{steps / max(elapsed, 1e-9):,.0f} steps/s{eta} | {frozen} frozen | "
            + "; ".join(parts)
        )


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


# -- status -----------------------------------------------------------------------------------


def league_status(out: str | Path) -> dict[str, Any]:
    """Players, payoff matrix, snapshot history and ratings of the league in ``out``, with its
    config (:class:`LeagueConfig`) and its supervised start's checkpoint (None: from scratch).

    Raises:
        LeagueStoreError: no league there, or a corrupt store.
    """
    out = Path(out)
    path = out / STORE_NAME
    if not path.is_file():
        raise LeagueStoreError(f"{out} holds no league (no {STORE_NAME})")
    with LeagueStore.open(path) as store:
        try:
            config = config_from_dict(store.config(), where=str(path))
        except RlkitError as exc:
            raise LeagueStoreError(f"{path} holds a config that fails: {exc}") from None
        players = store.players()
        results = store.results()
        rounds = store.rounds()
        supervised = store.meta("supervised") or None
    payoff = Payoff.from_results(
        ((r["a"], r["b"], r["score"]) for r in results), config.league.decay
    )
    names = [p.name for p in players]
    played = [n for n in names if any(payoff.played(n, m) for m in names)]
    ratings = None
    if played:
        from rlkit.ratings import GameResult, fit_elo

        table = fit_elo(
            [GameResult(r["a"], r["b"], float(r["score"])) for r in results],
            players=played,
            # the supervised start (main@0) at 0 Elo, when it has played
            anchor=next((p.name for p in players if p.frozen and p.name in played), None),
        )
        ratings = table
    return {
        "out": str(out),
        "game": config.game,
        "config": config,
        "supervised": supervised,
        "rounds": sum(r["phase"] == "done" for r in rounds),
        "games": len(results),
        "players": players,
        "payoff": {
            a: {b: payoff.win_rate(a, b) for b in played if payoff.played(a, b)} for a in played
        },
        "ratings": ratings,
    }


def format_status(status: dict[str, Any]) -> str:
    """The text ``rlkit league status`` prints."""
    players: list[PlayerRow] = status["players"]
    lines = [
        f"league {status['out']}: {status['game']}, {status['rounds']} rounds finished, "
        f"{status['games']} payoff games",
        "",
        f"{'player':<24} {'role':<17} {'learner':<14} {'steps':>12} {'resets':>6}",
    ]
    for p in players:
        if not p.frozen:
            lines.append(
                f"{p.name:<24} {p.role:<17} {p.learner or '-':<14} {p.steps:>12,} {p.resets:>6}"
            )
    lines += ["", "frozen pool (snapshot history, oldest first):"]
    for p in players:
        if p.frozen:
            origin = f"snapshot of {p.parent} at {p.steps:,} steps" if p.parent else "agent spec"
            when = "start" if p.joined < 0 else f"round {p.joined}"
            lines.append(f"  {p.name:<24} {origin}, joined at {when}")
    payoff = status["payoff"]
    if payoff:
        names = list(payoff)
        width = max(6, *(len(n) for n in names))
        lines += ["", "payoff (row's win rate against column, decayed; . = unplayed):"]
        lines.append(" " * (width + 1) + " ".join(f"{n[:width]:>{width}}" for n in names))
        for a in names:
            cells = [
                f"{payoff[a][b]:>{width}.2f}" if b in payoff[a] else f"{'.':>{width}}"
                for b in names
            ]
            lines.append(f"{a:<{width}} " + " ".join(cells))
    if status["ratings"] is not None:
        lines += [
            "",
            "ratings (maximum-likelihood Elo over every payoff game):",
            status["ratings"].format(),
        ]
    return "\n".join(lines)
