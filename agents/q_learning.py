"""Tabular Q-learning with epsilon-greedy exploration (Watkins 1989; Sutton & Barto, sec. 6.5).

After each step from state ``s`` with action ``a``, reward ``r`` and next state ``s'``::

    Q[s, a] += alpha * (r + gamma * max_a' Q[s', a'] - Q[s, a])

where the bootstrap term is dropped when ``s'`` is terminal (but kept when the episode was
only cut by a time limit: the state itself is not terminal). Exploration picks a uniformly
random legal action with probability epsilon, else a greedy one; ties between equal Q-values
are broken at random so that an untrained table does not always walk the same way.

Both epsilon and alpha follow a :class:`~rlkit.schedules.Schedule` over training steps.
Works on any environment with ``Discrete`` observations and actions (ours and Gymnasium's
FrozenLake, CliffWalking, Taxi). Legal-action masks are honoured when the env provides them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import gymnasium as gym
import numpy as np

from rlkit.agent import Learner, Transition, inner_observation_space
from rlkit.errors import IncompatibleEnvError
from rlkit.schedules import Schedule, ScheduleKind

if TYPE_CHECKING:
    pass


@dataclass(frozen=True)
class QLearningConfig:
    """Hyper-parameters of tabular Q-learning."""

    alpha: float = 0.1
    """Learning rate at the start of training."""
    alpha_final: float = 0.1
    """Learning rate reached after ``alpha_decay_steps`` (ignored by a constant schedule)."""
    alpha_schedule: ScheduleKind = "constant"
    """How alpha moves from ``alpha`` to ``alpha_final``."""
    alpha_decay_steps: int = 100_000
    """Training steps over which alpha decays."""
    epsilon: float = 1.0
    """Exploration rate at the start of training."""
    epsilon_final: float = 0.05
    """Exploration rate reached after ``epsilon_decay_steps``."""
    epsilon_schedule: ScheduleKind = "linear"
    """How epsilon moves from ``epsilon`` to ``epsilon_final``."""
    epsilon_decay_steps: int = 50_000
    """Training steps over which epsilon decays."""
    gamma: float = 0.99
    """Discount factor."""
    initial_q: float = 0.0
    """Initial value of every Q entry (optimistic values encourage exploration)."""

    def __post_init__(self) -> None:
        if not 0.0 < self.alpha <= 1.0 or not 0.0 < self.alpha_final <= 1.0:
            raise ValueError("alpha and alpha_final must be in (0, 1]")
        if not 0.0 <= self.epsilon <= 1.0 or not 0.0 <= self.epsilon_final <= 1.0:
            raise ValueError("epsilon and epsilon_final must be in [0, 1]")
        if not 0.0 <= self.gamma <= 1.0:
            raise ValueError("gamma must be in [0, 1]")
        # Building the schedules validates their kinds and durations.
        self.alpha_at(0)
        self.epsilon_at(0)

    def alpha_at(self, step: int) -> float:
        return Schedule(
            self.alpha_schedule, self.alpha, self.alpha_final, self.alpha_decay_steps
        ).value(step)

    def epsilon_at(self, step: int) -> float:
        return Schedule(
            self.epsilon_schedule, self.epsilon, self.epsilon_final, self.epsilon_decay_steps
        ).value(step)


class QLearning(Learner):
    """Tabular epsilon-greedy Q-learning."""

    Config = QLearningConfig

    def __init__(
        self,
        config: QLearningConfig,
        observation_space: gym.Space,
        action_space: gym.Space,
        *,
        seed: int | None = None,
    ) -> None:
        super().__init__(config, observation_space, action_space, seed=seed)
        states = inner_observation_space(observation_space)
        if not isinstance(states, gym.spaces.Discrete):
            raise IncompatibleEnvError(
                f"q-learning needs a Discrete observation space (a table of states), got "
                f"{states}; try reinforce or sb3:PPO"
            )
        self.num_states = int(states.n)
        self._state_offset = int(states.start)
        self._alpha_schedule = Schedule(
            config.alpha_schedule, config.alpha, config.alpha_final, config.alpha_decay_steps
        )
        self._epsilon_schedule = Schedule(
            config.epsilon_schedule,
            config.epsilon,
            config.epsilon_final,
            config.epsilon_decay_steps,
        )
        # A list of lists: scalar reads and writes on Python floats are several times faster
        # than on numpy elements, and the table is touched one entry at a time.
        self.q = [[config.initial_q] * self.num_actions for _ in range(self.num_states)]
        self.steps = 0
        self._alpha = self._alpha_schedule.value(0)
        self._epsilon = self._epsilon_schedule.value(0)

    # -- acting ---------------------------------------------------------------------------------
    def _greedy(self, row: list[float], mask: np.ndarray | None) -> int:
        if mask is None:
            best = max(row)
            ties = [a for a, v in enumerate(row) if v == best]
        else:
            legal = [a for a in range(self.num_actions) if mask[a]]
            if not legal:
                raise ValueError("the action mask allows no action")
            best = max(row[a] for a in legal)
            ties = [a for a in legal if row[a] == best]
        return ties[0] if len(ties) == 1 else ties[int(self.rng.integers(len(ties)))]

    def act(
        self, observation: Any, action_mask: np.ndarray | None = None, *, explore: bool = False
    ) -> int:
        if explore and self.rng.random() < self._epsilon:
            if action_mask is None:
                return int(self.rng.integers(self.num_actions))
            legal = np.flatnonzero(action_mask)
            return int(legal[self.rng.integers(legal.size)])
        return self._greedy(self.q[int(observation) - self._state_offset], action_mask)

    # -- learning -------------------------------------------------------------------------------
    def observe(self, t: Transition) -> None:
        row = self.q[int(t.observation) - self._state_offset]
        target = t.reward
        if not t.terminated:
            next_row = self.q[int(t.next_observation) - self._state_offset]
            if t.next_action_mask is None:
                target += self.config.gamma * max(next_row)
            else:
                target += self.config.gamma * max(
                    (v for v, legal in zip(next_row, t.next_action_mask, strict=True) if legal),
                    default=0.0,
                )
        row[t.action] += self._alpha * (target - row[t.action])
        self.steps += 1
        self._alpha = self._alpha_schedule.value(self.steps)
        self._epsilon = self._epsilon_schedule.value(self.steps)

    def end_episode(self) -> dict[str, float]:
        return {"epsilon": self._epsilon, "alpha": self._alpha}

    # -- inspection and persistence -------------------------------------------------------------
    def q_table(self) -> np.ndarray:
        """The Q-values as an array of shape [states, actions]."""
        return np.array(self.q, dtype=np.float64)

    def greedy_policy(self) -> np.ndarray:
        """The greedy action of every state (lowest action among ties), shape [states]."""
        return self.q_table().argmax(axis=1)

    state_format = "numpy"  # a Q-table never needs torch, not even to be saved or loaded

    def state_dict(self) -> dict[str, np.ndarray]:
        return {"q": self.q_table()}

    def load_state_dict(self, tensors: dict[str, np.ndarray]) -> None:
        q = np.asarray(tensors["q"], dtype=np.float64)
        if tuple(q.shape) != (self.num_states, self.num_actions):
            raise ValueError(
                f"Q-table has shape {tuple(q.shape)}, expected "
                f"{(self.num_states, self.num_actions)}"
            )
        self.q = q.tolist()

    def extra_state(self) -> dict[str, Any]:
        return {**super().extra_state(), "steps": self.steps}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        super().load_extra_state(state)
        self.steps = int(state.get("steps", 0))
        self._alpha = self._alpha_schedule.value(self.steps)
        self._epsilon = self._epsilon_schedule.value(self.steps)
