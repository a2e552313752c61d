"""Tic-tac-toe rules from move tables, and invariants of random play."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rlkit.envs.tictactoe import TicTacToe
from rlkit.game import TERMINAL, IllegalMoveError

GAME = TicTacToe()


def play(moves):
    state = GAME.initial_state()
    for move in moves:
        state = GAME.apply(state, move)
    return state


@pytest.mark.parametrize(
    ("moves", "returns"),
    [
        ([0, 3, 1, 4, 2], [1, -1]),  # x: top row
        ([0, 1, 3, 2, 6], [1, -1]),  # x: left column
        ([1, 0, 2, 4, 3, 8], [-1, 1]),  # o: main diagonal
        ([0, 2, 1, 4, 3, 6], [-1, 1]),  # o: anti-diagonal
        ([4, 0, 2, 6, 3, 5, 1, 7, 8], [0, 0]),  # full board, no line: draw
    ],
)
def test_results(moves, returns):
    state = play(moves)
    assert GAME.current_player(state) == TERMINAL
    assert GAME.returns(state).tolist() == returns
    assert GAME.legal_actions(state) == []


def test_illegal_moves_are_named():
    with pytest.raises(IllegalMoveError, match="cell 4 is already taken"):
        play([4, 4])
    with pytest.raises(IllegalMoveError, match="not a cell"):
        play([9])
    with pytest.raises(IllegalMoveError, match="game is over"):
        play([0, 3, 1, 4, 2, 5])


def test_observation_worked_example():
    state = play([4])
    planes = GAME.observation(state, 1)
    assert planes.shape == (3, 3, 3) and planes.dtype == np.float32
    assert planes[1, 1, 1] == 1 and planes[0].sum() == 0 and planes[2].min() == 1
    assert GAME.observation(state, 0)[2].max() == 0


@given(st.lists(st.integers(0, 8), max_size=12))
def test_random_play_invariants(choices):
    state = GAME.initial_state()
    for choice in choices:
        legal = GAME.legal_actions(state)
        if not legal:
            break
        before = state
        state = GAME.apply(state, legal[choice % len(legal)])
        assert before != state  # apply returned a new state, the old one is unchanged
        x, o = state.board.count(1), state.board.count(2)
        assert x - o in (0, 1)
        assert GAME.returns(state).sum() == 0
    assert GAME.legal_mask(state).sum() == len(GAME.legal_actions(state))


def test_move_notation_round_trips():
    state = play([4, 0])
    for action in GAME.legal_actions(state):
        assert GAME.string_to_action(state, GAME.action_to_string(state, action)) == action
    assert GAME.string_to_action(state, "8") == 8
    with pytest.raises(IllegalMoveError):
        GAME.string_to_action(state, "x(0,0)")
