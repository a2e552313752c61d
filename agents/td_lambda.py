"""TD(lambda) self-play for backgammon, in the tradition of TD-Gammon.

Registry name ``td-lambda``; ``rlkit train td-lambda --env backgammon --episodes 100000``.

Tesauro, G. (1992). "Practical issues in temporal difference learning." Machine Learning 8,
257-277. Tesauro, G. (1995). "Temporal difference learning and TD-Gammon." Communications
of the ACM 38 (3), 58-68. Sutton, R. S. (1988). "Learning to predict by the methods of
temporal differences." Machine Learning 3, 9-44. Sutton & Barto, *Reinforcement Learning:
An Introduction* (2nd ed., 2018), section 16.1, describes the 198 inputs.

The value network
-----------------
An :class:`rlkit.nn.MLP` with one tanh hidden layer of ``hidden`` units maps the 198 inputs
(:func:`encode_board`) of a position to five logits; their sigmoids are the probabilities,
for the player whose point of view the inputs take, of

    ``[P(win), P(win a gammon or backgammon), P(win a backgammon),
       P(lose a gammon or backgammon), P(lose a backgammon)]``

(GNU Backgammon's five outputs). The cubeless equity (expected points) is
``2 P(win) - 1 + P(wg) - P(lg) + P(wbg) - P(lbg)``, in ``[-3, 3]``. Seen from the opponent
the same position has the outputs ``[1 - P(win), P(lg), P(lbg), P(wg), P(wbg)]`` (the *flip*)
and the negated equity.

Positions are always valued from the point of view of the player who has just moved (the
afterstate of a move, the opponent to roll), so one network plays both colours.

Learning (self-play)
--------------------
Both sides play the same network greedily at 1 ply: every legal full move of the roll is
valued (the afterstate's equity; a move that bears off the last checker is worth its exact
result) and the best is played; the dice are the only exploration, as in TD-Gammon. The
afterstates ``x_0, x_1, ...`` of a game alternate between the players; the value of ``x_t``
for its mover is ``V(x_t)`` and its successor's value *for the same player* is
``flip(V(x_{t+1}))``, or the game's result ``[1, g, b, 0, 0]`` (seen from the winner) at the
end. With ``P`` the flip's linear part, TD(lambda) with accumulating traces is

    ``delta_t = flip(V(x_{t+1})) - V(x_t)``          (5 errors, one per output)
    ``theta  += alpha * sum_k delta_t[k] * e[k]``
    ``e[k]    = lambda * (P e)[k] + grad theta V_k(x_{t+1})``   (per output, per parameter)

so each output has its own eligibility trace for every parameter (``e`` has shape
``[5, *theta.shape]``), the trace is re-expressed in the new mover's terms at each move
(``P`` swaps the win and loss gammon rows and negates the win row), and there is no
discounting (gamma = 1, reward only at the end). The traces are reset at the start of each
game. The gradient of the new afterstate is taken after the update, at the weights that
will next be corrected.

Speed: a whole self-play game runs in one compiled call (:func:`_self_play_game`), which
generates moves with :func:`rlkit.envs.backgammon_kernels.generate`, encodes and values every
afterstate sparsely (the inputs have ~30 non-zeros of 198), and updates the network's
parameters in place through numpy views of its CPU tensors. Training therefore runs on the
CPU whatever ``device`` says; ``device`` is where :meth:`TDLambda.act` runs its forward
passes (worth a GPU only for 2-ply search). Several games in flight would let one matrix
product value many games' afterstates at once, but the compiled single game is already
faster than a batched torch loop at this network size, and keeps training strictly online.

Evaluation every ``eval_every`` games plays ``eval_games`` games against pubeval
(:mod:`rlkit.agents.pubeval`) in colour-swapped pairs with fixed dice (the same dice at every
evaluation, so successive numbers differ by the network only) and logs the points per game
as ``pubeval_ppg``.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import torch
from numba import njit

from rlkit.agents.pubeval import CONTACT_WEIGHTS, RACE_WEIGHTS, board_is_race, board_score
from rlkit.envs import backgammon_kernels as kernels
from rlkit.errors import CheckpointError, IncompatibleEnvError
from rlkit.game import Game, GameLearner
from rlkit.nn import MLP, resolve_device
from rlkit.schedules import Schedule

__all__ = [
    "NUM_FEATURES",
    "NUM_OUTPUTS",
    "SelfPlayGame",
    "TDLambda",
    "TDLambdaConfig",
    "encode_board",
    "encode_boards",
    "equity",
    "flip_outputs",
]

NUM_FEATURES = 198
NUM_OUTPUTS = 5
_NO_RECORD = np.zeros((0, 53), np.int8)
_EVAL_SEED = 20_240_601  # the fixed dice of the evaluations against pubeval
_START = np.array(
    [0, 0, 0, 0, 0, 0, 5, 0, 3, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0] * 2, np.int8
)
# The 21 distinct rolls (high, low) and their probabilities, for 2-ply search.
_ROLLS = [(h, lo) for h in range(1, 7) for lo in range(1, h + 1)]
_ROLL_PROBS = np.array([(1 if h == lo else 2) / 36 for h, lo in _ROLLS])


@dataclass(frozen=True)
class TDLambdaConfig:
    """Hyper-parameters of :class:`TDLambda`."""

    hidden: int = 80
    """Units of the single tanh hidden layer (TD-Gammon 1.0 had 40-80, 2.x 80, 3.x 160)."""

    alpha: float = 0.1
    """Learning rate of the TD update (plain stochastic gradient steps, per move)."""

    alpha_final: float | None = None
    """Learning rate reached after ``alpha_decay_games`` self-play games, decaying
    exponentially from ``alpha`` (None: constant ``alpha``). Annealing lets the network settle
    once it plays well: the value estimates stop chasing the noise of single games."""

    alpha_decay_games: int = 300_000
    """Self-play games over which ``alpha`` decays to ``alpha_final``."""

    trace_decay: float = 0.7
    """lambda, the decay of the eligibility traces per move, in [0, 1] (0: TD(0); Tesauro
    used 0.7 in 1992 and 0 for the later versions)."""

    ply: int = 1
    """Search depth when playing (not while learning): 1 values each legal move's afterstate;
    2 also averages, over the 21 rolls, the opponent's best 1-ply reply."""

    candidates: int = 8
    """With ``ply=2``: how many of the best 1-ply moves get the 2-ply look-ahead."""

    eval_every: int = 1000
    """Self-play games between evaluations against pubeval (0: never evaluate)."""

    eval_games: int = 200
    """Games per evaluation against pubeval (even: colour-swapped pairs with shared dice)."""

    device: str = "auto"
    """Torch device of the forward passes of :meth:`TDLambda.act` (``auto``, ``cpu``,
    ``cuda``, ``cuda:N``). Self-play learning always runs on the CPU."""

    def __post_init__(self) -> None:
        if not (isinstance(self.hidden, int) and self.hidden >= 1):
            raise ValueError(f"hidden must be a positive number of units, got {self.hidden!r}")
        if not (self.alpha > 0 and math.isfinite(self.alpha)):
            raise ValueError(f"alpha must be a positive number, got {self.alpha}")
        if self.alpha_final is not None and not (
            self.alpha_final > 0 and math.isfinite(self.alpha_final)
        ):
            raise ValueError(f"alpha_final must be a positive number, got {self.alpha_final}")
        if self.alpha_decay_games < 1:
            raise ValueError(f"alpha_decay_games must be positive, got {self.alpha_decay_games}")
        if not 0.0 <= self.trace_decay <= 1.0:
            raise ValueError(f"trace_decay (lambda) must be in [0, 1], got {self.trace_decay}")
        if self.ply not in (1, 2):
            raise ValueError(f"ply must be 1 or 2, got {self.ply}")
        if self.candidates < 1:
            raise ValueError(f"candidates must be at least 1, got {self.candidates}")
        if self.eval_every < 0:
            raise ValueError(f"eval_every must be >= 0 (0: never), got {self.eval_every}")
        if self.eval_games < 2 or self.eval_games % 2:
            raise ValueError(
                f"eval_games must be even and at least 2 (colour-swapped pairs), got "
                f"{self.eval_games}"
            )


# ----------------------------------------------------------------------------------------------
# The 198 inputs
# ----------------------------------------------------------------------------------------------
@njit(cache=True)
def _encode(board: np.ndarray, me: int, on_roll: int, out: np.ndarray) -> None:
    """Fill ``out`` (float32 ``[198]``) with the inputs of ``board`` seen by ``me``."""
    out[:] = 0.0
    own = 26 * me
    opp = 26 - own
    for side in range(2):
        base = 98 * side
        for j in range(1, 25):  # me's point j; the opponent's checkers there are on its 25 - j
            n = board[own + j] if side == 0 else board[opp + 25 - j]
            if n >= 1:
                u = base + 4 * (j - 1)
                out[u] = 1.0
                if n >= 2:
                    out[u + 1] = 1.0
                    if n >= 3:
                        out[u + 2] = 1.0
                        if n >= 4:
                            out[u + 3] = (n - 3) / 2.0
        row = own if side == 0 else opp
        out[base + 96] = board[row + 25] / 2.0
        out[base + 97] = board[row] / 15.0
    out[196 + (0 if on_roll == me else 1)] = 1.0


@njit(cache=True)
def _encode_many(boards: np.ndarray, me: int, on_roll: int, out: np.ndarray) -> None:
    for i in range(boards.shape[0]):
        _encode(boards[i], me, on_roll, out[i])


def encode_board(board: np.ndarray | bytes, me: int, on_roll: int | None = None) -> np.ndarray:
    """Tesauro's 198 inputs of a position, from player ``me``'s point of view.

    Layout (float32 ``[198]``), for ``me`` (units 0-97) and then its opponent (98-195), with
    the points numbered from ``me``'s side (1-24; the opponent's point ``q`` is ``me``'s
    ``25 - q``):

    - per point ``j`` four units at ``4 * (j - 1)`` (plus 98 for the opponent): for ``n``
      checkers there, the truncated unary code ``n >= 1``, ``n >= 2``, ``n >= 3`` and
      ``(n - 3) / 2`` when ``n > 3`` (else 0);
    - unit 96: checkers on the bar / 2; unit 97: checkers borne off / 15;
    - units 196, 197: whose turn it is (``[1, 0]``: ``me`` is on roll, ``[0, 1]``: the
      opponent is). The agent values afterstates, so it always sees ``[0, 1]``.

    Tesauro's 1992 encoding, except that his two halves were fixed colours (white, black)
    while here they are "me" and "the opponent", which lets one network play both sides.

    Args:
        board: int8 ``[52]`` (or 52 bytes), the layout of :mod:`rlkit.envs.backgammon`.
        me: whose point of view, 0 or 1.
        on_roll: the player on roll; default the opponent of ``me`` (``me`` has just moved).

    Example: the starting position has ``me``'s 6-point with 5 checkers, so units 20-23 are
    ``1, 1, 1, (5 - 3) / 2 = 1``; its 8-point with 3: units 28-30 are 1 and unit 31 is 0;
    the opponent's 6-point is ``me``'s 19-point: units ``98 + 72 .. 98 + 75``. Each side's
    units sum to 4 + 3 + 4 + 2 = 13 (6-, 8-, 13- and 24-points), plus unit 197 (the opponent
    is on roll): 27.

        >>> from rlkit.envs.backgammon import START_BOARD
        >>> x = encode_board(START_BOARD, 0)
        >>> x[20:24].tolist(), x[28:32].tolist(), float(x.sum())
        ([1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 0.0], 27.0)
    """
    array = np.frombuffer(board, np.int8) if isinstance(board, bytes) else np.asarray(board)
    out = np.empty(NUM_FEATURES, np.float32)
    _encode(array.astype(np.int8).reshape(52), me, 1 - me if on_roll is None else on_roll, out)
    return out


def encode_boards(boards: np.ndarray, me: int, on_roll: int | None = None) -> np.ndarray:
    """:func:`encode_board` of int8 boards ``[N, 52]``, float32 ``[N, 198]`` (compiled)."""
    boards = np.ascontiguousarray(boards, dtype=np.int8).reshape(-1, 52)
    out = np.empty((boards.shape[0], NUM_FEATURES), np.float32)
    _encode_many(boards, me, 1 - me if on_roll is None else on_roll, out)
    return out


def flip_outputs(outputs: np.ndarray) -> np.ndarray:
    """The five outputs ``[..., 5]`` seen from the other player (see the module docstring)."""
    outputs = np.asarray(outputs)
    return np.stack(
        [1.0 - outputs[..., 0], outputs[..., 3], outputs[..., 4], outputs[..., 1], outputs[..., 2]],
        axis=-1,
    )


def equity(outputs: np.ndarray) -> np.ndarray:
    """Cubeless equity ``2 P(win) - 1 + P(wg) - P(lg) + P(wbg) - P(lbg)`` of ``[..., 5]``."""
    o = np.asarray(outputs, dtype=np.float64)
    return 2.0 * o[..., 0] - 1.0 + o[..., 1] - o[..., 3] + o[..., 2] - o[..., 4]


# ----------------------------------------------------------------------------------------------
# Compiled network pieces (the parameters are numpy views of the MLP's CPU tensors)
# ----------------------------------------------------------------------------------------------
@njit(cache=True)
def _forward(x, w1, b1, w2, b2, nz, hidden, out) -> int:
    """One forward pass; ``hidden`` gets the tanh units, ``out`` the five probabilities,
    ``nz`` the indices of the non-zero inputs. Returns the number of non-zero inputs."""
    count = 0
    for i in range(NUM_FEATURES):
        if x[i] != 0.0:
            nz[count] = i
            count += 1
    for h in range(b1.shape[0]):
        acc = b1[h]
        for c in range(count):
            i = nz[c]
            acc += w1[h, i] * x[i]
        hidden[h] = math.tanh(acc)
    for k in range(NUM_OUTPUTS):
        acc = b2[k]
        for h in range(b1.shape[0]):
            acc += w2[k, h] * hidden[h]
        out[k] = 1.0 / (1.0 + math.exp(-acc))
    return count


@njit(cache=True)
def _equity(o) -> float:
    return 2.0 * o[0] - 1.0 + o[1] - o[3] + o[2] - o[4]


@njit(cache=True)
def _result(board, winner, out) -> int:
    """The exact outputs of a finished game for the winner; returns its points."""
    points = kernels.result_points(board, winner)
    out[0] = 1.0
    out[1] = 1.0 if points >= 2 else 0.0
    out[2] = 1.0 if points == 3 else 0.0
    out[3] = 0.0
    out[4] = 0.0
    return points


@njit(cache=True)
def _random_u64(state) -> np.uint64:
    """xorshift64* step on ``state[0]``."""
    x = state[0]
    x ^= x >> np.uint64(12)
    x ^= x << np.uint64(25)
    x ^= x >> np.uint64(27)
    state[0] = x
    return x * np.uint64(2685821657736338717)


@njit(cache=True)
def _die(state) -> int:
    return int((_random_u64(state) >> np.uint64(11)) % np.uint64(6)) + 1


@njit(cache=True)
def _seeded(seed) -> np.ndarray:
    state = np.empty(1, np.uint64)
    state[0] = np.uint64(seed) * np.uint64(6364136223846793005) + np.uint64(1442695040888963407)
    if state[0] == 0:
        state[0] = np.uint64(88172645463325252)
    return state


@njit(cache=True)
def _opening(rng):
    """The opening roll: each side rolls one die, ties re-roll; the higher die starts.
    Returns ``(starter, high, low)``."""
    while True:
        a = _die(rng)
        b = _die(rng)
        if a != b:
            return (0 if a > b else 1), max(a, b), min(a, b)


@njit(cache=True)
def _best_move(board, mover, high, low, w1, b1, w2, b2, out_boards, out_actions, x, nz, hid,
               o, best_o) -> int:  # fmt: skip
    """Index of the afterstate (in ``out_boards``) with the highest equity for ``mover`` at
    1 ply; its outputs go to ``best_o`` (the exact result for a winning move)."""
    n = kernels.generate(board, mover, high, low, out_boards, out_actions, False)
    best = 0
    best_equity = -1e9
    for i in range(n):
        row = out_boards[i]
        if row[26 * mover] == 15:
            _result(row, mover, o)
        else:
            _encode(row, mover, 1 - mover, x)
            _forward(x, w1, b1, w2, b2, nz, hid, o)
        value = _equity(o)
        if value > best_equity:
            best_equity = value
            best = i
            best_o[:] = o
    return best


@njit(cache=True)
def _update_and_decay(param, trace, scaled_delta, lam) -> None:
    """``param += sum_k scaled_delta[k] * trace[k]``, then ``trace <- lam * P trace``, in one
    pass (``param`` flat ``[M]``, ``trace`` ``[5, M]``; ``P`` is the flip of the outputs)."""
    a0 = scaled_delta[0]
    a1 = scaled_delta[1]
    a2 = scaled_delta[2]
    a3 = scaled_delta[3]
    a4 = scaled_delta[4]
    for m in range(param.shape[0]):
        t0 = trace[0, m]
        t1 = trace[1, m]
        t2 = trace[2, m]
        t3 = trace[3, m]
        t4 = trace[4, m]
        param[m] += a0 * t0 + a1 * t1 + a2 * t2 + a3 * t3 + a4 * t4
        trace[0, m] = -lam * t0
        trace[1, m] = lam * t3
        trace[2, m] = lam * t4
        trace[3, m] = lam * t1
        trace[4, m] = lam * t2


@njit(cache=True)
def _self_play_game(w1, b1, w2, b2, e_w1, e_b1, e_w2, e_b2, alpha, lam, seed, max_moves,
                    out_boards, out_actions, record):  # fmt: skip
    """Play one greedy self-play game and learn from it by TD(lambda), in place.

    Args:
        w1, b1, w2, b2: float32 network parameters ``[H, 198]``, ``[H]``, ``[5, H]``, ``[5]``
            (updated in place).
        e_w1, e_b1, e_w2, e_b2: float32 trace work space ``[5, *parameter shape]``: row
            ``k`` is output ``k``'s eligibility trace of every parameter.
        alpha, lam: learning rate and trace decay.
        seed: the dice generator's seed.
        max_moves: full moves after which the game stops unscored (no final update).
        out_boards, out_actions: move generator work space.
        record: int8 ``[R, 53]``: row ``t < R`` receives the afterstate of move ``t`` and
            its mover (column 52); ``R = 0`` records nothing.

    Returns:
        ``(winner, points, moves, summed |delta| of P(win), updates)``; winner -1 when cut.
    """
    hidden_size = b1.shape[0]
    rng = _seeded(seed)
    e_w1[:] = 0.0
    e_b1[:] = 0.0
    e_w2[:] = 0.0
    e_b2[:] = 0.0
    x = np.empty(NUM_FEATURES, np.float32)
    nz = np.empty(NUM_FEATURES, np.int64)
    hid = np.empty(hidden_size, np.float32)
    o = np.empty(NUM_OUTPUTS, np.float32)
    best_o = np.empty(NUM_OUTPUTS, np.float32)
    v_prev = np.empty(NUM_OUTPUTS, np.float32)
    delta = np.empty(NUM_OUTPUTS, np.float32)
    board = _START.copy()
    mover, high, low = _opening(rng)
    have_prev = False
    winner = -1
    points = 0
    moves = 0
    error_sum = 0.0
    updates = 0
    while moves < max_moves:
        best = _best_move(board, mover, high, low, w1, b1, w2, b2, out_boards, out_actions,
                          x, nz, hid, o, best_o)  # fmt: skip
        board[:] = out_boards[best]
        if moves < record.shape[0]:
            record[moves, :52] = board
            record[moves, 52] = mover
        moves += 1
        finished = board[26 * mover] == 15
        if finished:
            points = _result(board, mover, best_o)
            winner = mover
        if have_prev:
            # The previous afterstate belongs to the other player: its target is the flip.
            delta[0] = (1.0 - best_o[0]) - v_prev[0]
            delta[1] = best_o[3] - v_prev[1]
            delta[2] = best_o[4] - v_prev[2]
            delta[3] = best_o[1] - v_prev[3]
            delta[4] = best_o[2] - v_prev[4]
            error_sum += abs(delta[0])
            updates += 1
            # theta += alpha * sum_k delta_k e_k, fused with e <- lambda * P e.
            for k in range(NUM_OUTPUTS):
                delta[k] *= alpha
            _update_and_decay(w1.reshape(w1.size), e_w1.reshape(NUM_OUTPUTS, w1.size), delta, lam)
            _update_and_decay(b1, e_b1, delta, lam)
            _update_and_decay(w2.reshape(w2.size), e_w2.reshape(NUM_OUTPUTS, w2.size), delta, lam)
            _update_and_decay(b2, e_b2, delta, lam)
        if finished:
            break
        # e += grad V(x_t) at the updated weights (sparse in the inputs), in the mover's terms.
        _encode(board, mover, 1 - mover, x)
        count = _forward(x, w1, b1, w2, b2, nz, hid, v_prev)
        for k in range(NUM_OUTPUTS):
            slope = v_prev[k] * (1.0 - v_prev[k])
            e_b2[k, k] += slope
            for h in range(hidden_size):
                e_w2[k, k, h] += slope * hid[h]
                g = slope * w2[k, h] * (1.0 - hid[h] * hid[h])
                e_b1[k, h] += g
                for c in range(count):
                    i = nz[c]
                    e_w1[k, h, i] += g * x[i]
        have_prev = True
        mover = 1 - mover
        a = _die(rng)
        b = _die(rng)
        high = max(a, b)
        low = min(a, b)
    return winner, points, moves, error_sum, updates


@njit(cache=True)
def _game_against_pubeval(w1, b1, w2, b2, net_player, seed, max_moves, race_weights,
                          contact_weights, out_boards, out_actions):  # fmt: skip
    """Points won by the network (playing ``net_player``, 1 ply) in one game against pubeval;
    0 for a game cut at ``max_moves``."""
    hidden_size = b1.shape[0]
    rng = _seeded(seed)
    x = np.empty(NUM_FEATURES, np.float32)
    nz = np.empty(NUM_FEATURES, np.int64)
    hid = np.empty(hidden_size, np.float32)
    o = np.empty(NUM_OUTPUTS, np.float32)
    best_o = np.empty(NUM_OUTPUTS, np.float32)
    board = _START.copy()
    mover, high, low = _opening(rng)
    for _ in range(max_moves):
        if mover == net_player:
            best = _best_move(board, mover, high, low, w1, b1, w2, b2, out_boards,
                              out_actions, x, nz, hid, o, best_o)  # fmt: skip
        else:
            weights = race_weights if board_is_race(board) else contact_weights
            n = kernels.generate(board, mover, high, low, out_boards, out_actions, True)
            best = 0
            best_score = -1e300
            for i in range(n):
                score = board_score(out_boards[i], mover, weights)
                if score > best_score:
                    best_score = score
                    best = i
        board[:] = out_boards[best]
        if board[26 * mover] == 15:
            points = kernels.result_points(board, mover)
            return points if mover == net_player else -points
        mover = 1 - mover
        a = _die(rng)
        b = _die(rng)
        high = max(a, b)
        low = min(a, b)
    return 0


# ----------------------------------------------------------------------------------------------
# The agent
# ----------------------------------------------------------------------------------------------
class SelfPlayGame(NamedTuple):
    """What :meth:`TDLambda.train_game` reports about one self-play game."""

    winner: int
    """0 or 1; -1 for a game cut at ``max_game_length`` (not learned from at its end)."""
    points: int
    """1, 2 or 3 (single game, gammon, backgammon); 0 for a cut game."""
    moves: int
    """Full moves (decisions) played."""
    td_error: float
    """Mean absolute TD error of P(win) over the game's updates."""
    afterstates: np.ndarray | None
    """With ``record=True``: int8 ``[moves, 53]``, each move's afterstate board (columns
    0-51, the layout of :mod:`rlkit.envs.backgammon`) and its mover (column 52)."""


class TDLambda(GameLearner):
    """A TD-Gammon-style network that learns backgammon by TD(lambda) self-play.

    Args:
        config: a :class:`TDLambdaConfig`.
        game: a :class:`~rlkit.envs.backgammon.BackgammonGame`.
        seed: seeds the initial weights and the self-play dice; the same seed gives the same
            run.

    Raises:
        IncompatibleEnvError: for any game other than backgammon.
    """

    Config = TDLambdaConfig

    def __init__(self, config: TDLambdaConfig, game: Game, *, seed: int | None = None) -> None:
        super().__init__(config, game, seed=seed)
        if game.info.name != "backgammon" or not hasattr(game, "afterstates"):
            raise IncompatibleEnvError(
                f"td-lambda learns backgammon only, not {game.info.name!r} (--env backgammon)"
            )
        self.device = resolve_device(config.device)
        generator = torch.Generator()
        generator.manual_seed(int(self.rng.integers(2**63)))
        # The master copy lives on the CPU: the compiled self-play updates it in place.
        self.net = MLP(
            NUM_FEATURES,
            (config.hidden,),
            NUM_OUTPUTS,
            activation="tanh",
            output_gain=0.1,
            generator=generator,
        )
        first, last = self.net.layers[0], self.net.layers[-1]
        self._params = tuple(
            p.detach().numpy() for p in (first.weight, first.bias, last.weight, last.bias)
        )
        self._traces = tuple(np.zeros((NUM_OUTPUTS, *p.shape), np.float32) for p in self._params)
        self._out_boards = np.empty((kernels.MAX_RESULTS, 52), np.int8)
        self._out_actions = np.empty(kernels.MAX_RESULTS, np.int32)
        self._play_net: torch.nn.Module | None = None  # a copy on self.device, when not CPU
        self.games_trained = 0
        self.evaluations: list[tuple[int, float, float]] = []  # (games, ppg, ci95)

    # -- playing -------------------------------------------------------------------------------
    def outputs(self, boards: np.ndarray, me: int) -> np.ndarray:
        """The five output probabilities of int8 boards ``[N, 52]`` seen by ``me`` (who has
        just moved), float64 ``[N, 5]``; finished games give their exact result.

        One forward pass of the network over all rows.
        """
        boards = np.ascontiguousarray(boards, dtype=np.int8).reshape(-1, 52)
        x = torch.from_numpy(encode_boards(boards, me))
        net = self._net_for_play()
        with torch.no_grad():
            out = torch.sigmoid(net(x.to(self.device))).cpu().numpy().astype(np.float64)
        for side in (me, 1 - me):
            done = np.flatnonzero(boards[:, 26 * side] == 15)
            for i in done:
                result = np.zeros(NUM_OUTPUTS, np.float32)
                _result(boards[i], side, result)
                out[i] = result if side == me else flip_outputs(result)
        return out

    def value(self, state: Any, player: int) -> float:
        """Cubeless equity of ``state`` for ``player`` at 0 ply: the network's view of the
        position with the player on roll (``state.turn``) still to roll or move."""
        board = np.frombuffer(state.board, np.int8)
        mover = 1 - state.turn if state.turn >= 0 else 1 - player
        result = float(equity(self.outputs(board, mover))[0])
        return result if player == mover else -result

    def act(self, state: Any) -> int:
        """The legal move with the best equity at ``config.ply`` (ties: lowest action id)."""
        after = self.game.afterstates(state)
        if not after:
            raise ValueError("td-lambda needs a state with a player to move")
        if len(after) == 1:
            return after[0][0]
        me = state.turn
        boards = np.frombuffer(b"".join(s.board for _, s in after), np.int8).reshape(-1, 52)
        values = equity(self.outputs(boards, me))
        if self.config.ply == 2:
            values = self._two_ply(boards, me, values)
        return after[int(np.argmax(values))][0]

    def _two_ply(self, boards: np.ndarray, me: int, values: np.ndarray) -> np.ndarray:
        """Refine the best ``candidates`` moves: the mean over the 21 rolls of the value left
        by the opponent's best 1-ply reply (one forward pass for all replies)."""
        order = np.argsort(-values, kind="stable")
        chosen = [i for i in order[: self.config.candidates] if boards[i, 26 * me] != 15]
        if not chosen:
            return values
        replies, sizes = [], []
        for i in chosen:
            for high, low in _ROLLS:
                n = kernels.generate(
                    boards[i], 1 - me, high, low, self._out_boards, self._out_actions, False
                )
                replies.append(self._out_boards[:n].copy())
                sizes.append(n)
        reply_equity = equity(self.outputs(np.concatenate(replies), 1 - me))  # their view
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        best_reply = np.maximum.reduceat(reply_equity, starts).reshape(len(chosen), len(_ROLLS))
        refined = np.full_like(values, -np.inf)
        refined[chosen] = -(best_reply @ _ROLL_PROBS)
        for i in order:  # a move that wins at once stays best
            if boards[i, 26 * me] == 15:
                refined[i] = values[i]
        return refined

    def _net_for_play(self) -> torch.nn.Module:
        if self.device.type == "cpu":
            return self.net
        if self._play_net is None:  # refreshed after learning or loading
            self._play_net = copy.deepcopy(self.net).to(self.device)
        return self._play_net

    # -- learning ------------------------------------------------------------------------------
    def fit(self, game: Game, session: Any) -> None:
        """Self-play games until ``session.finished``, one TD(lambda) pass each.

        Each game is reported with ``session.end_episode(points of player 0, full moves,
        metrics)``; metrics: ``pubeval_ppg`` (the latest evaluation's points per game against
        pubeval, NaN before the first), ``td_error`` (mean absolute TD error of P(win) over
        the game's updates) and ``points`` (1, 2 or 3: single game, gammon, backgammon).
        """
        if game.info.name != "backgammon":
            raise IncompatibleEnvError(f"td-lambda learns backgammon only, not {game.info.name}")
        config = self.config
        while not session.finished:
            played = self.train_game()
            if config.eval_every and self.games_trained % config.eval_every == 0:
                result = self.evaluate_against_pubeval(config.eval_games)
                self.evaluations.append(
                    (self.games_trained, result["points_per_game"], result["ci95"])
                )
            winner, points = played.winner, played.points
            points_of_0 = 0 if winner < 0 else (points if winner == 0 else -points)
            session.end_episode(
                float(points_of_0),
                played.moves,
                {
                    "pubeval_ppg": self.evaluations[-1][1] if self.evaluations else math.nan,
                    "td_error": played.td_error,
                    "points": float(points),
                    "alpha": self.learning_rate(),
                },
            )

    def learning_rate(self) -> float:
        """The TD step size for the next self-play game (see ``alpha_final``)."""
        c = self.config
        if c.alpha_final is None:
            return c.alpha
        return Schedule("exponential", c.alpha, c.alpha_final, c.alpha_decay_games).value(
            self.games_trained
        )

    def train_game(self, *, record: bool = False) -> SelfPlayGame:
        """Play one greedy self-play game and learn from it by TD(lambda): the unit of
        :meth:`fit`, counted in ``games_trained``.

        Args:
            record: also return the afterstates played.
        """
        limit = int(self.game.info.max_game_length)
        afterstates = np.zeros((limit if record else 0, 53), np.int8)
        winner, points, moves, error_sum, updates = _self_play_game(
            *self._params,
            *self._traces,
            np.float32(self.learning_rate()),
            np.float32(self.config.trace_decay),
            np.uint64(self.rng.integers(1, 2**63)),
            limit,
            self._out_boards,
            self._out_actions,
            afterstates,
        )
        self._play_net = None
        self.games_trained += 1
        return SelfPlayGame(
            int(winner),
            int(points),
            int(moves),
            error_sum / updates if updates else math.nan,
            afterstates[:moves] if record else None,
        )

    def evaluate_against_pubeval(self, games: int, *, seed: int = _EVAL_SEED) -> dict[str, float]:
        """Play ``games`` (even) games against pubeval at 1 ply, in colour-swapped pairs that
        share their dice, and summarise them from the network's side.

        Returns:
            ``points_per_game``, ``ci95`` (half-width of the normal 95% interval,
            :func:`rlkit.stats.mean_ci95`) and ``win_rate``.
        """
        if games < 2 or games % 2:
            raise ValueError(f"games must be even and at least 2, got {games}")
        seeds = np.random.SeedSequence(seed).generate_state(games // 2, np.uint64)
        points = np.empty(games)
        for g in range(games):
            points[g] = _game_against_pubeval(
                *self._params,
                g % 2,
                seeds[g // 2],
                int(self.game.info.max_game_length),
                RACE_WEIGHTS,
                CONTACT_WEIGHTS,
                self._out_boards,
                self._out_actions,
            )
        from rlkit.stats import mean_ci95

        mean, ci95 = mean_ci95(points)
        return {
            "points_per_game": mean,
            "ci95": ci95,
            "win_rate": float((points > 0).mean()),
        }

    # -- persistence ---------------------------------------------------------------------------
    def state_dict(self) -> dict[str, torch.Tensor]:
        """The network's parameters, ``net.<name>`` (traces only live within a game)."""
        return {f"net.{k}": v.detach().clone() for k, v in self.net.state_dict().items()}

    def load_state_dict(self, tensors: dict[str, torch.Tensor]) -> None:
        """Restore what :meth:`state_dict` returned (copied into the existing tensors, so the
        compiled learner's views stay valid).

        Raises:
            CheckpointError: tensors of another architecture or agent.
        """
        weights = {k[4:]: v for k, v in tensors.items() if k.startswith("net.")}
        unknown = sorted(k for k in tensors if not k.startswith("net."))
        if unknown:
            raise CheckpointError(f"unexpected tensors for td-lambda: {unknown[:5]}")
        try:
            self.net.load_state_dict(weights)
        except RuntimeError as exc:
            raise CheckpointError(
                f"td-lambda weights do not fit this configuration (hidden={self.config.hidden}):"
                f" {str(exc).splitlines()[0]}"
            ) from None
        self._play_net = None

    def extra_state(self) -> dict[str, Any]:
        """Dice RNG state, games trained and the evaluation history."""
        state = super().extra_state()
        state.update(
            games_trained=self.games_trained,
            evaluations=[list(e) for e in self.evaluations],
        )
        return state

    def load_extra_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`extra_state` returned."""
        super().load_extra_state(state)
        self.games_trained = int(state.get("games_trained", self.games_trained))
        self.evaluations = [
            (int(g), float(p), float(c)) for g, p, c in state.get("evaluations", [])
        ]


class TDGammon(TDLambda):
    """The TD(λ) network rlkit ships, trained by self-play: a strong opponent at once.

    The weights are ``agents/weights/td_gammon.pt`` (an rlkit checkpoint); how they were
    trained (command, seed, games, time) and how they score against pubeval is recorded
    beside them in ``td_gammon.md``. Named ``td-gammon`` in the registry;
    ``td-gammon:ply=2`` adds the 2-ply look-ahead. Training it further
    (``rlkit train td-gammon --env backgammon``) starts from these weights.
    """

    WEIGHTS = "weights/td_gammon.pt"

    def __init__(self, config: TDLambdaConfig, game: Game, *, seed: int | None = None) -> None:
        super().__init__(config, game, seed=seed)
        from importlib import resources

        from rlkit.checkpoint import load_checkpoint

        with resources.as_file(resources.files("rlkit.agents") / self.WEIGHTS) as path:
            shipped = load_checkpoint(path)
        self.load_state_dict(shipped.tensors)
        # The record of its training, but not its generator: ``seed`` decides this agent's dice.
        self.games_trained = int(shipped.metadata["extra_state"]["games_trained"])
