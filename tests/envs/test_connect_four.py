"""Connect Four rules: table-driven games, invariants of random playouts, and the bitboard
against a plain reference implementation."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rlkit.envs.connect_four import ConnectFour, ConnectFourState
from rlkit.game import TERMINAL, IllegalMoveError

GAME = ConnectFour()
DRAW = "446323116125713546635334125521577677446722"

# (moves, winner or None for a draw or an unfinished game, finished)
GAMES = [
    ("1122334", 0, True),  # horizontal, bottom row
    ("71122334", 1, True),  # horizontal, player 1
    ("1212121", 0, True),  # vertical
    ("12234334744", 0, True),  # diagonal rising to the right
    ("76654554144", 0, True),  # diagonal falling to the right
    ("3123545674", None, False),
    ("112233", None, False),
    (DRAW, None, True),
]


def play(moves: str) -> ConnectFourState:
    return GAME.state_from_moves(moves)


@pytest.mark.parametrize(("moves", "winner", "finished"), GAMES)
def test_games(moves, winner, finished):
    state = play(moves)
    assert (GAME.current_player(state) == TERMINAL) == finished
    expected = np.zeros(2) if winner is None else np.where(np.arange(2) == winner, 1.0, -1.0)
    np.testing.assert_array_equal(GAME.returns(state), expected)
    if finished:
        assert GAME.legal_actions(state) == []
        assert not GAME.legal_mask(state).any()
    else:
        assert GAME.current_player(state) == len(moves) % 2
    for prefix in range(len(moves)):  # nobody wins before the last move
        assert GAME.current_player(play(moves[:prefix])) != TERMINAL


def test_draw_fills_the_board():
    state = play(DRAW)
    assert state.moves == 42 and state.winner == -1
    assert "." not in GAME.render(state)


def test_render_puts_row_0_at_the_top():
    assert GAME.render(play("44")) == "\n".join(
        [".......", ".......", ".......", ".......", "...o...", "...x...", "1234567", ""]
    )


def test_bit_layout_of_the_docstring():
    state = play("44")
    assert (state.stones0, state.stones1) == (1 << 21, 1 << 22)


def test_observation_worked_example():
    observation = GAME.observation(play("4"), 1)
    assert observation.dtype == np.float32 and observation.shape == (3, 6, 7)
    assert observation[1, 5, 3] == 1 and observation[1].sum() == 1
    assert observation[0].sum() == 0
    assert (observation[2] == 1).all()
    assert (GAME.observation(play("4"), 0)[2] == 0).all()
    assert (GAME.observation(play("1212121"), 1)[2] == 0).all()  # nobody moves after the end


@pytest.mark.parametrize(
    ("moves", "action", "message"),
    [
        ("444444", 3, r"column 3 \(written 4\) is full"),
        ("", 7, "move 7 is not a column 0-6"),
        ("", -1, "move -1 is not a column 0-6"),
        ("", "3", "move '3' is not a column 0-6"),
        ("1212121", 2, "move 2: the game is over"),
    ],
)
def test_illegal_moves_name_the_move(moves, action, message):
    with pytest.raises(IllegalMoveError, match=message):
        GAME.apply(play(moves), action)


def test_full_column_is_not_legal():
    state = play("444444")
    assert GAME.legal_actions(state) == [0, 1, 2, 4, 5, 6]
    assert GAME.legal_mask(state).tolist() == [True, True, True, False, True, True, True]


def test_move_notation():
    state = GAME.initial_state()
    assert [GAME.action_to_string(state, a) for a in range(7)] == list("1234567")
    assert GAME.string_to_action(state, " 7 ") == 6
    for text, message in [
        ("8", "not a column 1-7"),
        ("x", "not a column 1-7"),
        ("0", "not a column 1-7"),
    ]:
        with pytest.raises(IllegalMoveError, match=message):
            GAME.string_to_action(state, text)
    with pytest.raises(IllegalMoveError, match="column 4 is full"):
        GAME.string_to_action(play("444444"), "4")
    with pytest.raises(IllegalMoveError, match="move 7 of '4444444'"):
        play("4444444")


def test_evaluate():
    assert GAME.evaluate(play("1122334"), 0) == 1.0
    assert GAME.evaluate(play("1122334"), 1) == -1.0
    assert GAME.evaluate(play(DRAW), 0) == 0.0
    threat = play("11223")  # x has three on the bottom row, o two
    assert 0 < GAME.evaluate(threat, 0) < 1
    assert GAME.evaluate(threat, 1) == -GAME.evaluate(threat, 0)
    assert GAME.evaluate(GAME.initial_state(), 0) == 0.0


# -- a plain reference implementation ------------------------------------------------------------
class Reference:
    """Connect Four on a list grid: ``grid[row][column]``, row 0 the bottom; 0 empty, 1 / 2."""

    def __init__(self) -> None:
        self.grid = [[0] * 7 for _ in range(6)]
        self.to_move = 0
        self.winner = -1
        self.moves = 0

    def legal(self) -> list[int]:
        if self.winner >= 0:
            return []
        return [c for c in range(7) if self.grid[5][c] == 0]

    def play(self, column: int) -> None:
        row = next(r for r in range(6) if self.grid[r][column] == 0)
        self.grid[row][column] = self.to_move + 1
        if self.four(self.to_move + 1):
            self.winner = self.to_move
        self.to_move = 1 - self.to_move
        self.moves += 1

    def four(self, mark: int) -> bool:
        for r in range(6):
            for c in range(7):
                for dr, dc in ((0, 1), (1, 0), (1, 1), (1, -1)):
                    cells = [(r + k * dr, c + k * dc) for k in range(4)]
                    if all(
                        0 <= rr < 6 and 0 <= cc < 7 and self.grid[rr][cc] == mark
                        for rr, cc in cells
                    ):
                        return True
        return False

    def planes(self, player: int) -> np.ndarray:
        grid = np.array(self.grid[::-1])  # top row first
        return np.stack([grid == player + 1, grid == 2 - player]).astype(np.float32)


choices = st.lists(st.integers(0, 10**6), min_size=0, max_size=42)


def playout(picks: list[int]) -> list[ConnectFourState]:
    """States of a game whose i-th move is legal_actions[picks[i] % len(legal)]."""
    states = [GAME.initial_state()]
    for pick in picks:
        legal = GAME.legal_actions(states[-1])
        if not legal:
            break
        states.append(GAME.apply(states[-1], legal[pick % len(legal)]))
    return states


@settings(max_examples=150, deadline=None)
@given(choices)
def test_bitboard_matches_the_reference(picks):
    reference = Reference()
    state = GAME.initial_state()
    for pick in picks:
        legal = GAME.legal_actions(state)
        assert legal == reference.legal()
        assert GAME.returns(state)[0] == (0 if reference.winner < 0 else 1 - 2 * reference.winner)
        for player in (0, 1):
            np.testing.assert_array_equal(
                GAME.observation(state, player)[:2], reference.planes(player)
            )
        if not legal:
            break
        column = legal[pick % len(legal)]
        state = GAME.apply(state, column)
        reference.play(column)
    assert state.winner == reference.winner
    assert (GAME.current_player(state) == TERMINAL) == (
        reference.winner >= 0 or reference.moves == 42
    )


@settings(max_examples=150, deadline=None)
@given(choices)
def test_playouts_keep_counts_balanced_and_never_mutate(picks):
    states = playout(picks)
    for before, after in itertools.pairwise(states):
        copy = ConnectFourState(*before)
        x = after.stones0.bit_count()
        o = after.stones1.bit_count()
        assert x - o in (0, 1)
        assert x + o == after.moves
        assert not after.stones0 & after.stones1
        assert before == copy  # the state given to apply is untouched
        assert hash(after) == hash(ConnectFourState(*after))


@settings(max_examples=100, deadline=None)
@given(st.permutations([0, 1, 2, 3, 4, 5]))
def test_transpositions_are_equal_states(order):
    """x plays columns 1, 3, 5 and o plays 2, 4, 6 in any order: one position, one state."""
    xs = [c for c in order if c % 2 == 0]
    os = [c for c in order if c % 2 == 1]
    state = GAME.initial_state()
    for x, o in zip(xs, os, strict=True):
        state = GAME.apply(GAME.apply(state, x), o)
    reference = play("123456")
    assert state == reference and hash(state) == hash(reference)
    assert len({state, reference}) == 1
