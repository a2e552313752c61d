"""Connect Four as a :class:`~rlkit.game.Game`: 6 rows by 7 columns, four in a row wins.

Actions and notation: the action is the column to drop a disc into, ``0``-``6`` from left to
right. Players write columns ``1``-``7`` (the notation of John Tromp's database and Pascal
Pons' solver, where the game ``"4453"`` opens in the centre column twice, then plays the 5th
and the 3rd), so :meth:`ConnectFour.action_to_string` gives ``"4"`` for action ``3``, and
:meth:`ConnectFour.state_from_moves` replays such a string.

Player 0 (``x``) moves first. Four discs of one player in a line (horizontal, vertical or
either diagonal) win; a full board without four in a row is a draw. Returns are ``+1`` / ``-1``
for a win / loss and ``0`` for a draw.

State: an immutable, hashable :class:`ConnectFourState` holding one bitboard (a Python int) per
player, in the layout of Pascal Pons' and John Tromp's solvers. Each column takes 7 bits: 6
cells counted from the bottom and one always-empty sentinel bit above them, which stops line
shifts from wrapping from one column into the next::

    bit = 7 * column + height        (height 0 is the bottom row)

          col 0  1  2  3  4  5  6
    sentinel  6 13 20 27 34 41 48    (always 0)
    top       5 12 19 26 33 40 47
              4 11 18 25 32 39 46
              3 10 17 24 31 38 45
              2  9 16 23 30 37 44
              1  8 15 22 29 36 43
    bottom    0  7 14 21 28 35 42

Example: after ``"44"`` (x then o in the centre column) ``stones0 == 1 << 21`` and
``stones1 == 1 << 22``. A line of four is found with three shifts and two ANDs per direction
(shift 1 vertical, 7 horizontal, 6 and 8 the two diagonals). Equal positions give equal states
(the move count and winner follow from the discs), so states serve as transposition keys.

Observation for ``player``: float32 of shape ``[3, 6, 7]`` (planes, rows, columns), with row 0
the *top* row as in :meth:`ConnectFour.render`. Plane 0 holds the player's own discs, plane 1
the opponent's, plane 2 is all ones when ``player`` is to move (all zeros at the end). Example:
after x plays the centre (action 3, written ``"4"``), ``observation(state, 1)`` has
``[1, 5, 3] == 1`` (x's disc, the opponent's for player 1, on the bottom row 5 in column 3),
plane 0 empty and plane 2 all ones (player 1 is to move).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from rlkit.game import TERMINAL, Game, GameInfo, IllegalMoveError

ROWS = 6
COLUMNS = 7
_HEIGHT1 = ROWS + 1  # bits per column, with the sentinel
MARKS = ".xo"

_BOTTOM = tuple(1 << (_HEIGHT1 * c) for c in range(COLUMNS))
"""The bottom cell of each column."""
_TOP = tuple(1 << (_HEIGHT1 * c + ROWS - 1) for c in range(COLUMNS))
"""The top cell of each column."""
_COLUMN = tuple(((1 << ROWS) - 1) << (_HEIGHT1 * c) for c in range(COLUMNS))
"""The 6 playable cells of each column."""
_SHIFTS = (1, _HEIGHT1, _HEIGHT1 - 1, _HEIGHT1 + 1)
"""Bit distance between neighbours: vertical, horizontal, and the two diagonals."""


def _cell(row_from_bottom: int, column: int) -> int:
    return 1 << (_HEIGHT1 * column + row_from_bottom)


def _windows() -> tuple[int, ...]:
    """Every line of four cells on the board, as bit masks (69 of them)."""
    found = []
    for column in range(COLUMNS):
        for row in range(ROWS):
            for dc, dr in ((0, 1), (1, 0), (1, 1), (1, -1)):
                cells = [(row + k * dr, column + k * dc) for k in range(4)]
                if all(0 <= r < ROWS and 0 <= c < COLUMNS for r, c in cells):
                    mask = 0
                    for r, c in cells:
                        mask |= _cell(r, c)
                    found.append(mask)
    return tuple(found)


WINDOWS = _windows()


def has_four(stones: int) -> bool:
    """Whether the bitboard ``stones`` holds four in a line (Pons' alignment test)."""
    for shift in _SHIFTS:
        pairs = stones & (stones >> shift)
        if pairs & (pairs >> (2 * shift)):
            return True
    return False


def _unpack(stones: int) -> np.ndarray:
    """A bitboard as a ``[6, 7]`` bool array, row 0 at the top."""
    bits = np.unpackbits(
        np.frombuffer(stones.to_bytes(7, "little"), dtype=np.uint8), bitorder="little"
    )
    # bits[7 * column + height] -> [column, height] -> [height, column] -> flip to top-first
    return bits[: _HEIGHT1 * COLUMNS].reshape(COLUMNS, _HEIGHT1)[:, :ROWS].T[::-1].astype(bool)


class ConnectFourState(NamedTuple):
    """Bitboards of player 0's and player 1's discs (layout in the module docstring), the
    number of discs played, and the winner (-1 while undecided or drawn)."""

    stones0: int
    stones1: int
    moves: int
    winner: int

    @property
    def to_move(self) -> int:
        """The player whose turn it is (ignoring whether the game is over)."""
        return self.moves & 1


class ConnectFour(Game[ConnectFourState]):
    """Connect Four rules on the standard 6 x 7 board."""

    def __init__(self) -> None:
        self.info = GameInfo(
            name="connect_four",
            num_players=2,
            num_actions=COLUMNS,
            has_chance=False,
            zero_sum=True,
            min_utility=-1.0,
            max_utility=1.0,
            max_game_length=ROWS * COLUMNS,
            observation_shape=(3, ROWS, COLUMNS),
        )

    def initial_state(self) -> ConnectFourState:
        return ConnectFourState(0, 0, 0, -1)

    def current_player(self, state: ConnectFourState) -> int:
        if state.winner >= 0 or state.moves == ROWS * COLUMNS:
            return TERMINAL
        return state.moves & 1

    def legal_actions(self, state: ConnectFourState) -> list[int]:
        if state.winner >= 0:
            return []
        filled = state.stones0 | state.stones1
        return [c for c in range(COLUMNS) if not filled & _TOP[c]]

    def apply(self, state: ConnectFourState, action: int) -> ConnectFourState:
        if self.current_player(state) == TERMINAL:
            raise IllegalMoveError(f"move {action!r}: the game is over")
        if not (isinstance(action, int | np.integer) and 0 <= action < COLUMNS):
            raise IllegalMoveError(f"move {action!r} is not a column 0-6")
        filled = state.stones0 | state.stones1
        if filled & _TOP[action]:
            raise IllegalMoveError(f"move {action}: column {action} (written {action + 1}) is full")
        disc = (filled + _BOTTOM[action]) & _COLUMN[action]  # lowest empty cell of the column
        if state.moves & 1:
            stones1 = state.stones1 | disc
            won = has_four(stones1)
            return ConnectFourState(state.stones0, stones1, state.moves + 1, 1 if won else -1)
        stones0 = state.stones0 | disc
        won = has_four(stones0)
        return ConnectFourState(stones0, state.stones1, state.moves + 1, 0 if won else -1)

    def returns(self, state: ConnectFourState) -> np.ndarray:
        if state.winner < 0:
            return np.zeros(2)
        result = np.full(2, -1.0)
        result[state.winner] = 1.0
        return result

    def observation(self, state: ConnectFourState, player: int) -> np.ndarray:
        own, other = (
            (state.stones0, state.stones1) if player == 0 else (state.stones1, state.stones0)
        )
        planes = np.zeros((3, ROWS, COLUMNS), dtype=np.float32)
        planes[0] = _unpack(own)
        planes[1] = _unpack(other)
        planes[2] = float(state.moves & 1 == player and self.current_player(state) != TERMINAL)
        return planes

    def observations(self, states: Sequence[ConnectFourState], out: np.ndarray) -> np.ndarray:
        """:meth:`observation` of the player to move for every state, in one numpy pass: the
        bitboards of the mover and the other player are unpacked together."""
        n = len(states)
        view = out[:n]
        if n == 0:
            return view
        packed = np.array([(s.stones0, s.stones1, s.moves) for s in states], dtype=np.uint64)
        mover = (packed[:, 2] & np.uint64(1)).astype(bool)
        own = np.where(mover, packed[:, 1], packed[:, 0])
        other = np.where(mover, packed[:, 0], packed[:, 1])
        stones = np.stack([own, other], axis=1).astype("<u8")  # [n, 2]
        bits = np.unpackbits(stones.view(np.uint8).reshape(n, 2, 8), axis=2, bitorder="little")
        # bits[:, p, 7 * column + height] -> [n, 2, column, height] -> rows top-first
        grid = bits[:, :, : _HEIGHT1 * COLUMNS].reshape(n, 2, COLUMNS, _HEIGHT1)[:, :, :, :ROWS]
        view[:, :2] = grid.transpose(0, 1, 3, 2)[:, :, ::-1, :]
        view[:, 2] = 1.0  # the mover's plane: every state here is a decision node
        return view

    def render(self, state: ConnectFourState) -> str:
        """Six rows, the top row first, then the column numbers ``1234567``."""
        board = _unpack(state.stones0).astype(np.int8) + 2 * _unpack(state.stones1)
        rows = ["".join(MARKS[c] for c in row) for row in board]
        return "\n".join([*rows, "1234567"]) + "\n"

    def action_to_string(self, state: ConnectFourState, action: int) -> str:
        """The column as players write it: ``"1"``-``"7"`` (action + 1)."""
        return str(action + 1)

    def string_to_action(self, state: ConnectFourState, text: str) -> int:
        """Parse a column ``"1"``-``"7"``.

        Raises:
            IllegalMoveError: not a column number, or a full column, or the game is over.
        """
        stripped = text.strip()
        if not (stripped.isdigit() and 1 <= int(stripped) <= COLUMNS):
            raise IllegalMoveError(f"{text!r} is not a column 1-7")
        action = int(stripped) - 1
        if action not in self.legal_actions(state):
            if self.current_player(state) == TERMINAL:
                raise IllegalMoveError(f"move {stripped}: the game is over")
            raise IllegalMoveError(f"move {stripped}: column {stripped} is full")
        return action

    def state_from_moves(self, moves: str) -> ConnectFourState:
        """The state after a game written as column digits, e.g. ``"4453"``.

        Raises:
            IllegalMoveError: naming the first move that cannot be played.
        """
        state = self.initial_state()
        for i, character in enumerate(moves):
            try:
                state = self.apply(state, self.string_to_action(state, character))
            except IllegalMoveError as exc:
                raise IllegalMoveError(f"move {i + 1} of {moves!r}: {exc}") from None
        return state

    def evaluate(self, state: ConnectFourState, player: int) -> float:
        """A heuristic value of ``state`` for ``player`` in ``[-1, 1]``, for depth-limited search.

        At the end of the game it is the exact return. Otherwise it counts the lines of four
        cells that only one player occupies: each with three discs scores 1, each with two
        scores 0.25, the opponent's count against; the total ``s`` is squashed to
        ``s / (|s| + 8)``, strictly inside ``(-1, 1)`` so a proven win always ranks higher.
        """
        if self.current_player(state) == TERMINAL:
            return float(self.returns(state)[player])
        own, other = (
            (state.stones0, state.stones1) if player == 0 else (state.stones1, state.stones0)
        )
        score = 0.0
        for window in WINDOWS:
            mine = own & window
            theirs = other & window
            if mine and not theirs:
                count = mine.bit_count()
                score += 1.0 if count == 3 else 0.25 if count == 2 else 0.0
            elif theirs and not mine:
                count = theirs.bit_count()
                score -= 1.0 if count == 3 else 0.25 if count == 2 else 0.0
        return score / (abs(score) + 8.0)
