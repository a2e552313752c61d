"""One registry for agents and environments, addressed by spec strings.

A name is looked up, in order, among

1. rlkit's built-in entries (:data:`AGENTS`, :data:`ENVS`),
2. entry points of installed packages (groups ``rlkit.agents`` and ``rlkit.envs``, each value
   a ``"module:Class"`` string),
3. ``module.path:ClassName`` written in the spec itself (the current directory is importable,
   so ``--env my_env:MyEnv`` works for a file ``my_env.py`` beside you),
4. for environments, every id that ``gymnasium.make`` knows (``FrozenLake-v1``, ...).

Unknown names raise :class:`UnknownNameError` listing the close matches. Entries import their
module lazily, so listing or naming one agent never imports torch-heavy neighbours.
"""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
import inspect
import os
import sys
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym

from rlkit.agent import Agent
from rlkit.errors import RlkitError, SpecError, UnknownNameError
from rlkit.specs import Spec, did_you_mean, literal_value, parse_spec


@dataclass(frozen=True)
class Entry:
    """A registered agent or environment.

    Attributes:
        name: the name used in spec strings.
        entry_point: ``"module:attribute"``, imported only when the entry is used.
        summary: one line for ``rlkit list``.
        kwargs: fixed keyword arguments (for an env) or config defaults (for an agent).
    """

    name: str
    entry_point: str
    summary: str
    kwargs: dict[str, Any] = field(default_factory=dict)

    def load(self) -> Any:
        return import_object(self.entry_point)


AGENTS: dict[str, Entry] = {
    e.name: e
    for e in [
        Entry("random", "rlkit.agents.random_agent:RandomAgent", "uniformly random legal action"),
        Entry(
            "q-learning",
            "rlkit.agents.q_learning:QLearning",
            "tabular epsilon-greedy Q-learning (discrete observations)",
        ),
        Entry(
            "reinforce",
            "rlkit.agents.reinforce:Reinforce",
            "REINFORCE policy gradient with baseline (torch MLP)",
        ),
        Entry("sb3:PPO", "rlkit.agents.sb3:PPOAgent", "Stable-Baselines3 PPO (extra 'sb3')"),
        Entry("sb3:DQN", "rlkit.agents.sb3:DQNAgent", "Stable-Baselines3 DQN (extra 'sb3')"),
        Entry("sb3:A2C", "rlkit.agents.sb3:A2CAgent", "Stable-Baselines3 A2C (extra 'sb3')"),
        Entry(
            "minimax",
            "rlkit.agents.minimax:Minimax",
            "alpha-beta negamax / expectiminimax search (games)",
        ),
        Entry(
            "gtp:COMMAND",
            "rlkit.agents.gtp_agent:GtpAgent",
            "any GTP Go engine as a player, e.g. 'gtp:gnugo --mode gtp --level 1'",
        ),
        Entry(
            "pubeval",
            "rlkit.agents.pubeval:PubEval",
            "Tesauro's public linear backgammon evaluator (1-ply)",
        ),
        Entry(
            "td-lambda",
            "rlkit.agents.td_lambda:TDLambda",
            "TD(lambda) self-play backgammon network (TD-Gammon)",
        ),
        Entry(
            "td-gammon",
            "rlkit.agents.td_lambda:TDGammon",
            "rlkit's trained TD(lambda) backgammon network (td-gammon:ply=2 looks ahead)",
        ),
        Entry(
            "mcts", "rlkit.agents.mcts:MCTS", "UCT Monte Carlo tree search, random rollouts (games)"
        ),
        Entry(
            "alphazero",
            "rlkit.agents.alphazero:AlphaZero",
            "AlphaZero: PUCT search + policy-value network, self-play training (games)",
        ),
        Entry(
            "alphazero-dice",
            "rlkit.agents.alphazero_dice:AlphaZeroDice",
            "AlphaZero for backgammon: afterstate values, expectimax over the dice (plies=N)",
        ),
        Entry(
            "human",
            "rlkit.agents.human:Human",
            "you, at the terminal: moves in the game's notation, 'hint' asks another agent",
        ),
        Entry(
            "bc",
            "rlkit.agents.bc:BehaviourCloning",
            "policy network cloned from game records (rlkit train bc --data DIR)",
        ),
        Entry(
            "sb3:MaskablePPO",
            "rlkit.agents.sb3:MaskablePPOAgent",
            "sb3-contrib MaskablePPO, for envs with action masks (extra 'sb3')",
        ),
    ]
}

# Built-in environments are registered with Gymnasium under the ``rlkit/`` namespace by
# ``rlkit.envs``; these short names point at them.
ENVS: dict[str, Entry] = {
    e.name: e
    for e in [
        Entry(
            "gridworld",
            "gym:rlkit/GridWorld-v0",
            "grid world from a named or literal text map (map=NAME)",
        ),
        Entry("cliff", "gym:rlkit/CliffWalking-v0", "cliff walking 4x12 (Sutton & Barto 6.6)"),
        Entry("frozenlake4x4", "gym:rlkit/FrozenLake4x4-v0", "frozen lake 4x4, not slippery"),
        Entry("frozenlake8x8", "gym:rlkit/FrozenLake8x8-v0", "frozen lake 8x8, not slippery"),
        Entry(
            "frozenlake4x4-slippery",
            "gym:rlkit/FrozenLake4x4Slippery-v0",
            "frozen lake 4x4, slippery",
        ),
        Entry(
            "frozenlake8x8-slippery",
            "gym:rlkit/FrozenLake8x8Slippery-v0",
            "frozen lake 8x8, slippery",
        ),
        Entry(
            "windy",
            "gym:rlkit/WindyGridWorld-v0",
            "Sutton's windy grid world 7x10 (Sutton & Barto 6.5)",
        ),
        Entry("maze", "gym:rlkit/Maze-v0", "a larger deterministic maze (11x11)"),
        Entry("empty5x5", "gym:rlkit/Empty5x5-v0", "an open 5x5 room"),
        Entry("tictactoe", "gym:rlkit/TicTacToe-v0", "tic-tac-toe against a random opponent"),
        Entry("connect4", "gym:rlkit/ConnectFour-v0", "connect four against a random opponent"),
        Entry("go", "gym:rlkit/Go-v0", "Go (size=5..19, komi=) against a random opponent"),
        Entry("backgammon", "gym:rlkit/Backgammon-v0", "backgammon against a random opponent"),
    ]
}


# Games (rules as forward models, rlkit.game.Game) for `rlkit play` and search agents.
GAMES: dict[str, Entry] = {
    e.name: e
    for e in [
        Entry("tictactoe", "rlkit.envs.tictactoe:TicTacToe", "tic-tac-toe"),
        Entry("connect4", "rlkit.envs.connect_four:ConnectFour", "connect four, 6x7"),
        Entry(
            "backgammon",
            "rlkit.envs.backgammon:BackgammonGame",
            "backgammon, cubeless money play, dice as chance nodes",
        ),
        Entry(
            "go",
            "rlkit.envs.go:GoGame",
            "Go, 5x5 to 19x19, Tromp-Taylor area scoring, positional superko (size=, komi=)",
        ),
    ]
}


def import_object(entry_point: str) -> Any:
    """Import ``"module.path:attribute"``.

    Raises:
        UnknownNameError: the module or attribute does not exist.
    """
    module_name, sep, attribute = entry_point.partition(":")
    if not sep or not module_name or not attribute:
        raise SpecError(f"{entry_point!r} is not of the form 'module.path:ClassName'")
    cwd = os.getcwd()
    if cwd not in sys.path:  # user modules beside the command line, as `python -m` would see
        sys.path.append(cwd)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            raise UnknownNameError(f"cannot import module {module_name!r} ({exc})") from None
        raise RlkitError(
            f"{module_name!r} needs the package {exc.name!r}, which is not installed"
        ) from None
    try:
        return getattr(module, attribute)
    except AttributeError:
        names = [n for n in dir(module) if not n.startswith("_")]
        raise UnknownNameError(
            f"module {module_name!r} has no attribute {attribute!r}{did_you_mean(attribute, names)}"
        ) from None


@functools.cache
def _entry_points(group: str) -> dict[str, Entry]:
    """Entries of installed packages (scanned once per process: the scan costs ~5 ms)."""
    found = {}
    for ep in importlib.metadata.entry_points(group=group):
        found[ep.name] = Entry(
            ep.name, ep.value, f"from package {ep.dist.name if ep.dist else '?'}"
        )
    return found


def agent_entries() -> dict[str, Entry]:
    """Built-in agents plus those of installed packages (built-ins win on clashes)."""
    return {**_entry_points("rlkit.agents"), **AGENTS}


def env_entries() -> dict[str, Entry]:
    """Built-in environments plus those of installed packages."""
    return {**_entry_points("rlkit.envs"), **ENVS}


def game_entries() -> dict[str, Entry]:
    """Built-in games plus those of installed packages (group ``rlkit.games``)."""
    return {**_entry_points("rlkit.games"), **GAMES}


def make_game(spec: str | Spec) -> Any:
    """Build a :class:`~rlkit.game.Game` from a spec such as ``"connect4"`` or ``"go:size=9"``.

    Raises:
        UnknownNameError: with close matches among known games.
        SpecError: a parameter the game's constructor rejects.
    """
    from rlkit.game import Game

    spec = parse_spec(spec) if isinstance(spec, str) else spec
    entries = game_entries()
    if spec.name in entries:
        factory = entries[spec.name].load()
    elif ":" in spec.name:
        factory = import_object(spec.name)
    else:
        raise UnknownNameError(
            f"unknown game {spec.name!r}{did_you_mean(spec.name, entries)} "
            f"(games: {', '.join(sorted(entries))}; custom games are named 'module:Class')"
        )
    kwargs = {k: literal_value(v) for k, v in spec.params.items()}
    try:
        game = factory(**kwargs)
    except RlkitError:
        raise
    except (TypeError, ValueError) as exc:
        raise SpecError(f"game {spec.name!r} rejected its parameters: {exc}") from None
    except Exception as exc:  # a custom game's constructor may raise anything
        raise SpecError(
            f"game {str(spec)!r} could not be made: {type(exc).__name__}: {_line(exc)}"
        ) from None
    if not isinstance(game, Game):
        raise SpecError(f"{spec.name!r} is not an rlkit Game (got {type(game).__name__})")
    return game


def _ensure_builtin_envs() -> None:
    import rlkit.envs  # noqa: F401  (registers the rlkit/ ids with Gymnasium)


# -- agents -------------------------------------------------------------------------------------
def resolve_agent_class(name: str) -> tuple[type, dict[str, Any]]:
    """Find the agent class for ``name`` and the entry's default parameters.

    The class is an :class:`~rlkit.agent.Agent` (acts on observations) or a
    :class:`~rlkit.game.GameAgent` (searches a game's rules).

    Raises:
        UnknownNameError: with close matches among known agents.
    """
    entries = agent_entries()
    if name in entries:
        entry = entries[name]
        return entry.load(), dict(entry.kwargs)
    if name.startswith("gtp:"):  # an external engine: everything after "gtp:" is its command
        return import_object("rlkit.agents.gtp_agent:GtpAgent"), {"command": name[4:]}
    if ":" in name and not name.startswith("sb3:"):
        from rlkit.game import GameAgent

        cls = import_object(name)
        if not (inspect.isclass(cls) and issubclass(cls, Agent | GameAgent)):
            raise SpecError(f"{name!r} is not an rlkit Agent or GameAgent subclass")
        return cls, {}
    raise UnknownNameError(
        f"unknown agent {name!r}{did_you_mean(name, entries)} "
        "(see `rlkit list`; custom agents are named 'module:Class')"
    )


# -- environments -------------------------------------------------------------------------------
def make_env(
    spec: str | Spec,
    *,
    render_mode: str | None = None,
    max_episode_steps: int | None = None,
) -> gym.Env:
    """Build an environment from a spec such as ``"FrozenLake-v1:is_slippery=false"``.

    A spec naming a :class:`~rlkit.game.Game` (a registered game without an env of the same
    name, or a custom ``module:Class`` game) gives the game's Gymnasium env against an
    opponent (:class:`~rlkit.envs.game_envs.GameVsOpponentEnv`); its options ``opponent=``,
    ``play_as=`` and ``illegal_reward=`` may follow the game's own parameters.

    Args:
        spec: the environment spec.
        render_mode: passed to the environment.
        max_episode_steps: wrap in Gymnasium's ``TimeLimit`` (None keeps the env's own limit).

    Raises:
        UnknownNameError: with close matches among rlkit and Gymnasium ids.
        SpecError: anything the environment's constructor raises, in one line naming the spec.
    """
    spec = parse_spec(spec) if isinstance(spec, str) else spec
    if max_episode_steps is not None and max_episode_steps < 1:
        raise SpecError(f"max_episode_steps must be positive, got {max_episode_steps}")
    _ensure_builtin_envs()
    kwargs = {k: literal_value(v) for k, v in spec.params.items()}
    if "max_episode_steps" in kwargs:  # a wrapper's setting, not the constructor's
        limit = kwargs.pop("max_episode_steps")
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
            raise SpecError(f"max_episode_steps must be a positive integer, got {limit!r}")
        max_episode_steps = max_episode_steps or limit
    if render_mode is not None:
        kwargs["render_mode"] = render_mode
    entries = env_entries()
    target: str
    if spec.name in entries:
        entry = entries[spec.name]
        kwargs = {**entry.kwargs, **kwargs}
        target = entry.entry_point
    elif spec.name in gym.registry:
        target = "gym:" + spec.name
    elif spec.name in game_entries():
        target = game_entries()[spec.name].entry_point
    elif ":" in spec.name:
        target = spec.name
    else:
        known = list(entries) + [k for k in gym.registry if "/" not in k or k.startswith("rlkit/")]
        raise UnknownNameError(
            f"unknown environment {spec.name!r}{did_you_mean(spec.name, known)} "
            "(see `rlkit list`; any gymnasium id or 'module:Class' works too)"
        )
    env = _construct_env(spec, target, kwargs)
    if max_episode_steps is not None:
        env = gym.wrappers.TimeLimit(env, max_episode_steps=max_episode_steps)
    return env


_GAME_ENV_OPTIONS = ("opponent", "play_as", "illegal_reward", "render_mode", "opening_moves")


def _construct_env(spec: Spec, target: str, kwargs: dict[str, Any]) -> gym.Env:
    """Call the env's constructor; whatever it raises becomes one line naming the spec."""
    from rlkit.game import Game

    try:
        if target.startswith("gym:"):
            return gym.make(target[4:], **kwargs)
        factory = import_object(target)
        if inspect.isclass(factory) and issubclass(factory, Game):
            from rlkit.envs.game_envs import GameVsOpponentEnv

            options = {k: kwargs.pop(k) for k in _GAME_ENV_OPTIONS if k in kwargs}
            env = GameVsOpponentEnv(factory(**kwargs), **options)
        else:
            env = factory(**kwargs)
    except RlkitError:
        raise
    except TypeError as exc:
        raise SpecError(f"environment {spec.name!r} rejected its parameters: {exc}") from None
    except Exception as exc:  # a third-party constructor may raise anything
        raise SpecError(
            f"environment {str(spec)!r} could not be made: {type(exc).__name__}: {_line(exc)}"
        ) from None
    if not isinstance(env, gym.Env):
        raise SpecError(f"{spec.name!r} did not produce a gymnasium.Env (got {type(env).__name__})")
    return env


def _line(exc: BaseException) -> str:
    text = str(exc).strip().strip("'\"")
    return text.splitlines()[0][:160] if text else "(no message)"
