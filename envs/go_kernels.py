"""Numba kernels for the rules of Go: the fast mechanism under :mod:`rlkit.envs.go`.

Everything here works on small numpy arrays that describe one position; the kernels that
change a position change arrays they were given (the Go face copies first, so callers never
see a state change). Board size is never a global: it is the length of the arrays.

Points are numbered ``p = row * size + col`` with row 0 the top row; ``N = size * size``.

Arrays of a position
--------------------
``board``: int8 ``[N]``
    ``EMPTY`` (0), ``BLACK`` (1) or ``WHITE`` (2) per point.
``chains``: int32 ``[NUM_CHAIN_ROWS, N]``, incremental chain (string) bookkeeping:

    - ``chains[HEAD, p]``: for a stone, the point naming its chain (the chain's *head*);
      ``-1`` for an empty point.
    - ``chains[NEXT, p]``: the next stone of the same chain; the stones of a chain form a
      circular list, so a chain is walked in time proportional to its size.
    - ``chains[NLIB, h]``, ``chains[LSUM, h]``, ``chains[LSQ, h]`` (at a head ``h``):
      *pseudo-liberties* (the number of (stone, adjacent empty point) pairs of the chain),
      and the sum and the sum of squares of those empty points' numbers. A chain has no
      liberty iff ``NLIB == 0``, and exactly one liberty (it is in atari) iff all its
      pseudo-liberties are the same point, i.e. ``NLIB * LSQ == LSUM ** 2`` (equality in
      Cauchy-Schwarz); the liberty is then ``LSUM // NLIB``. Pseudo-liberties update in
      O(1) when a stone is placed next to a chain or two chains merge (the trick of GNU Go
      and Fuego), where exact liberty sets would need a walk of the chain.
    - ``chains[SIZE, h]``: the number of stones of the chain at head ``h``.
``hashes``: uint64 ``[N + 2 + BLOOM_WORDS + M]``, all the 64-bit Zobrist numbers:

    - ``hashes[h]`` for a head ``h``: XOR of the Zobrist keys of the chain's stones, so the
      position after a capture is known without walking the captured chain;
    - ``hashes[N + CUR]``: the Zobrist hash of the board (stones only, not the side to move);
    - ``hashes[N + PREV]``: the board hash before the last move (for the simple-ko rule);
    - ``hashes[N + BLOOM : N + BLOOM + BLOOM_WORDS]``: a 4096-bit filter of the board hashes
      seen in this game (bit = top 12 bits of the hash), which answers "never seen" for most
      candidate moves with one memory read;
    - ``hashes[N + SEEN :]``: the ``M`` distinct board hashes seen in this game (the start
      position and every position after a move), sorted, for positional superko by binary
      search.

``zobrist``: uint64 ``[N, 3]``, the key of a stone of each colour on each point (column 0,
empty, is zero). ``neighbours``: int32 ``[N, 4]``, the orthogonal neighbours of each point,
``-1`` padded.
"""

from __future__ import annotations

import numpy as np
from numba import njit

EMPTY, BLACK, WHITE = 0, 1, 2

# Rows of ``chains``.
HEAD, NEXT, NLIB, LSUM, LSQ, SIZE = 0, 1, 2, 3, 4, 5
NUM_CHAIN_ROWS = 6

# Offsets after the N per-chain hashes in ``hashes``.
CUR, PREV, BLOOM = 0, 1, 2
BLOOM_WORDS = 64
SEEN = BLOOM + BLOOM_WORDS

# Results of checking a move.
OK, OCCUPIED, SUICIDE, KO = 0, 1, 2, 3

# How a random game ended (``random_games``/``random_play``).
ENDED_BY_PASSES, TRUNCATED = 0, 1

_U64 = np.uint64

# How each function is compiled. Numba counts references to arrays (NRT) and, in a function
# compiled with NRT, each call of a helper on arrays costs atomic increments and decrements of
# those counts; that was four fifths of a legality check. So the kernels that never allocate
# are compiled without NRT (``_nrt=False``), small helpers are inlined into them, and only
# the entry points that allocate arrays use NRT, calling an NRT-free kernel once per call.
_compute = njit(cache=True, _nrt=False)
_helper = njit(cache=True, inline="always")
_entry = njit(cache=True)


# --------------------------------------------------------------------------------------------
# Tables (plain numpy, computed once per GoGame)
# --------------------------------------------------------------------------------------------
def neighbour_table(size: int) -> np.ndarray:
    """Orthogonal neighbours of every point, int32 ``[size*size, 4]``, ``-1`` padded."""
    table = np.full((size * size, 4), -1, dtype=np.int32)
    for row in range(size):
        for col in range(size):
            found = [
                (r * size + c)
                for r, c in ((row - 1, col), (row, col - 1), (row, col + 1), (row + 1, col))
                if 0 <= r < size and 0 <= c < size
            ]
            table[row * size + col, : len(found)] = found
    return table


def zobrist_table(size: int, seed: int = 20240917) -> np.ndarray:
    """Zobrist keys uint64 ``[size*size, 3]`` (column 0, empty, is zero); fixed by ``seed``."""
    rng = np.random.default_rng([seed, size])
    table = np.zeros((size * size, 3), dtype=np.uint64)
    table[:, 1:] = rng.integers(
        0, np.iinfo(np.uint64).max, size=(size * size, 2), dtype=np.uint64, endpoint=True
    )
    return table


@_entry
def _empty_arrays(n, spare):
    """Board, chains and hashes of the empty board, with room for ``spare`` more seen boards.
    The empty board's hash (0) is the one position seen."""
    board = np.zeros(n, dtype=np.int8)
    chains = np.zeros((NUM_CHAIN_ROWS, n), dtype=np.int32)
    chains[HEAD] = -1
    chains[NEXT] = -1
    hashes = np.zeros(n + SEEN + 1 + spare, dtype=np.uint64)
    hashes[n + BLOOM] = _U64(1)  # the bloom bit of hash 0 (word 0, bit 0)
    return board, chains, hashes


def empty_position(size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(board, chains, hashes)`` of the empty board, whose hash (0) is the one position seen."""
    return _empty_arrays(size * size, 0)


# --------------------------------------------------------------------------------------------
# Seen-position set: bloom filter + sorted array inside ``hashes``
# --------------------------------------------------------------------------------------------
@_helper
def _bloom_bit(h):
    top = np.int64(h >> _U64(52))  # 0 .. 4095
    return top >> 6, _U64(1) << _U64(top & 63)


@_helper
def seen_contains(hashes, n, count, h):
    """Whether board hash ``h`` is among the ``count`` sorted seen hashes."""
    word, bit = _bloom_bit(h)
    if hashes[n + BLOOM + word] & bit == 0:
        return False
    lo = n + SEEN
    hi = lo + count
    while lo < hi:  # binary search for the first entry >= h
        mid = (lo + hi) >> 1
        if hashes[mid] < h:
            lo = mid + 1
        else:
            hi = mid
    return lo < n + SEEN + count and hashes[lo] == h


@_compute
def seen_insert(hashes, n, count, h):
    """Insert ``h`` into the sorted seen hashes (room for one more is assumed); new count."""
    lo = n + SEEN
    hi = lo + count
    while lo < hi:
        mid = (lo + hi) >> 1
        if hashes[mid] < h:
            lo = mid + 1
        else:
            hi = mid
    end = n + SEEN + count
    if lo < end and hashes[lo] == h:
        return count
    for i in range(end, lo, -1):
        hashes[i] = hashes[i - 1]
    hashes[lo] = h
    word, bit = _bloom_bit(h)
    hashes[n + BLOOM + word] |= bit
    return count + 1


# --------------------------------------------------------------------------------------------
# Chains
# --------------------------------------------------------------------------------------------
@_helper
def _add_liberty(chains, head, point):
    chains[NLIB, head] += 1
    chains[LSUM, head] += point
    chains[LSQ, head] += point * point


@_helper
def _remove_liberty(chains, head, point):
    chains[NLIB, head] -= 1
    chains[LSUM, head] -= point
    chains[LSQ, head] -= point * point


@_helper
def in_atari(chains, head):
    """Whether the chain at ``head`` has exactly one liberty."""
    count = np.int64(chains[NLIB, head])
    total = np.int64(chains[LSUM, head])
    return count > 0 and count * np.int64(chains[LSQ, head]) == total * total


@_compute
def _merge(chains, hashes, a, b):
    """Merge the chains at heads ``a`` and ``b``: relabel the smaller; returns the new head."""
    if chains[SIZE, a] < chains[SIZE, b]:
        a, b = b, a
    stone = b
    while True:
        chains[HEAD, stone] = a
        stone = chains[NEXT, stone]
        if stone == b:
            break
    # splice the two circular lists
    after_a = chains[NEXT, a]
    chains[NEXT, a] = chains[NEXT, b]
    chains[NEXT, b] = after_a
    chains[SIZE, a] += chains[SIZE, b]
    chains[NLIB, a] += chains[NLIB, b]
    chains[LSUM, a] += chains[LSUM, b]
    chains[LSQ, a] += chains[LSQ, b]
    hashes[a] ^= hashes[b]
    return a


@_compute
def _remove_chain(board, chains, hashes, zobrist, neighbours, head):
    """Take the chain at ``head`` off the board; returns the number of stones removed."""
    n = board.size
    colour = board[head]
    removed = 0
    stone = head
    while True:  # first empty every point, so the second walk sees only the capturer's stones
        board[stone] = EMPTY
        hashes[n + CUR] ^= zobrist[stone, colour]
        removed += 1
        stone = chains[NEXT, stone]
        if stone == head:
            break
    while True:  # each freed point is a new liberty of every adjacent (capturing) stone
        for i in range(4):
            q = neighbours[stone, i]
            if q >= 0 and board[q] != EMPTY:
                _add_liberty(chains, chains[HEAD, q], stone)
        after = chains[NEXT, stone]
        chains[HEAD, stone] = -1
        chains[NEXT, stone] = -1
        stone = after
        if stone == head:
            break
    chains[NLIB, head] = 0
    chains[LSUM, head] = 0
    chains[LSQ, head] = 0
    chains[SIZE, head] = 0
    hashes[head] = _U64(0)
    return removed


@_compute
def place_stone(board, chains, hashes, zobrist, neighbours, point, colour):
    """Play a stone that :func:`check_move` accepted, in place; returns the stones captured.

    Time: O(1) plus the stones of the smaller chains merged and of the chains captured.
    """
    n = board.size
    opponent = 3 - colour
    for i in range(4):  # the point stops being a liberty of each adjacent stone's chain
        q = neighbours[point, i]
        if q >= 0 and board[q] != EMPTY:
            _remove_liberty(chains, chains[HEAD, q], point)
    board[point] = colour
    chains[HEAD, point] = point
    chains[NEXT, point] = point
    chains[SIZE, point] = 1
    chains[NLIB, point] = 0
    chains[LSUM, point] = 0
    chains[LSQ, point] = 0
    key = zobrist[point, colour]
    hashes[point] = key
    hashes[n + CUR] ^= key
    for i in range(4):
        q = neighbours[point, i]
        if q >= 0 and board[q] == EMPTY:
            _add_liberty(chains, point, q)
    head = point
    for i in range(4):
        q = neighbours[point, i]
        if q >= 0 and board[q] == colour and chains[HEAD, q] != head:
            head = _merge(chains, hashes, head, chains[HEAD, q])
    captured = 0
    for i in range(4):
        q = neighbours[point, i]
        if q >= 0 and board[q] == opponent and chains[NLIB, chains[HEAD, q]] == 0:
            captured += _remove_chain(board, chains, hashes, zobrist, neighbours, chains[HEAD, q])
    return captured


@_helper
def check_move(board, chains, hashes, zobrist, neighbours, point, colour, count, superko):
    """Whether ``colour`` may play at ``point``, without changing anything.

    Returns ``(code, new_hash)``: ``code`` is ``OK``, ``OCCUPIED``, ``SUICIDE`` or ``KO`` (the
    move recreates an earlier board: any of the ``count`` seen ones under positional
    superko, else the board before the last move), and ``new_hash`` is the board hash the
    move would make (computed from the chain hashes of the captured chains, O(1)).
    """
    n = board.size
    if board[point] != EMPTY:
        return OCCUPIED, _U64(0)
    opponent = 3 - colour
    new_hash = hashes[n + CUR] ^ zobrist[point, colour]
    breathes = False
    for i in range(4):
        q = neighbours[point, i]
        if q < 0:
            continue
        stone = board[q]
        if stone == EMPTY:
            breathes = True
        elif stone == colour:
            if not in_atari(chains, chains[HEAD, q]):
                breathes = True  # the joined chain keeps a liberty other than this point
        elif in_atari(chains, chains[HEAD, q]):  # its only liberty is this point: captured
            head = chains[HEAD, q]
            first = True  # count a chain adjacent on two sides once
            for j in range(i):
                r = neighbours[point, j]
                if r >= 0 and board[r] == opponent and chains[HEAD, r] == head:
                    first = False
            if first:
                new_hash ^= hashes[head]
            breathes = True
    if not breathes:
        return SUICIDE, new_hash
    if superko:
        if seen_contains(hashes, n, count, new_hash):
            return KO, new_hash
    elif new_hash == hashes[n + PREV]:
        return KO, new_hash
    return OK, new_hash


# --------------------------------------------------------------------------------------------
# Entry points used by the Go face
# --------------------------------------------------------------------------------------------
@_compute
def _check(board, chains, hashes, zobrist, neighbours, point, colour, superko):
    code, _ = check_move(
        board,
        chains,
        hashes,
        zobrist,
        neighbours,
        point,
        colour,
        hashes.size - board.size - SEEN,
        superko,
    )
    return code


@_compute
def _play_and_record(board, chains, hashes, zobrist, neighbours, point, colour, count):
    """:func:`place_stone`, then the new board joins the seen set; the new seen count."""
    n = board.size
    hashes[n + PREV] = hashes[n + CUR]
    place_stone(board, chains, hashes, zobrist, neighbours, point, colour)
    return seen_insert(hashes, n, count, hashes[n + CUR])


@_entry
def apply_move(board, chains, hashes, zobrist, neighbours, point, colour, superko):
    """Copy the position and play ``point`` (not pass) for ``colour`` on the copy.

    Returns ``(code, board, chains, hashes)``; on an illegal move, ``code != OK`` and the
    given arrays come back unchanged.
    """
    code = _check(board, chains, hashes, zobrist, neighbours, point, colour, superko)
    if code != OK:
        return code, board, chains, hashes
    count = hashes.size - board.size - SEEN
    new_board = board.copy()
    new_chains = chains.copy()
    new_hashes = np.empty(hashes.size + 1, dtype=np.uint64)
    new_hashes[: hashes.size] = hashes
    new_count = _play_and_record(
        new_board, new_chains, new_hashes, zobrist, neighbours, point, colour, count
    )
    if new_count == count:  # a repeated board (only without superko): nothing new to keep
        new_hashes = new_hashes[: hashes.size]
    return OK, new_board, new_chains, new_hashes


@_compute
def _fill_legal(board, chains, hashes, zobrist, neighbours, colour, superko, mask):
    """Write the legality of every action into bool ``mask[N + 1]``; the number legal."""
    n = board.size
    count = hashes.size - n - SEEN
    legal = 1
    for p in range(n):
        ok = False
        if board[p] == EMPTY:
            code, _ = check_move(
                board, chains, hashes, zobrist, neighbours, p, colour, count, superko
            )
            ok = code == OK
        mask[p] = ok
        legal += ok
    mask[n] = True  # pass
    return legal


@_entry
def legal_mask(board, chains, hashes, zobrist, neighbours, colour, superko):
    """bool ``[N + 1]``: the legal points of ``colour``, and pass (always legal) last."""
    mask = np.empty(board.size + 1, dtype=np.bool_)
    _fill_legal(board, chains, hashes, zobrist, neighbours, colour, superko, mask)
    return mask


@_entry
def legal_actions(board, chains, hashes, zobrist, neighbours, colour, superko):
    """int64 array of the legal actions of ``colour``, ascending, pass (``N``) last."""
    mask = np.empty(board.size + 1, dtype=np.bool_)
    legal = _fill_legal(board, chains, hashes, zobrist, neighbours, colour, superko, mask)
    out = np.empty(legal, dtype=np.int64)
    k = 0
    for a in range(board.size + 1):
        if mask[a]:
            out[k] = a
            k += 1
    return out


@_compute
def _area(board, neighbours, region, stack):
    """Tromp-Taylor area ``(black, white)`` using the scratch int32 arrays ``region`` and
    ``stack`` (``[N]`` each)."""
    n = board.size
    black = 0
    white = 0
    for p in range(n):
        region[p] = -1
    for p in range(n):
        if board[p] == BLACK:
            black += 1
        elif board[p] == WHITE:
            white += 1
        elif region[p] < 0:  # flood-fill this empty region once
            size = 0
            reaches = 0  # bit 1: touches black, bit 2: touches white
            stack[0] = p
            region[p] = p
            top = 1
            while top > 0:
                top -= 1
                q = stack[top]
                size += 1
                for i in range(4):
                    r = neighbours[q, i]
                    if r < 0:
                        continue
                    if board[r] == EMPTY:
                        if region[r] < 0:
                            region[r] = p
                            stack[top] = r
                            top += 1
                    else:
                        reaches |= board[r]
            if reaches == BLACK:
                black += size
            elif reaches == WHITE:
                white += size
    return black, white


@_entry
def area(board, neighbours):
    """Tromp-Taylor area: ``(black, white)`` = stones plus the empty points from which only
    that colour's stones can be reached."""
    scratch = np.empty((2, board.size), dtype=np.int32)
    return _area(board, neighbours, scratch[0], scratch[1])


@_compute
def board_hash(board, zobrist):
    """The Zobrist hash of ``board`` computed from scratch (for checks)."""
    h = _U64(0)
    for p in range(board.size):
        if board[p] != EMPTY:
            h ^= zobrist[p, board[p]]
    return h


# --------------------------------------------------------------------------------------------
# Random play inside the kernel
# --------------------------------------------------------------------------------------------
@_helper
def _next_random(rng):
    """splitmix64 (Steele, Lea & Flood 2014) on the one-word state ``rng``."""
    rng[0] += _U64(0x9E3779B97F4A7C15)
    z = rng[0]
    z = (z ^ (z >> _U64(30))) * _U64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> _U64(27))) * _U64(0x94D049BB133111EB)
    return z ^ (z >> _U64(31))


@_helper
def _below(rng, k):
    """A uniform integer in ``[0, k)`` (bias below 2**-32 for k < 2**32)."""
    return np.int64((_next_random(rng) >> _U64(32)) * _U64(k) >> _U64(32))


@_helper
def _own_eye(board, neighbours, point, colour):
    """A single-point eye of ``colour``: every on-board neighbour is a ``colour`` stone."""
    for i in range(4):
        q = neighbours[point, i]
        if q >= 0 and board[q] != colour:
            return False
    return True


@_compute
def random_play(
    board,
    chains,
    hashes,
    count,
    zobrist,
    neighbours,
    to_move,
    passes,
    moves,
    max_moves,
    superko,
    avoid_eyes,
    rng,
    empties,
    where,
):
    """Play random moves in place until two passes in a row or ``max_moves`` moves.

    ``board``, ``chains`` and ``hashes`` are working copies; ``hashes`` holds ``count`` seen
    boards and has room for one more per move left (``max_moves - moves``).

    Policy: with ``avoid_eyes`` false, uniformly random among the legal actions including
    pass. With ``avoid_eyes`` true, uniformly random among the legal points that are not the
    mover's own single-point eyes, passing only when none remain (the usual rollout policy).
    Either way the move is drawn by rejection without replacement over the empty points, so
    a step costs the checks of the candidates drawn, not of the whole board.

    Returns ``(how_ended, moves, to_move, passes)``; the final board is in ``board``.
    """
    n = board.size
    # the empty points, in any order, and each point's index in that list (-1: not empty);
    # ``empties`` and ``where`` are int32 scratch arrays ``[N]``
    num_empty = 0
    for p in range(n):
        where[p] = -1
        if board[p] == EMPTY:
            empties[num_empty] = p
            where[p] = num_empty
            num_empty += 1
    while passes < 2 and moves < max_moves:
        colour = to_move + 1
        candidates = num_empty  # empties[:candidates] are not yet rejected this turn
        chosen = -1
        while True:
            if avoid_eyes:
                if candidates == 0:
                    break
                pick = _below(rng, candidates)
            else:
                pick = _below(rng, candidates + 1)  # index ``candidates`` stands for pass
                if pick == candidates:
                    break
            p = empties[pick]
            code, _ = check_move(
                board, chains, hashes, zobrist, neighbours, p, colour, count, superko
            )
            if code == OK and not (avoid_eyes and _own_eye(board, neighbours, p, colour)):
                chosen = p
                break
            # rejected: swap it behind the candidate range
            candidates -= 1
            last = empties[candidates]
            empties[candidates] = p
            empties[pick] = last
            where[p] = candidates
            where[last] = pick
        moves += 1
        to_move = 1 - to_move
        hashes[n + PREV] = hashes[n + CUR]
        if chosen < 0:
            passes += 1
            continue
        passes = 0
        # the chosen point leaves the empty list (swap with the last)
        num_empty -= 1
        i = where[chosen]
        last = empties[num_empty]
        empties[i] = last
        where[last] = i
        where[chosen] = -1
        # the opponent chains in atari next to it will be captured: list their points now,
        # while their stone lists are intact
        opponent = 3 - colour
        for j in range(4):
            q = neighbours[chosen, j]
            if q >= 0 and board[q] == opponent and where[q] < 0:
                head = chains[HEAD, q]
                if in_atari(chains, head):
                    stone = head
                    while True:
                        where[stone] = num_empty
                        empties[num_empty] = stone
                        num_empty += 1
                        stone = chains[NEXT, stone]
                        if stone == head:
                            break
        place_stone(board, chains, hashes, zobrist, neighbours, chosen, colour)
        count = seen_insert(hashes, n, count, hashes[n + CUR])
    return (TRUNCATED if passes < 2 else ENDED_BY_PASSES), moves, to_move, passes


@_entry
def rollout(
    board,
    chains,
    hashes,
    zobrist,
    neighbours,
    to_move,
    passes,
    moves,
    max_moves,
    superko,
    avoid_eyes,
    seed,
):
    """:func:`random_play` on copies of a position, from the seed ``seed``.

    Returns ``(how_ended, moves, black_area, white_area)`` of the final position.
    """
    n = board.size
    count = hashes.size - n - SEEN
    work_board = board.copy()
    work_chains = chains.copy()
    work_hashes = np.zeros(hashes.size + max(max_moves - moves, 0), dtype=np.uint64)
    work_hashes[: hashes.size] = hashes
    rng = np.full(1, seed, dtype=np.uint64)
    scratch = np.empty((2, n), dtype=np.int32)
    how, moves, _, _ = random_play(
        work_board,
        work_chains,
        work_hashes,
        count,
        zobrist,
        neighbours,
        to_move,
        passes,
        moves,
        max_moves,
        superko,
        avoid_eyes,
        rng,
        scratch[0],
        scratch[1],
    )
    black, white = _area(work_board, neighbours, scratch[0], scratch[1])
    return how, moves, black, white


@_entry
def random_games(size, num_games, zobrist, neighbours, max_moves, superko, avoid_eyes, seed):
    """Play ``num_games`` random games from the empty board (see :func:`random_play`).

    Returns int64 ``[num_games, 4]``: moves, how it ended, black area, white area.
    """
    n = size * size
    out = np.zeros((num_games, 4), dtype=np.int64)
    rng = np.full(1, seed, dtype=np.uint64)
    empty_board, empty_chains, empty_hashes = _empty_arrays(n, max_moves)
    board = empty_board.copy()
    chains = empty_chains.copy()
    hashes = empty_hashes.copy()
    scratch = np.empty((2, n), dtype=np.int32)
    for g in range(num_games):
        board[:] = empty_board
        chains[:] = empty_chains
        hashes[:] = empty_hashes
        how, moves, _, _ = random_play(
            board,
            chains,
            hashes,
            1,
            zobrist,
            neighbours,
            0,
            0,
            0,
            max_moves,
            superko,
            avoid_eyes,
            rng,
            scratch[0],
            scratch[1],
        )
        black, white = _area(board, neighbours, scratch[0], scratch[1])
        out[g, 0] = moves
        out[g, 1] = how
        out[g, 2] = black
        out[g, 3] = white
    return out
