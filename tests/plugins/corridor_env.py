"""A custom environment in a module of its own, as a user would write one.

``rlkit train q-learning --env corridor_env:CorridorEnv`` run from this folder trains on it.
"""

from __future__ import annotations

from typing import ClassVar

import gymnasium as gym


class CorridorEnv(gym.Env):
    """Walk right along a corridor of ``length`` cells; each step costs 1, the end pays 10.

    Actions: 0 = left, 1 = right. The optimal return is ``10 - (length - 2)``: ``length - 2``
    steps cost 1 each and the last one pays 10.
    """

    metadata: ClassVar[dict] = {"render_modes": []}

    def __init__(self, length: int = 6) -> None:
        if length < 2:
            raise ValueError(f"length must be at least 2, got {length}")
        self.length = length
        self.observation_space = gym.spaces.Discrete(length)
        self.action_space = gym.spaces.Discrete(2)
        self._position = 0
        self._steps = 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self._position, self._steps = 0, 0
        return self._position, {}

    def step(self, action):
        self._position = max(0, min(self.length - 1, self._position + (1 if action == 1 else -1)))
        self._steps += 1
        at_end = self._position == self.length - 1
        reward = 10.0 if at_end else -1.0
        return self._position, reward, at_end, self._steps >= 50, {"is_success": at_end}
