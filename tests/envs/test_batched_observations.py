"""``Game.observations`` (one vectorised pass for a batch) equals ``observation`` per state."""

from __future__ import annotations

import numpy as np
import pytest

from rlkit.game import Game
from rlkit.registry import make_game


def random_decision_states(game: Game, count: int, seed: int) -> list:
    rng = np.random.default_rng(seed)
    states = []
    for _ in range(count):
        state = game.initial_state()
        for _ in range(int(rng.integers(0, game.info.max_game_length))):
            legal = game.legal_actions(state)
            after = game.apply(state, legal[int(rng.integers(len(legal)))])
            if game.is_terminal(after):
                break
            state = after
        states.append(state)
    return states


@pytest.mark.parametrize(
    "spec", ["tictactoe", "connect4", "go:size=7,komi=9", "go:size=5,history=3"]
)
def test_batched_observations_equal_one_at_a_time(spec):
    game = make_game(spec)
    states = random_decision_states(game, 200, seed=1)
    buffer = np.full((256, *game.info.observation_shape), 7.0, np.float32)
    fast = game.observations(states, buffer)
    assert fast.base is buffer or fast is buffer[: len(states)] or np.shares_memory(fast, buffer)
    expected = np.stack([game.observation(s, game.current_player(s)) for s in states])
    np.testing.assert_array_equal(fast, expected)
    assert game.observations([], buffer).shape == (0, *game.info.observation_shape)
