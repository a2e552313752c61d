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

import csv
import io
import math
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym

from rlkit.agent import Agent, Learner, Transition, split_observation
from rlkit.checkpoint import (
    Checkpoint,
    load_checkpoint,
    save_checkpoint,
    space_from_dict,
    space_to_dict,
    write_atomically,
)
from rlkit.errors import CheckpointError, RlkitError, SpecError
from rlkit.game import Game, GameAgent, GameLearner
from rlkit.registry import make_env, resolve_agent_class
from rlkit.specs import build_config, config_to_dict, parse_spec
from rlkit.tomlio import dumps_toml


@dataclass(frozen=True)
class RunSettings:
    """Everything that defines a training run (written to ``config.toml``)."""

    agent: str
    env: str
    seed: int = 0
    steps: int | None = None
    episodes: int | None = None
    log_interval: int = 1000
    checkpoint_interval: int = 100_000

    def __post_init__(self) -> None:
        if self.steps is None and self.episodes is None:
            raise SpecError("give a training budget: --steps N or --episodes N")
        for name in ("steps", "episodes"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise SpecError(f"--{name} must be positive, got {value}")
        if self.log_interval <= 0 or self.checkpoint_interval <= 0:
            raise SpecError("log and checkpoint intervals must be positive")


@dataclass
class _Window:
    """Sums over the episodes since the last metrics row."""

    episodes: int = 0
    return_sum: float = 0.0
    length_sum: int = 0
    metric_sums: dict[str, float] = field(default_factory=dict)


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
    ) -> None:
        self.settings = settings
        self.seed = settings.seed
        self.steps = steps
        self.episodes = episodes
        self.interrupted = False
        self._metrics = metrics
        self._save = save
        self._window = _Window()
        self._last_row_step = steps
        self._last_checkpoint_step = steps
        self._progress = _Progress(settings, steps, episodes) if progress else None

    # -- budget ---------------------------------------------------------------------------------
    @property
    def finished(self) -> bool:
        """True once the budget is spent or the user pressed Ctrl-C."""
        s = self.settings
        return (
            self.interrupted
            or (s.steps is not None and self.steps >= s.steps)
            or (s.episodes is not None and self.episodes >= s.episodes)
        )

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
            self._progress.update(self.steps, self.episodes, episode_return)
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
        """Ask the run to save the learner now (at an episode boundary)."""
        if self._save is not None:
            self._save(name)
            self._last_checkpoint_step = self.steps

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
        self._tb = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:  # tensorboard is optional
                SummaryWriter = None
            if SummaryWriter is not None:
                self._tb = SummaryWriter(log_dir=str(run_dir / "tb"))

    def write(self, row: dict[str, float]) -> None:
        new_file = self._columns is None
        if new_file:
            self._columns = list(row)
        with self.path.open("a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=self._columns, extrasaction="ignore")
            if new_file:
                writer.writeheader()
            writer.writerow({k: _fmt(v) for k, v in row.items()})
        if self._tb is not None:
            for key, value in row.items():
                if key not in ("steps", "episodes"):
                    self._tb.add_scalar(key, value, global_step=int(row["steps"]))

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


def _fmt(value: float) -> str:
    if isinstance(value, int) or (
        isinstance(value, float) and value.is_integer() and abs(value) < 1e15
    ):
        return str(int(value))
    return f"{value:.6g}"


class _Progress:
    """A progress bar with rate and ETA (tqdm), on steps or on episodes."""

    def __init__(self, settings: RunSettings, steps: int, episodes: int) -> None:
        from tqdm import tqdm

        self._by_steps = settings.steps is not None
        total = settings.steps if self._by_steps else settings.episodes
        self._bar = tqdm(
            total=total,
            initial=steps if self._by_steps else episodes,
            unit="step" if self._by_steps else "ep",
            unit_scale=True,
            dynamic_ncols=True,
            mininterval=0.5,
            smoothing=0.1,
        )
        self._recent = 0.0

    def update(self, steps: int, episodes: int, episode_return: float) -> None:
        self._recent = (
            0.95 * self._recent + 0.05 * episode_return if episodes > 1 else episode_return
        )
        self._bar.n = steps if self._by_steps else episodes
        self._bar.set_postfix_str(f"return≈{self._recent:.3g}", refresh=False)
        self._bar.update(0)  # redraws only when mininterval has passed

    def close(self) -> None:
        self._bar.refresh()
        self._bar.close()


# -- runs ------------------------------------------------------------------------------------
def _env_rng_state(env: gym.Env) -> dict[str, Any] | None:
    rng = getattr(env.unwrapped, "_np_random", None)
    return None if rng is None else rng.bit_generator.state


def _agent_metadata(agent_name: str, agent: Agent | GameAgent, env_spec: str) -> dict[str, Any]:
    from rlkit import __version__

    metadata = {
        "agent": parse_spec(agent_name).name,  # parameters live in "config"
        "config": config_to_dict(agent.config),
        "env": env_spec,
        "rlkit_version": __version__,
        "extra_state": agent.extra_state(),
    }
    if isinstance(agent, GameAgent):  # rebuilt from the game spec in "env"
        metadata["kind"] = "game_agent"
    else:
        metadata["observation_space"] = space_to_dict(agent.observation_space)
        metadata["action_space"] = space_to_dict(agent.action_space)
    return metadata


def save_agent(
    path: str | Path,
    agent_name: str,
    agent: Agent,
    *,
    env: str = "",
    training: dict[str, Any] | None = None,
) -> None:
    """Save an agent (weights, config, spaces, RNG state) as an rlkit checkpoint."""
    metadata = _agent_metadata(agent_name, agent, env)
    if training is not None:
        metadata["training"] = training
    save_checkpoint(path, metadata, agent.state_dict())


def agent_from_checkpoint(
    checkpoint: Checkpoint, *, where: str = "checkpoint", overrides: dict[str, Any] | None = None
) -> Agent:
    """Rebuild the agent stored in a loaded checkpoint.

    ``overrides`` replace stored config values that do not change the weights' meaning,
    e.g. ``{"device": "cpu"}`` to evaluate a GPU-trained agent on a laptop.

    Raises:
        CheckpointError: metadata or tensors do not fit the agent they name.
    """
    meta = checkpoint.metadata
    try:
        name = meta["agent"]
        cls, _ = resolve_agent_class(name)
        config = build_config(cls.Config, meta["config"], owner=name)
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{where} has corrupt metadata: {exc}") from None
    if overrides:  # a user's mistake here is a SpecError, not a corrupt checkpoint
        config = build_config(cls.Config, overrides, owner=name, base=config)
    try:
        if meta.get("kind") == "game_agent":
            from rlkit.registry import make_game

            agent = cls(config, make_game(meta["env"]))
        else:
            agent = cls(
                config,
                space_from_dict(meta["observation_space"]),
                space_from_dict(meta["action_space"]),
            )
        agent.load_state_dict(checkpoint.tensors)
        agent.load_extra_state(meta.get("extra_state", {}))
    except CheckpointError:
        raise
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"{where} does not fit its agent {name!r}: {exc}") from None
    return agent


def load_agent(path: str | Path) -> Agent:
    """Load an agent saved by ``rlkit train`` (a ``.pt`` file, or a run folder's final.pt).

    Raises:
        CheckpointError: missing, truncated or corrupt file.
    """
    return agent_from_checkpoint(load_checkpoint(path), where=f"checkpoint {str(path)!r}")


def read_run_config(path: Path) -> tuple[RunSettings, dict[str, Any]]:
    """Read a run's ``config.toml``: the settings and the agent's parameters.

    Raises:
        SpecError: unreadable TOML or unknown keys.
    """
    from rlkit.tomlio import load_toml

    data = load_toml(path)
    agent_params = data.pop("agent_config", {})
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
    torch_threads: int | None = None,
) -> Agent:
    """Run (or resume) a training run in ``run_dir`` and return the trained agent.

    Ctrl-C stops at the next step, saves ``checkpoint.pt`` and raises KeyboardInterrupt; a
    second Ctrl-C interrupts immediately.

    Raises:
        RlkitError: unknown names, bad parameters, an agent that cannot learn, an occupied
            ``run_dir`` when not resuming, or a missing checkpoint when resuming.
    """
    run_dir = Path(run_dir)
    from rlkit.registry import make_agent, make_game

    # A game learner (TD(λ) self-play) trains on the rules; everything else on an env.
    cls, defaults = resolve_agent_class(parse_spec(settings.agent).name)
    # (A game learner seeds its own generators; an env is seeded below.)
    world: gym.Env | Game = (
        make_game(settings.env) if issubclass(cls, GameLearner) else make_env(settings.env)
    )

    if resume:
        checkpoint = _latest_checkpoint(run_dir)
        if checkpoint is None:
            raise CheckpointError(f"{run_dir} holds no checkpoint to resume from")
        agent = agent_from_checkpoint(checkpoint, where=f"checkpoint in {run_dir}")
        counters = checkpoint.metadata.get("training", {})
    else:
        if any((run_dir / name).exists() for name in _RUN_OUTPUTS):
            raise RlkitError(
                f"{run_dir} already holds a run: use --resume {run_dir} or choose another --out"
            )
        if isinstance(world, gym.Env):
            agent = make_agent(
                settings.agent,
                world.observation_space,
                world.action_space,
                seed=settings.seed,
                overrides=agent_params,
            )
        else:
            spec = parse_spec(settings.agent)
            params = {**defaults, **(agent_params or {}), **spec.params}
            config = build_config(cls.Config, params, owner=spec.name)
            agent = cls(config, world, seed=settings.seed)
        counters = {}
    if not isinstance(agent, Learner | GameLearner):
        raise RlkitError(f"agent {settings.agent!r} does not learn; nothing to train")
    set_torch_threads(torch_threads)

    run_dir.mkdir(parents=True, exist_ok=True)
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
            "env_rng": _env_rng_state(world) if isinstance(world, gym.Env) else None,
            "seed": settings.seed,
        }
        save_agent(run_dir / name, settings.agent, agent, env=settings.env, training=training)

    session = TrainingSession(
        settings, metrics=metrics, save=save, progress=progress, steps=steps, episodes=episodes
    )

    def on_sigint(signum: int, frame: Any) -> None:
        if session.interrupted:
            raise KeyboardInterrupt
        session.interrupted = True

    previous = _install_sigint(on_sigint)
    started = time.perf_counter()
    try:
        try:
            agent.fit(world, session)
        finally:
            _restore_sigint(previous)
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


def set_torch_threads(threads: int | None) -> None:
    """Limit torch's CPU threads, if an agent has imported torch (tabular agents do not).

    Small networks run faster on one thread: splitting a 64-unit matrix product across cores
    costs more in synchronisation than it saves.
    """
    if threads is not None and "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)


_RUN_OUTPUTS = ("metrics.csv", "checkpoint.pt", "final.pt")  # what a new run must not overwrite


def _settings_dict(settings: RunSettings) -> dict[str, Any]:
    return {k: v for k, v in settings.__dict__.items() if v is not None}


def _install_sigint(handler: Callable[[int, Any], None]) -> Any:
    try:
        return signal.signal(signal.SIGINT, handler)
    except ValueError:  # not in the main thread: leave Ctrl-C alone
        return None


def _restore_sigint(previous: Any) -> None:
    if previous is not None:
        signal.signal(signal.SIGINT, previous)
