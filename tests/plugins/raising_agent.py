"""Misbehaving game agents for the tournament tests: one crashes, one is slow."""

import time
from dataclasses import dataclass

from rlkit.game import GameAgent


@dataclass(frozen=True)
class RaisingConfig:
    after: int = 0
    """Moves played (the lowest legal action) before every later move raises."""


class Raising(GameAgent):
    """Plays ``after`` moves, then raises RuntimeError on every move."""

    Config = RaisingConfig

    def new_game(self):
        self.moves = 0

    def act(self, state):
        self.moves += 1
        if self.moves > self.config.after:
            raise RuntimeError(f"deliberate failure on move {self.moves}")
        return int(self.game.legal_actions(state)[0])


@dataclass(frozen=True)
class SleepyConfig:
    seconds: float = 1.0
    """How long every move takes."""


class Sleepy(GameAgent):
    """Sleeps ``seconds`` before each move (the lowest legal action)."""

    Config = SleepyConfig

    def act(self, state):
        time.sleep(self.config.seconds)
        return int(self.game.legal_actions(state)[0])
