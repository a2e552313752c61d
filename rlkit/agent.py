"""The Agent contract: what every agent that acts in a Gymnasium environment provides.

An agent is built from a frozen config dataclass and the environment's spaces, with an explicit
seed. Acting, observing and updating are separate calls, so nothing hides "the previous step"
inside ``act``:

- :meth:`Agent.act` picks an action; ``explore=False`` (the default, used by ``rlkit eval``)
  asks for the agent's greedy choice.
- :meth:`Learner.observe` receives each transition while training.
- :meth:`Learner.end_episode` closes an episode and returns the learning metrics to log.

Learnable state travels as a dict of tensors (:meth:`Agent.state_dict`) plus JSON-able extra
state (counters, RNG states) so that checkpoints load with ``torch.load(weights_only=True)``
and never execute pickled code.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

import gymnasium as gym
import numpy as np

if TYPE_CHECKING:  # torch is imported only by agents that use it, keeping `rlkit list` fast
    import torch


@dataclass(frozen=True)
class NoConfig:
    """Config of an agent without hyper-parameters."""


class Transition(NamedTuple):
    """One environment step as a learner sees it.

    ``action_mask``/``next_action_mask`` are the legal-action masks before and after the step
    (None when the environment has none). A NamedTuple rather than a frozen dataclass: one
    is built per environment step, and tuples are several times cheaper to create.
    """

    observation: Any
    action: int
    reward: float
    next_observation: Any
    terminated: bool
    truncated: bool
    action_mask: np.ndarray | None = None
    next_action_mask: np.ndarray | None = None


class Persistent:
    """What every agent has: a config, its own seeded generator, and checkpointable state.

    Base of :class:`Agent` (acts on observations) and :class:`rlkit.game.GameAgent` (searches
    a game's rules). Learnable state travels as named tensors, the rest as JSON.
    """

    Config: ClassVar[type] = NoConfig
    state_format: ClassVar[str] = "torch"
    """What :meth:`load_state_dict` receives: ``"torch"`` tensors, or ``"numpy"`` arrays for
    agents that never use torch (so loading a Q-table does not import it)."""

    def __init__(self, config: Any, seed: int | None) -> None:
        self.config = config
        self.rng = np.random.default_rng(seed)

    def state_dict(self) -> dict[str, torch.Tensor]:
        """Learnable state as named torch tensors or numpy arrays (empty for agents that do
        not learn)."""
        return {}

    def load_state_dict(self, tensors: dict[str, torch.Tensor]) -> None:
        """Restore what :meth:`state_dict` returned."""
        if tensors:
            raise ValueError(f"{type(self).__name__} has no learnable state to load")

    def extra_state(self) -> dict[str, Any]:
        """JSON-able state besides tensors: RNG state, counters."""
        return {"rng": self.rng.bit_generator.state}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`extra_state` returned."""
        if "rng" in state:
            self.rng.bit_generator.state = state["rng"]


def validate_mask(action_mask: Any, num_actions: int) -> np.ndarray:
    """A legal-action mask as a bool array of shape ``[num_actions]``.

    Raises:
        ValueError: wrong length, or no legal action at all.
    """
    legal = np.asarray(action_mask, dtype=bool).reshape(-1)
    if legal.shape != (num_actions,):
        raise ValueError(
            f"action_mask has {legal.size} entries, the action space has {num_actions}"
        )
    if not legal.any():
        raise ValueError("action_mask allows no action")
    return legal


class Agent(Persistent, abc.ABC):
    """Acts in an environment with a ``Discrete`` action space.

    Subclasses set ``Config`` (a frozen dataclass with a docstring per field) and implement
    :meth:`act`. The constructor signature is the same for all agents so the registry can
    build any of them from a spec string.
    """

    def __init__(
        self,
        config: Any,
        observation_space: gym.Space,
        action_space: gym.Space,
        *,
        seed: int | None = None,
    ) -> None:
        if not isinstance(action_space, gym.spaces.Discrete):
            from rlkit.errors import IncompatibleEnvError

            raise IncompatibleEnvError(
                f"{type(self).__name__} needs a Discrete action space, got {action_space}"
            )
        super().__init__(config, seed)
        self.observation_space = observation_space
        self.action_space = action_space
        self.num_actions = int(action_space.n)

    @abc.abstractmethod
    def act(
        self, observation: Any, action_mask: np.ndarray | None = None, *, explore: bool = False
    ) -> int:
        """Choose an action. ``explore=False`` asks for the greedy (evaluation) choice."""


class Learner(Agent):
    """An agent that learns from its own experience in an environment.

    The shared training loop (:func:`rlkit.training.run_episodes`) calls ``act(...,
    explore=True)``, then :meth:`observe` after every step and :meth:`end_episode` after every
    episode. Learners with their own loop (e.g. the Stable-Baselines3 adapter) override
    :meth:`fit` instead.
    """

    def observe(self, transition: Transition) -> None:
        """Learn from one transition (called after every training step)."""

    def end_episode(self) -> dict[str, float]:
        """Finish an episode; return learning metrics (same keys every time) to log."""
        return {}

    def fit(self, env: gym.Env, session: Any) -> None:
        """Train in ``env`` until ``session`` says stop (default: the shared episode loop)."""
        from rlkit.training import run_episodes

        run_episodes(self, env, session)


def split_observation(observation: Any, info: dict[str, Any]) -> tuple[Any, np.ndarray | None]:
    """Separate an observation from its legal-action mask.

    Masks come either inside a dict observation (``{"observation", "action_mask"}``, the
    PettingZoo classic convention) or in ``info["action_mask"]`` (Gymnasium's Taxi).
    """
    if isinstance(observation, dict) and "action_mask" in observation:
        mask = np.asarray(observation["action_mask"], dtype=bool)
        return observation.get("observation"), mask
    mask = info.get("action_mask") if info else None
    return observation, None if mask is None else np.asarray(mask, dtype=bool)


def inner_observation_space(space: gym.Space) -> gym.Space:
    """The observation part of a space that may carry an ``action_mask``."""
    if isinstance(space, gym.spaces.Dict) and "action_mask" in space.spaces:
        return space["observation"]
    return space
