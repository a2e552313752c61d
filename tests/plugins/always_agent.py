"""A custom agent in a module of its own, exactly as the README shows it."""

from dataclasses import dataclass

import rlkit


@dataclass(frozen=True)
class AlwaysConfig:
    action: int = 0
    """The action to take."""


class Always(rlkit.Agent):
    Config = AlwaysConfig

    def act(self, observation, action_mask=None, *, explore=False):
        return self.config.action
