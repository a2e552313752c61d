"""Tournaments: many agents, many games, on worker processes or Ray; results in SQLite; Elo.

``rlkit tournament A B C ... --env GAME --games N --out DIR`` plans the games, plays them in
parallel, stores each finished game in ``DIR/results.sqlite`` (see
:mod:`rlkit.tournament_store`) and ends with maximum-likelihood Elo ratings
(:func:`rlkit.ratings.fit_elo`) and their 95% intervals.

Formats (each pairing plays ``--games`` games, colours alternating by game index):

- ``round-robin``: every agent against every other;
- ``gauntlet``: the first ``--candidates K`` agents each against every other agent (the
  field), candidates not against each other;
- ``--pairings FILE``: one pairing per line, ``A B [GAMES]``.

Jobs and seeds. Every game is a job keyed by ``(pairing, game)``. Its randomness comes from
``numpy.random.SeedSequence(seed, spawn_key=(pairing, index, stream))``: stream 0 is the chance
generator (dice), with ``index`` the game's own index or, with ``--swap``, the even index of
its pair, so two games of a pair see the same dice with colours swapped; streams 1 and 2 seed
the pairing's first and second agent; with ``--opening-moves K`` stream 3, keyed by the pair's
even index, draws the K random first moves, so both colourings of a pair start from the same
random opening (deterministic agents then play different games). So a game's result
depends only on the tournament seed and its key, not on the number of workers, the order, or
what a worker played before, and :func:`play_job` replays any game alone.

Agents in workers. A worker builds each agent once (with :func:`rlkit.match.make_player`) and
keeps it. For each game it then seats:

- a fresh agent of the same class and config, seeded from the game's seed
  (``cls(config, game, seed=...)``, exactly what ``make_player(spec, seed=...)`` builds: under
  a millisecond), for agents given by a spec — minimax, MCTS, random, ``module:Class``. This
  resets every generator an agent derives at construction (MCTS's rollout and tie
  generators, minimax's table) without knowing the class;
- the kept agent itself, for checkpoints and run folders (loading a network once per worker,
  not once per game) and ``gtp:`` engines (one engine process per worker): its ``rng`` is
  replaced by a generator seeded from the game's seed and ``new_game()`` is called. Such
  agents draw their randomness from ``rng`` (an engine's own randomness is set on its command
  line), so their games are repeatable too.

Jobs go to workers in batches sized from the measured game time (about 50 ms of play per batch
for local processes, 0.5 s for Ray, whose task round trip costs about 2.7 ms), so scheduling
overhead stays near 1%. An agent that raises, plays an illegal move or takes longer than
``--timeout`` seconds for one move loses that game; the reason is stored and the tournament
goes on. (A loss on time depends on the machine; every other result repeats exactly.)
"""

from __future__ import annotations

import argparse
import contextlib
import html
import json
import math
import os
import queue
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from rlkit.errors import RlkitError, SpecError
from rlkit.match import Player
from rlkit.sqlite_store import lock_folder
from rlkit.tournament_store import GAME_COLUMNS, STORE_NAME, StoreError, TournamentStore

FORMATS = ("round-robin", "gauntlet", "pairings")
BACKENDS = ("local", "ray")
DEFAULT_GAMES = 10
LOCAL_BATCH_SECONDS = 0.05
"""Play per local batch: a process-queue round trip costs about 0.2 ms, so 50 ms is <1%."""
RAY_BATCH_SECONDS = 0.5
"""Play per Ray task: a Ray round trip costs about 2.7 ms and needs ~150 ms of work for <5%
overhead (measured for issue #9); 0.5 s keeps it under 1% while still streaming results."""
MAX_BATCH = 256
EXIT_INTERRUPTED = 130


class TournamentError(RlkitError):
    """A tournament that cannot be planned, resumed or finished as asked."""


# -- plan -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pairing:
    """Two agents (specs) and how many games they play; ``a`` has the first move in game 0."""

    a: str
    b: str
    games: int


class Job(NamedTuple):
    """One game of a tournament: ``game`` of pairing ``pairing`` (``a`` against ``b``)."""

    pairing: int
    game: int
    a: str
    b: str

    @property
    def key(self) -> tuple[int, int]:
        return (self.pairing, self.game)

    @property
    def a_moves_first(self) -> bool:
        """Colours alternate by game index: ``a`` is player 0 in even games."""
        return self.game % 2 == 0


@dataclass(frozen=True)
class TournamentPlan:
    """Everything that decides a tournament's games (stored with its results).

    Attributes:
        env: the game spec (``connect4``, ``go:size=9``).
        agents: agent specs or checkpoints, each once, in the order given.
        pairings: who plays whom, and how many games.
        seed: the tournament seed every game's seeds derive from (non-negative).
        format: ``round-robin``, ``gauntlet`` or ``pairings`` (how ``pairings`` was made).
        swap: games in pairs with the same chance seed and colours swapped.
        timeout: seconds an agent may take for one move (None: no limit).
        opening_moves: random first moves of each game, shared by the two games of a pair.
    """

    env: str
    agents: tuple[str, ...]
    pairings: tuple[Pairing, ...]
    seed: int = 0
    format: str = "round-robin"
    swap: bool = False
    timeout: float | None = None
    opening_moves: int = 0

    @property
    def total_games(self) -> int:
        return sum(p.games for p in self.pairings)

    def jobs(self) -> list[Job]:
        """Every game, interleaved across pairings (game 0 of each pairing first) so that a
        stopped tournament has played every pairing about equally."""
        longest = max(p.games for p in self.pairings)
        return [
            Job(i, g, p.a, p.b)
            for g in range(longest)
            for i, p in enumerate(self.pairings)
            if g < p.games
        ]

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "pairings": [[p.a, p.b, p.games] for p in self.pairings]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TournamentPlan:
        """Inverse of :meth:`to_dict`.

        Raises:
            KeyError, TypeError, ValueError: malformed data.
        """
        pairings = tuple(Pairing(str(a), str(b), int(n)) for a, b, n in data["pairings"])
        timeout = data.get("timeout")
        return cls(
            env=str(data["env"]),
            agents=tuple(str(a) for a in data["agents"]),
            pairings=pairings,
            seed=int(data["seed"]),
            format=str(data["format"]),
            swap=bool(data["swap"]),
            timeout=None if timeout is None else float(timeout),
            opening_moves=int(data.get("opening_moves", 0)),  # absent in older stores
        )


MAX_TIMEOUT = 1e6
"""Seconds per move at most (11 days; the alarm clock cannot be set much further)."""
MAX_GAMES_PER_PAIRING = 10**6
"""A bound on ``--games``: every planned game is a job held in memory and a row in the store."""


def plan_tournament(
    agents: Iterable[str],
    env: str,
    *,
    games: int = DEFAULT_GAMES,
    format: str = "round-robin",
    candidates: int = 1,
    pairings_file: str | os.PathLike[str] | None = None,
    seed: int = 0,
    swap: bool = False,
    timeout: float | None = None,
    opening_moves: int = 0,
) -> TournamentPlan:
    """Plan a tournament (no agent is built here; see :func:`validate_agents`).

    Args:
        agents: agent specs; with ``pairings_file`` they may be omitted (the file names them).
        env: game spec.
        games: games per pairing (a pairings file may give its own per line).
        format: ``round-robin`` or ``gauntlet``; ignored with ``pairings_file``.
        candidates: in a gauntlet, how many of the first agents are candidates.
        pairings_file: text file, one ``A B [GAMES]`` per line (``#`` starts a comment).
        seed: tournament seed (non-negative).
        swap: pair games on one chance seed with colours swapped.
        timeout: seconds per move.
        opening_moves: random first moves per game, shared by the two games of a pair.

    Returns:
        The plan.

    Raises:
        TournamentError, SpecError: an agent listed twice, too few agents, bad numbers, or a
            malformed pairings file.
    """
    agents = list(agents)
    if not 0 < games <= MAX_GAMES_PER_PAIRING:
        raise SpecError(f"--games must be from 1 to {MAX_GAMES_PER_PAIRING:,}, got {games}")
    if seed < 0:
        raise SpecError(f"--seed must be a non-negative integer, got {seed}")
    if timeout is not None and not 0 < timeout <= MAX_TIMEOUT:
        raise SpecError(f"--timeout must be from 0 to {MAX_TIMEOUT:g} seconds, got {timeout}")
    if not 0 <= opening_moves <= 1000:
        raise SpecError(f"--opening-moves must be from 0 to 1000, got {opening_moves}")
    _check_unique(agents)
    if pairings_file is not None:
        agents, pairings = _read_pairings(Path(pairings_file), agents, games)
        format = "pairings"
    elif format == "round-robin":
        _need_two(agents)
        pairings = [Pairing(a, b, games) for i, a in enumerate(agents) for b in agents[i + 1 :]]
    elif format == "gauntlet":
        _need_two(agents)
        if not 1 <= candidates < len(agents):
            raise SpecError(
                f"--candidates must be between 1 and {len(agents) - 1} (the first K of the "
                f"{len(agents)} agents play the rest), got {candidates}"
            )
        pairings = [Pairing(a, b, games) for a in agents[:candidates] for b in agents[candidates:]]
    else:
        raise SpecError(f"unknown --format {format!r}: use round-robin or gauntlet")
    return TournamentPlan(
        env=env,
        agents=tuple(agents),
        pairings=tuple(pairings),
        seed=seed,
        format=format,
        swap=swap,
        timeout=timeout,
        opening_moves=opening_moves,
    )


def _check_unique(agents: list[str]) -> None:
    seen: set[str] = set()
    for agent in agents:
        if agent in seen:
            raise TournamentError(
                f"agent {agent!r} is listed twice; list each agent once (a tournament rates "
                "each agent by name)"
            )
        seen.add(agent)


def _need_two(agents: list[str]) -> None:
    if len(agents) < 2:
        raise SpecError(
            f"a tournament needs at least two agents, got {len(agents)} "
            "(e.g. `rlkit tournament random minimax --env connect4 --out runs/t1`)"
        )


def _read_pairings(path: Path, agents: list[str], games: int) -> tuple[list[str], list[Pairing]]:
    try:
        text = path.read_text()
    except OSError as exc:
        raise SpecError(f"cannot read --pairings file {str(path)!r}: {exc.strerror}") from None
    listed = list(agents)
    pairings: list[Pairing] = []
    seen: set[frozenset[str]] = set()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        where = f"{path}:{number}"
        fields = line.split()
        if len(fields) not in (2, 3):
            raise SpecError(f"{where}: expected 'AGENT_A AGENT_B [GAMES]', got {line!r}")
        a, b = fields[0], fields[1]
        n = games
        if len(fields) == 3:
            try:
                n = int(fields[2])
            except ValueError:
                n = 0
            if not 0 < n <= MAX_GAMES_PER_PAIRING:
                raise SpecError(
                    f"{where}: games must be an integer from 1 to {MAX_GAMES_PER_PAIRING:,}, "
                    f"got {fields[2]!r}"
                )
        if a == b:
            raise SpecError(f"{where}: {a!r} cannot play itself")
        if frozenset((a, b)) in seen:
            raise SpecError(f"{where}: the pairing {a} - {b} is listed twice")
        seen.add(frozenset((a, b)))
        for name in (a, b):
            if name not in listed:
                if agents:
                    raise SpecError(
                        f"{where}: {name!r} is not one of the agents named on the command line"
                    )
                listed.append(name)
        pairings.append(Pairing(a, b, n))
    if not pairings:
        raise SpecError(f"--pairings file {str(path)!r} lists no pairing ('A B [GAMES]' lines)")
    # Every agent is rated at the end, and an agent without games has no rating: refuse it now
    # rather than after the last game.
    paired = {name for p in pairings for name in (p.a, p.b)}
    unpaired = [name for name in listed if name not in paired]
    if unpaired:
        raise SpecError(
            f"{unpaired[0]!r} is named on the command line but plays in no pairing of "
            f"{str(path)!r}; add a pairing for it or leave it out"
        )
    return listed, pairings


def game_seeds(plan: TournamentPlan, job: Job) -> tuple[np.random.SeedSequence, int, int]:
    """The seeds of one game: its chance seed sequence, and the seeds of agents a and b.

    Derived from the tournament seed and the job key only (see the module docstring); the
    opening's seed is :func:`opening_seed`.
    """
    chance_index = job.game - job.game % 2 if plan.swap else job.game
    chance = np.random.SeedSequence(plan.seed, spawn_key=(job.pairing, chance_index, 0))

    def agent_seed(stream: int) -> int:
        sequence = np.random.SeedSequence(plan.seed, spawn_key=(job.pairing, job.game, stream))
        return int(sequence.generate_state(1, np.uint64)[0])

    return chance, agent_seed(1), agent_seed(2)


def opening_seed(plan: TournamentPlan, job: Job) -> np.random.SeedSequence:
    """The seed of a game's random opening moves: one per pair of games (stream 3)."""
    return np.random.SeedSequence(plan.seed, spawn_key=(job.pairing, job.game - job.game % 2, 3))


# -- playing one game ------------------------------------------------------------------------------


class _MoveTimeout(BaseException):
    """Raised by SIGALRM inside an agent's move. A BaseException, so that an agent's own
    ``except Exception`` cannot swallow it."""


class _Forfeit(Exception):
    """The agent in seat ``seat`` lost the game by failing; ``reason`` says how."""

    def __init__(self, seat: int, reason: str) -> None:
        super().__init__(reason)
        self.seat = seat
        self.reason = reason


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    message = f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
    return message if len(message) <= 300 else message[:297] + "..."


def _on_alarm(signum: int, frame: Any) -> None:
    raise _MoveTimeout


class JobRunner:
    """Plays a tournament's jobs in one process, keeping its agents between games.

    Args:
        plan: the tournament.
        device, threads: run-time settings passed to :func:`rlkit.match.make_player`.
    """

    def __init__(
        self, plan: TournamentPlan, *, device: str | None = None, threads: int | None = None
    ) -> None:
        from rlkit.registry import make_game

        self.plan = plan
        self.game = make_game(plan.env)
        self._build_options = {
            k: v for k, v in (("device", device), ("threads", threads)) if v is not None
        }
        self._kept: dict[str, Any] = {}  # checkpoint or engine spec -> Player, loaded once
        # A hard per-move limit needs SIGALRM, which only the main thread can receive (Ray may
        # run tasks elsewhere); off the main thread a slow move still loses when it returns.
        self._hard_timeout = (
            plan.timeout is not None and threading.current_thread() is threading.main_thread()
        )
        self._old_alarm: Any = None
        if self._hard_timeout:
            self._old_alarm = signal.signal(signal.SIGALRM, _on_alarm)

    def close(self) -> None:
        """Close kept agents (external engines) and restore the alarm handler."""
        for player in self._kept.values():
            _close(player.agent)
        self._kept.clear()
        if self._hard_timeout:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self._old_alarm)
            self._hard_timeout = False

    def _player(self, spec: str, seed: int) -> Any:
        """A player for ``spec`` whose state depends only on ``seed`` (see module docstring)."""
        from rlkit.match import make_player

        if not _is_kept_kind(spec):
            # A spec agent is built anew for every game (under a millisecond), through the
            # one builder, so whatever generators it derives from its seed start fresh.
            return make_player(spec, self.game, seed=seed, **self._build_options)
        kept = self._kept.get(spec)  # a checkpoint or an engine: loaded once, re-seeded
        if kept is None:
            kept = make_player(spec, self.game, seed=seed, **self._build_options)
            self._kept[spec] = kept
        kept.agent.rng = np.random.default_rng(seed)
        return kept

    def _forget(self, spec: str) -> None:
        """Drop a kept agent after it failed (an engine may be stuck); rebuilt on next use."""
        player = self._kept.pop(spec, None)
        if player is not None:
            _close(player.agent)

    def play(self, job: Job) -> dict[str, Any]:
        """Play one job; returns its ``games`` row (see :data:`GAME_COLUMNS`, less
        ``finished``). Agent failures become forfeits; anything else propagates."""
        from rlkit.game import IllegalMoveError
        from rlkit.match import play_game

        start = time.perf_counter()
        chance, seed_a, seed_b = game_seeds(self.plan, job)
        specs = [job.a, job.b] if job.a_moves_first else [job.b, job.a]
        seeds = [seed_a, seed_b] if job.a_moves_first else [seed_b, seed_a]
        seat_of_a = 0 if job.a_moves_first else 1
        row: dict[str, Any] = {
            "pairing": job.pairing,
            "game": job.game,
            "a": job.a,
            "b": job.b,
            "first": specs[0],
            "points_a": None,
            "points_b": None,
            "plies": 0,
            "truncated": 0,
            "forfeit": None,
            "reason": None,
            "moves": "",
        }
        seats: list[_Seat] = []
        try:
            for seat, (spec, seed) in enumerate(zip(specs, seeds, strict=True)):
                try:
                    player = self._player(spec, seed)
                except Exception as exc:  # an agent that cannot even be built loses
                    raise _Forfeit(seat, f"could not be built: {_one_line(exc)}") from None
                seats.append(_Seat(player, seat, self))
            record = play_game(
                self.game,
                list(seats),
                np.random.default_rng(chance),
                opening_moves=self.plan.opening_moves,
                opening_rng=np.random.default_rng(opening_seed(self.plan, job)),
            )
        except _Forfeit as forfeit:
            loser = specs[forfeit.seat]
            self._forget(loser)
            row.update(
                score=0.0 if loser == job.a else 1.0,
                forfeit=loser,
                reason=forfeit.reason,
                plies=sum(seat.moves_made for seat in seats),
            )
        except IllegalMoveError as exc:
            culprit = seats[_last_actor(seats)]
            self._forget(culprit.name)
            row.update(
                score=0.0 if culprit.name == job.a else 1.0,
                forfeit=culprit.name,
                reason=f"illegal move: {_one_line(exc)}",
                plies=sum(seat.moves_made for seat in seats),
            )
        else:
            points_a = float(record.returns[seat_of_a])
            points_b = float(record.returns[1 - seat_of_a])
            row.update(
                score=1.0 if points_a > points_b else 0.0 if points_a < points_b else 0.5,
                points_a=points_a,
                points_b=points_b,
                plies=len(record.moves),
                truncated=int(record.truncated),
                moves=" ".join(record.moves),
            )
        row["seconds"] = time.perf_counter() - start
        return row

    # the per-move limit, used by _Seat
    def _arm(self) -> None:
        if self._hard_timeout:
            signal.setitimer(signal.ITIMER_REAL, self.plan.timeout)

    def _disarm(self) -> None:
        if self._hard_timeout:
            signal.setitimer(signal.ITIMER_REAL, 0)


class _Seat(Player):
    """A player at one seat of one game: turns its failures into a :class:`_Forfeit`.

    It wraps the seated :class:`~rlkit.match.Player` and passes on every hook ``play_game``
    calls, so that a failure anywhere in the agent loses the game instead of the tournament.
    """

    def __init__(self, player: Player, seat: int, runner: JobRunner) -> None:
        super().__init__(player.name, player.agent)
        self.player = player
        self.seat = seat
        self.runner = runner
        self.moves_made = 0
        self.last_move_time = -1.0

    def new_game(self) -> None:
        try:
            self.player.new_game()
        except Exception as exc:
            raise _Forfeit(self.seat, f"failed to start a game: {_one_line(exc)}") from None

    def game_over(self, state: Any) -> None:
        try:
            self.player.game_over(state)
        except Exception as exc:
            raise _Forfeit(self.seat, f"failed at the game's end: {_one_line(exc)}") from None

    def act(self, game: Any, state: Any) -> int:
        """The wrapped player's move; a crash or a move slower than the limit forfeits."""
        timeout = self.runner.plan.timeout
        start = time.perf_counter()
        try:
            self.runner._arm()
            try:
                action = self.player.act(game, state)
            finally:
                self.runner._disarm()
        except _MoveTimeout:  # also when the alarm fires just as the move returns
            raise _Forfeit(self.seat, f"no move within the {timeout:g} s limit") from None
        except Exception as exc:
            raise _Forfeit(self.seat, f"raised {_one_line(exc)}") from None
        elapsed = time.perf_counter() - start
        if timeout is not None and elapsed > timeout:
            raise _Forfeit(self.seat, f"took {elapsed:.3g} s for a move (limit {timeout:g} s)")
        self.moves_made += 1
        self.last_move_time = time.perf_counter()
        return action


def _last_actor(seats: list[_Seat]) -> int:
    """The seat that returned a move most recently."""
    return max(range(len(seats)), key=lambda s: seats[s].last_move_time)


def _is_kept_kind(spec: str) -> bool:
    """Agents built once per worker and re-seeded per game: checkpoints and GTP engines."""
    from rlkit.builder import is_checkpoint_reference

    return spec.startswith("gtp:") or is_checkpoint_reference(spec)


def _close(agent: Any) -> None:
    close = getattr(agent, "close", None)
    if callable(close):
        # closing a dead engine must not stop the tournament
        with contextlib.suppress(Exception):
            close()


def play_job(
    plan: TournamentPlan, job: Job, *, device: str | None = None, threads: int | None = None
) -> dict[str, Any]:
    """Replay one game of a tournament alone; the row equals the stored one (but ``seconds``).

    Example::

        plan = TournamentPlan.from_dict(TournamentStore.open("runs/t1/results.sqlite").plan)
        row = play_job(plan, plan.jobs()[7])
    """
    runner = JobRunner(plan, device=device, threads=threads)
    try:
        return runner.play(job)
    finally:
        runner.close()


def validate_agents(
    plan: TournamentPlan, *, device: str | None = None, threads: int | None = None
) -> None:
    """Build the game and each agent once, so that a mistake is reported before any game.

    Raises:
        RlkitError: the game or an agent cannot be built (one line).
    """
    from rlkit.match import make_player
    from rlkit.registry import make_game

    game = make_game(plan.env)
    if game.info.num_players != 2:
        raise SpecError(f"{game.info.name} has {game.info.num_players} players; tournaments need 2")
    options = {k: v for k, v in (("device", device), ("threads", threads)) if v is not None}
    for spec in plan.agents:
        player = make_player(spec, game, seed=0, **options)
        _close(player.agent)
        if getattr(type(player.agent), "interactive", False):
            raise SpecError(
                f"{spec!r} plays at a terminal and cannot sit in a tournament's worker "
                f"processes; play it with `rlkit play {spec} OPPONENT --env {plan.env}`"
            )


# -- backends: run jobs, hand each finished row to `on_row` ---------------------------------------


class _Batcher:
    """Hands out jobs in batches of about ``target_seconds`` of play, from measured times."""

    def __init__(self, jobs: list[Job], workers: int, target_seconds: float) -> None:
        self.pending = deque(jobs)
        self.workers = workers
        self.target = target_seconds
        self._seconds = 0.0
        self._games = 0

    def observe(self, seconds: float) -> None:
        self._seconds += seconds
        self._games += 1

    def size(self) -> int:
        if not self._games:
            return 1  # nothing measured yet
        mean = max(self._seconds / self._games, 1e-6)
        size = int(min(MAX_BATCH, max(1.0, self.target / mean)))
        # keep several batches per worker in the tail, so no worker idles at the end
        return max(1, min(size, len(self.pending) // (4 * self.workers)))

    def take(self) -> list[Job]:
        return [self.pending.popleft() for _ in range(min(self.size(), len(self.pending)))]


def _run_inline(
    plan: TournamentPlan, jobs: list[Job], options: dict[str, Any], on_row: Callable
) -> None:
    runner = JobRunner(plan, **options)
    try:
        for job in jobs:
            on_row(runner.play(job))
    finally:
        runner.close()


def _worker_main(
    plan_data: dict[str, Any], options: dict[str, Any], tasks: Any, results: Any
) -> None:
    """A local worker process: play batches from ``tasks``, send each row to ``results``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides, and stops the workers
    runner = JobRunner(TournamentPlan.from_dict(plan_data), **options)
    try:
        while True:
            batch = tasks.get()
            if batch is None:
                return
            for job in batch:
                try:
                    results.put(("row", runner.play(Job(*job))))
                except Exception as exc:
                    results.put(("error", f"game {tuple(job[:2])} failed: {_one_line(exc)}"))
                    return
    finally:
        runner.close()


def _run_processes(
    plan: TournamentPlan,
    jobs: list[Job],
    workers: int,
    options: dict[str, Any],
    on_row: Callable,
) -> None:
    import multiprocessing

    # spawn, not fork: the parent may hold torch threads or engine pipes a fork would copy.
    context = multiprocessing.get_context("spawn")
    tasks, results = context.Queue(), context.Queue()
    processes = [
        context.Process(
            target=_worker_main,
            args=(plan.to_dict(), options, tasks, results),
            name=f"rlkit-tournament-{i}",
            daemon=True,
        )
        for i in range(workers)
    ]
    # Ctrl-C reaches the whole process group. Workers start with SIGINT ignored (an ignored
    # signal stays ignored across exec), so only the parent reacts, and stops them.
    on_main = threading.current_thread() is threading.main_thread()
    old_sigint = signal.signal(signal.SIGINT, signal.SIG_IGN) if on_main else None
    try:
        for process in processes:
            process.start()
    finally:
        if on_main:
            signal.signal(signal.SIGINT, old_sigint)
    batcher = _Batcher(jobs, workers, LOCAL_BATCH_SECONDS)
    in_flight, remaining = 0, len(jobs)
    try:
        while remaining:
            while batcher.pending and in_flight < 2 * workers * batcher.size():
                batch = batcher.take()
                tasks.put([tuple(job) for job in batch])
                in_flight += len(batch)
            try:
                kind, payload = results.get(timeout=0.5)
            except queue.Empty:
                dead = [p for p in processes if not p.is_alive()]
                if dead:
                    raise TournamentError(
                        f"a worker process stopped (exit code {dead[0].exitcode}); the games "
                        "finished so far are stored"
                    ) from None
                continue
            if kind == "error":
                raise TournamentError(payload)
            in_flight -= 1
            remaining -= 1
            batcher.observe(payload["seconds"])
            on_row(payload)
        for _ in processes:
            tasks.put(None)
    finally:
        for process in processes:
            process.join(timeout=0 if remaining else 5)
            if process.is_alive():
                process.terminate()
        for process in processes:
            process.join(timeout=5)
            if process.is_alive():
                process.kill()
        for q in (tasks, results):
            q.cancel_join_thread()  # never block exit on rows nobody will read
            q.close()


class RayWorker:
    """The Ray actor (``ray.remote(RayWorker)``): a :class:`JobRunner` kept across tasks."""

    def __init__(self, plan_data: dict[str, Any], options: dict[str, Any]) -> None:
        self.runner = JobRunner(TournamentPlan.from_dict(plan_data), **options)

    def play(self, batch: list[tuple]) -> list[tuple[str, Any]]:
        out: list[tuple[str, Any]] = []
        for job in batch:
            try:
                out.append(("row", self.runner.play(Job(*job))))
            except Exception as exc:
                out.append(("error", f"game {tuple(job[:2])} failed: {_one_line(exc)}"))
                break
        return out


def import_ray() -> Any:
    """Ray, or a one-line error saying how to install it."""
    try:
        import ray
    except ImportError:
        raise TournamentError("--backend ray needs Ray: pip install rlkit[distributed]") from None
    return ray


def _run_ray(
    plan: TournamentPlan,
    jobs: list[Job],
    workers: int | None,
    address: str | None,
    options: dict[str, Any],
    on_row: Callable,
) -> None:
    ray = import_ray()
    owned = not ray.is_initialized()
    if owned:
        try:
            if address is None:  # a Ray of our own, for this tournament only
                ray.init(include_dashboard=False, log_to_driver=False)
            else:
                ray.init(address=address)
        except (ConnectionError, ValueError, RuntimeError) as exc:
            raise TournamentError(
                f"cannot start or reach Ray at {address or 'this machine'}: {_one_line(exc)}"
            ) from None
    actors: list[Any] = []
    try:
        if workers is None:
            workers = max(1, int(ray.cluster_resources().get("CPU", 1)))
        actor_class = ray.remote(num_cpus=1)(RayWorker)
        actors = [actor_class.remote(plan.to_dict(), options) for _ in range(workers)]
        batcher = _Batcher(jobs, workers, RAY_BATCH_SECONDS)
        futures: dict[Any, int] = {}
        load = [0] * workers
        while batcher.pending or futures:
            # two batches per actor: it starts the next while the last result travels back
            for i, actor in enumerate(actors):
                while load[i] < 2 and batcher.pending:
                    batch = [tuple(job) for job in batcher.take()]
                    futures[actor.play.remote(batch)] = i
                    load[i] += 1
            done, _ = ray.wait(list(futures), num_returns=1)
            load[futures.pop(done[0])] -= 1
            try:
                outcomes = ray.get(done[0])
            except ray.exceptions.RayError as exc:
                raise TournamentError(
                    f"a Ray worker failed ({_one_line(exc)}); the games finished so far are stored"
                ) from None
            for kind, payload in outcomes:
                if kind == "error":
                    raise TournamentError(payload)
                batcher.observe(payload["seconds"])
                on_row(payload)
    finally:
        for actor in actors:
            ray.kill(actor)
        if owned:
            ray.shutdown()


def run_jobs(
    plan: TournamentPlan,
    jobs: list[Job],
    *,
    backend: str = "local",
    workers: int | None = None,
    on_row: Callable[[dict[str, Any]], None],
    address: str | None = None,
    options: dict[str, Any] | None = None,
) -> None:
    """Play ``jobs`` of ``plan`` and hand each finished game's row to ``on_row``.

    The one entry point to the three backends: this process (``local``, one worker), local
    worker processes (``local``, more workers; batches sized by :class:`_Batcher`), or Ray
    actors (``ray``). ``on_row`` always runs in this process, once per job, in the order the
    games finish (not job order); it is where callers store rows (:func:`run_tournament`
    into ``results.sqlite``, the league into its own store).

    Args:
        plan: the tournament the jobs belong to (agents, game, seeds).
        jobs: the games to play (a subset of ``plan.jobs()``); none plays nothing.
        backend: ``local`` or ``ray``.
        workers: worker processes (local; default 1, which plays in this process) or Ray
            actors (default: the cluster's CPUs).
        on_row: called with each game's row (the columns of
            :data:`rlkit.tournament_store.GAME_COLUMNS` except ``finished``).
        address: Ray cluster address; None starts (or reuses an initialised) Ray here.
        options: :class:`JobRunner` keyword settings, ``device`` and ``threads`` (default:
            none, so agents use their own).

    Raises:
        TournamentError: a worker stopped or a game failed outside the agents' control; the
            rows handed to ``on_row`` so far stay with the caller.
    """
    options = {} if options is None else options
    if not jobs:
        return
    if backend == "ray":
        _run_ray(plan, jobs, workers, address, options, on_row)
    elif (workers or 1) == 1:
        _run_inline(plan, jobs, options, on_row)
    else:
        _run_processes(plan, jobs, workers or 1, options, on_row)


# -- running a whole tournament -------------------------------------------------------------------


@dataclass
class TournamentOutcome:
    """What :func:`run_tournament` leaves: the folder, the plan, the rows and the ratings."""

    out: Path
    plan: TournamentPlan
    rows: list[dict[str, Any]]
    table: Any  # rlkit.ratings.RatingTable
    played_now: int = 0
    files: list[Path] = field(default_factory=list)


def open_tournament(out: str | os.PathLike[str]) -> tuple[TournamentStore, TournamentPlan]:
    """Open ``out/results.sqlite`` and its plan, checking the stored games fit the plan.

    Raises:
        StoreError: missing, corrupt or foreign file.
    """
    path = Path(out) / STORE_NAME
    store = TournamentStore.open(path)
    try:
        plan = TournamentPlan.from_dict(store.plan)
        keys = {job.key: job for job in plan.jobs()}
        for row in store.rows():
            job = keys.get((row["pairing"], row["game"]))
            if job is None or (row["a"], row["b"]) != (job.a, job.b):
                raise ValueError(f"game {(row['pairing'], row['game'])} is not in its plan")
    except (KeyError, TypeError, ValueError) as exc:
        store.close()
        raise StoreError(f"{path} is corrupt ({exc}); it cannot be resumed") from None
    except BaseException:
        store.close()
        raise
    return store, plan


def run_tournament(
    plan: TournamentPlan | None,
    out: str | os.PathLike[str],
    *,
    resume: bool = False,
    workers: int | None = None,
    backend: str = "local",
    address: str | None = None,
    device: str | None = None,
    threads: int | None = None,
    anchor: str | None = None,
    progress: bool = False,
) -> TournamentOutcome:
    """Play the games of a tournament missing from ``out`` and rate the agents.

    Args:
        plan: the tournament to start; None with ``resume`` (the stored plan is played).
        out: the tournament folder; ``results.sqlite``, ``results.csv``, ``ratings.json`` and
            ``ratings.svg`` are written there.
        resume: continue the tournament in ``out`` instead of creating it.
        workers: worker processes (local; default 1, which plays in this process) or Ray
            actors (default: the cluster's CPUs).
        backend: ``local`` or ``ray``.
        address: Ray cluster address (``auto``, ``ray://host:10001``); None starts Ray here.
        device, threads: run-time settings for agents with networks.
        anchor: agent rated at 0 Elo (default: as :func:`rlkit.ratings.fit_elo` chooses).
        progress: show a progress bar on stderr.

    Returns:
        The outcome: every stored row and the rating table.

    Raises:
        TournamentError, StoreError, RlkitError: one-line problems, raised before any game is
            played. KeyboardInterrupt (Ctrl-C; SIGTERM too under ``rlkit.cli.main``) after
            stopping the workers; the finished games stay stored.
    """
    if backend not in BACKENDS:
        raise SpecError(f"unknown --backend {backend!r}: use local or ray")
    if address is not None and backend != "ray":
        raise SpecError("--address is the Ray cluster's address; add --backend ray")
    if workers is not None and workers < 1:
        raise SpecError(f"--workers must be at least 1, got {workers}")
    if backend == "ray":
        import_ray()
    out = Path(out)
    options = {"device": device, "threads": threads}
    if resume:
        if not (out / STORE_NAME).is_file():  # checked before the lock, which makes the folder
            raise TournamentError(f"{out} holds no tournament to resume (no {STORE_NAME})")
        lock = lock_folder(out, "tournament", TournamentError)
        try:
            store, plan = open_tournament(out)
        except BaseException:
            lock.close()
            raise
        done = store.finished_keys()
    else:
        if plan is None:
            raise SpecError("plan a tournament (or resume one)")
        _refuse_existing(out)
        _check_anchor(anchor, plan)
        validate_agents(plan, **options)  # before the folder is made: a typo leaves nothing
        lock = lock_folder(out, "tournament", TournamentError)
        try:
            _refuse_existing(out)
            store = TournamentStore.create(out / STORE_NAME, plan.to_dict())
        except BaseException:
            lock.close()
            raise
        done = set()
    try:
        with store:
            if resume:
                if len(done) >= plan.total_games:
                    raise TournamentError(
                        f"nothing to resume: all {plan.total_games} games of {out} are played "
                        f"(`rlkit ratings {out / STORE_NAME}` prints the ratings again)"
                    )
                _check_anchor(anchor, plan)
                validate_agents(plan, **options)
            jobs = [job for job in plan.jobs() if job.key not in done]
            played = _play(
                plan, jobs, store, len(done), workers, backend, address, options, progress
            )
            rows = store.rows()
        return _finish(plan, out, rows, anchor, played)
    finally:
        lock.close()


def _refuse_existing(out: Path) -> None:
    if (out / STORE_NAME).exists():
        raise TournamentError(
            f"{out} already holds a tournament; continue it with `rlkit tournament --resume "
            f"{out}` or choose a new --out"
        )


def _check_anchor(anchor: str | None, plan: TournamentPlan) -> None:
    if anchor is not None and anchor not in plan.agents:
        raise SpecError(f"--anchor {anchor!r} is not one of the agents {list(plan.agents)}")


def _play(
    plan: TournamentPlan,
    jobs: list[Job],
    store: TournamentStore,
    already: int,
    workers: int | None,
    backend: str,
    address: str | None,
    options: dict[str, Any],
    progress: bool,
) -> int:
    from tqdm import tqdm

    bar = tqdm(
        total=plan.total_games,
        initial=already,
        unit="game",
        dynamic_ncols=True,
        disable=not progress,
        file=sys.stderr,
        smoothing=0.05,
    )
    played = 0
    forfeits = 0

    def on_row(row: dict[str, Any]) -> None:
        nonlocal played, forfeits
        if store.add(row):
            played += 1
            forfeits += row["forfeit"] is not None
        if forfeits:
            bar.set_postfix_str(f"{forfeits} forfeited", refresh=False)
        bar.update(1)

    try:
        run_jobs(
            plan,
            jobs,
            backend=backend,
            workers=workers,
            on_row=on_row,
            address=address,
            options=options,
        )
    finally:
        bar.close()
    return played


# -- results: ratings, CSV, JSON, picture ---------------------------------------------------------


def rate(rows: list[dict[str, Any]], plan: TournamentPlan, anchor: str | None = None) -> Any:
    """Fit Elo ratings to stored rows, the plan's agents in plan order (so the first is the
    default anchor); each agent must have played a game (:func:`rlkit.ratings.fit_elo`)."""
    from rlkit.ratings import GameResult, fit_elo

    results = [GameResult(row["a"], row["b"], float(row["score"])) for row in rows]
    return fit_elo(results, anchor=anchor, players=list(plan.agents))


def _finish(
    plan: TournamentPlan,
    out: Path,
    rows: list[dict[str, Any]],
    anchor: str | None,
    played: int,
) -> TournamentOutcome:
    from rlkit.checkpoint import write_atomically

    table = rate(rows, plan, anchor)
    summary = {
        "env": plan.env,
        "format": plan.format,
        "agents": list(plan.agents),
        "seed": plan.seed,
        "games_planned": plan.total_games,
        "games_played": len(rows),
        "forfeits": sum(row["forfeit"] is not None for row in rows),
        "ratings": table.to_dict(),
    }
    files = [out / "ratings.json", out / "results.csv", out / "ratings.svg"]
    write_atomically(
        files[0], lambda tmp: Path(tmp).write_text(json.dumps(summary, indent=2) + "\n")
    )
    write_atomically(files[1], lambda tmp: _write_csv(Path(tmp), rows))
    svg = ratings_svg(table, title=f"{plan.env}: {len(rows)} games")
    write_atomically(files[2], lambda tmp: Path(tmp).write_text(svg))
    return TournamentOutcome(out, plan, rows, table, played, files)


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    import csv

    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(GAME_COLUMNS))
        writer.writeheader()
        writer.writerows(rows)


def ratings_svg(table: Any, *, title: str = "") -> str:
    """A picture of the ratings: each agent's Elo as a dot, its 95% interval as a bar.

    Args:
        table: a :class:`rlkit.ratings.RatingTable` (best first).
        title: a line above the plot.

    Returns:
        SVG text (hand-written: matplotlib is not a dependency).
    """
    ratings = list(table.ratings)
    label_width = 12 + 7 * max((len(r.name) for r in ratings), default=8)
    plot_left, plot_width, row_height, top = min(label_width, 320), 420, 26, 46
    height = top + row_height * len(ratings) + 40
    finite = [v for r in ratings for v in (r.elo, *r.ci95) if math.isfinite(v)] or [0.0]
    low, high = min(finite), max(finite)
    pad = max(20.0, 0.05 * (high - low))
    low, high = low - pad, high + pad

    def x(value: float) -> float:
        value = min(max(value, low), high)  # an infinite bound runs to the edge
        return plot_left + plot_width * (value - low) / (high - low)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{plot_left + plot_width + 80}" '
        f'height="{height}" font-family="sans-serif" font-size="12">',
        '<rect width="100%" height="100%" fill="white"/>',
        f'<text x="8" y="18" font-size="14">{html.escape(title)}</text>',
        f'<text x="{plot_left}" y="36" fill="#555">Elo, with 95% interval</text>',
    ]
    step = _tick_step(high - low)
    tick = math.ceil(low / step) * step
    axis_y = top + row_height * len(ratings) + 4
    while tick <= high:
        parts.append(
            f'<line x1="{x(tick):.1f}" y1="{top - 4}" x2="{x(tick):.1f}" y2="{axis_y}" '
            'stroke="#ddd"/>'
            f'<text x="{x(tick):.1f}" y="{axis_y + 16}" text-anchor="middle" fill="#555">'
            f"{tick:g}</text>"
        )
        tick += step
    for i, r in enumerate(ratings):
        y = top + row_height * i + row_height / 2
        lo, hi = r.ci95
        parts.append(
            f'<text x="{plot_left - 8}" y="{y + 4:.1f}" text-anchor="end">'
            f"{html.escape(r.name)}</text>"
            f'<line x1="{x(lo):.1f}" y1="{y:.1f}" x2="{x(hi):.1f}" y2="{y:.1f}" '
            'stroke="#1f77b4" stroke-width="2"/>'
            f'<line x1="{x(lo):.1f}" y1="{y - 5:.1f}" x2="{x(lo):.1f}" y2="{y + 5:.1f}" '
            'stroke="#1f77b4" stroke-width="2"/>'
            f'<line x1="{x(hi):.1f}" y1="{y - 5:.1f}" x2="{x(hi):.1f}" y2="{y + 5:.1f}" '
            'stroke="#1f77b4" stroke-width="2"/>'
            f'<circle cx="{x(r.elo):.1f}" cy="{y:.1f}" r="4" fill="#d62728"/>'
            f'<text x="{plot_left + plot_width + 8}" y="{y + 4:.1f}">{r.elo:+.0f}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _tick_step(span: float) -> float:
    """A round tick spacing (1, 2 or 5 times a power of ten) giving about six ticks."""
    raw = max(span, 1e-9) / 6
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


# -- command line ---------------------------------------------------------------------------------

_PLAN_KEYS = (
    "agents",
    "env",
    "games",
    "format",
    "candidates",
    "pairings",
    "swap",
    "seed",
    "timeout",
    "opening_moves",
)
_RUN_KEYS = ("workers", "backend", "address", "out", "anchor", "device", "threads")
_CONFIG_TYPES: dict[str, tuple[type, ...]] = {
    **dict.fromkeys(("games", "candidates", "seed", "workers", "threads", "opening_moves"), (int,)),
    **dict.fromkeys(("env", "format", "pairings", "backend", "address", "out", "anchor"), (str,)),
    "device": (str,),
    "swap": (bool,),
    "timeout": (int, float),
    "agents": (list,),
}
"""What each key of a tournament TOML file holds."""


def _read_config(path: str) -> dict[str, Any]:
    from rlkit.tomlio import load_toml

    data = load_toml(path)
    known = set(_PLAN_KEYS) | set(_RUN_KEYS)
    unknown = sorted(set(data) - known)
    if unknown:
        raise SpecError(f"{path}: unknown keys {unknown} (known: {sorted(known)})")
    for key, value in data.items():
        types = _CONFIG_TYPES[key]
        wrong_bool = isinstance(value, bool) and bool not in types  # bool is an int in Python
        if wrong_bool or not isinstance(value, types):
            expected = " or ".join(t.__name__ for t in types)
            raise SpecError(f"{path}: {key} must be {expected}, got {value!r}")
    if "agents" in data and not all(isinstance(a, str) for a in data["agents"]):
        raise SpecError(f"{path}: agents must be a list of agent specs (strings)")
    if "pairings" in data:  # a relative path means: next to the config file
        data["pairings"] = str(Path(path).parent / str(data["pairings"]))
    return data


def _options(args: argparse.Namespace) -> dict[str, Any]:
    """Merge --config and the command line (the command line wins)."""
    cli = {
        "agents": args.agents or None,
        "env": args.env,
        "games": args.games,
        "format": args.format,
        "candidates": args.candidates,
        "pairings": args.pairings,
        "swap": args.swap,
        "seed": args.seed,
        "timeout": args.timeout,
        "opening_moves": args.opening_moves,
        "workers": args.workers,
        "backend": args.backend,
        "address": args.address,
        "out": args.out,
        "anchor": args.anchor,
        "device": args.device,
        "threads": args.threads,
    }
    if args.resume:
        given = [k for k in _PLAN_KEYS if cli[k] is not None]
        if args.config:
            given.insert(0, "config")
        if given:
            raise SpecError(
                f"--resume plays the stored plan; --{given[0]} cannot change it (start a new "
                "tournament with --out to change the plan)"
            )
        if args.out is not None:
            raise SpecError("give either --resume DIR or --out DIR, not both")
    base = _read_config(args.config) if args.config else {}
    return {**base, **{k: v for k, v in cli.items() if v is not None}}


def _cmd_tournament(args: argparse.Namespace) -> int:
    # SIGTERM arrives as KeyboardInterrupt: rlkit.cli.main makes it so for every command.
    opts = _options(args)
    plan: TournamentPlan | None = None
    if args.resume:
        out = Path(args.resume)
    else:
        if not opts.get("env"):
            raise SpecError("name the game with --env, e.g. --env connect4")
        if opts.get("out") is None or str(opts["out"]) in ("", "."):
            raise SpecError("give the tournament a new folder with --out DIR")
        out = Path(opts["out"])
        plan = plan_tournament(
            opts.get("agents") or [],
            opts["env"],
            games=opts.get("games", DEFAULT_GAMES),
            format=opts.get("format", "round-robin"),
            candidates=opts.get("candidates", 1),
            pairings_file=opts.get("pairings"),
            seed=opts.get("seed", 0),
            swap=bool(opts.get("swap", False)),
            timeout=opts.get("timeout"),
            opening_moves=opts.get("opening_moves", 0),
        )
    try:
        outcome = run_tournament(
            plan,
            out,
            resume=bool(args.resume),
            workers=opts.get("workers"),
            backend=opts.get("backend", "local"),
            address=opts.get("address"),
            device=opts.get("device"),
            threads=opts.get("threads"),
            anchor=opts.get("anchor"),
            progress=not args.quiet and not args.json,
        )
    except KeyboardInterrupt:
        print(f"\ninterrupted: {_resume_hint(out)}", file=sys.stderr)
        return EXIT_INTERRUPTED
    _report(outcome, args.json)
    return 0


def _resume_hint(out: Path) -> str:
    try:
        with TournamentStore.open(out / STORE_NAME) as store:
            stored = len(store.finished_keys())
    except RlkitError:
        return "no game was stored; start the tournament again"
    return (
        f"{stored} games are stored in {out / STORE_NAME}; continue with "
        f"`rlkit tournament --resume {out}`"
    )


def _report(outcome: TournamentOutcome, as_json: bool) -> None:
    if as_json:
        summary = json.loads((outcome.out / "ratings.json").read_text())
        print(json.dumps({"out": str(outcome.out), "played_now": outcome.played_now, **summary}))
        return
    plan, rows = outcome.plan, outcome.rows
    print(
        f"{plan.env} {plan.format}: {len(plan.agents)} agents, {len(rows)} games "
        f"(seed {plan.seed}); results in {outcome.out}"
    )
    print(outcome.table.format())
    forfeits = [row for row in rows if row["forfeit"] is not None]
    if forfeits:
        print(f"{len(forfeits)} games were forfeited:")
        reasons: dict[tuple[str, str], int] = {}
        for row in forfeits:
            key = (row["forfeit"], row["reason"])
            reasons[key] = reasons.get(key, 0) + 1
        for (name, reason), count in sorted(reasons.items()):
            print(f"  {name}: {count}x {reason}")
    truncated = sum(row["truncated"] for row in rows)
    if truncated:
        print(f"{truncated} games reached the maximum length and count as draws")
    print("wrote " + ", ".join(str(path) for path in outcome.files))


def add_parser(subparsers: Any) -> None:
    """Register ``rlkit tournament``."""
    from rlkit.argtypes import add_runtime_options, non_negative_int, positive_int
    from rlkit.argtypes import seed as seed_type

    p = subparsers.add_parser(
        "tournament",
        help="rate many agents: a tournament on worker processes or Ray, with Elo ratings",
        description="Play every pairing of AGENTS on --env, store each game in "
        "DIR/results.sqlite, and print Elo ratings with 95 percent intervals and the crosstable.",
    )
    p.add_argument("agents", nargs="*", help="agent specs, checkpoints or run folders")
    p.add_argument("--env", help="game spec, e.g. connect4, tictactoe, go:size=9")
    p.add_argument(
        "--games", type=positive_int, metavar="N", help=f"games per pairing ({DEFAULT_GAMES})"
    )
    p.add_argument("--format", choices=FORMATS[:2], help="round-robin (default) or gauntlet")
    p.add_argument(
        "--candidates",
        type=positive_int,
        metavar="K",
        help="gauntlet: the first K agents each play all the others (1)",
    )
    p.add_argument("--pairings", metavar="FILE", help="one 'A B [GAMES]' pairing per line")
    p.add_argument(
        "--swap",
        action="store_true",
        default=None,
        help="play games in pairs with the same chance seed and colours swapped",
    )
    p.add_argument(
        "--opening-moves",
        type=non_negative_int,
        metavar="K",
        help="K random first moves per game, shared by both colourings of a pair (0)",
    )
    p.add_argument(
        "--seed", type=seed_type, help="tournament seed; every game's seeds derive from it (0)"
    )
    p.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="an agent slower than this for one move loses the game (no limit)",
    )
    p.add_argument(
        "--workers",
        type=positive_int,
        metavar="W",
        help="parallel workers (local: 1, in this process; ray: the cluster's CPUs)",
    )
    p.add_argument("--backend", choices=BACKENDS, help="local processes (default) or ray")
    p.add_argument("--address", help="Ray cluster address, e.g. auto (default: start Ray here)")
    p.add_argument("--out", type=Path, metavar="DIR", help="new tournament folder")
    p.add_argument(
        "--resume", metavar="DIR", help="play the missing games of the tournament in DIR"
    )
    p.add_argument("--config", metavar="FILE.toml", help="TOML file with these options as keys")
    p.add_argument("--anchor", metavar="NAME", help="agent rated at 0 Elo (the first agent)")
    add_runtime_options(p, threads_default=None)
    p.add_argument("--json", action="store_true", help="print one JSON object at the end")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=_cmd_tournament)
