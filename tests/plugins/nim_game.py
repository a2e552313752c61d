"""A custom game, as the README's Game contract describes: Nim with one heap.

Players take 1-3 stones from a heap of ``stones``; whoever takes the last stone wins. The first
player wins exactly when ``stones % 4 != 0`` by leaving a multiple of 4.
"""

from __future__ import annotations

import numpy as np

from rlkit.game import TERMINAL, Game, GameInfo, IllegalMoveError


class Nim(Game):
    """State: ``(stones_left, player_to_move)``; action ``a`` takes ``a + 1`` stones."""

    def __init__(self, stones: int = 10) -> None:
        if stones < 1:
            raise ValueError(f"stones must be positive, got {stones}")
        self.stones = stones
        self.info = GameInfo(
            name="nim",
            num_players=2,
            num_actions=3,
            has_chance=False,
            zero_sum=True,
            min_utility=-1.0,
            max_utility=1.0,
            max_game_length=stones,
            observation_shape=(stones + 1,),
        )

    def initial_state(self):
        return (self.stones, 0)

    def current_player(self, state):
        return TERMINAL if state[0] == 0 else state[1]

    def legal_actions(self, state):
        return [] if state[0] == 0 else list(range(min(3, state[0])))

    def apply(self, state, action):
        if action not in self.legal_actions(state):
            raise IllegalMoveError(f"cannot take {action + 1} of {state[0]} stones")
        return (state[0] - action - 1, 1 - state[1])

    def returns(self, state):
        if state[0] != 0:
            return np.zeros(2)
        winner = 1 - state[1]  # the player who took the last stone
        return np.array([1.0, -1.0] if winner == 0 else [-1.0, 1.0])

    def observation(self, state, player):
        planes = np.zeros(self.stones + 1, dtype=np.float32)
        planes[state[0]] = 1.0
        return planes

    def render(self, state):
        return f"{state[0]} stones, player {state[1]} to move"
