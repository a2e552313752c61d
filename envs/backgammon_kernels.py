"""Numba kernels for backgammon: every legal full move of a roll, and random playouts.

The fast mechanism under :mod:`rlkit.envs.backgammon`; the encodings are documented there
and repeated here only as far as the kernels need them.

Board array
-----------
``board``: int8 ``[52]``, two rows of 26, row ``s`` (``board[26*s : 26*s + 26]``) for player
``s``, each from that player's own point of view:

- index ``0``: checkers borne off;
- index ``p`` for ``p`` in ``1..24``: checkers on the player's own point ``p`` (it moves
  from 24 towards 1 and bears off from its home board, points 1-6);
- index ``25``: checkers on the bar.

A player's point ``p`` is the opponent's point ``25 - p``. The kernels that change a board
change arrays they were given or made (the game face copies first).

Action ids (see :mod:`rlkit.envs.backgammon` for worked examples)
------------------------------------------------------------------
A *source* is ``1..24`` (a point) or ``25`` (the bar); ``0`` means "no checker moved".

- non-double roll ``high > low``: ``(26 * h + l) * 2 + o``, ``h`` the source of the checker
  moved with the high die, ``l`` with the low die, ``o = 1`` when the low die is played
  first; ids ``0 .. 1351``;
- double roll ``d``: ``NON_DOUBLE_ACTIONS + rank(s1 >= s2 >= s3 >= s4)``, the sources of the
  (up to) four checker moves in non-increasing order, ranked in the combinatorial number
  system: ``C(s1 + 3, 4) + C(s2 + 2, 3) + C(s3 + 1, 2) + C(s4, 1)``; ids ``1352 .. 25102``.

A full move that several encodings describe (the same resulting position) gets the smallest.
"""

from __future__ import annotations

import numpy as np
from numba import njit

NUM_SLOTS = 26
BAR = 25
OFF = 0
NON_DOUBLE_ACTIONS = 2 * 26 * 26
"""Ids of non-double full moves: ``0 .. 1351``."""
DOUBLE_ACTIONS = 23751
"""Multisets of at most four sources out of 25: ``C(29, 4)``."""
NUM_ACTIONS = NON_DOUBLE_ACTIONS + DOUBLE_ACTIONS
MAX_RESULTS = DOUBLE_ACTIONS
"""More full moves than any roll can have (a non-double has at most 1352 encodings)."""


def _binomials() -> np.ndarray:
    table = np.zeros((30, 5), dtype=np.int64)
    for n in range(30):
        table[n, 0] = 1
        for k in range(1, 5):
            table[n, k] = 0 if n == 0 else table[n - 1, k - 1] + table[n - 1, k]
    return table


BINOMIAL = _binomials()
"""``BINOMIAL[n, k] == C(n, k)`` for ``n < 30``, ``k <= 4`` (a constant table)."""


@njit(cache=True, inline="always")
def double_rank(s1: int, s2: int, s3: int, s4: int) -> int:
    """Rank of the non-increasing sources ``s1 >= s2 >= s3 >= s4`` (0 = unused)."""
    return BINOMIAL[s1 + 3, 4] + BINOMIAL[s2 + 2, 3] + BINOMIAL[s3 + 1, 2] + BINOMIAL[s4, 1]


@njit(cache=True)
def _far(board, own: int) -> int:
    """The player's highest occupied slot: 25 with a checker on the bar, 0 when none is left."""
    for p in range(25, 0, -1):
        if board[own + p] > 0:
            return p
    return 0


@njit(cache=True)
def _target(board, own: int, opp: int, src: int, die: int, far: int) -> int:
    """Where a checker of the player at row offset ``own`` moves from ``src`` with ``die``
    (``far`` is :func:`_far` of the board): the destination point, ``0`` for bearing off, or
    ``-1`` if the move is illegal."""
    if board[own + src] == 0:
        return -1
    if far == BAR and src != BAR:
        return -1  # checkers on the bar enter first
    dest = src - die
    if dest >= 1:
        if board[opp + 25 - dest] >= 2:
            return -1  # blocked
        return dest
    if far > 6:
        return -1  # bearing off needs every checker in the home board
    if dest == 0 or src == far:
        return 0  # the exact die, or a higher one from the highest occupied point
    return -1


@njit(cache=True)
def _play(board, own: int, opp: int, src: int, dest: int) -> None:
    """Move one checker (legality already checked), hitting a blot on ``dest``."""
    board[own + src] -= 1
    if dest == 0:
        board[own + OFF] += 1
        return
    board[own + dest] += 1
    q = opp + 25 - dest
    if board[q] == 1:
        board[q] = 0
        board[opp + BAR] += 1


@njit(cache=True)
def _hash(board) -> np.uint64:
    h = np.uint64(1469598103934665603)
    for i in range(52):
        h = (h ^ np.uint64(board[i] + 1)) * np.uint64(1099511628211)
    return h


@njit(cache=True)
def _record(board, action, n, out_boards, out_actions, hashes, dedupe):
    """Add a candidate full move (of the longest length found so far); returns the new
    count. With ``dedupe``, a position already recorded keeps the smaller action id."""
    if dedupe:
        h = _hash(board)
        for j in range(n):
            if hashes[j] == h:
                same = True
                for i in range(52):
                    if out_boards[j, i] != board[i]:
                        same = False
                        break
                if same:
                    if action < out_actions[j]:
                        out_actions[j] = action
                    return n
        hashes[n] = h
    out_boards[n, :] = board
    out_actions[n] = action
    return n + 1


@njit(cache=True)
def generate(board, mover, high, low, out_boards, out_actions, sort=True):
    """Every legal full move of ``mover`` with dice ``high >= low``, one per resulting
    position, sorted by action id.

    Args:
        board: int8 ``[52]``, the position (layout in the module docstring); not changed.
        mover: the player to move, 0 or 1.
        high, low: the dice, ``high >= low``.
        out_boards: int8 ``[MAX_RESULTS, 52]``, receives the resulting positions.
        out_actions: int32 ``[MAX_RESULTS]``, receives their action ids.
        sort: order the results by action id (random playouts need no order).

    Returns:
        The number ``n`` of full moves (at least 1: a pass when nothing can move); rows
        ``0 .. n-1`` of the outputs hold them in increasing action order.
    """
    own = 26 * mover
    opp = 26 - own
    hashes = np.empty(NON_DOUBLE_ACTIONS, dtype=np.uint64)
    n = 0
    best = 0
    far0 = _far(board, own)
    b1 = np.empty(52, dtype=np.int8)
    b2 = np.empty(52, dtype=np.int8)
    if high != low:
        high_singles = 0
        for order in range(2):
            first = high if order == 0 else low
            second = low if order == 0 else high
            for s1 in range(far0, 0, -1):
                t1 = _target(board, own, opp, s1, first, far0)
                if t1 < 0:
                    continue
                b1[:] = board
                _play(b1, own, opp, s1, t1)
                far1 = _far(b1, own)
                extended = False
                for s2 in range(far1, 0, -1):
                    t2 = _target(b1, own, opp, s2, second, far1)
                    if t2 < 0:
                        continue
                    extended = True
                    b2[:] = b1
                    _play(b2, own, opp, s2, t2)
                    h, lo = (s1, s2) if order == 0 else (s2, s1)
                    action = (26 * h + lo) * 2 + order
                    if best < 2:
                        best = 2
                        n = 0
                    n = _record(b2, action, n, out_boards, out_actions, hashes, True)
                if not extended and best <= 1 and (order == 0 or high_singles == 0):
                    # One die only: the larger if it can be played at all (the high die's
                    # pass, order 0, runs first). A single checker move names only its die.
                    best = 1
                    if order == 0:
                        high_singles += 1
                    action = 52 * s1 if order == 0 else 2 * s1
                    n = _record(b1, action, n, out_boards, out_actions, hashes, True)
    else:
        d = high
        b3 = np.empty(52, dtype=np.int8)
        b4 = np.empty(52, dtype=np.int8)
        # Sources in non-increasing order reach every legal multiset of checker moves once
        # (see the module docstring of rlkit.envs.backgammon), so nothing repeats.
        for s1 in range(far0, 0, -1):
            t1 = _target(board, own, opp, s1, d, far0)
            if t1 < 0:
                continue
            b1[:] = board
            _play(b1, own, opp, s1, t1)
            far1 = _far(b1, own)
            leaf1 = True
            for s2 in range(min(s1, far1), 0, -1):
                t2 = _target(b1, own, opp, s2, d, far1)
                if t2 < 0:
                    continue
                leaf1 = False
                b2[:] = b1
                _play(b2, own, opp, s2, t2)
                far2 = _far(b2, own)
                leaf2 = True
                for s3 in range(min(s2, far2), 0, -1):
                    t3 = _target(b2, own, opp, s3, d, far2)
                    if t3 < 0:
                        continue
                    leaf2 = False
                    b3[:] = b2
                    _play(b3, own, opp, s3, t3)
                    far3 = _far(b3, own)
                    leaf3 = True
                    for s4 in range(min(s3, far3), 0, -1):
                        t4 = _target(b3, own, opp, s4, d, far3)
                        if t4 < 0:
                            continue
                        leaf3 = False
                        b4[:] = b3
                        _play(b4, own, opp, s4, t4)
                        if best < 4:
                            best = 4
                            n = 0
                        action = NON_DOUBLE_ACTIONS + double_rank(s1, s2, s3, s4)
                        n = _record(b4, action, n, out_boards, out_actions, hashes, False)
                    if leaf3 and best <= 3:
                        if best < 3:
                            best = 3
                            n = 0
                        action = NON_DOUBLE_ACTIONS + double_rank(s1, s2, s3, 0)
                        n = _record(b3, action, n, out_boards, out_actions, hashes, False)
                if leaf2 and best <= 2:
                    if best < 2:
                        best = 2
                        n = 0
                    action = NON_DOUBLE_ACTIONS + double_rank(s1, s2, 0, 0)
                    n = _record(b2, action, n, out_boards, out_actions, hashes, False)
            if leaf1 and best <= 1:
                best = 1
                action = NON_DOUBLE_ACTIONS + double_rank(s1, 0, 0, 0)
                n = _record(b1, action, n, out_boards, out_actions, hashes, False)
    if n == 0:
        out_boards[0, :] = board
        out_actions[0] = 0 if high != low else NON_DOUBLE_ACTIONS
        return 1
    if not sort:
        return n
    ascending = True
    for j in range(1, n):
        if out_actions[j - 1] > out_actions[j]:
            ascending = False
            break
    if ascending:
        return n
    order_ = np.argsort(out_actions[:n], kind="mergesort")
    sorted_boards = out_boards[:n][order_]
    sorted_actions = out_actions[:n][order_]
    out_boards[:n] = sorted_boards
    out_actions[:n] = sorted_actions
    return n


@njit(cache=True)
def result_points(board, winner: int) -> int:
    """1, 2 or 3: single game, gammon (the loser bore off nothing) or backgammon (and the
    loser still has a checker on the bar or in the winner's home board)."""
    loser = 26 * (1 - winner)
    if board[loser + OFF] > 0:
        return 1
    # the winner's home board is the loser's points 19..24
    for p in range(19, 26):
        if board[loser + p] > 0:
            return 3
    return 2


@njit(cache=True)
def _next_random(state):
    """xorshift64* step on ``state[0]``; returns 64 random bits."""
    x = state[0]
    x ^= x >> np.uint64(12)
    x ^= x << np.uint64(25)
    x ^= x >> np.uint64(27)
    state[0] = x
    return x * np.uint64(2685821657736338717)


@njit(cache=True)
def _below(state, n: int) -> int:
    """A uniform integer in ``range(n)`` (``n`` small: the bias is below 2**-50)."""
    return int((_next_random(state) >> np.uint64(11)) % np.uint64(n))


@njit(cache=True)
def random_games(board, mover, high, low, ply, max_ply, games, seed, out_boards, out_actions):
    """Uniformly random playouts from one position, each decision picking uniformly among
    the distinct legal full moves generated by :func:`generate`.

    Args:
        board, mover: the start; ``mover`` is the player on roll.
        high, low: the dice already rolled, or ``0, 0`` to roll first.
        ply, max_ply: decisions played so far, and the limit (the game is a draw there).
        games: how many playouts.
        seed: seeds the kernel's own generator (xorshift64*).
        out_boards, out_actions: work space as for :func:`generate`.

    Returns:
        int64 ``[games, 3]``: the winner (-1 for a draw at ``max_ply``), the points (0, 1, 2
        or 3) and the number of decisions played in the playout.
    """
    results = np.zeros((games, 3), dtype=np.int64)
    rng = np.empty(1, dtype=np.uint64)
    rng[0] = np.uint64(seed) * np.uint64(6364136223846793005) + np.uint64(1442695040888963407)
    if rng[0] == 0:
        rng[0] = np.uint64(88172645463325252)
    b = np.empty(52, dtype=np.int8)
    for g in range(games):
        b[:] = board
        player = mover
        d1, d2 = high, low
        count = ply
        winner = -1
        points = 0
        while count < max_ply:
            if d1 == 0:
                a = _below(rng, 6) + 1
                c = _below(rng, 6) + 1
                d1, d2 = max(a, c), min(a, c)
            n = generate(b, player, d1, d2, out_boards, out_actions, False)
            k = _below(rng, n)
            b[:] = out_boards[k]
            count += 1
            if b[26 * player + OFF] == 15:
                winner = player
                points = result_points(b, player)
                break
            player = 1 - player
            d1, d2 = 0, 0
        results[g, 0] = winner
        results[g, 1] = points
        results[g, 2] = count - ply
    return results
