"""An environment whose episodes never end by themselves (no terminal state, no time limit)."""

from __future__ import annotations

from typing import ClassVar

import gymnasium as gym


class EndlessEnv(gym.Env):
    """A single state that pays 0 forever; only ``--max-episode-steps`` ends an episode."""

    metadata: ClassVar[dict] = {"render_modes": []}

    def __init__(self) -> None:
        self.observation_space = gym.spaces.Discrete(1)
        self.action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return 0, {}

    def step(self, action):
        return 0, 0.0, False, False, {}
