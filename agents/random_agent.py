"""The uniformly random agent: the baseline every other agent should beat."""

from __future__ import annotations

from typing import Any

import numpy as np

from rlkit.agent import Agent


class RandomAgent(Agent):
    """Picks a legal action uniformly at random, from its own seeded generator."""

    def act(
        self, observation: Any, action_mask: np.ndarray | None = None, *, explore: bool = False
    ) -> int:
        if action_mask is None:
            return int(self.rng.integers(self.num_actions))
        legal = np.flatnonzero(action_mask)
        if legal.size == 0:
            raise ValueError("the action mask allows no action")
        return int(legal[self.rng.integers(legal.size)])
