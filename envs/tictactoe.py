"""Tic-tac-toe as a :class:`~rlkit.game.Game`: the smallest test bed for search agents.

Board and actions: cells are numbered row by row, and the action is the cell to mark::

    0 | 1 | 2
    3 | 4 | 5
    6 | 7 | 8

Player 0 (``x``) moves first. A state is an immutable :class:`TicTacToeState`; its board is a
tuple of 9 cells holding ``0`` (empty), ``1`` (player 0's mark) or ``2`` (player 1's mark).
Returns are ``+1`` / ``-1`` for a win / loss and ``0`` for a draw.

Observation for ``player``: float32 of shape ``[3, 3, 3]``: plane 0 holds the player's own
marks, plane 1 the opponent's, plane 2 is all ones when ``player`` is to move. Example: after
x plays the centre (action 4), ``observation(state, 1)`` has ``[1, 1, 1] == 1`` (x's mark is
the opponent's for player 1) and plane 2 all ones (player 1 is to move).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from rlkit.game import TERMINAL, Game, GameInfo, IllegalMoveError

LINES = ((0, 1, 2), (3, 4, 5), (6, 7, 8), (0, 3, 6), (1, 4, 7), (2, 5, 8), (0, 4, 8), (2, 4, 6))
MARKS = ".xo"


class TicTacToeState(NamedTuple):
    """Board cells (0 empty, 1 = player 0, 2 = player 1), player to move, and the winner
    (-1 while undecided or drawn)."""

    board: tuple[int, ...]
    to_move: int
    winner: int
    moves: int


class TicTacToe(Game[TicTacToeState]):
    """Tic-tac-toe rules."""

    def __init__(self) -> None:
        self.info = GameInfo(
            name="tictactoe",
            num_players=2,
            num_actions=9,
            has_chance=False,
            zero_sum=True,
            min_utility=-1.0,
            max_utility=1.0,
            max_game_length=9,
            observation_shape=(3, 3, 3),
        )

    def initial_state(self) -> TicTacToeState:
        return TicTacToeState((0,) * 9, 0, -1, 0)

    def current_player(self, state: TicTacToeState) -> int:
        if state.winner >= 0 or state.moves == 9:
            return TERMINAL
        return state.to_move

    def legal_actions(self, state: TicTacToeState) -> list[int]:
        if state.winner >= 0:
            return []
        return [i for i, cell in enumerate(state.board) if cell == 0]

    def apply(self, state: TicTacToeState, action: int) -> TicTacToeState:
        if self.current_player(state) == TERMINAL:
            raise IllegalMoveError(f"move {action!r}: the game is over")
        if not (isinstance(action, int | np.integer) and 0 <= action < 9):
            raise IllegalMoveError(f"move {action!r} is not a cell 0-8")
        if state.board[action]:
            raise IllegalMoveError(f"move {action}: cell {action} is already taken")
        mark = state.to_move + 1
        board = (*state.board[:action], mark, *state.board[action + 1 :])
        won = any(all(board[i] == mark for i in line) for line in LINES if action in line)
        return TicTacToeState(
            board, 1 - state.to_move, state.to_move if won else -1, state.moves + 1
        )

    def returns(self, state: TicTacToeState) -> np.ndarray:
        if state.winner < 0:
            return np.zeros(2)
        result = np.full(2, -1.0)
        result[state.winner] = 1.0
        return result

    def observation(self, state: TicTacToeState, player: int) -> np.ndarray:
        board = np.array(state.board).reshape(3, 3)
        planes = np.zeros((3, 3, 3), dtype=np.float32)
        planes[0] = board == player + 1
        planes[1] = board == 2 - player
        planes[2] = float(state.to_move == player and self.current_player(state) != TERMINAL)
        return planes

    def observations(self, states: Sequence[TicTacToeState], out: np.ndarray) -> np.ndarray:
        """:meth:`observation` of the player to move for every state, in one numpy pass."""
        n = len(states)
        view = out[:n]
        if n == 0:
            return view
        boards = np.array([s.board for s in states], np.int8).reshape(n, 3, 3)
        own = np.array([s.to_move + 1 for s in states], np.int8)[:, None, None]
        view[:, 0] = boards == own
        view[:, 1] = boards == 3 - own
        view[:, 2] = 1.0  # the mover's plane: every state here is a decision node
        return view

    def render(self, state: TicTacToeState) -> str:
        rows = ["".join(MARKS[c] for c in state.board[r * 3 : r * 3 + 3]) for r in range(3)]
        return "\n".join(rows) + "\n"

    def action_to_string(self, state: TicTacToeState, action: int) -> str:
        return f"{MARKS[state.to_move + 1]}({action // 3},{action % 3})"

    def string_to_action(self, state: TicTacToeState, text: str) -> int:
        """Accepts a cell number ``0``-``8`` or ``x(row,col)``."""
        text = text.strip()
        if text.isdigit() and int(text) in self.legal_actions(state):
            return int(text)
        return super().string_to_action(state, text)
