"""Training runs: the shared episode loop, metrics, checkpoints, interruption and resume.

A run lives in one folder::

    DIR/config.toml     what was run (agent, env, seed, budget, every hyper-parameter)
    DIR/metrics.csv     one row per ``log_interval`` environment steps (means over episodes)
    DIR/tb/             TensorBoard events of the same scalars (when tensorboard is installed)
    DIR/checkpoint.pt   the latest periodic checkpoint (also written on Ctrl-C)
    DIR/final.pt        the agent at the end of the run

Seeding: the environment is reset with ``seed`` once, and its generator state is stored in
every checkpoint; the agent has its own generators, stored the same way. So a run repeats
exactly for the same seed, and, for learners on the shared loop (:func:`run_episodes`), a
run resumed from a periodic checkpoint (written at an episode boundary) continues exactly as
the uninterrupted run would have. Learners with their own loop (Stable-Baselines3) resume
approximately: their rollout buffers are not part of a checkpoint.
"""

from __future__ import annotations

import contextlib
import csv
import io
import math
import os
import shutil
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gymnasium as gym

from rlkit.agent import Agent, Learner, Transition, split_observation
from rlkit.checkpoint import (
    Checkpoint,
    agent_from_checkpoint,
    load_checkpoint,
    save_agent,
    write_atomically,
)
from rlkit.errors import CheckpointError, RlkitError, SpecError
from rlkit.game import Game, GameAgent, GameLearner

if TYPE_CHECKING:
    from rlkit.builder import Runtime
from rlkit.registry import make_env, resolve_agent_class
from rlkit.specs import config_to_dict, parse_spec
from rlkit.tomlio import dumps_toml


@dataclass(frozen=True)
class RunSettings:
    """Everything that defines a training run (written to ``config.toml``).

    Every field is checked for its type here, so a TOML file with ``steps = "many"`` or
    ``seed = -1`` is refused in one line before anything runs.
    """

    agent: str
    env: str
    seed: int = 0
    steps: int | None = None
    episodes: int | None = None
    minutes: float | None = None
    """A wall-clock budget (training time summed over resumed parts of the run)."""
    log_interval: int = 1000
    checkpoint_interval: int = 100_000
    max_episode_steps: int | None = None
    """Cut episodes at this many steps (Gymnasium's TimeLimit); None keeps the env's own."""

    def __post_init__(self) -> None:
        for name in ("agent", "env"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise SpecError(f"{name} must be a spec string such as 'cliff', got {value!r}")
        if not _is_int(self.seed) or self.seed < 0:
            raise SpecError(f"seed must be a non-negative integer, got {self.seed!r}")
        for name in ("steps", "episodes", "max_episode_steps"):
            value = getattr(self, name)
            if value is not None and (not _is_int(value) or value <= 0):
                raise SpecError(f"{name} must be a positive integer, got {value!r}")
        for name in ("log_interval", "checkpoint_interval"):
            value = getattr(self, name)
            if not _is_int(value) or value <= 0:
                raise SpecError(f"{name} must be a positive integer, got {value!r}")
        if self.minutes is not None and (
            isinstance(self.minutes, bool)
            or not isinstance(self.minutes, int | float)
            or not (math.isfinite(self.minutes) and self.minutes > 0)
        ):
            raise SpecError(f"minutes must be a positive number, got {self.minutes!r}")
        budgets = [b for b in (self.steps, self.episodes, self.minutes) if b is not None]
        if not budgets:
            raise SpecError("give a training budget: --steps N, --episodes N or --minutes M")
        if len(budgets) > 1:
            raise SpecError("give one training budget (steps, episodes or minutes), not several")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass
class _Window:
    """Sums over the episodes since the last metrics row."""

    episodes: int = 0
    return_sum: float = 0.0
    length_sum: int = 0
    metric_sums: dict[str, float] = field(default_factory=dict)


def training_clock() -> float:
    """Seconds on a monotonic clock: what a ``--minutes`` budget is measured with (a function
    of its own so tests can drive the budget with a fake clock)."""
    return time.perf_counter()


class TrainingSession:
    """What a learner's loop talks to: budget, seeds, metrics, checkpoints, interruption.

    Learners call :meth:`end_episode` after every complete episode and read
    :attr:`finished` (or :meth:`steps_left`) to know when to stop.
    """

    def __init__(
        self,
        settings: RunSettings,
        *,
        metrics: MetricsLog | None = None,
        save: Callable[[str], None] | None = None,
        progress: bool = True,
        steps: int = 0,
        episodes: int = 0,
        seconds: float = 0.0,
    ) -> None:
        self.settings = settings
        self.seed = settings.seed
        self.steps = steps
        self.episodes = episodes
        self._seconds_before = seconds  # trained in earlier parts of a resumed run
        self._started = training_clock()
        self.interrupted = False
        self._metrics = metrics
        self._save = save
        self._window = _Window()
        self._last_row_step = steps
        self._last_checkpoint_step = steps
        self._last_checkpoint_written = -1  # steps at the last checkpoint this session wrote
        self._progress = _Progress(settings, steps, episodes, seconds) if progress else None

    # -- budget ---------------------------------------------------------------------------------
    @property
    def seconds(self) -> float:
        """Training time of the run so far, earlier parts of a resumed run included."""
        return self._seconds_before + training_clock() - self._started

    @property
    def finished(self) -> bool:
        """True once the budget is spent or the user pressed Ctrl-C."""
        s = self.settings
        return (
            self.interrupted
            or (s.steps is not None and self.steps >= s.steps)
            or (s.episodes is not None and self.episodes >= s.episodes)
            or (s.minutes is not None and self.seconds >= 60 * s.minutes)
        )

    @property
    def budget_fraction(self) -> float:
        """The fraction of the budget spent, in [0, 1]: the largest over the budgets set
        (steps, episodes, minutes); 0 when none is set. What a learner's own schedules
        (a learning rate decayed over the run) are laid out on, so that a resumed run
        continues them where it stopped."""
        s = self.settings
        spent = [0.0]
        if s.steps is not None:
            spent.append(self.steps / max(s.steps, 1))
        if s.episodes is not None:
            spent.append(self.episodes / max(s.episodes, 1))
        if s.minutes is not None:
            spent.append(self.seconds / max(60 * s.minutes, 1e-9))
        return min(1.0, max(spent))

    def steps_left(self) -> int:
        """Environment steps still allowed (a large number under an episode budget)."""
        if self.interrupted:
            return 0
        if self.settings.steps is None:
            return 2**62
        return max(0, self.settings.steps - self.steps)

    # -- reporting ------------------------------------------------------------------------------
    def add_steps(self, count: int) -> None:
        """Count environment steps taken outside a complete episode (a cut-off tail)."""
        self.steps += count

    def end_episode(self, episode_return: float, length: int, metrics: dict[str, float]) -> None:
        """Record a finished episode; write a metrics row and a checkpoint when due."""
        self.steps += length
        self.episodes += 1
        w = self._window
        w.episodes += 1
        w.return_sum += float(episode_return)
        w.length_sum += length
        for key, value in metrics.items():
            w.metric_sums[key] = w.metric_sums.get(key, 0.0) + float(value)
        if self._progress is not None:
            self._progress.update(self.steps, self.episodes, episode_return, self.seconds)
        if self.steps - self._last_row_step >= self.settings.log_interval:
            self.flush_metrics()
        if self.steps - self._last_checkpoint_step >= self.settings.checkpoint_interval:
            self.checkpoint("checkpoint.pt")  # flushes a partial metrics row first

    def flush_metrics(self) -> None:
        """Write the pending metrics row (means over the episodes since the last row)."""
        w = self._window
        if w.episodes == 0:
            return
        row = {
            "steps": self.steps,
            "episodes": self.episodes,
            "return_mean": w.return_sum / w.episodes,
            "length_mean": w.length_sum / w.episodes,
        }
        row.update({k: v / w.episodes for k, v in sorted(w.metric_sums.items())})
        if self._metrics is not None:
            self._metrics.write(row)
        self._window = _Window()
        self._last_row_step = self.steps

    def checkpoint(self, name: str) -> None:
        """Ask the run to save the learner now (at an episode boundary). A periodic checkpoint
        with no step since the last one is not written again (a learner that checkpoints at
        its own boundaries may coincide with the interval's)."""
        if name == "checkpoint.pt" and self.steps == self._last_checkpoint_written:
            return
        if self._save is not None:
            self._save(name)
            self._last_checkpoint_step = self._last_checkpoint_written = self.steps

    def close(self) -> None:
        if self._progress is not None:
            self._progress.close()


def run_episodes(learner: Learner, env: gym.Env, session: TrainingSession) -> None:
    """The shared training loop: act, step, observe; close episodes; stop on budget.

    The environment is reset with ``session.seed`` only when its generator has no stored
    state (see :func:`train`); later resets continue its random stream. A step budget can cut
    the last episode short: its steps count, but it is not reported as an episode.
    """
    while not session.finished:
        observation, info = env.reset()
        observation, mask = split_observation(observation, info)
        allowed = session.steps_left()
        episode_return, length = 0.0, 0
        while True:
            action = learner.act(observation, mask, explore=True)
            next_observation, reward, terminated, truncated, info = env.step(action)
            next_observation, next_mask = split_observation(next_observation, info)
            learner.observe(
                Transition(
                    observation,
                    action,
                    float(reward),
                    next_observation,
                    terminated,
                    truncated,
                    mask,
                    next_mask,
                )
            )
            episode_return += float(reward)
            length += 1
            observation, mask = next_observation, next_mask
            if terminated or truncated:
                session.end_episode(episode_return, length, learner.end_episode())
                break
            if length >= allowed or session.interrupted:
                session.add_steps(length)
                return


# -- metrics ---------------------------------------------------------------------------------
class MetricsLog:
    """Appends rows to ``metrics.csv`` and, when available, TensorBoard scalars."""

    def __init__(self, run_dir: Path, *, tensorboard: bool = True) -> None:
        self.path = run_dir / "metrics.csv"
        self._columns: list[str] | None = None
        if self.path.exists():
            with self.path.open(newline="") as f:
                header = next(csv.reader(f), None)
            self._columns = header or None
        self._tb = ScalarEvents(run_dir / "tb") if tensorboard else None

    def write(self, row: dict[str, float]) -> None:
        new_file = self._columns is None
        if new_file:
            self._columns = list(row)
        elif any(key not in self._columns for key in row):
            self._add_columns([key for key in row if key not in self._columns])
        with self.path.open("a", newline="") as f:
            writer = csv.DictWriter(
                f, fieldnames=self._columns, extrasaction="ignore", lineterminator="\n"
            )
            if new_file:
                writer.writeheader()
            writer.writerow({k: _fmt(v) for k, v in row.items()})
        if self._tb is not None:
            for key, value in row.items():
                if key not in ("steps", "episodes"):
                    self._tb.add_scalar(key, value, int(row["steps"]))

    def _add_columns(self, keys: list[str]) -> None:
        """Widen the header for metrics that appear later in a run (an evaluation's scores);
        earlier rows get empty cells. Rewritten atomically."""
        with self.path.open(newline="") as f:
            rows = list(csv.reader(f))
        self._columns = [*self._columns, *keys]
        body = [r + [""] * len(keys) for r in rows[1:]]

        def write(tmp: str) -> None:
            with open(tmp, "w", newline="") as out:
                writer = csv.writer(out, lineterminator="\n")
                writer.writerow(self._columns)
                writer.writerows(body)

        write_atomically(self.path, write)

    def truncate_after(self, steps: int) -> None:
        """Drop rows written after ``steps`` (a resumed run rewrites them)."""
        if not self.path.exists():
            return
        with self.path.open(newline="") as f:
            rows = list(csv.reader(f))
        if not rows:
            return
        header, body = rows[0], rows[1:]
        keep = [r for r in body if r and int(r[0]) <= steps]
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows([header, *keep])
        write_atomically(self.path, lambda tmp: Path(tmp).write_text(buffer.getvalue()))

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()


class ScalarEvents:
    """TensorBoard scalars written with the ``tensorboard`` package alone.

    torch's ``SummaryWriter`` would import torch (3 s here) into runs that never use it, such
    as tabular Q-learning. The writer starts at the first scalar; without the optional
    ``tensorboard`` package it writes nothing.
    """

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self._writer: Any = None  # opened at the first scalar; False without tensorboard

    def add_scalar(self, tag: str, value: float, step: int) -> None:
        if self._writer is None:
            try:
                from tensorboard.compat.proto import event_pb2, summary_pb2
                from tensorboard.summary.writer.event_file_writer import EventFileWriter
            except ImportError:  # tensorboard is optional
                self._writer = False
            else:
                self._event, self._summary = event_pb2.Event, summary_pb2.Summary
                self._writer = EventFileWriter(str(self.log_dir))
        if self._writer is False:
            return
        summary = self._summary(value=[self._summary.Value(tag=tag, simple_value=float(value))])
        self._writer.add_event(self._event(wall_time=time.time(), step=step, summary=summary))

    def close(self) -> None:
        if self._writer:
            self._writer.close()


def _fmt(value: float) -> str:
    if isinstance(value, int) or (
        isinstance(value, float) and value.is_integer() and abs(value) < 1e15
    ):
        return str(int(value))
    return f"{value:.6g}"


class _Progress:
    """A progress bar with rate and ETA (tqdm), on steps, episodes or seconds."""

    def __init__(self, settings: RunSettings, steps: int, episodes: int, seconds: float) -> None:
        from tqdm import tqdm

        self._by = "steps" if settings.steps is not None else "episodes"
        if settings.minutes is not None:
            self._by = "seconds"
        total = {"steps": settings.steps, "episodes": settings.episodes}.get(
            self._by, None if settings.minutes is None else round(60 * settings.minutes)
        )
        initial = {"steps": steps, "episodes": episodes, "seconds": round(seconds)}[self._by]
        self._bar = tqdm(
            total=total,
            initial=initial,
            unit={"steps": "step", "episodes": "ep", "seconds": "s"}[self._by],
            unit_scale=True,
            dynamic_ncols=True,
            mininterval=0.5,
            smoothing=0.1,
        )
        self._recent = 0.0

    def update(self, steps: int, episodes: int, episode_return: float, seconds: float) -> None:
        self._recent = (
            0.95 * self._recent + 0.05 * episode_return if episodes > 1 else episode_return
        )
        self._bar.n = {"steps": steps, "episodes": episodes, "seconds": round(seconds)}[self._by]
        postfix = f"return≈{self._recent:.3g}"
        if self._by == "seconds":
            postfix += f" steps={steps:,} episodes={episodes:,}"
        self._bar.set_postfix_str(postfix, refresh=False)
        self._bar.update(0)  # redraws only when mininterval has passed

    def close(self) -> None:
        self._bar.refresh()
        self._bar.close()


# -- runs ------------------------------------------------------------------------------------
def _env_rng_state(env: gym.Env) -> dict[str, Any] | None:
    rng = getattr(env.unwrapped, "_np_random", None)
    return None if rng is None else rng.bit_generator.state


def read_run_config(path: Path) -> tuple[RunSettings, dict[str, Any]]:
    """Read a run's ``config.toml``: the settings and the agent's parameters.

    Raises:
        SpecError: unreadable TOML or unknown keys.
    """
    from rlkit.tomlio import load_toml

    data = load_toml(path)
    agent_params = data.pop("agent_config", {})
    if not isinstance(agent_params, dict):
        raise SpecError(
            f"{path}: agent_config must be a table ([agent_config] with key = value lines), "
            f"got {agent_params!r}"
        )
    known = {f for f in RunSettings.__dataclass_fields__}
    unknown = set(data) - known
    if unknown:
        raise SpecError(
            f"{path}: unknown keys {sorted(unknown)} (known: {sorted(known)}, "
            "and an [agent_config] table)"
        )
    if "agent" not in data or "env" not in data:
        raise SpecError(f"{path}: needs 'agent' and 'env'")
    return RunSettings(**data), agent_params


def _latest_checkpoint(run_dir: Path) -> Checkpoint | None:
    best: Checkpoint | None = None
    for name in ("checkpoint.pt", "final.pt"):
        if (run_dir / name).exists():
            ckpt = load_checkpoint(run_dir / name)
            steps = ckpt.metadata.get("training", {}).get("steps", -1)
            if best is None or steps > best.metadata.get("training", {}).get("steps", -1):
                best = ckpt
    return best


def train(
    settings: RunSettings,
    run_dir: Path,
    *,
    agent_params: dict[str, Any] | None = None,
    resume: bool = False,
    progress: bool = True,
    tensorboard: bool = True,
    runtime: Runtime | None = None,
) -> Agent | GameAgent:
    """Run (or resume) a training run in ``run_dir`` and return the trained agent.

    Ctrl-C or SIGTERM stops at the next step, saves ``checkpoint.pt`` and raises
    KeyboardInterrupt; a second one interrupts immediately. A run that fails before its first
    checkpoint removes the folder it created, so the same command can simply be run again.

    Raises:
        RlkitError: unknown names, bad parameters, an agent that cannot learn or cannot be
            saved, an occupied ``run_dir`` when not resuming, or a missing checkpoint when
            resuming.
    """
    from rlkit.builder import Runtime, build_agent
    from rlkit.registry import make_game

    run_dir = Path(run_dir)
    runtime = runtime or Runtime()
    # A game learner (TD(λ) self-play) trains on the rules; everything else on an env.
    cls, _ = resolve_agent_class(parse_spec(settings.agent).name) if not resume else (None, {})
    if resume:
        checkpoint = _latest_checkpoint(run_dir)
        if checkpoint is None:
            raise CheckpointError(
                f"{run_dir} holds no checkpoint to resume from (it stopped before the first "
                "save): start it again with a new --out"
            )
        is_game_learner = checkpoint.metadata.get("kind") == "game_agent"
    else:
        is_game_learner = issubclass(cls, GameLearner)
    world: gym.Env | Game = (
        make_game(settings.env)
        if is_game_learner
        else make_env(settings.env, max_episode_steps=settings.max_episode_steps)
    )

    if resume:
        agent = agent_from_checkpoint(
            checkpoint,
            where=f"checkpoint in {run_dir}",
            device=runtime.device,
            game=world if is_game_learner else None,
        )
        runtime.apply_threads()
        counters = checkpoint.metadata.get("training", {})
    else:
        check_run_folder(run_dir)
        agent = build_agent(
            settings.agent,
            env=world if isinstance(world, gym.Env) else None,
            game=world if isinstance(world, Game) else None,
            seed=settings.seed,
            runtime=runtime,
            overrides=agent_params,
        )
        counters = {}
    if not isinstance(agent, Learner | GameLearner):
        raise RlkitError(f"agent {settings.agent!r} does not learn; nothing to train")
    _check_saveable(agent, settings.agent)

    created = not run_dir.exists()
    try:
        _make_run_folder(run_dir)
        return _run(
            agent, world, settings, run_dir, counters, resume, progress, tensorboard, runtime
        )
    except BaseException:
        # Nothing worth keeping was saved (an error, or Ctrl-C before the first checkpoint):
        # leave no folder behind that would block running the same command again.
        if created and not any((run_dir / n).exists() for n in ("checkpoint.pt", "final.pt")):
            shutil.rmtree(run_dir, ignore_errors=True)
        raise


def check_run_folder(run_dir: Path) -> None:
    """Refuse, in one line, an ``--out`` that cannot become a new run folder.

    Raises:
        RlkitError: empty path, an existing run, a file (or a path under a file), or a place
            that cannot be written.
    """
    if str(run_dir) in ("", "."):
        raise SpecError("--out must name a new folder, e.g. --out runs/first")
    for parent in [run_dir, *run_dir.parents]:
        if parent.exists() and not parent.is_dir():
            raise RlkitError(f"--out {run_dir}: {parent} is a file, not a folder")
    if run_dir.exists() and any((run_dir / name).exists() for name in _RUN_OUTPUTS):
        raise RlkitError(
            f"{run_dir} already holds a run: use --resume {run_dir} or choose another --out"
        )
    existing = next(p for p in [run_dir, *run_dir.parents] if p.exists())
    if not os.access(existing, os.W_OK | os.X_OK):
        raise RlkitError(f"--out {run_dir}: cannot write in {existing} (permission denied)")


def _make_run_folder(run_dir: Path) -> None:
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        probe = run_dir / ".rlkit-write-test"
        probe.touch()
        probe.unlink()
    except OSError as exc:
        raise RlkitError(f"cannot write the run folder {run_dir}: {exc.strerror}") from None


def _check_saveable(agent: Any, name: str) -> None:
    """Fail before training, not after it, when the agent's state cannot be checkpointed."""
    from rlkit.agent import Persistent
    from rlkit.checkpoint import as_arrays, metadata_json

    cls = type(agent)
    if cls.state_dict is Persistent.state_dict and cls.extra_state is Persistent.extra_state:
        raise RlkitError(
            f"{name!r} learns but does not override state_dict() (or extra_state()): its "
            "checkpoint would hold an untrained agent; implement state_dict/load_state_dict"
        )
    as_arrays(agent.state_dict(), where=f"{cls.__name__}.state_dict()")
    metadata_json({"extra_state": agent.extra_state()})


def _run(
    agent: Any,
    world: gym.Env | Game,
    settings: RunSettings,
    run_dir: Path,
    counters: dict[str, Any],
    resume: bool,
    progress: bool,
    tensorboard: bool,
    runtime: Runtime,
) -> Any:
    config_text = dumps_toml(
        {
            **_settings_dict(settings),
            "agent_config": {
                k: "none" if v is None else v for k, v in config_to_dict(agent.config).items()
            },
        }
    )
    write_atomically(run_dir / "config.toml", lambda tmp: Path(tmp).write_text(config_text))

    metrics = MetricsLog(run_dir, tensorboard=tensorboard)
    steps, episodes = counters.get("steps", 0), counters.get("episodes", 0)
    if resume:
        metrics.truncate_after(steps)

    # Seed once; a resumed run restores the generator instead of reseeding it.
    if isinstance(world, gym.Env):
        world.reset(seed=settings.seed)
        if counters.get("env_rng") is not None and getattr(world.unwrapped, "_np_random", None):
            world.unwrapped._np_random.bit_generator.state = counters["env_rng"]

    session: TrainingSession

    def save(name: str) -> None:
        session.flush_metrics()
        training = {
            "steps": session.steps,
            "episodes": session.episodes,
            "seconds": session.seconds,
            "env_rng": _env_rng_state(world) if isinstance(world, gym.Env) else None,
            "seed": settings.seed,
            # Where it ran, for the record: a loader chooses its own (--device, --threads).
            "runtime": {"device": runtime.device, "threads": runtime.threads},
        }
        save_agent(run_dir / name, settings.agent, agent, env=settings.env, training=training)

    session = TrainingSession(
        settings,
        metrics=metrics,
        save=save,
        progress=progress,
        steps=steps,
        episodes=episodes,
        seconds=float(counters.get("seconds", 0.0)),
    )

    def on_signal(signum: int, frame: Any) -> None:
        if session.interrupted:
            raise KeyboardInterrupt
        session.interrupted = True

    previous = _install_handlers(on_signal)
    started = time.perf_counter()
    try:
        try:
            agent.fit(world, session)
        finally:
            _restore_handlers(previous)
            session.close()
        if session.interrupted:
            save("checkpoint.pt")
            raise KeyboardInterrupt(f"interrupted; saved {run_dir / 'checkpoint.pt'}")
        save("final.pt")
    finally:
        metrics.close()
        if isinstance(world, gym.Env):
            world.close()
    elapsed = time.perf_counter() - started
    if progress:
        rate = (session.steps - steps) / elapsed if elapsed > 0 else math.inf
        print(
            f"trained {session.steps:,} steps, {session.episodes:,} episodes "
            f"({rate:,.0f} steps/s); saved {run_dir / 'final.pt'}"
        )
    return agent


_RUN_OUTPUTS = ("metrics.csv", "checkpoint.pt", "final.pt")  # what a new run must not overwrite


def _settings_dict(settings: RunSettings) -> dict[str, Any]:
    return {k: v for k, v in settings.__dict__.items() if v is not None}


def _install_handlers(handler: Callable[[int, Any], None]) -> dict[int, Any]:
    """Route Ctrl-C and SIGTERM (what cluster schedulers send) to ``handler``."""
    previous = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(ValueError):  # not in the main thread: leave signals alone
            previous[signum] = signal.signal(signum, handler)
    return previous


def _restore_handlers(previous: dict[int, Any]) -> None:
    for signum, handler in previous.items():
        signal.signal(signum, handler)
