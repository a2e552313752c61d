"""Pubeval: Gerald Tesauro's public-domain linear backgammon evaluator, the classic benchmark.

Registry name ``pubeval``. At each decision the agent plays the legal full move whose
resulting position (the *afterstate*, opponent to roll) has the highest pubeval score.

Source of the weights and the encoding: Tesauro's ``pubeval.c``, posted to
rec.games.backgammon in 1993 "as a public service to the backgammon programming community"
(archived at https://bkgm.com/rgb/rgb.cgi?view+610), and carried verbatim by OpenBSD's
``games/backgammon`` (``pubeval.c`` rev. 1.3, headed "Public domain, Gerry Tesauro") and by
GNU Backgammon (``pub_eval.c``, "by Gerry Tesauro, modified by Gary Wong"). The two weight
vectors below were checked number for number against both copies. Tesauro describes its use
as a benchmark in "Temporal difference learning and TD-Gammon", Communications of the ACM 38
(3), 1995.

The 122 inputs
--------------
All from the point of view of the player who has just moved (pubeval's "computer"), with its
points numbered 1-24 from its own side (it moves from 24 towards 1). For ``g = 0 .. 23`` the
five inputs ``5*g .. 5*g + 4`` describe its point ``p = 24 - g`` (group 0 is its 24-point,
group 23 its 1-point), holding ``n`` own checkers or ``m`` opposing ones (never both):

- ``5*g + 0``: 1 if ``m == 1`` (an opposing blot),
- ``5*g + 1``: 1 if ``n == 1`` (an own blot),
- ``5*g + 2``: 1 if ``n >= 2`` (an own point),
- ``5*g + 3``: 1 if ``n == 3``,
- ``5*g + 4``: ``(n - 3) / 2`` if ``n >= 4``, else 0,

then ``120``: the opponent's checkers on the bar / 2 (pubeval's ``-pos[0] / 2``) and ``121``:
the player's checkers borne off / 15. The player's own checkers on the bar and the opponent's
borne-off checkers are not inputs. Example, the starting position (for either player):
groups 0 (24-point, 2 checkers), 11 (13-point, 5), 16 (8-point, 3) and 18 (6-point, 5) give
``x[2] = 1``, ``x[57] = x[59] = 1``, ``x[82] = x[83] = 1`` and ``x[92] = x[94] = 1``, and no
other input is set, so its contact score is ``wc[2] + wc[57] + wc[59] + wc[82] + wc[83] +
wc[92] + wc[94] = 6.84055``.

Score and the race switch
-------------------------
``score = w . x`` with ``w`` the *race* weights when the position *before* the move is a race
(no contact: every checker of each side has passed every checker of the other), else the
*contact* weights. A position with all fifteen checkers borne off scores 99999999 (as in the
original). The score only ranks moves: it is not a probability or an equity, and its offset
is arbitrary (the start scores 6.84 for the side that "just moved").

    >>> from rlkit.envs.backgammon import START_BOARD
    >>> import numpy as np
    >>> board = np.frombuffer(START_BOARD, np.int8)
    >>> round(float(pubeval_scores(board[None], 0, race=False)[0]), 5)
    6.84055
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit

from rlkit.errors import IncompatibleEnvError
from rlkit.game import TERMINAL, Game, GameAgent

__all__ = [
    "CONTACT_WEIGHTS",
    "PUBEVAL_SCALE",
    "RACE_WEIGHTS",
    "PubEval",
    "board_is_race",
    "board_score",
    "is_race",
    "pubeval_evaluator",
    "pubeval_inputs",
    "pubeval_scores",
]

CONTACT_WEIGHTS = np.array(
    [
        0.25696, -0.66937, -1.66135, -2.02487, -2.53398, -0.16092, -1.11725, -1.06654,
        -0.92830, -1.99558, -1.10388, -0.80802, 0.09856, -0.62086, -1.27999, -0.59220,
        -0.73667, 0.89032, -0.38933, -1.59847, -1.50197, -0.60966, 1.56166, -0.47389,
        -1.80390, -0.83425, -0.97741, -1.41371, 0.24500, 0.10970, -1.36476, -1.05572,
        1.15420, 0.11069, -0.38319, -0.74816, -0.59244, 0.81116, -0.39511, 0.11424,
        -0.73169, -0.56074, 1.09792, 0.15977, 0.13786, -1.18435, -0.43363, 1.06169,
        -0.21329, 0.04798, -0.94373, -0.22982, 1.22737, -0.13099, -0.06295, -0.75882,
        -0.13658, 1.78389, 0.30416, 0.36797, -0.69851, 0.13003, 1.23070, 0.40868,
        -0.21081, -0.64073, 0.31061, 1.59554, 0.65718, 0.25429, -0.80789, 0.08240,
        1.78964, 0.54304, 0.41174, -1.06161, 0.07851, 2.01451, 0.49786, 0.91936,
        -0.90750, 0.05941, 1.83120, 0.58722, 1.28777, -0.83711, -0.33248, 2.64983,
        0.52698, 0.82132, -0.58897, -1.18223, 3.35809, 0.62017, 0.57353, -0.07276,
        -0.36214, 4.37655, 0.45481, 0.21746, 0.10504, -0.61977, 3.54001, 0.04612,
        -0.18108, 0.63211, -0.87046, 2.47673, -0.48016, -1.27157, 0.86505, -1.11342,
        1.24612, -0.82385, -2.77082, 1.23606, -1.59529, 0.10438, -1.30206, -4.11520,
        5.62596, -2.75800,
    ]
)  # fmt: skip
"""Tesauro's contact weights ``wc[122]`` (see the module docstring for the source)."""

RACE_WEIGHTS = np.array(
    [
        0.00000, -0.17160, 0.27010, 0.29906, -0.08471, 0.00000, -1.40375, -1.05121,
        0.07217, -0.01351, 0.00000, -1.29506, -2.16183, 0.13246, -1.03508, 0.00000,
        -2.29847, -2.34631, 0.17253, 0.08302, 0.00000, -1.27266, -2.87401, -0.07456,
        -0.34240, 0.00000, -1.34640, -2.46556, -0.13022, -0.01591, 0.00000, 0.27448,
        0.60015, 0.48302, 0.25236, 0.00000, 0.39521, 0.68178, 0.05281, 0.09266,
        0.00000, 0.24855, -0.06844, -0.37646, 0.05685, 0.00000, 0.17405, 0.00430,
        0.74427, 0.00576, 0.00000, 0.12392, 0.31202, -0.91035, -0.16270, 0.00000,
        0.01418, -0.10839, -0.02781, -0.88035, 0.00000, 1.07274, 2.00366, 1.16242,
        0.22520, 0.00000, 0.85631, 1.06349, 1.49549, 0.18966, 0.00000, 0.37183,
        -0.50352, -0.14818, 0.12039, 0.00000, 0.13681, 0.13978, 1.11245, -0.12707,
        0.00000, -0.22082, 0.20178, -0.06285, -0.52728, 0.00000, -0.13597, -0.19412,
        -0.09308, -1.26062, 0.00000, 3.05454, 5.16874, 1.50680, 5.35000, 0.00000,
        2.19605, 3.85390, 0.88296, 2.30052, 0.00000, 0.92321, 1.08744, -0.11696,
        -0.78560, 0.00000, -0.09795, -0.83050, -1.09167, -4.94251, 0.00000, -1.00316,
        -3.66465, -2.56906, -9.67677, 0.00000, -2.77982, -7.26713, -3.40177, -12.32252,
        0.00000, 3.42040,
    ]
)  # fmt: skip
"""Tesauro's race weights ``wr[122]`` (see the module docstring for the source)."""

WIN_SCORE = 99999999.0
"""The score of a position with every checker of the player borne off (as in pubeval.c)."""

PUBEVAL_SCALE = 10.0
"""Scores are squashed as ``tanh(score / PUBEVAL_SCALE)`` by :func:`pubeval_evaluator`."""

_BAR = 25


def pubeval_inputs(boards: np.ndarray, player: int) -> np.ndarray:
    """Pubeval's 122 inputs of positions seen by ``player`` (the player who has just moved).

    Args:
        boards: int8 ``[N, 52]`` (or ``[52]``), boards in the layout of
            :mod:`rlkit.envs.backgammon` (row ``s`` is player ``s``'s 26 counts: borne off,
            its points 1-24, bar).
        player: 0 or 1.

    Returns:
        float64 ``[N, 122]`` (the layout is in the module docstring).
    """
    rows = np.asarray(boards, dtype=np.int64).reshape(-1, 2, 26)
    own = rows[:, player, 24:0:-1]  # [N, 24]: its points 24, 23, ..., 1 (group g is 24 - g)
    # The opponent's point q is the player's 25 - q; its points 1..24 are the player's 24..1.
    opp = rows[:, 1 - player, 1:25]
    x = np.zeros((rows.shape[0], 122))
    groups = x[:, :120].reshape(-1, 24, 5)
    groups[:, :, 0] = opp == 1
    groups[:, :, 1] = own == 1
    groups[:, :, 2] = own >= 2
    groups[:, :, 3] = own == 3
    groups[:, :, 4] = np.maximum(own - 3, 0) / 2.0
    x[:, 120] = rows[:, 1 - player, _BAR] / 2.0
    x[:, 121] = rows[:, player, 0] / 15.0
    return x


def is_race(board: np.ndarray | bytes, player: int = 0) -> bool:
    """Whether the position is a race: no checker of either side still has to pass one of the
    other's. (Symmetric in the players; ``player`` only names the row read first.)"""
    rows = np.frombuffer(board, np.int8) if isinstance(board, bytes) else np.asarray(board)
    rows = rows.reshape(2, 26)
    far = []
    for side in (player, 1 - player):
        occupied = np.flatnonzero(rows[side, 1:26])
        far.append(int(occupied[-1]) + 1 if occupied.size else 0)
    # The player's point p faces the opponent's 25 - p: contact while p > 25 - q.
    return far[0] + far[1] <= 25


def pubeval_scores(boards: np.ndarray, player: int, *, race: bool) -> np.ndarray:
    """Pubeval scores of positions for ``player`` (who has just moved), in one matrix product.

    Args:
        boards: int8 ``[N, 52]`` (or ``[52]``), e.g. every afterstate of one move.
        player: 0 or 1.
        race: use the race weights (pubeval decides this on the position *before* the move).

    Returns:
        float64 ``[N]``; :data:`WIN_SCORE` where the player has borne off all 15 checkers.
    """
    rows = np.asarray(boards).reshape(-1, 52)
    scores = pubeval_inputs(rows, player) @ (RACE_WEIGHTS if race else CONTACT_WEIGHTS)
    scores[rows[:, 26 * player] == 15] = WIN_SCORE
    return scores


def pubeval_evaluator(game: Game, state: Any, player: int) -> float:
    """A zero-sum heuristic value from pubeval, for :class:`~rlkit.agents.minimax.Minimax`.

    Pubeval scores a position for the player who has just moved, with the other to roll. So
    the value of a state with ``X`` on roll (to roll at a chance node, or to play its dice)
    is ``v = tanh(score / PUBEVAL_SCALE)`` for the other player ``Y`` (scored as pubeval's
    "computer", with the race weights when the position is a race), and ``-v`` for ``X``.
    Values lie strictly inside ``(-1, 1)``, below any proven win; they rank moves as pubeval
    does but are not calibrated probabilities or equities (scores of typical positions lie
    roughly between -15 and +25). Terminal states give the game's returns; the position
    before the opening roll is worth 0.

    ``minimax:depth=1`` with this evaluator plays pubeval's moves except that the race
    switch is read after the move; ``depth=2`` is pubeval at 2 ply.
    """
    if game.current_player(state) == TERMINAL:
        return float(game.returns(state)[player])
    if state.turn < 0:
        return 0.0
    mover = 1 - state.turn
    board = np.frombuffer(state.board, np.int8)
    score = float(pubeval_scores(board, mover, race=is_race(board))[0])
    value = math.tanh(score / PUBEVAL_SCALE)
    return value if player == mover else -value


# -- compiled, one board at a time (for the games that TD(lambda) plays against pubeval) -----
@njit(cache=True)
def board_is_race(board: np.ndarray) -> bool:
    """:func:`is_race` of an int8 ``[52]`` board, compiled."""
    far0 = 0
    far1 = 0
    for p in range(25, 0, -1):
        if far0 == 0 and board[p] > 0:
            far0 = p
        if far1 == 0 and board[26 + p] > 0:
            far1 = p
    return far0 + far1 <= 25


@njit(cache=True)
def board_score(board: np.ndarray, player: int, weights: np.ndarray) -> float:
    """:func:`pubeval_scores` of one int8 ``[52]`` board for ``player`` with ``weights``
    (:data:`RACE_WEIGHTS` or :data:`CONTACT_WEIGHTS`), compiled."""
    own = 26 * player
    opp = 26 - own
    if board[own] == 15:
        return WIN_SCORE
    score = 0.0
    for g in range(24):
        n = board[own + 24 - g]
        if board[opp + 1 + g] == 1:
            score += weights[5 * g]
        if n == 1:
            score += weights[5 * g + 1]
        elif n >= 2:
            score += weights[5 * g + 2]
            if n == 3:
                score += weights[5 * g + 3]
            elif n >= 4:
                score += weights[5 * g + 4] * (n - 3) / 2.0
    score += weights[120] * board[opp + _BAR] / 2.0
    score += weights[121] * board[own] / 15.0
    return score


class PubEval(GameAgent):
    """Plays the move whose afterstate has the highest pubeval score (ties: lowest action id).

    Args:
        config: none (:class:`~rlkit.agent.NoConfig`).
        game: a :class:`~rlkit.envs.backgammon.BackgammonGame`.
        seed: unused (pubeval is deterministic); accepted for the registry.

    Raises:
        IncompatibleEnvError: for any game other than backgammon.
    """

    def __init__(self, config: Any, game: Game, *, seed: int | None = None) -> None:
        super().__init__(config, game, seed=seed)
        if game.info.name != "backgammon" or not hasattr(game, "afterstates"):
            raise IncompatibleEnvError(
                f"pubeval plays backgammon only, not {game.info.name!r} (--env backgammon)"
            )

    def value(self, state: Any, player: int) -> float:
        """Pubeval's zero-sum value of ``state`` for ``player`` (see :func:`pubeval_evaluator`);
        what ``minimax:value=pubeval`` searches with."""
        return pubeval_evaluator(self.game, state, player)

    def act(self, state: Any) -> int:
        """The legal move whose afterstate pubeval scores highest."""
        after = self.game.afterstates(state)
        if not after:
            raise ValueError("pubeval needs a state with a player to move")
        if len(after) == 1:
            return after[0][0]
        boards = np.frombuffer(b"".join(s.board for _, s in after), np.int8).reshape(-1, 52)
        scores = pubeval_scores(boards, state.turn, race=is_race(state.board))
        return after[int(np.argmax(scores))][0]
