"""The one agent builder: a spec or a checkpoint, for an env or a game, with run-time settings.

Every command (``train``, ``eval``, ``play``, ``gtp``, ``bg move``, ``tournament``) and the Python
API (:func:`rlkit.make_agent`) build agents here, through :func:`build_agent`::

    build_agent("q-learning:alpha=0.5", env=env, seed=0)          # a fresh agent for an env
    build_agent("minimax:depth=4", game=game, seed=0)              # a search agent for a game
    build_agent("runs/cliff", env=env)                             # a run folder's final.pt
    build_agent("runs/az:simulations=800", game=game,              # a checkpoint, with config
                runtime=Runtime(device="cpu", threads=1))          #   overrides and settings

What an agent is given depends on its kind and on what the caller has:

- a :class:`~rlkit.game.GameAgent` (minimax, MCTS, GTP engines, TD-Gammon) needs a game;
- an :class:`~rlkit.agent.Agent` (tabular, networks, Stable-Baselines3) needs spaces: the
  environment's, or, at a game, what game environments show
  (:func:`~rlkit.game.game_observation_space` and ``Discrete(num_actions)``).

A checkpoint's stored spaces (or game) are checked here, once, against where the agent is asked
to act, so a Q-table trained on the cliff is refused at tic-tac-toe with one line in every
command.

Run-time settings (:class:`Runtime`: device, threads) are not hyper-parameters: they do not change
what an agent computes, only where and how fast. They override any ``device`` in a spec or a
checkpoint (a checkpoint trained on CUDA plays on a laptop with ``--device cpu``, and a
checkpoint loaded without ``--device`` uses ``auto``).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gymnasium as gym

from rlkit.errors import IncompatibleEnvError, SpecError
from rlkit.specs import Spec, build_config, config_fields, parse_spec

if TYPE_CHECKING:
    from rlkit.agent import Agent
    from rlkit.game import Game, GameAgent

DEVICES = ("auto", "cpu", "cuda")


@dataclass(frozen=True)
class Runtime:
    """Where and how fast an agent runs; never part of what it learned.

    Attributes:
        device: ``auto`` (CUDA when present), ``cpu``, ``cuda`` or ``cuda:N``; None keeps the
            spec's value for fresh agents and uses ``auto`` for checkpoints.
        threads: torch CPU threads (None: leave torch's setting alone). One thread is fastest
            for the small networks here: splitting a 64-unit product across cores costs more in
            synchronisation than it saves.
    """

    device: str | None = None
    threads: int | None = None

    def __post_init__(self) -> None:
        if self.device is not None and not (
            self.device in DEVICES or self.device.startswith("cuda:")
        ):
            raise SpecError(f"unknown device {self.device!r}: use auto, cpu, cuda or cuda:N")
        if self.threads is not None and self.threads < 1:
            raise SpecError(f"threads must be at least 1, got {self.threads}")

    def apply_threads(self) -> None:
        """Set torch's CPU threads, if torch is in use (tabular agents never import it)."""
        if self.threads is not None and "torch" in sys.modules:
            sys.modules["torch"].set_num_threads(self.threads)


def is_checkpoint_reference(text: str) -> bool:
    """Whether an agent argument names a checkpoint (a ``.pt`` file or a run folder).

    Parameters after the path (``runs/az:simulations=800``) do not count: only the name part is
    looked at.
    """
    name = league_checkpoint(_spec_name(text))
    path = Path(name)
    return name.endswith(".pt") or path.is_file() or _is_run_folder(path)


def league_checkpoint(name: str) -> str:
    """The checkpoint a league player's name means (``runs/league:main``, see
    :func:`rlkit.leagues.store.resolve_league_reference`), else ``name`` unchanged."""
    if ":" not in name:
        return name
    from rlkit.leagues.store import resolve_league_reference

    return resolve_league_reference(name) or name


def looks_like_path(name: str) -> bool:
    """A name that can only mean a file: ``runs/x``, ``model.pt`` (not ``module:Class``)."""
    return name.endswith(".pt") or ("/" in name and ":" not in name) or name.startswith(".")


def _spec_name(text: str) -> str:
    try:
        return parse_spec(text).name
    except SpecError:
        return text


def _is_run_folder(path: Path) -> bool:
    return path.is_dir() and any(
        (path / name).exists() for name in ("final.pt", "checkpoint.pt", "config.toml")
    )


def build_agent(
    spec: str | Spec,
    *,
    env: gym.Env | None = None,
    game: Game | None = None,
    observation_space: gym.Space | None = None,
    action_space: gym.Space | None = None,
    seed: int | None = None,
    runtime: Runtime | None = None,
    overrides: dict[str, Any] | None = None,
) -> Agent | GameAgent:
    """Build an agent from a spec or a checkpoint, for an environment, spaces or a game.

    Args:
        spec: an agent spec (``"q-learning:alpha=0.1"``, ``"gtp:gnugo --mode gtp"``,
            ``"module:Class"``) or a checkpoint reference (``"runs/x/final.pt"``, a run folder),
            optionally with config overrides (``"runs/x:temperature=0.5"``).
        env: the environment the agent acts in (its spaces are used and, for checkpoints,
            checked).
        game: the game the agent plays (search agents get the rules; others the spaces game
            environments show).
        observation_space, action_space: spaces given directly (instead of ``env``).
        seed: seeds a fresh agent's generators (a checkpoint restores its own).
        runtime: device and thread settings.
        overrides: extra config values (e.g. a TOML ``[agent_config]`` table); spec parameters
            win over them.

    Returns:
        The agent.

    Raises:
        UnknownNameError, SpecError, CheckpointError, IncompatibleEnvError: one-line messages.
    """
    from rlkit.checkpoint import agent_from_checkpoint, load_checkpoint
    from rlkit.game import GameAgent
    from rlkit.registry import resolve_agent_class

    runtime = runtime or Runtime()
    parsed = parse_spec(spec) if isinstance(spec, str) else spec
    if env is not None:
        observation_space, action_space = env.observation_space, env.action_space
    if is_checkpoint_reference(str(parsed.name)):
        checkpoint = load_checkpoint(league_checkpoint(parsed.name))
        params = {**(overrides or {}), **parsed.params}
        agent = agent_from_checkpoint(
            checkpoint,
            where=f"checkpoint {parsed.name!r}",
            overrides=params,
            device=runtime.device or "auto",
            game=game,
        )
        _check_fits(agent, parsed.name, game, observation_space, action_space)
        runtime.apply_threads()
        return agent

    if looks_like_path(parsed.name):
        from rlkit.errors import CheckpointError

        raise CheckpointError(
            f"{parsed.name!r} does not exist (an agent is a spec such as 'random' — see "
            "`rlkit list` — a checkpoint file or a run folder)"
        )
    cls, defaults = resolve_agent_class(parsed.name)
    # Before construction: initial weights (orthogonal init's QR) differ in the last bits with
    # the thread count, and a seeded agent must start from the same weights in every process.
    runtime.apply_threads()
    params = {**defaults, **(overrides or {}), **parsed.params}
    if runtime.device is not None and "device" in config_fields(cls.Config):
        params["device"] = runtime.device
    config = build_config(cls.Config, params, owner=parsed.name)
    if issubclass(cls, GameAgent):
        if game is None:
            raise SpecError(
                f"{parsed.name!r} searches a game's rules and cannot act in a plain environment; "
                "use it with `rlkit play` on a game"
            )
        agent = cls(config, game, seed=seed)
    else:
        if game is not None and observation_space is None:
            observation_space, action_space = game_spaces(game)
        if observation_space is None or action_space is None:
            raise SpecError(f"{parsed.name!r} needs an environment or a game to act in")
        agent = cls(config, observation_space, action_space, seed=seed)
    runtime.apply_threads()  # again, for agents that import torch only when constructed
    return agent


def game_spaces(game: Game) -> tuple[gym.Space, gym.Space]:
    """The spaces an observation-based agent sees at ``game`` (as the game environments show)."""
    from rlkit.game import game_observation_space

    return game_observation_space(game), gym.spaces.Discrete(game.info.num_actions)


def _check_fits(
    agent: Any,
    where: str,
    game: Game | None,
    observation_space: gym.Space | None,
    action_space: gym.Space | None,
) -> None:
    """Refuse, in one line, a checkpoint whose agent cannot act where it is asked to."""
    from rlkit.game import GameAgent

    if isinstance(agent, GameAgent):
        if game is None:
            raise IncompatibleEnvError(
                f"{where!r} holds a game agent for {agent.game.info.name}: use it with "
                "`rlkit play`, not in an environment"
            )
        if not same_game(agent.game.info, game.info):
            raise IncompatibleEnvError(
                f"{where!r} was trained for {_game_label(agent.game)}, not for {_game_label(game)}"
            )
        return
    if game is not None and observation_space is None:
        observation_space, action_space = game_spaces(game)
    if observation_space is None:
        return
    expected_spaces = {"observation_space": observation_space, "action_space": action_space}
    for kind, expected in expected_spaces.items():
        have = getattr(agent, kind)
        if have != expected:
            target = _game_label(game) if game is not None else "this environment"
            raise IncompatibleEnvError(
                f"{where!r} was trained with {kind} {_short(have)}, but {target} has "
                f"{_short(expected)}"
            )


def same_game(a: Any, b: Any) -> bool:
    """Whether two ``GameInfo`` describe the same game, up to its length limit (a GTP engine
    plays the same Go with a longer move limit)."""
    import dataclasses

    return dataclasses.replace(a, max_game_length=0) == dataclasses.replace(b, max_game_length=0)


def _game_label(game: Any) -> str:
    info = game.info
    shape = "x".join(str(s) for s in info.observation_shape)
    return f"{info.name} ({info.num_actions} actions, observation {shape})"


def _short(space: gym.Space) -> str:
    text = str(space)
    return text if len(text) <= 90 else text[:87] + "..."


def make_agent(
    spec: str | Spec,
    observation_space: gym.Space | None = None,
    action_space: gym.Space | None = None,
    *,
    env: gym.Env | None = None,
    game: Game | None = None,
    seed: int | None = None,
    device: str | None = None,
    threads: int | None = None,
    overrides: dict[str, Any] | None = None,
) -> Agent | GameAgent:
    """The Python API to :func:`build_agent` (``rlkit.make_agent``).

        >>> import rlkit
        >>> env = rlkit.make_env("cliff")
        >>> rlkit.make_agent("q-learning:alpha=0.5", env=env, seed=0).config.alpha
        0.5
        >>> rlkit.make_agent("td-gammon", game=rlkit.make_game("backgammon")).config.ply
        1
    """
    return build_agent(
        spec,
        env=env,
        game=game,
        observation_space=observation_space,
        action_space=action_space,
        seed=seed,
        runtime=Runtime(device=device, threads=threads),
        overrides=overrides,
    )


def load_agent(
    path: str | Path,
    *,
    env: gym.Env | None = None,
    game: Game | None = None,
    device: str | None = None,
    threads: int | None = None,
) -> Agent | GameAgent:
    """Load an agent saved by ``rlkit train`` (a ``.pt`` file or a run folder); see
    :func:`build_agent`.

    Raises:
        CheckpointError: missing, truncated, corrupt or foreign file.
    """
    from rlkit.errors import CheckpointError

    if not is_checkpoint_reference(str(path)):
        raise CheckpointError(f"{str(path)!r} is not a checkpoint file or run folder")
    return build_agent(
        str(path), env=env, game=game, runtime=Runtime(device=device, threads=threads)
    )
