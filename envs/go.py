"""Go as a :class:`~rlkit.game.Game`: Tromp-Taylor rules on numba kernels.

Rules (``GoGame(size=9, komi=7.5, max_game_length=None, superko=True, history=1)``):
Tromp-Taylor area scoring with komi; captures; suicide (of one stone or many) is illegal;
positional superko (a move may not recreate any whole-board position seen earlier in the
game, whoever was to move; with ``superko=False`` only the simple ko rule: a move may not
recreate the position before the opponent's last move); two passes in a row end the game; a
player may :meth:`GoGame.resign`. Pass is always legal.

Board and actions. Points are numbered row by row from the top-left corner, as the board is
printed: action ``row * size + col`` with row 0 the top row and column 0 column ``A``; pass
is ``size * size`` (:attr:`GoGame.pass_action`). In GTP notation (letters skip ``I``; row
number ``size - row``), on 9x9::

      A B C D E F G H J
    9 0 1 2 3 4 5 6 7 8      e.g. "A9" = 0, "J9" = 8, "C7" = 2 * 9 + 2 = 20,
    8 9 ...                       "A1" = 72, "J1" = 80, "pass" = 81
    ...
    1 72 ...          80

Player 0 is Black and moves first; player 1 is White. ``state.board`` holds 0 (empty),
1 (black) or 2 (white) per point.

End of a game and returns. A game ends after two passes in a row, or when a player resigns.
It is *truncated* (cut off, not ended by the rules) after ``max_game_length`` moves (passes
count; default ``3 * size * size``): :meth:`GoGame.is_truncated` says so, but
:meth:`GoGame.current_player` reports :data:`~rlkit.game.TERMINAL` for it too and
:meth:`GoGame.returns` gives the area-score result of the position reached (as OpenSpiel
does); environment wrappers report it as truncated. Returns are ``+1`` for the winner and
``-1`` for the loser, ``0`` each for an exact tie (possible only with an integral komi).
:meth:`GoGame.score` is Black's area minus White's area minus komi.

Observation of ``player`` (``history = k``): float32 ``[2k + 1, size, size]``; plane ``t`` (for
``t < k``) holds ``player``'s stones ``t`` moves ago, plane ``k + t`` the opponent's (all zero
before the game's start), and plane ``2k`` is all ones when ``player`` is to move in a
running game. Worked example on 5x5 with ``k = 1``: after Black plays C3 (action 12),
``observation(state, 1)`` (White's view) has plane 0 all zero, plane 1 one only at
``[2, 2]``, and plane 2 all ones (White is to move); ``observation(state, 0)`` has the stone
in plane 0 and plane 2 zero. With ``k = 2``, plane 1 (Black's stones one move ago) is all
zero after that first move.

Speed. The rules run in :mod:`rlkit.envs.go_kernels` on incremental chains (pseudo-liberty
counts, stone lists, per-chain Zobrist hashes) and a sorted set of the board hashes seen, so
a move costs time in proportion to the chains it touches. A :class:`GoState` is a tuple of
small arrays that are never written after creation (they are marked read-only);
:meth:`GoGame.apply` copies them and runs the move kernel on the copy.
:meth:`GoGame.random_rollout` and :meth:`GoGame.play_random_games` play whole games inside
the kernels.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, NoReturn

import numpy as np

from rlkit.envs import go_kernels as kernels
from rlkit.errors import caused_by_interrupt
from rlkit.game import TERMINAL, Game, GameInfo, IllegalMoveError

COLUMNS = "ABCDEFGHJKLMNOPQRST"
"""GTP column letters (no ``I``), enough for 19x19."""
STONES = ".XO"
MIN_SIZE, MAX_SIZE = 5, 19
_INTEGER = (int, np.integer)
_REASONS = {
    kernels.OCCUPIED: "the point is occupied",
    kernels.SUICIDE: "it is suicide",
    kernels.KO: "it repeats an earlier position (ko)",
}


def _reraise_interrupt(exc: BaseException) -> NoReturn:
    """Re-raise a Ctrl-C that reached us disguised, else ``exc`` itself.

    A KeyboardInterrupt raised by Python's signal handler while a numba kernel is being
    dispatched (numba runs a little Python, e.g. ``_numba_unpickle`` when it boxes the arrays
    a kernel returns) comes out of the call as a SystemError ("returned a result with an
    exception set") whose ``__context__`` chain, one to four links deep, ends in the
    KeyboardInterrupt; while a kernel is first loaded from numba's cache it can come out as
    a RuntimeError ("generator raised StopIteration"). Measured: about 1 Ctrl-C in 20 during
    ``GoGame.apply`` surfaced as a SystemError. Callers (``rlkit play``'s "interrupted",
    MCTS time limits) expect a KeyboardInterrupt.
    """
    if caused_by_interrupt(exc):
        raise KeyboardInterrupt from None
    raise exc


class GoState(NamedTuple):
    """A Go position with its game history, immutable (its arrays are read-only).

    Attributes:
        board: int8 ``[size*size]``, 0 empty, 1 black, 2 white; row 0 is the top row.
        to_move: 0 (Black) or 1 (White).
        passes: consecutive passes just played (2 ends the game).
        moves: moves played so far, passes included.
        hash: the Zobrist hash of the board (stones only, not the side to move; the empty
            board is 0), a Python int in ``[0, 2**64)``. Positional superko compares these.
        resigned: the player who resigned, or -1.
        previous_boards: the boards before the last ``history - 1`` moves, newest first (for
            the observation planes; empty when ``history == 1``).
        chains: int32 ``[6, size*size]``, the kernel's chain bookkeeping (see
            :mod:`rlkit.envs.go_kernels`).
        hashes: uint64, the kernel's chain hashes and the set of boards seen in this game.
    """

    board: np.ndarray
    to_move: int
    passes: int
    moves: int
    hash: int
    resigned: int
    previous_boards: tuple[np.ndarray, ...]
    chains: np.ndarray
    hashes: np.ndarray

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, GoState):
            return NotImplemented
        return (
            self[1:6] == other[1:6]
            and np.array_equal(self.board, other.board)
            and len(self.previous_boards) == len(other.previous_boards)
            and all(map(np.array_equal, self.previous_boards, other.previous_boards))
            and np.array_equal(self.hashes, other.hashes)
        )

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    def __hash__(self) -> int:
        return hash((self.hash, self.to_move, self.passes, self.moves, self.resigned))


@dataclass(frozen=True)
class RandomGamesStats:
    """What :meth:`GoGame.play_random_games` played.

    Attributes:
        games: games played.
        moves: moves played in all, passes included.
        seconds: wall time of the kernel.
        black_wins, white_wins, draws: results by area score with komi.
        truncated: games cut off at ``max_game_length``.
        lengths: int64 ``[games]``, each game's number of moves.
        scores: float64 ``[games]``, each game's final score (Black minus White, with komi).
    """

    games: int
    moves: int
    seconds: float
    black_wins: int
    white_wins: int
    draws: int
    truncated: int
    lengths: np.ndarray
    scores: np.ndarray

    @property
    def moves_per_second(self) -> float:
        return self.moves / self.seconds if self.seconds > 0 else float("inf")


def _frozen(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


class GoGame(Game[GoState]):
    """Go rules (see the module docstring).

    Args:
        size: board size, 5 to 19.
        komi: points added to White's area (any float; an integral komi allows ties).
        max_game_length: moves (passes included) after which a game is truncated; default
            ``3 * size * size``.
        superko: positional superko (the default), or only the simple ko rule.
        history: number of past positions in the observation (``k`` above), at least 1.

    Raises:
        ValueError: an argument out of range.
    """

    def __init__(
        self,
        size: int = 9,
        komi: float = 7.5,
        max_game_length: int | None = None,
        superko: bool = True,
        *,
        history: int = 1,
    ) -> None:
        if not isinstance(size, int | np.integer) or not MIN_SIZE <= size <= MAX_SIZE:
            raise ValueError(
                f"Go board size must be an integer from {MIN_SIZE} to {MAX_SIZE}, got {size!r}"
            )
        komi = float(komi)
        if not np.isfinite(komi):
            raise ValueError(f"komi must be a finite number, got {komi!r}")
        if max_game_length is None:
            max_game_length = 3 * size * size
        if not isinstance(max_game_length, int | np.integer) or max_game_length < 1:
            raise ValueError(f"max_game_length must be a positive integer, got {max_game_length!r}")
        if not isinstance(history, int | np.integer) or history < 1:
            raise ValueError(f"history must be a positive integer, got {history!r}")
        self.size = int(size)
        self.komi = komi
        self.max_game_length = int(max_game_length)
        self.superko = bool(superko)
        self.history = int(history)
        self.num_points = self.size * self.size
        self.pass_action = self.num_points
        self.info = GameInfo(
            name="go",
            num_players=2,
            num_actions=self.num_points + 1,
            has_chance=False,
            zero_sum=True,
            min_utility=-1.0,
            max_utility=1.0,
            max_game_length=self.max_game_length,
            observation_shape=(2 * self.history + 1, self.size, self.size),
        )
        self.zobrist = _frozen(kernels.zobrist_table(self.size))
        """uint64 ``[size*size, 3]``: Zobrist key of a black (column 1) or white (2) stone."""
        self.neighbours = _frozen(kernels.neighbour_table(self.size))
        board, chains, hashes = kernels.empty_position(self.size)
        self._initial = GoState(
            _frozen(board), 0, 0, 0, 0, -1, (), _frozen(chains), _frozen(hashes)
        )

    def __repr__(self) -> str:
        return (
            f"GoGame(size={self.size}, komi={self.komi}, max_game_length="
            f"{self.max_game_length}, superko={self.superko}, history={self.history})"
        )

    # -- the Game contract ----------------------------------------------------------------------
    def initial_state(self) -> GoState:
        return self._initial

    def current_player(self, state: GoState) -> int:
        if state.resigned >= 0 or state.passes >= 2 or state.moves >= self.max_game_length:
            return TERMINAL
        return state.to_move

    def is_truncated(self, state: GoState) -> bool:
        """Whether the game was cut off at ``max_game_length`` rather than ended by the rules."""
        return state.moves >= self.max_game_length and state.passes < 2 and state.resigned < 0

    def legal_actions(self, state: GoState) -> list[int]:
        if self.current_player(state) == TERMINAL:
            return []
        try:
            return kernels.legal_actions(
                state.board,
                state.chains,
                state.hashes,
                self.zobrist,
                self.neighbours,
                state.to_move + 1,
                self.superko,
            ).tolist()
        except (SystemError, RuntimeError) as exc:
            _reraise_interrupt(exc)

    def legal_mask(self, state: GoState) -> np.ndarray:
        if self.current_player(state) == TERMINAL:
            return np.zeros(self.info.num_actions, dtype=bool)
        try:
            return kernels.legal_mask(
                state.board,
                state.chains,
                state.hashes,
                self.zobrist,
                self.neighbours,
                state.to_move + 1,
                self.superko,
            )
        except (SystemError, RuntimeError) as exc:
            _reraise_interrupt(exc)

    def apply(self, state: GoState, action: int) -> GoState:
        if state.resigned >= 0 or state.passes >= 2 or state.moves >= self.max_game_length:
            raise IllegalMoveError(f"move {action!r}: the game is over")
        if not isinstance(action, _INTEGER) or not 0 <= action <= self.num_points:
            raise IllegalMoveError(
                f"move {action!r} is not an action 0-{self.num_points} "
                f"of {self.size}x{self.size} Go"
            )
        action = int(action)
        previous = (
            (state.board, *state.previous_boards[: self.history - 2]) if self.history > 1 else ()
        )
        if action == self.num_points:
            hashes = state.hashes.copy()
            hashes[self.num_points + kernels.PREV] = hashes[self.num_points + kernels.CUR]
            return GoState(
                state.board,
                1 - state.to_move,
                state.passes + 1,
                state.moves + 1,
                state.hash,
                -1,
                previous,
                state.chains,
                _frozen(hashes),
            )
        try:
            code, board, chains, hashes = kernels.apply_move(
                state.board,
                state.chains,
                state.hashes,
                self.zobrist,
                self.neighbours,
                action,
                state.to_move + 1,
                self.superko,
            )
        except (SystemError, RuntimeError) as exc:
            _reraise_interrupt(exc)
        if code != kernels.OK:
            raise IllegalMoveError(
                f"move {self.action_to_vertex(action)} ({action}) is "
                f"illegal for {'Black' if state.to_move == 0 else 'White'}"
                f": {_REASONS[code]}"
            )
        board.flags.writeable = False
        chains.flags.writeable = False
        hashes.flags.writeable = False
        return GoState(
            board,
            1 - state.to_move,
            0,
            state.moves + 1,
            int(hashes[self.num_points + kernels.CUR]),
            -1,
            previous,
            chains,
            hashes,
        )

    def returns(self, state: GoState) -> np.ndarray:
        if self.current_player(state) != TERMINAL:
            return np.zeros(2)
        if state.resigned >= 0:
            result = np.ones(2)
            result[state.resigned] = -1.0
            return result
        return self._result(self.score(state))

    @staticmethod
    def _result(score: float) -> np.ndarray:
        sign = float(np.sign(score))
        return np.array([sign, -sign])

    def observation(self, state: GoState, player: int) -> np.ndarray:
        k = self.history
        planes = np.zeros((2 * k + 1, self.size, self.size), dtype=np.float32)
        own, other = player + 1, 2 - player
        for t, board in enumerate((state.board, *state.previous_boards)):
            grid = board.reshape(self.size, self.size)
            planes[t] = grid == own
            planes[k + t] = grid == other
        if state.to_move == player and self.current_player(state) != TERMINAL:
            planes[2 * k] = 1.0
        return planes

    def observations(self, states: Sequence[GoState], out: np.ndarray) -> np.ndarray:
        """:meth:`observation` of the player to move for every state, in one numpy pass over
        the stacked boards (and their history)."""
        n, k, size = len(states), self.history, self.size
        view = out[:n]
        if n == 0:
            return view
        empty = np.zeros(size * size, np.int8)
        boards = np.empty((n, k, size * size), np.int8)
        for i, state in enumerate(states):
            boards[i, 0] = state.board
            for t in range(1, k):
                previous = state.previous_boards
                boards[i, t] = previous[t - 1] if t - 1 < len(previous) else empty
        own = np.array([s.to_move + 1 for s in states], np.int8)[:, None, None]
        grids = boards.reshape(n, k, size, size)
        view[:, :k] = grids == own[..., None]
        view[:, k : 2 * k] = grids == (3 - own)[..., None]
        view[:, 2 * k] = 1.0  # the mover's plane: every state here is a decision node
        return view

    def render(self, state: GoState) -> str:
        """The board as GNU Go's ``showboard`` draws it: ``X`` black, ``O`` white, ``+`` star
        points, coordinates on all four sides."""
        size = self.size
        letters = "   " + " ".join(COLUMNS[:size]) + "\n"
        stars = self._star_points()
        lines = [letters]
        for row in range(size):
            number = size - row
            cells = []
            for col in range(size):
                stone = state.board[row * size + col]
                cells.append(STONES[stone] if stone or (row, col) not in stars else "+")
            lines.append(f"{number:2d} {' '.join(cells)} {number:d}\n")
        lines.append(letters)
        if self.current_player(state) == TERMINAL:
            lines.append(f"game over: {self._result_text(state)}\n")
        else:
            lines.append(f"{'Black (X)' if state.to_move == 0 else 'White (O)'} to move\n")
        return "".join(lines)

    def _star_points(self) -> set[tuple[int, int]]:
        """GNU Go's star points: 3-3 (4-4 from 12x12 up) corners, the centre of odd boards,
        and side midpoints of odd boards from 13x13 up."""
        size = self.size
        if size < 7:
            return set()
        edge = 2 if size < 12 else 3
        lines = [edge, size - 1 - edge]
        points = {(r, c) for r in lines for c in lines}
        if size % 2 == 1:
            middle = size // 2
            points.add((middle, middle))
            if size >= 13:
                points |= {
                    (middle, edge),
                    (middle, size - 1 - edge),
                    (edge, middle),
                    (size - 1 - edge, middle),
                }
        return points

    def _result_text(self, state: GoState) -> str:
        if state.resigned >= 0:
            return f"{'W' if state.resigned == 0 else 'B'}+Resign"
        score = self.score(state)
        text = "0 (draw)" if score == 0 else f"{'B' if score > 0 else 'W'}+{abs(score):g}"
        return text + (" (truncated)" if self.is_truncated(state) else "")

    def action_to_string(self, state: GoState, action: int) -> str:
        return self.action_to_vertex(action)

    def string_to_action(self, state: GoState, text: str) -> int:
        """Parse a GTP vertex (``"D4"``, ``"pass"``) and check that it is legal here.

        Raises:
            IllegalMoveError: not a vertex of this board, or not legal in ``state``.
        """
        action = self.vertex_to_action(text)
        if action not in self.legal_actions(state):
            raise IllegalMoveError(f"{text.strip()!r} is not a legal move here")
        return action

    # -- Go-specific ------------------------------------------------------------------------------
    def action_to_vertex(self, action: int) -> str:
        """The GTP vertex of an action: ``"D4"``, or ``"pass"``.

        Raises:
            ValueError: ``action`` is not an action of this board.
        """
        if not isinstance(action, _INTEGER) or not 0 <= action <= self.num_points:
            raise ValueError(
                f"{action!r} is not an action 0-{self.num_points} of {self.size}x{self.size} Go"
            )
        if action == self.num_points:
            return "pass"
        row, col = divmod(int(action), self.size)
        return f"{COLUMNS[col]}{self.size - row}"

    def vertex_to_action(self, text: str) -> int:
        """The action of a GTP vertex (case-insensitive; ``"pass"`` is the pass action).

        Raises:
            IllegalMoveError: ``text`` is not a vertex of this board (the message names it).
        """
        vertex = str(text).strip().upper()
        if vertex == "PASS":
            return self.pass_action
        letters = COLUMNS[: self.size]
        if (
            len(vertex) >= 2
            and vertex[0] in letters
            and vertex[1:].isdigit()
            and vertex[1] != "0"
            and 1 <= int(vertex[1:]) <= self.size
        ):
            return (self.size - int(vertex[1:])) * self.size + letters.index(vertex[0])
        raise IllegalMoveError(
            f"{text!r} is not a vertex of the {self.size}x{self.size} board "
            f"(columns {letters[0]}-{letters[-1]} without I, rows "
            f"1-{self.size}, or 'pass')"
        )

    def board_array(self, state: GoState) -> np.ndarray:
        """The board as int8 ``[size, size]`` (row 0 at the top), read-only."""
        return state.board.reshape(self.size, self.size)

    def score(self, state: GoState) -> float:
        """Tromp-Taylor area score of the board, Black minus White minus komi.

        Each player's area is their stones plus the empty points from which only their stones
        can be reached. Example: on an empty board the score is ``-komi``.
        """
        try:
            black, white = kernels.area(state.board, self.neighbours)
        except (SystemError, RuntimeError) as exc:
            _reraise_interrupt(exc)
        return float(black - white) - self.komi

    def resign(self, state: GoState, player: int) -> GoState:
        """The state after ``player`` resigns (terminal; the other player wins).

        Raises:
            IllegalMoveError: the game is already over.
            ValueError: ``player`` is not 0 or 1.
        """
        if player not in (0, 1):
            raise ValueError(f"player must be 0 (Black) or 1 (White), got {player!r}")
        if self.current_player(state) == TERMINAL:
            raise IllegalMoveError("cannot resign: the game is over")
        return state._replace(resigned=int(player))

    def resume(self, state: GoState, player: int) -> GoState:
        """The same position with ``player`` to move and no passes pending.

        For a GTP engine, which follows its controller: GTP lets either colour move at any
        time (handicap stones sent as black moves, a colour that plays twice), and a
        controller may go on after two passes (KGS's clean-up phase after a disagreement
        about dead stones). The board, the move count and the positions seen (for superko)
        are kept; ``resigned`` is cleared.

        Raises:
            ValueError: ``player`` is not 0 or 1.
        """
        if player not in (0, 1):
            raise ValueError(f"player must be 0 (Black) or 1 (White), got {player!r}")
        return state._replace(to_move=int(player), passes=0, resigned=-1)

    def handicap_state(self, points: Sequence[int]) -> GoState:
        """Black stones set up on the empty board, White to move (a handicap game).

        Set-up stones are not moves: ``moves`` is 0 and nothing is captured. The positions
        seen (for superko) are the empty board and the set-up one, and the simple-ko board
        (``PREV``) is the set-up one.

        Args:
            points: the stones' points (``row * size + col``), distinct, not the pass.

        Raises:
            ValueError: a point off the board, or a point given twice.
        """
        points = [int(p) for p in points]
        if len(set(points)) != len(points):
            raise ValueError(f"handicap points repeat a point: {points}")
        if any(not 0 <= p < self.num_points for p in points):
            raise ValueError(f"handicap points must be in 0-{self.num_points - 1}: {points}")
        board, chains, hashes = kernels.empty_position(self.size)
        for point in points:  # only black stones: none can capture another
            kernels.place_stone(board, chains, hashes, self.zobrist, self.neighbours, point, 1)
        n = self.num_points
        current = hashes[n + kernels.CUR]
        hashes[n + kernels.PREV] = current
        seen = np.zeros(hashes.size + 1, dtype=np.uint64)
        seen[: hashes.size] = hashes
        count = kernels.seen_insert(seen, n, 1, current)
        seen = seen[: n + kernels.SEEN + count]  # no growth when there are no stones
        return GoState(
            _frozen(board), 1, 0, 0, int(current), -1, (), _frozen(chains), _frozen(seen)
        )

    def format_record(self, record: Any) -> tuple[str, str]:
        """A finished game as SGF (FF[4]) text, for ``rlkit play --record``."""
        from rlkit.sgf import go_record

        return go_record(self, record)

    def board_hash(self, board: np.ndarray) -> int:
        """The Zobrist hash of ``board`` computed from scratch (equals ``state.hash``)."""
        return int(
            kernels.board_hash(np.ascontiguousarray(board, dtype=np.int8).ravel(), self.zobrist)
        )

    # -- whole games in the kernel --------------------------------------------------------------
    def random_rollout(self, state: GoState, rng: np.random.Generator) -> np.ndarray:
        """Finish the game with random moves in the kernel; each player's return.

        Policy (the usual Monte-Carlo rollout): each move is uniformly random among the legal
        points that do not fill the mover's own single-point eye (an empty point whose
        neighbours are all the mover's stones); a player passes only when no such point is
        left. The game ends by two passes or at ``max_game_length``, and is scored by area
        with komi. ``state`` is untouched; ``rng`` supplies one 64-bit seed.
        """
        if self.current_player(state) == TERMINAL:
            return self.returns(state)
        seed = np.uint64(rng.integers(0, 2**63))
        try:
            _, _, black, white = kernels.rollout(
                state.board,
                state.chains,
                state.hashes,
                self.zobrist,
                self.neighbours,
                state.to_move,
                state.passes,
                state.moves,
                self.max_game_length,
                self.superko,
                True,
                seed,
            )
        except (SystemError, RuntimeError) as exc:
            _reraise_interrupt(exc)
        return self._result(float(black - white) - self.komi)

    def play_random_games(
        self, n: int, seed: int = 0, *, avoid_eyes: bool = False
    ) -> RandomGamesStats:
        """Play ``n`` random games from the empty board inside the kernel (for benchmarks).

        Args:
            n: number of games.
            seed: seed of the kernel's random numbers (splitmix64).
            avoid_eyes: ``False``: uniformly random legal actions, pass included (the same
                policy as a Python loop over :meth:`legal_actions`); ``True``: the rollout
                policy of :meth:`random_rollout`.
        """
        start = time.perf_counter()
        try:
            table = kernels.random_games(
                self.size,
                int(n),
                self.zobrist,
                self.neighbours,
                self.max_game_length,
                self.superko,
                bool(avoid_eyes),
                np.uint64(int(seed) % 2**64),
            )
        except (SystemError, RuntimeError) as exc:
            _reraise_interrupt(exc)
        seconds = time.perf_counter() - start
        scores = (table[:, 2] - table[:, 3]).astype(np.float64) - self.komi
        return RandomGamesStats(
            games=int(n),
            moves=int(table[:, 0].sum()),
            seconds=seconds,
            black_wins=int((scores > 0).sum()),
            white_wins=int((scores < 0).sum()),
            draws=int((scores == 0).sum()),
            truncated=int((table[:, 1] == kernels.TRUNCATED).sum()),
            lengths=table[:, 0].copy(),
            scores=scores,
        )
