"""Backgammon as a :class:`~rlkit.game.Game`: cubeless money play with explicit dice.

Rules: the full game. Checkers on the bar enter first; a point held by two or more opposing
checkers is blocked; landing on a single opposing checker (a blot) hits it to the bar. With
every checker in the home board a player bears off, with the exact die or, from the highest
occupied point, a higher one. A player must use both dice when any sequence does, and when
only one die can be used, the larger one if it can be; doubles move four times. Bearing off
all fifteen wins 1 point, 2 (a gammon) if the loser bore off none, 3 (a backgammon) if the
loser also still has a checker on the bar or in the winner's home board. There is no doubling
cube yet: the state reserves a ``cube`` field (always 1) for it.

Points and board
----------------
Each player numbers the points from its own side: it moves from its 24-point towards its
1-point and bears off from its home board, points 1-6; its point ``p`` is the opponent's
point ``25 - p``. :attr:`BackgammonState.board` is 52 bytes (signed int8), two rows of 26,
row ``s`` for player ``s`` from its own point of view: ``[26*s + 0]`` checkers borne off,
``[26*s + p]`` checkers on its point ``p`` (1-24), ``[26*s + 25]`` checkers on the bar.
Example: in the starting position ``board[26*s + 6] == 5``, ``board[26*s + 8] == 3``,
``board[26*s + 13] == 5`` and ``board[26*s + 24] == 2`` for both players.

Turns and chance
----------------
A turn is a chance node (the roll) followed by one decision (the whole move for that roll).
The game starts with the opening roll: each player rolls one die, ties re-roll, and the
higher die moves first with both dice. It is a chance node over the 30 outcomes
(starter, high, low), ``high > low``, each with probability 1/30. Every later roll is a
chance node over the 21 distinct rolls, doubles with probability 1/36 and the others 2/36.
Chance outcome ids: ``36 * k + 6 * (high - 1) + (low - 1)`` with ``k = 0`` for a regular
roll, ``k = 1`` for an opening roll won by player 0, ``k = 2`` won by player 1. Example: a
regular 6-5 is outcome 34; player 1 winning the opening with 3-1 is outcome 72 + 12 = 84.

Actions: one id per full move
-----------------------------
A full move is every checker move of the roll, encoded with the dice known from the state.
A *source* is a point 1-24 or 25 for the bar, from the mover's point of view; 0 is "no
checker moved".

- A non-double roll ``high > low``: ``(26 * h + l) * 2 + o``, with ``h`` the source of the
  checker moved with the high die, ``l`` the source moved with the low die, and ``o = 1``
  when the low die is played first (otherwise, and for a single checker move, 0). Ids
  0-1351, as in OpenSpiel's backgammon (whose ``num_distinct_actions`` is 1352). Example,
  6-5 from the start: 24/18 13/8 is ``h = 24, l = 13``: ``(26*24 + 13) * 2 = 1274``.
- A double ``d``: the sources of the (up to four) checker moves in non-increasing order
  ``s1 >= s2 >= s3 >= s4`` (0 for a move not made), as ``1352 + C(s1 + 3, 4) + C(s2 + 2, 3)
  + C(s3 + 1, 2) + C(s4, 1)`` (the combinatorial number system: every multiset of at most
  four sources out of 25 gets its own id in 0-23750). Example, 4-4: 8/4(2) 6/2(2) is
  sources 8, 8, 6, 6: ``1352 + C(11,4) + C(10,3) + C(7,2) + C(6,1) = 1352 + 330 + 120 + 21 +
  6 = 1829``.
- No legal move: the single action "pass", id 0 for a non-double roll and 1352 for a double.

``info.num_actions`` is therefore 1352 + 23751 = 25103. For doubles the sources alone fix the
resulting position (moving the higher checkers first is always legal when any order is), so
each multiset is one move. For non-doubles several encodings can reach the same position
(two independent checkers moved in either order): the legal actions are one per distinct
resulting position, the smallest id among its encodings, so the id of a full move depends on
the position and the dice only. :func:`encode_move` and :func:`decode_action` convert.

Afterstates: :meth:`BackgammonGame.afterstates` lists ``(action, next_state)`` for every
legal full move (the distinct positions the roll can reach), for TD(lambda), pubeval and
expectiminimax; :meth:`BackgammonGame.legal_actions` is its first column.

Notation and gnubg Position IDs
-------------------------------
Moves are written from the mover's point of view in the usual notation: ``24/18 13/11``,
``bar/22*`` (a hit), ``6/off``, ``8/5(2)``, ``24/18*/13`` (one checker hitting on the way).
:meth:`BackgammonGame.move_to_notation` and :meth:`BackgammonGame.notation_to_move` convert.
:meth:`BackgammonGame.position_id` and :meth:`BackgammonGame.state_from_position_id` read
and write GNU Backgammon's 14-character Position ID (the start is ``4HPwATDgc/ABMA``); the
bit order is documented at :func:`position_id_from_board`.

Observation for ``player``: float32 ``[210]``, all in ``[0, 1]`` (TD-Gammon's 198 inputs
rescaled, plus the dice). For the player itself, then the opponent, each from ``player``'s
point of view (points numbered from ``player``'s side): per point 1-24 four units ``n >= 1``,
``n >= 2``, ``n >= 3`` and ``(n - 3) / 12`` for its ``n`` checkers there, then bar / 15 and
borne off / 15 (2 * 98 units); then whether ``player`` is to move, whether the opponent is
(2 units), then the dice, high and low die one-hot (12 units, zeros at chance nodes).
Example: at the start ``obs[4 * 5] == 1`` (``player``'s 6-point holds a checker, unit
``4 * (6 - 1)``) and ``obs[98 + 4 * 18 + 3] == 2 / 12`` (five opposing checkers on the
opponent's 6-point, which is ``player``'s 19-point).
"""

from __future__ import annotations

import base64
import itertools
import re
from typing import NamedTuple

import numpy as np

from rlkit.envs import backgammon_kernels as kernels
from rlkit.game import CHANCE, TERMINAL, Game, GameInfo, IllegalMoveError

__all__ = [
    "NUM_ACTIONS",
    "BackgammonGame",
    "BackgammonState",
    "board_from_position_id",
    "decode_action",
    "encode_move",
    "position_id_from_board",
]

NUM_ACTIONS = kernels.NUM_ACTIONS
NON_DOUBLE_ACTIONS = kernels.NON_DOUBLE_ACTIONS
BAR = 25
OBSERVATION_SIZE = 210
_START_ROW = (0, 0, 0, 0, 0, 0, 5, 0, 3, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0)
START_BOARD = bytes(_START_ROW * 2)
"""The starting position in the layout of the module docstring."""
_ROLLS = tuple((high, low) for high in range(1, 7) for low in range(1, high + 1))
_ROLL_OUTCOMES = tuple(
    (6 * (high - 1) + (low - 1), (1 if high == low else 2) / 36) for high, low in _ROLLS
)
_OPENING_OUTCOMES = tuple(
    (36 * (1 + starter) + 6 * (high - 1) + (low - 1), 1 / 30)
    for starter in range(2)
    for high, low in _ROLLS
    if high != low
)
_OPENING_IDS = frozenset(outcome for outcome, _ in _OPENING_OUTCOMES)
_ROLL_IDS = frozenset(outcome for outcome, _ in _ROLL_OUTCOMES)


class BackgammonState(NamedTuple):
    """An immutable backgammon position.

    Attributes:
        board: 52 bytes, the checkers (layout in the module docstring).
        turn: the player on roll (to roll at a chance node, to move at a decision node);
            -1 before the opening roll.
        dice: ``(high, low)`` once rolled, ``(0, 0)`` at a chance node.
        cube: reserved for the doubling cube; 1 in this cubeless game.
        ply: full moves played so far. Not part of equality or the hash: equal positions
            reached after different numbers of moves compare equal.
    """

    board: bytes
    turn: int
    dice: tuple[int, int]
    cube: int = 1
    ply: int = 0

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BackgammonState):
            return NotImplemented
        return self[:4] == other[:4]

    def __ne__(self, other: object) -> bool:
        if not isinstance(other, BackgammonState):
            return NotImplemented
        return self[:4] != other[:4]

    def __hash__(self) -> int:
        return hash(self[:4])

    def counts(self, player: int) -> tuple[int, ...]:
        """Player's 26 counts: borne off, its points 1-24 (its own view), the bar."""
        return tuple(np.frombuffer(self.board, np.int8)[26 * player : 26 * player + 26])


# ----------------------------------------------------------------------------------------------
# Action encoding
# ----------------------------------------------------------------------------------------------
def encode_move(dice: tuple[int, int], moves: list[tuple[int, int]]) -> int:
    """The action id of checker moves ``[(source, die), ...]`` in play order (sources 1-24,
    25 for the bar, from the mover's view); an empty list is the pass.

    Raises:
        ValueError: a die that is not one of ``dice``, or too many checker moves.
    """
    high, low = max(dice), min(dice)
    if high == low:
        if len(moves) > 4 or any(die != high for _, die in moves):
            raise ValueError(f"{moves} is not a move for the double {high}-{high}")
        sources = sorted((source for source, _ in moves), reverse=True) + [0] * (4 - len(moves))
        return NON_DOUBLE_ACTIONS + int(kernels.double_rank(*sources))
    if len(moves) > 2 or sorted(die for _, die in moves) not in ([], [low], [high], [low, high]):
        raise ValueError(f"{moves} is not a move for the roll {high}-{low}")
    h = next((source for source, die in moves if die == high), 0)
    l = next((source for source, die in moves if die == low), 0)  # noqa: E741
    low_first = len(moves) == 2 and moves[0][1] == low
    return (26 * h + l) * 2 + int(low_first)


def decode_action(dice: tuple[int, int], action: int) -> list[tuple[int, int]]:
    """The checker moves ``[(source, die), ...]`` of ``action`` in play order.

    Raises:
        IllegalMoveError: an id outside the range of this roll's encoding.
    """
    high, low = max(dice), min(dice)
    if high == low:
        rank = int(action) - NON_DOUBLE_ACTIONS
        if not 0 <= rank < kernels.DOUBLE_ACTIONS:
            raise IllegalMoveError(f"action {action} is not a move for the double {high}-{high}")
        sources = []
        for k in (4, 3, 2, 1):  # greedy unranking of the combinatorial number system
            c = k - 1
            while kernels.BINOMIAL[c + 1, k] <= rank:
                c += 1
            rank -= int(kernels.BINOMIAL[c, k])
            sources.append(c - (k - 1))
        return [(source, high) for source in sources if source > 0]
    if not 0 <= int(action) < NON_DOUBLE_ACTIONS:
        raise IllegalMoveError(f"action {action} is not a move for the roll {high}-{low}")
    pair, low_first = divmod(int(action), 2)
    h, l = divmod(pair, 26)  # noqa: E741
    moves = [(h, high)] if h else []
    if l:
        moves.insert(0, (l, low)) if low_first else moves.append((l, low))
    return moves


# ----------------------------------------------------------------------------------------------
# gnubg Position ID
# ----------------------------------------------------------------------------------------------
_BASE64 = re.compile(r"[A-Za-z0-9+/]{14}")


def position_id_from_board(board: bytes, on_roll: int) -> str:
    """GNU Backgammon's Position ID of ``board`` with ``on_roll`` to play.

    The 80-bit key is built as gnubg's ``PositionKey`` does: for each side in turn, for its
    points 1-24 then its bar (its own point of view), as many 1 bits as it has checkers
    there followed by a 0 bit; padded with 0s to 80 bits, packed little-endian (the first
    bit is the least significant bit of the first byte), then base64 without the padding.
    The side *not* on roll comes first: gnubg's ``anBoard[0]`` is the opponent and
    ``anBoard[1]`` the player on roll. (gnubg's manual words it the other way round, but
    the IDs gnubg prints follow the code; e.g. its ``++4AAEA7dwRgAA`` is a position where the
    side on roll has checkers on its 1, 2, 3, 5, 6, 9 and 19 points, encoded second.)
    """
    rows = np.frombuffer(board, np.int8).reshape(2, 26)
    key = 0
    bit = 0
    for side in (1 - on_roll, on_roll):
        for slot in range(1, 26):
            n = int(rows[side, slot])
            key |= ((1 << n) - 1) << bit
            bit += n + 1
    return base64.b64encode(key.to_bytes(10, "little")).decode()[:14]


def board_from_position_id(position_id: str, on_roll: int = 0) -> bytes:
    """The board (layout in the module docstring) of a gnubg Position ID, with ``on_roll``
    the player whose checkers come second in the key (see :func:`position_id_from_board`).

    Raises:
        ValueError: not 14 base64 characters, a malformed key, more than 15 checkers for a
            side, both sides on one point, or both sides on the bar against closed boards.
    """
    text = position_id.strip() if isinstance(position_id, str) else position_id
    if not isinstance(text, str) or not _BASE64.fullmatch(text):
        raise ValueError(
            f"{position_id!r} is not a gnubg Position ID: it takes 14 characters of "
            "A-Z a-z 0-9 + /, e.g. '4HPwATDgc/ABMA'"
        )
    raw = base64.b64decode(text + "==")
    if raw[10:] or (_BASE64_VALUES.index(text[-1]) & 0x0F):
        raise ValueError(f"Position ID {text!r}: the key has bits set beyond its 80 bits")
    key = int.from_bytes(raw[:10], "little")
    counts = [[0] * 26, [0] * 26]
    bit = 0
    for side in range(2):
        for slot in range(1, 26):
            while bit < 80 and key >> bit & 1:
                counts[side][slot] += 1
                bit += 1
            if bit >= 80:
                raise ValueError(f"Position ID {text!r}: the key ends before both sides do")
            bit += 1
    if key >> bit:
        raise ValueError(f"Position ID {text!r}: bits set after the last point")
    for side, name in ((0, "the side not on roll"), (1, "the side on roll")):
        total = sum(counts[side])
        if total > 15:
            raise ValueError(f"Position ID {text!r}: {name} has {total} checkers (at most 15)")
        counts[side][0] = 15 - total
    for p in range(1, 25):
        if counts[0][p] and counts[1][25 - p]:
            raise ValueError(
                f"Position ID {text!r}: both sides have checkers on one point (the point "
                f"{25 - p} of the side on roll)"
            )
    if all(counts[s][BAR] for s in range(2)) and all(
        counts[s][p] >= 2 for s in range(2) for p in range(1, 7)
    ):
        raise ValueError(f"Position ID {text!r}: both sides are on the bar against closed boards")
    if counts[0][0] == 15 and counts[1][0] == 15:
        raise ValueError(f"Position ID {text!r}: both sides have borne off every checker")
    rows = [None, None]
    rows[1 - on_roll], rows[on_roll] = counts[0], counts[1]
    return bytes(rows[0] + rows[1])


_BASE64_VALUES = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


# ----------------------------------------------------------------------------------------------
# The game
# ----------------------------------------------------------------------------------------------
_SEGMENT = re.compile(r"(bar|off|\d{1,2})(\*?)")
_NOTATION_TERM = re.compile(r"^((?:bar|\d{1,2})\*?(?:/(?:bar|off|\d{1,2})\*?)+)(?:\((\d)\))?$")


class BackgammonGame(Game[BackgammonState]):
    """Backgammon rules (see the module docstring for encodings and conventions).

    Args:
        max_game_length: full moves (decisions) after which an unfinished game ends as a
            draw (returns 0). Backgammon always ends in principle; the bound makes
            ``info.max_game_length`` hold, and uniformly random games rarely pass 400.

    Raises:
        ValueError: a ``max_game_length`` below 1.
    """

    def __init__(self, max_game_length: int = 10_000) -> None:
        if not isinstance(max_game_length, int) or max_game_length < 1:
            raise ValueError(f"max_game_length must be a positive int, not {max_game_length!r}")
        self.max_game_length = max_game_length
        self.info = GameInfo(
            name="backgammon",
            num_players=2,
            num_actions=NUM_ACTIONS,
            has_chance=True,
            zero_sum=True,
            min_utility=-3.0,
            max_utility=3.0,
            max_game_length=max_game_length,
            observation_shape=(OBSERVATION_SIZE,),
        )
        # Work space of the move generator, and the last generation (legal_actions then
        # apply on one state is the common pattern; the cache holds one entry).
        self._out_boards = np.empty((kernels.MAX_RESULTS, 52), dtype=np.int8)
        self._out_actions = np.empty(kernels.MAX_RESULTS, dtype=np.int32)
        self._cached: tuple[BackgammonState, np.ndarray, np.ndarray, list[int]] | None = None

    # -- the Game contract ------------------------------------------------------------------
    def initial_state(self) -> BackgammonState:
        return BackgammonState(START_BOARD, -1, (0, 0), 1, 0)

    def current_player(self, state: BackgammonState) -> int:
        board = state.board
        if board[0] == 15 or board[26] == 15 or state.ply >= self.max_game_length:
            return TERMINAL
        if state.dice[0] == 0:
            return CHANCE
        return state.turn

    def winner(self, state: BackgammonState) -> int:
        """The player who bore off all fifteen checkers, or -1."""
        return 0 if state.board[0] == 15 else 1 if state.board[26] == 15 else -1

    def chance_outcomes(self, state: BackgammonState) -> list[tuple[int, float]]:
        if self.current_player(state) != CHANCE:
            return []
        return list(_OPENING_OUTCOMES if state.turn < 0 else _ROLL_OUTCOMES)

    def sample_chance(self, state: BackgammonState, rng: np.random.Generator) -> int:
        if state.turn < 0:
            return _OPENING_OUTCOMES[int(rng.integers(30))][0]
        ordered = int(rng.integers(36))  # the two dice, as a uniform ordered pair
        a, b = ordered // 6, ordered % 6
        return 6 * max(a, b) + min(a, b)

    def _generate(self, state: BackgammonState) -> tuple[np.ndarray, np.ndarray, list[int]]:
        cached = self._cached
        if cached is not None and cached[0] is state:
            return cached[1], cached[2], cached[3]
        board = np.frombuffer(state.board, np.int8)
        n = kernels.generate(
            board, state.turn, state.dice[0], state.dice[1], self._out_boards, self._out_actions
        )
        actions = self._out_actions[:n].copy()
        boards = self._out_boards[:n].copy()
        listed = actions.tolist()
        self._cached = (state, actions, boards, listed)
        return actions, boards, listed

    def legal_actions(self, state: BackgammonState) -> list[int]:
        player = self.current_player(state)
        if player < 0:
            return []
        return list(self._generate(state)[2])

    def afterstates(self, state: BackgammonState) -> list[tuple[int, BackgammonState]]:
        """Every legal full move and the state it leads to (before the next roll), one per
        distinct resulting position, in increasing action order. Empty unless a player is
        to move."""
        if self.current_player(state) < 0:
            return []
        _, boards, listed = self._generate(state)
        return [
            (a, self._after(state, row.tobytes())) for a, row in zip(listed, boards, strict=True)
        ]

    def _after(self, state: BackgammonState, board: bytes) -> BackgammonState:
        return BackgammonState(board, 1 - state.turn, (0, 0), state.cube, state.ply + 1)

    def apply(self, state: BackgammonState, action: int) -> BackgammonState:
        player = self.current_player(state)
        if player == TERMINAL:
            raise IllegalMoveError(f"move {action!r}: the game is over")
        if player == CHANCE:
            return self._roll(state, action)
        _, boards, listed = self._generate(state)
        try:
            index = listed.index(action)
        except ValueError:
            index = -1
        if index < 0 or not isinstance(action, int | np.integer):
            raise IllegalMoveError(
                f"move {action!r} is not a legal full move with {state.dice[0]}-{state.dice[1]}"
                " here (legal_actions lists the ids; notation_to_move parses text)"
            )
        return self._after(state, boards[index].tobytes())

    def _roll(self, state: BackgammonState, outcome: int) -> BackgammonState:
        valid = _OPENING_IDS if state.turn < 0 else _ROLL_IDS
        if not isinstance(outcome, int | np.integer) or int(outcome) not in valid:
            kind = "an opening roll" if state.turn < 0 else "a roll"
            raise IllegalMoveError(f"chance outcome {outcome!r} is not {kind} (chance_outcomes)")
        k, rest = divmod(int(outcome), 36)
        high, low = rest // 6 + 1, rest % 6 + 1
        turn = k - 1 if state.turn < 0 else state.turn
        return BackgammonState(state.board, turn, (high, low), state.cube, state.ply)

    def with_dice(self, state: BackgammonState, dice: tuple[int, int]) -> BackgammonState:
        """``state`` (a chance node after the opening) with ``dice`` rolled.

        Raises:
            ValueError: dice that are not two ints 1-6, or a state that is not a roll.
        """
        high, low = _check_dice(dice)
        if self.current_player(state) != CHANCE or state.turn < 0:
            raise ValueError("with_dice needs a chance node of a regular roll")
        return BackgammonState(state.board, state.turn, (high, low), state.cube, state.ply)

    def returns(self, state: BackgammonState) -> np.ndarray:
        result = np.zeros(2)
        winner = self.winner(state)
        if winner >= 0:
            points = kernels.result_points(np.frombuffer(state.board, np.int8), winner)
            result[winner], result[1 - winner] = points, -points
        return result

    def observation(self, state: BackgammonState, player: int) -> np.ndarray:
        rows = np.frombuffer(state.board, np.int8).reshape(2, 26).astype(np.float32)
        obs = np.zeros(OBSERVATION_SIZE, dtype=np.float32)
        for block, (side, flip) in enumerate(((player, False), (1 - player, True))):
            counts = rows[side, 1:25][::-1] if flip else rows[side, 1:25]
            units = obs[98 * block : 98 * block + 96].reshape(24, 4)
            units[:, 0] = counts >= 1
            units[:, 1] = counts >= 2
            units[:, 2] = counts >= 3
            units[:, 3] = np.maximum(counts - 3, 0) / 12
            obs[98 * block + 96] = rows[side, BAR] / 15
            obs[98 * block + 97] = rows[side, 0] / 15
        mover = self.current_player(state)
        if mover >= 0 or (mover == CHANCE and state.turn >= 0):
            obs[196 + (state.turn != player)] = 1
        if state.dice[0]:
            obs[198 + state.dice[0] - 1] = 1
            obs[204 + state.dice[1] - 1] = 1
        return obs

    def render(self, state: BackgammonState) -> str:
        """Points 13-24 above and 12-1 below, numbered for player 0 (``X``), each cell the
        owner (``X`` or ``O``, player 1) and the number of checkers; then bars, borne-off
        checkers and whose turn it is."""
        rows = np.frombuffer(state.board, np.int8).reshape(2, 26)

        def cell(p: int) -> str:  # player 0's point p
            if rows[0, p]:
                return f"X{rows[0, p]:<2d}"
            if rows[1, 25 - p]:
                return f"O{rows[1, 25 - p]:<2d}"
            return " . "

        top = " ".join(cell(p) for p in range(13, 25))
        bottom = " ".join(cell(p) for p in range(12, 0, -1))
        numbers_top = " ".join(f"{p:<3d}" for p in range(13, 25))
        numbers_bottom = " ".join(f"{p:<3d}" for p in range(12, 0, -1))
        player = self.current_player(state)
        if player == TERMINAL:
            status = "game over"
        elif player == CHANCE:
            status = "opening roll" if state.turn < 0 else f"{'XO'[state.turn]} to roll"
        else:
            status = f"{'XO'[state.turn]} to play {state.dice[0]}-{state.dice[1]}"
        lines = [
            numbers_top,
            top,
            bottom,
            numbers_bottom,
            f"bar X {rows[0, BAR]} O {rows[1, BAR]}   off X {rows[0, 0]} O {rows[1, 0]}   {status}",
        ]
        return "\n".join(lines) + "\n"

    def action_to_string(self, state: BackgammonState, action: int) -> str:
        if self.current_player(state) == CHANCE:
            k, rest = divmod(int(action), 36)
            roll = f"{rest // 6 + 1}-{rest % 6 + 1}"
            return roll if k == 0 else f"{'XO'[k - 1]} starts with {roll}"
        return self.move_to_notation(state, action)

    def string_to_action(self, state: BackgammonState, text: str) -> int:
        return self.notation_to_move(state, text)

    # -- hooks ------------------------------------------------------------------------------
    def random_rollout(self, state: BackgammonState, rng: np.random.Generator) -> np.ndarray:
        """Returns of one uniformly random playout from ``state`` (compiled)."""
        return self.random_games(state, rng, 1)[0]

    def random_games(
        self, state: BackgammonState, rng: np.random.Generator, games: int
    ) -> np.ndarray:
        """Returns of ``games`` uniformly random playouts from ``state``, float64
        ``[games, 2]``; full moves are generated at every decision (compiled, one core)."""
        player = self.current_player(state)
        if player == TERMINAL:
            return np.tile(self.returns(state), (games, 1))
        if state.turn < 0:
            state = self.apply(state, self.sample_chance(state, rng))
        seed = int(rng.integers(1, 2**63))
        stats = self._random_games_raw(state, games, seed)
        out = np.zeros((games, 2))
        won = stats[:, 0] >= 0
        winners = stats[won, 0]
        out[won, winners] = stats[won, 1]
        out[won, 1 - winners] = -stats[won, 1]
        return out

    def _random_games_raw(self, state: BackgammonState, games: int, seed: int) -> np.ndarray:
        return kernels.random_games(
            np.frombuffer(state.board, np.int8),
            state.turn,
            state.dice[0],
            state.dice[1],
            state.ply,
            self.max_game_length,
            games,
            seed,
            self._out_boards,
            self._out_actions,
        )

    # -- notation ---------------------------------------------------------------------------
    def _steps(self, state: BackgammonState, action: int) -> list[tuple[int, int, bool]]:
        """``(from, to, hit)`` of each checker move of a legal action, in play order (to 0 is
        off)."""
        rows = [list(self._row(state, state.turn)), list(self._row(state, 1 - state.turn))]
        steps = []
        for source, die in decode_action(state.dice, action):
            dest = max(source - die, 0)
            rows[0][source] -= 1
            rows[0][dest] += 1
            hit = dest > 0 and rows[1][25 - dest] == 1
            if hit:
                rows[1][25 - dest] = 0
            steps.append((source, dest, hit))
        return steps

    @staticmethod
    def _row(state: BackgammonState, player: int) -> np.ndarray:
        return np.frombuffer(state.board, np.int8)[26 * player : 26 * player + 26]

    def move_to_notation(self, state: BackgammonState, action: int) -> str:
        """A legal full move in standard notation from the mover's view, e.g. ``24/18 13/11``,
        ``bar/22*``, ``6/off``, ``8/5(2)``, ``24/18*/13``; ``pass`` when nothing can move.

        A checker's consecutive moves are joined (``24/13``), with the intermediate points
        written only where it hits; equal paths are counted (``(2)``); paths are listed from
        the highest starting point, then the farthest end point.

        Raises:
            IllegalMoveError: ``action`` is not legal in ``state``.
        """
        if self.current_player(state) < 0 or action not in self._generate(state)[2]:
            raise IllegalMoveError(f"move {action!r} is not a legal full move here")
        paths: list[list[tuple[int, bool]]] = []  # each: [(start, False), (point, hit), ...]
        for source, dest, hit in self._steps(state, action):
            paths.append([(source, False), (dest, hit)])
        # Checkers are alike: a path that ends where another starts is one checker's journey.
        merged = True
        while merged:
            merged = False
            for first in paths:
                end = first[-1][0]
                second = next((p for p in paths if p is not first and end and p[0][0] == end), None)
                if second is not None:
                    first.extend(second[1:])
                    paths.remove(second)
                    merged = True
                    break
        texts = []
        for path in paths:
            kept = [path[0]] + [p for p in path[1:-1] if p[1]] + [path[-1]]
            texts.append("/".join(_point_name(p) + ("*" if hit else "") for p, hit in kept))
        texts.sort(key=_notation_order)
        grouped: list[tuple[str, int]] = []
        for text in texts:
            if grouped and grouped[-1][0] == text:
                grouped[-1] = (text, grouped[-1][1] + 1)
            else:
                grouped.append((text, 1))
        if not grouped:
            return "pass"
        return " ".join(text if count == 1 else f"{text}({count})" for text, count in grouped)

    def notation_to_move(self, state: BackgammonState, text: str) -> int:
        """The legal action that ``text`` (standard notation, see :meth:`move_to_notation`)
        describes. Points are 1-24 from the mover's view, ``bar`` (or 25) and ``off`` (or 0);
        ``a/b/c`` chains, ``(n)`` repeats, ``*`` marks hits (landing on a blot hits anyway;
        ``*`` on an intermediate point picks the path through it). ``pass`` (or an empty
        string) is the move when nothing can move.

        Raises:
            IllegalMoveError: naming the text, when it is malformed, or no legal move of
                this roll matches it, or it matches several (an intermediate point is
                needed).
        """
        if self.current_player(state) < 0:
            raise IllegalMoveError(f"move {text!r}: no player is to move here")
        words = str(text).strip().lower().replace("-", "/").split()
        mover_row = [int(x) for x in self._row(state, state.turn)]
        opp_row = self._row(state, 1 - state.turn)
        marked: set[int] = set()
        target = list(mover_row)
        if words in ([], ["pass"]):
            words = []
        for word in words:
            match = _NOTATION_TERM.match(word)
            if not match:
                raise IllegalMoveError(
                    f"{text!r} is not backgammon move notation: cannot read {word!r} "
                    "(write moves like '24/18 13/11', 'bar/22*', '6/off', '8/5(2)')"
                )
            points = [
                (_parse_point(token, text), star == "*")
                for token, star in _SEGMENT.findall(match.group(1))
            ]
            repeat = int(match.group(2) or 1)
            if points[0][0] == 0 or any(p == BAR for p, _ in points[1:]):
                raise IllegalMoveError(f"{text!r}: {word!r} moves from off or onto the bar")
            if any(a <= b for (a, _), (b, _) in itertools.pairwise(points)):
                raise IllegalMoveError(f"{text!r}: {word!r} does not move towards the home board")
            if repeat < 1:
                raise IllegalMoveError(f"{text!r}: {word!r} repeats a move zero times")
            for _ in range(repeat):
                target[points[0][0]] -= 1
                target[points[-1][0]] += 1
            for point, star in points[1:]:
                if star or (point and opp_row[25 - point] == 1):
                    marked.add(point)
        if min(target) < 0:
            raise IllegalMoveError(f"{text!r} moves checkers that are not there")
        implied = marked  # named hits, and landings on a blot
        candidates = []
        _, boards, listed = self._generate(state)
        mover = 26 * state.turn
        other = 26 - mover
        for action, row in zip(listed, boards, strict=True):
            if row[mover : mover + 26].tolist() != target:
                continue
            hits = {p for p in range(1, 25) if opp_row[25 - p] == 1 and row[other + 25 - p] == 0}
            candidates.append((hits, action))
        exact = [action for hits, action in candidates if hits == implied]
        if len(exact) == 1:
            return exact[0]
        wider = [action for hits, action in candidates if hits >= implied]
        if len(wider) == 1 and not exact:
            return wider[0]
        dice = f"{state.dice[0]}-{state.dice[1]}"
        if len(wider) > 1 or len(exact) > 1:
            raise IllegalMoveError(
                f"{text!r} is ambiguous with {dice}: name the intermediate points"
            )
        raise IllegalMoveError(f"{text!r} is not a legal move with {dice} here")

    def state_from_points(
        self,
        mover: dict[int | str, int],
        opponent: dict[int | str, int],
        dice: tuple[int, int] | None = None,
        *,
        turn: int = 0,
    ) -> BackgammonState:
        """A position written as ``{point: checkers}`` for the player on roll (``turn``) and
        for the opponent, each in its own numbering (points 1-24, ``"bar"`` or 25 for the
        bar); checkers not placed are borne off. ``dice`` as for
        :meth:`state_from_position_id`.

        Example: ``state_from_points({"bar": 1, 6: 14}, {20: 2}, (6, 5))`` has one checker of
        player 0 on the bar, its other 14 on its 6-point, and two of player 1's checkers on
        player 1's 20-point, which is player 0's 5-point.

        Raises:
            ValueError: a bad point or count, more than 15 checkers for a side, or both
                sides on one point.
        """
        rows = []
        for name, checkers in (("mover", mover), ("opponent", opponent)):
            row = [0] * 26
            for point, count in checkers.items():
                slot = BAR if point == "bar" else point
                if not (isinstance(slot, int) and 1 <= slot <= 25):
                    raise ValueError(f"{name}: {point!r} is not a point 1-24 or 'bar'")
                if not (isinstance(count, int) and count >= 0):
                    raise ValueError(f"{name}: {count!r} checkers on {point!r}")
                row[slot] += count
            if sum(row) > 15:
                raise ValueError(f"{name} has {sum(row)} checkers (at most 15)")
            row[0] = 15 - sum(row)
            rows.append(row)
        for p in range(1, 25):
            if rows[0][p] and rows[1][25 - p]:
                raise ValueError(f"both sides on the mover's point {p}")
        if turn not in (0, 1):
            raise ValueError(f"turn must be 0 or 1, not {turn!r}")
        board = bytes(rows[0] + rows[1]) if turn == 0 else bytes(rows[1] + rows[0])
        rolled = (0, 0) if dice is None else _check_dice(dice)
        return BackgammonState(board, turn, rolled, 1, 0)

    # -- Position IDs ------------------------------------------------------------------------
    def position_id(self, state: BackgammonState) -> str:
        """gnubg's Position ID of ``state``, with the player on roll (or to roll) encoded as
        gnubg's player on roll; before the opening roll, player 0 (the start is symmetric)."""
        return position_id_from_board(state.board, max(state.turn, 0))

    def state_from_position_id(
        self, position_id: str, dice: tuple[int, int] | None = None, *, turn: int = 0
    ) -> BackgammonState:
        """The state of a gnubg Position ID with ``turn`` (0 or 1) on roll: a chance node
        (``turn`` to roll) when ``dice`` is None, otherwise ``turn`` to play ``dice``.

        Raises:
            ValueError: a malformed or impossible ID (see :func:`board_from_position_id`),
                dice that are not two ints 1-6, a ``turn`` other than 0 or 1, or dice given
                for a finished game.
        """
        if turn not in (0, 1):
            raise ValueError(f"turn must be 0 or 1, not {turn!r}")
        board = board_from_position_id(position_id, turn)
        rolled = (0, 0) if dice is None else _check_dice(dice)
        state = BackgammonState(board, turn, rolled, 1, 0)
        if dice is not None and self.current_player(state) == TERMINAL:
            raise ValueError(f"Position ID {position_id!r} is a finished game: no dice to play")
        return state


def _check_dice(dice: object) -> tuple[int, int]:
    try:
        a, b = dice  # type: ignore[misc]
    except (TypeError, ValueError):
        raise ValueError(f"dice must be two numbers 1-6, e.g. (6, 5), not {dice!r}") from None
    if not all(isinstance(x, int | np.integer) and 1 <= x <= 6 for x in (a, b)):
        raise ValueError(f"dice must be two numbers 1-6, e.g. (6, 5), not {dice!r}")
    return max(int(a), int(b)), min(int(a), int(b))


def _point_name(point: int) -> str:
    return "bar" if point == BAR else "off" if point == 0 else str(point)


def _notation_order(text: str) -> tuple[int, int]:
    """Paths from the highest start first, then the farthest end (``13/12 13/10*``)."""
    points = [t.rstrip("*") for t in text.split("/")]
    value = [BAR if t == "bar" else 0 if t == "off" else int(t) for t in points]
    return (-value[0], -value[-1])


def _parse_point(token: str, text: str) -> int:
    if token == "bar":
        return BAR
    if token == "off":
        return 0
    point = int(token)
    if not 0 <= point <= 25:
        raise IllegalMoveError(f"{text!r}: there is no point {point} (points are 1-24)")
    return point
