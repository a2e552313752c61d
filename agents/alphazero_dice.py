"""AlphaZero for a game with chance: an afterstate value network and expectimax over the dice.

Registry name ``alphazero-dice`` (backgammon). ``alphazero-dice:net=td-gammon,plies=2`` plays
the shipped TD-Gammon network with a 2-ply look-ahead; ``rlkit train alphazero-dice --env
backgammon --minutes 60`` learns a fresh network from self-play.

Why not a policy head
---------------------
AlphaZero (Silver et al., "A general reinforcement learning algorithm that masters chess,
shogi, and Go through self-play", Science 362, 2018) searches with a network that gives a
policy over the actions and a value. Backgammon's full-move actions number 25,103 (OpenSpiel's
layout plus doubles, :mod:`rlkit.envs.backgammon`), of which a roll allows a few to a few
hundred; a policy head over them would be sparse and poorly generalising (pgx cuts the move
into 156 checker-step micro-actions instead). But a backgammon move is fully described by the
position it leads to, its *afterstate* (the board before the opponent's roll), and there are
few of them per roll. So, as in TD-Gammon (Tesauro, "Temporal difference learning and
TD-Gammon", CACM 38 (3), 1995), one network values afterstates, and the policy is derived
from it:

- **value** ``v(a)``: the five outputs of :mod:`rlkit.agents.td_lambda` (Tesauro's 198 inputs,
  one tanh hidden layer, five sigmoids: win, gammon and backgammon wins and losses) for the
  player who has just moved; its cubeless equity (expected points, in ``[-3, 3]``) is
  :func:`~rlkit.agents.td_lambda.equity`. A move that bears off the last checker gets its
  exact result. The network is *the same class and shape* as ``td-lambda``'s (an
  :class:`rlkit.nn.MLP`), held by a :class:`~rlkit.agents.td_lambda.TDLambda` object: so
  ``net=td-gammon`` loads the shipped weights unchanged, training can start from them, and the
  compiled 1-ply code of td_lambda (sparse single-position forward passes, the pubeval match)
  runs on its parameters. A wider rlkit.nn tower would need its own encoder and loses both.
- **priors** at a decision node: ``softmax(equity(v(a)) / temperature)`` over the afterstates
  of that roll's legal moves (:func:`afterstate_priors`); the prior order prunes the search
  (below) and, with ``explore_moves``, self-play samples its first moves from the priors, as
  AlphaZero samples its first moves from the visit counts.

Search: expectimax over the dice
--------------------------------
Michie's expectimax (1966), Ballard's ``*-minimax`` (Artificial Intelligence 21, 1983): the
value of an afterstate searched ``d`` chance layers deep is

    ``V_0(a) = v(a)``;
    ``V_d(a) = sum_r p(r) flip(V_{d-1}(b*_r))``, ``b*_r = argmax_b equity(V_{d-1}(b))`` over
    the opponent's replies ``b`` to roll ``r``

with the 21 distinct rolls ``r`` (doubles 1/36, the others 2/36) and the five outputs backed
up as vectors (their expectation is well defined and the equity is linear in them, so the
backed-up vector is a training target for every output, not just the equity). A decision
with ``plies = n`` takes the legal move with the best ``V_{n-1}``: ``plies=1`` is greedy 1-ply
play, ``plies=2`` averages the opponent's best 1-ply reply over the 21 rolls (the existing
``td-gammon:ply=2``, which this generalises, and gnubg's "1-ply"), ``plies=3`` adds our best
reply to each of those, and so on. Pruning follows GNU Backgammon's move filters: at every
decision node only the ``candidates`` moves with the highest priors (equivalently the
highest 0-ply equities) are searched deeper, and the node's choice is made among them only,
so values of different depths are never compared. Each layer is batched: all children of
all nodes of a layer, over all 21 rolls, are generated in one compiled call
(:func:`_expand`) and valued in one forward pass, whatever the depth.

Why expectimax and not a sampled stochastic MCTS (Stochastic MuZero: Antonoglou, Schrittwieser,
Ozair, Hubert & Silver, "Planning in Stochastic Environments with a Learned Model", ICLR
2022)? Stochastic MuZero needs chance nodes because its model is learned; with the true rules
the 21 outcomes can be enumerated exactly, and an MCTS would need on the order of 21
simulations per chance node just to see each roll once, paying sampling noise where the
expectation costs one batched forward pass. Backgammon programs (gnubg, TD-Gammon 3) gain
their strength from shallow full-width expectimax with move filters. Measured
(``scripts/bench_alphazero_dice.py paired``, 2026-12-02, 2 shared CPU cores): ``plies=2``
over the shipped network against the same network at 1 ply, colour-swapped pairs on shared
dice: +0.144 ± 0.054 points per game (95% interval over the pair means) over 2,000 games
(match seeds 1063-1102), and +0.135 over all 5,150 games played in four runs; about 8 ms per
2-ply move on one core. With 8 candidates it plays exactly ``td-gammon:ply=2``'s moves (tested;
the same 2,000 games came out identical). ``plies=3`` costs about 0.2 s a move with 3
candidates, 0.4 s with 4.

Training from scratch (AlphaZero-style)
---------------------------------------
Self-play with the search at a cheap setting (``selfplay_plies``, default 1, runs as one
compiled call per game on td_lambda's kernels; deeper settings run the batched search). Each
move records its afterstate, from the mover's side, and the search's value vector of it. The
targets are λ-returns (Sutton, "Learning to predict by the methods of temporal differences",
Machine Learning 3, 1988; Sutton & Barto 2018, section 12.1) over the game, in the five
outputs: ``z_T = `` the exact result of the last move, ``z_t = (1 - λ) flip(V(a_{t+1})) +
λ flip(z_{t+1})`` where ``V(a_{t+1})`` is the search value of the opponent's next
afterstate (at 1 ply: the best value the opponent saw, i.e. the search value of the position
after ``a_t``'s roll). ``target_lambda = 1`` is AlphaZero's target, the game's outcome;
``0`` is a one-step search bootstrap (TD(0) toward the search, as in TD-Gammon's later
versions); the default 0.7 is Tesauro's 1992 λ: backgammon outcomes are noisy (a game's
result depends on ~50 rolls), so bootstrapping from the search's expectation over the dice
lowers the variance of the target. A replay buffer (ring, ``buffer_size`` positions) holds
(afterstate, target); after every ``games_per_update`` games, ``steps_per_update`` minibatches
sampled uniformly from it are fitted by the binary cross-entropy of the five sigmoid outputs
(targets are probabilities). The defaults (Adam at lr 0.01, a buffer of 10,000 positions,
about 150 games, and 128 steps of 128 positions per 16 games) come from 1.5-minute runs: with
lr 0.001 and 100,000 positions the network stood at -1.8 points per game against pubeval
after ~2,000 games, with these at about -0.9. The targets are fixed when a game is played, so
in a large buffer they are computed by a network many updates old; a small buffer keeps them
fresh (TD(λ) online, ``td-lambda``, is still faster per game: -0.4 after 2,000 games). The
learning rate then decays exponentially to 0.001 over the first 20,000 games (``lr_final``):
8-minute runs from scratch (about 38,000 games each, 2 shared cores) reached, against pubeval
over 200 paired games, -0.56 ± 0.21 points per game at 1 ply (+0.12 ± 0.19 with
``plies=2``) at a constant 0.01, whose curve flattened near -0.55 after ~15,000 games, and
+0.005 ± 0.20 at 1 ply (+0.22 ± 0.19 with ``plies=2``) with the decay.

The updates use rlkit.supervised's pieces, not :func:`rlkit.supervised.fit`: ``fit`` makes a
new optimiser (and its moments) per call and is built around epochs over a fixed array set,
while this learner streams minibatches from a buffer that changes between updates and must
keep Adam's moments across them. So the optimiser is :func:`rlkit.supervised.make_optimizer`
(spec ``optimizer``, default Adam, Kingma & Ba 2015), the loss
:func:`rlkit.supervised.bce`, and checkpoints carry the optimiser through
:func:`~rlkit.supervised.optimizer_state_tensors` / :func:`~rlkit.supervised.load_optimizer_state`
(exact resume, with the buffer and the generator).

Every ``eval_every`` games the network plays ``eval_games`` games against pubeval at 1 ply on
fixed dice (:meth:`TDLambda.evaluate_against_pubeval`), logged as ``pubeval_ppg`` and its 95%
half-width ``pubeval_ci95`` (:func:`rlkit.stats.mean_ci95`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np
import torch
from numba import njit

from rlkit.agents.td_lambda import (  # the encoding, network kernels and dice of TD-Gammon
    _ROLL_PROBS,
    _ROLLS,
    _START,
    NUM_FEATURES,
    NUM_OUTPUTS,
    TDGammon,
    TDLambda,
    TDLambdaConfig,
    _best_move,
    _die,
    _encode,
    _equity,
    _forward,
    _opening,
    _random_u64,
    _result,
    _seeded,
    encode_boards,
    equity,
    flip_outputs,
)
from rlkit.envs import backgammon_kernels as kernels
from rlkit.errors import CheckpointError, IncompatibleEnvError, SpecError
from rlkit.game import Game, GameLearner
from rlkit.schedules import Schedule
from rlkit.supervised import (
    RpropSpec,
    bce,
    load_optimizer_state,
    make_optimizer,
    optimizer_state_tensors,
    parse_optimizer,
)

__all__ = [
    "AfterstateEvaluator",
    "AlphaZeroDice",
    "AlphaZeroDiceConfig",
    "afterstate_priors",
    "lambda_targets",
    "search_move",
    "search_values",
]

_ROLL_HIGH = np.array([h for h, _ in _ROLLS], np.int64)
_ROLL_LOW = np.array([lo for _, lo in _ROLLS], np.int64)
_NUM_ROLLS = len(_ROLLS)


@dataclass(frozen=True)
class AlphaZeroDiceConfig:
    """Hyper-parameters of :class:`AlphaZeroDice`."""

    net: Literal["fresh", "td-gammon"] = "fresh"
    """The value network: ``td-gammon`` loads rlkit's shipped TD-Gammon weights (80 hidden
    units); ``fresh`` a newly initialised one of ``hidden`` units (training from scratch)."""

    hidden: int = 80
    """Hidden units of a ``fresh`` network (``td-gammon`` has 80)."""

    plies: int = 2
    """Search depth when playing: 1 greedy, 2 the opponent's 21 rolls x best reply, ..."""

    candidates: int = 8
    """Moves searched deeper at each decision node of the search (highest priors first)."""

    temperature: float = 0.1
    """Softmax temperature of the priors, in equity units (points per game)."""

    selfplay_plies: int = 1
    """Search depth of the self-play moves while training (1: one compiled call per game)."""

    explore_moves: int = 0
    """First moves of each self-play game sampled from the priors (0: greedy; the dice
    explore, as in TD-Gammon)."""

    target_lambda: float = 0.7
    """λ of the value targets: 1 the game's outcome (AlphaZero), 0 the next search value."""

    games_per_update: int = 16
    """Self-play games between two rounds of gradient steps."""

    steps_per_update: int = 128
    """Minibatch steps per round."""

    batch_size: int = 128
    """Positions per minibatch, sampled uniformly from the replay buffer."""

    buffer_size: int = 10_000
    """Positions the replay buffer holds (the oldest are replaced)."""

    optimizer: str = "adam:lr=0.01"
    """Optimiser spec of rlkit.supervised (``adam:lr=``, ``sgd:lr=,momentum=``, ...)."""

    lr_final: float | None = 0.001
    """Learning rate reached after ``lr_decay_games`` self-play games, decaying exponentially
    from the optimiser's ``lr`` (None: constant), as ``td-lambda``'s ``alpha_final``."""

    lr_decay_games: int = 20_000
    """Self-play games over which the learning rate decays to ``lr_final``."""

    eval_every: int = 2000
    """Self-play games between evaluations against pubeval (0: never)."""

    eval_games: int = 200
    """Games per evaluation against pubeval (even: colour-swapped pairs on shared dice)."""

    device: str = "auto"
    """Torch device of the search's forward passes; self-play and updates run on the CPU."""

    def __post_init__(self) -> None:
        if self.net not in ("fresh", "td-gammon"):
            raise SpecError(f"net must be 'fresh' or 'td-gammon', got {self.net!r}")
        if not (isinstance(self.hidden, int) and self.hidden >= 1):
            raise SpecError(f"hidden must be a positive number of units, got {self.hidden!r}")
        if self.net == "td-gammon" and self.hidden != 80:
            raise SpecError(f"net=td-gammon has 80 hidden units, not hidden={self.hidden}")
        for name in ("plies", "selfplay_plies"):
            value = getattr(self, name)
            if not (isinstance(value, int) and 1 <= value <= 4):
                raise SpecError(f"{name} must be 1 to 4, got {value!r}")
        for name in ("candidates", "games_per_update", "steps_per_update", "batch_size"):
            value = getattr(self, name)
            if not (isinstance(value, int) and value >= 1):
                raise SpecError(f"{name} must be a positive integer, got {value!r}")
        if not (self.temperature > 0 and math.isfinite(self.temperature)):
            raise SpecError(f"temperature must be a positive number, got {self.temperature}")
        if not (isinstance(self.explore_moves, int) and self.explore_moves >= 0):
            raise SpecError(f"explore_moves must be >= 0, got {self.explore_moves!r}")
        if not 0.0 <= self.target_lambda <= 1.0:
            raise SpecError(f"target_lambda must be in [0, 1], got {self.target_lambda}")
        if not (isinstance(self.buffer_size, int) and self.buffer_size >= self.batch_size):
            raise SpecError(
                f"buffer_size must be at least batch_size ({self.batch_size}), got "
                f"{self.buffer_size!r}"
            )
        if isinstance(parse_optimizer(self.optimizer), RpropSpec):
            raise SpecError("optimizer rprop needs full batches; use adam or sgd here")
        if self.lr_final is not None and not (self.lr_final > 0 and math.isfinite(self.lr_final)):
            raise SpecError(f"lr_final must be a positive number or none, got {self.lr_final}")
        if not (isinstance(self.lr_decay_games, int) and self.lr_decay_games >= 1):
            raise SpecError(f"lr_decay_games must be positive, got {self.lr_decay_games!r}")
        if not (isinstance(self.eval_every, int) and self.eval_every >= 0):
            raise SpecError(f"eval_every must be >= 0 (0: never), got {self.eval_every!r}")
        if not (isinstance(self.eval_games, int) and self.eval_games >= 2) or self.eval_games % 2:
            raise SpecError(
                f"eval_games must be even and at least 2 (colour-swapped pairs), got "
                f"{self.eval_games!r}"
            )


# ----------------------------------------------------------------------------------------------
# The batched afterstate interface and the search
# ----------------------------------------------------------------------------------------------
class AfterstateEvaluator(Protocol):
    """What the search needs of a value network (``TDLambda`` provides it)."""

    def outputs(self, boards: np.ndarray, me: int) -> np.ndarray:
        """The five outputs, float64 ``[N, 5]``, of int8 afterstates ``[N, 52]`` seen by
        ``me``, who has just moved (exact for a finished game); one forward pass."""
        ...


def afterstate_priors(values: np.ndarray, temperature: float) -> np.ndarray:
    """``softmax(values / temperature)`` of the equities ``[N]`` of one roll's moves, float64."""
    z = np.asarray(values, np.float64) / temperature
    z = np.exp(z - z.max())
    return z / z.sum()


@njit(cache=True)
def _expand(boards, mover, highs, lows, out_boards, out_actions):
    """Every legal move of ``mover`` from each of ``boards`` ``[L, 52]`` for each roll.

    Returns:
        ``children`` int8 ``[M, 52]`` and ``starts`` int64 ``[L * R + 1]``: the children of
        board ``i`` with roll ``r`` are rows ``starts[i * R + r] .. starts[i * R + r + 1]``
        (at least one each: a pass when nothing moves).
    """
    rolls = highs.shape[0]
    starts = np.empty(boards.shape[0] * rolls + 1, np.int64)
    children = np.empty((max(64, boards.shape[0] * rolls * 16), 52), np.int8)
    count = 0
    group = 0
    for i in range(boards.shape[0]):
        for r in range(rolls):
            starts[group] = count
            group += 1
            n = kernels.generate(boards[i], mover, highs[r], lows[r], out_boards, out_actions,
                                 False)  # fmt: skip
            if count + n > children.shape[0]:
                grown = np.empty((2 * (count + n), 52), np.int8)
                grown[:count] = children[:count]
                children = grown
            children[count : count + n] = out_boards[:n]
            count += n
    starts[group] = count
    return children[:count], starts


def _ranked(values: np.ndarray, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Order of ``values`` sorted by group (``starts``), best first within each group (ties:
    lower index first), and each sorted entry's rank within its group."""
    sizes = np.diff(starts)
    groups = np.repeat(np.arange(len(sizes)), sizes)
    order = np.lexsort((-values, groups))
    return order, np.arange(len(values)) - starts[:-1][groups]


def search_values(
    evaluator: AfterstateEvaluator,
    boards: np.ndarray,
    mover: int,
    depth: int,
    candidates: int,
    work: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """``V_depth`` (module docstring) of afterstates: float64 ``[N, 5]``, ``mover``'s view.

    Args:
        evaluator: the value network (:class:`AfterstateEvaluator`).
        boards: int8 ``[N, 52]``, positions ``mover`` has just moved to.
        mover: 0 or 1.
        depth: chance layers (0: the network's values).
        candidates: replies searched deeper at each inner decision node (``depth >= 2``).
        work: move generator work space (``[MAX_RESULTS, 52]`` int8, ``[MAX_RESULTS]``
            int32); allocated when None.

    One forward pass per layer: all children of all ``N`` boards over the 21 rolls together.
    """
    boards = np.ascontiguousarray(boards, dtype=np.int8).reshape(-1, 52)
    if depth == 0:
        return evaluator.outputs(boards, mover)
    if work is None:
        work = (
            np.empty((kernels.MAX_RESULTS, 52), np.int8),
            np.empty(kernels.MAX_RESULTS, np.int32),
        )
    out = np.empty((len(boards), NUM_OUTPUTS))
    won = boards[:, 26 * mover] == 15
    if won.any():  # finished games: their exact result, nothing to expand
        out[won] = evaluator.outputs(boards[won], mover)
    live = np.flatnonzero(~won)
    if live.size == 0:
        return out
    children, starts = _expand(boards[live], 1 - mover, _ROLL_HIGH, _ROLL_LOW, *work)
    child = evaluator.outputs(children, 1 - mover)
    values = equity(child)
    if depth > 1:
        # The opponent searches its best `candidates` replies deeper and picks among them.
        order, rank = _ranked(values, starts)
        keep = np.sort(order[rank < candidates])
        child[keep] = search_values(evaluator, children[keep], 1 - mover, depth - 1, candidates,
                                    work)  # fmt: skip
        values = np.full(len(children), -np.inf)
        values[keep] = equity(child[keep])
    order, _ = _ranked(values, starts)
    best = order[starts[:-1]]  # the first of each group in the sorted order: its best reply
    replies = flip_outputs(child[best]).reshape(live.size, _NUM_ROLLS, NUM_OUTPUTS)
    out[live] = np.einsum("lrk,r->lk", replies, _ROLL_PROBS)
    return out


def search_move(
    evaluator: AfterstateEvaluator,
    boards: np.ndarray,
    mover: int,
    plies: int,
    candidates: int,
    work: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[int, np.ndarray, np.ndarray]:
    """The move to play among afterstates ``boards`` ``[N, 52]`` of one roll, at ``plies``.

    Returns:
        ``(index, outputs, searched)``: the chosen row; float64 ``[N, 5]`` values, ``V_{plies-1}``
        for the searched moves and the network's for the others; bool ``[N]``, which moves were
        searched (the ``candidates`` best by prior; all with ``plies=1``). The choice is the
        searched move of best equity, ties to the lowest index.
    """
    boards = np.ascontiguousarray(boards, dtype=np.int8).reshape(-1, 52)
    outputs = evaluator.outputs(boards, mover)
    searched = np.ones(len(boards), bool)
    if plies > 1 and len(boards) > 1:
        keep = np.argsort(-equity(outputs), kind="stable")[:candidates]
        searched[:] = False
        searched[keep] = True
        outputs[keep] = search_values(evaluator, boards[keep], mover, plies - 1, candidates, work)
    values = np.where(searched, equity(outputs), -np.inf)
    return int(np.argmax(values)), outputs, searched


def lambda_targets(outputs: np.ndarray, lam: float) -> np.ndarray:
    """λ-return targets of a finished game's afterstates (module docstring).

    Args:
        outputs: float ``[T, 5]``: row ``t`` the search value of afterstate ``t`` for its
            mover (the players alternate); the last row is the game's exact result.
        lam: λ in [0, 1].

    Returns:
        float32 ``[T, 5]``, each row from its mover's side.
    """
    outputs = np.asarray(outputs, np.float64)
    targets = np.empty_like(outputs)
    z = outputs[-1]
    targets[-1] = z
    for t in range(len(outputs) - 2, -1, -1):
        z = (1.0 - lam) * flip_outputs(outputs[t + 1]) + lam * flip_outputs(z)
        targets[t] = z
    return targets.astype(np.float32)


# ----------------------------------------------------------------------------------------------
# Compiled 1-ply self-play (td_lambda's kernels)
# ----------------------------------------------------------------------------------------------
@njit(cache=True)
def _self_play_game(w1, b1, w2, b2, seed, max_moves, temperature, explore_moves, out_boards,
                    out_actions, record_boards, record_outputs):  # fmt: skip
    """One self-play game at 1 ply: greedy, or sampled from the priors for the first
    ``explore_moves`` moves.

    Args:
        w1, b1, w2, b2: the network's float32 parameters (read only).
        seed: the dice (and sampling) generator's seed.
        max_moves: moves after which the game is cut.
        temperature: of the priors' softmax.
        record_boards: int8 ``[max_moves, 52]``: each move's afterstate with the mover's row
            first (so it encodes as player 0).
        record_outputs: float32 ``[max_moves, 5]``: the network's outputs of the afterstate
            played (the exact result for the last move), the mover's view.

    Returns:
        ``(winner, points, moves)``; winner -1 for a cut game.
    """
    rng = _seeded(seed)
    x = np.empty(NUM_FEATURES, np.float32)
    nz = np.empty(NUM_FEATURES, np.int64)
    hid = np.empty(b1.shape[0], np.float32)
    o = np.empty(NUM_OUTPUTS, np.float32)
    best_o = np.empty(NUM_OUTPUTS, np.float32)
    all_o = np.empty((out_boards.shape[0], NUM_OUTPUTS), np.float32)
    values = np.empty(out_boards.shape[0], np.float64)
    board = _START.copy()
    mover, high, low = _opening(rng)
    for t in range(max_moves):
        if t < explore_moves:
            n = kernels.generate(board, mover, high, low, out_boards, out_actions, True)
            top = -1e300
            for i in range(n):
                row = out_boards[i]
                if row[26 * mover] == 15:
                    _result(row, mover, all_o[i])
                else:
                    _encode(row, mover, 1 - mover, x)
                    _forward(x, w1, b1, w2, b2, nz, hid, all_o[i])
                values[i] = _equity(all_o[i]) / temperature
                top = max(top, values[i])
            total = 0.0
            for i in range(n):
                values[i] = math.exp(values[i] - top)
                total += values[i]
            u = (_random_u64(rng) >> np.uint64(11)) * (1.0 / 9007199254740992.0) * total
            best = n - 1
            for i in range(n):
                u -= values[i]
                if u < 0.0:
                    best = i
                    break
            best_o[:] = all_o[best]
        else:
            best = _best_move(board, mover, high, low, w1, b1, w2, b2, out_boards,
                                 out_actions, x, nz, hid, o, best_o)  # fmt: skip
        board[:] = out_boards[best]
        own = 26 * mover
        record_boards[t, :26] = board[own : own + 26]
        record_boards[t, 26:] = board[26 - own : 52 - own]
        record_outputs[t] = best_o
        if board[own] == 15:
            return mover, kernels.result_points(board, mover), t + 1
        mover = 1 - mover
        a = _die(rng)
        b = _die(rng)
        high = max(a, b)
        low = min(a, b)
    return -1, 0, max_moves


# ----------------------------------------------------------------------------------------------
# The agent
# ----------------------------------------------------------------------------------------------
class AlphaZeroDice(GameLearner):
    """Afterstate-value AlphaZero for backgammon: expectimax play, self-play training.

    Args:
        config: an :class:`AlphaZeroDiceConfig`.
        game: a :class:`~rlkit.envs.backgammon.BackgammonGame`.
        seed: seeds a fresh network's weights, the self-play dice and the minibatches.

    Raises:
        IncompatibleEnvError: for any game other than backgammon.
    """

    Config = AlphaZeroDiceConfig

    def __init__(self, config: AlphaZeroDiceConfig, game: Game, *, seed: int | None = None) -> None:
        super().__init__(config, game, seed=seed)
        if game.info.name != "backgammon" or not hasattr(game, "afterstates"):
            raise IncompatibleEnvError(
                f"alphazero-dice plays backgammon only, not {game.info.name!r} (--env backgammon)"
            )
        holder = TDGammon if config.net == "td-gammon" else TDLambda
        # The value network and its 1-ply kernels; its own dice generator is unused here.
        self.value: TDLambda = holder(
            TDLambdaConfig(
                hidden=config.hidden, device=config.device, eval_games=config.eval_games
            ),
            game,
            seed=int(self.rng.integers(2**63)),
        )
        self.optimizer = make_optimizer(config.optimizer, self.value.net.parameters())
        self._work = (
            np.empty((kernels.MAX_RESULTS, 52), np.int8),
            np.empty(kernels.MAX_RESULTS, np.int32),
        )
        self._buffer_boards: np.ndarray | None = None  # allocated when training starts
        self._buffer_targets: np.ndarray | None = None
        self._buffer_size = 0
        self._buffer_next = 0
        self.games_played = 0
        self.updates = 0
        self._pending_games = 0  # games since the last round of updates
        self._last_loss = math.nan
        self.evaluations: list[tuple[int, float, float]] = []  # (games, ppg, ci95)

    # -- playing -------------------------------------------------------------------------------
    def _afterstates(self, state: Any) -> tuple[list[int], np.ndarray]:
        after = self.game.afterstates(state)
        if not after:
            raise ValueError("alphazero-dice needs a state with a player to move")
        boards = np.frombuffer(b"".join(s.board for _, s in after), np.int8).reshape(-1, 52)
        return [a for a, _ in after], boards

    def priors(self, state: Any) -> tuple[list[int], np.ndarray]:
        """The legal moves of ``state`` and their priors, ``softmax(equity / temperature)`` of
        their afterstates' values (float64 ``[N]``)."""
        actions, boards = self._afterstates(state)
        values = equity(self.value.outputs(boards, state.turn))
        return actions, afterstate_priors(values, self.config.temperature)

    def act(self, state: Any) -> int:
        """The move chosen by the expectimax search at ``config.plies``."""
        actions, boards = self._afterstates(state)
        if len(actions) == 1:
            return actions[0]
        c = self.config
        index, _, _ = search_move(self.value, boards, state.turn, c.plies, c.candidates, self._work)
        return actions[index]

    # -- learning ------------------------------------------------------------------------------
    def fit(self, game: Game, session: Any) -> None:
        """Self-play, buffer, update rounds and evaluations until ``session.finished``.

        Each game is reported with ``session.end_episode(points of player 0, moves,
        metrics)``; metrics: ``pubeval_ppg`` and ``pubeval_ci95`` (the latest evaluation, NaN
        before the first), ``loss`` (mean BCE of the latest round of updates), ``lr`` (the
        learning rate of the next round) and ``points``.
        """
        if game.info.name != "backgammon":
            raise IncompatibleEnvError(
                f"alphazero-dice learns backgammon only, not {game.info.name}"
            )
        c = self.config
        while not session.finished:
            winner, points, moves = self.self_play_game()
            self._pending_games += 1
            if self._pending_games >= c.games_per_update:
                self._last_loss = self.update()
                self._pending_games = 0
            if c.eval_every and self.games_played % c.eval_every == 0:
                result = self.value.evaluate_against_pubeval(c.eval_games)
                self.evaluations.append(
                    (self.games_played, result["points_per_game"], result["ci95"])
                )
            points_of_0 = 0 if winner < 0 else (points if winner == 0 else -points)
            last = self.evaluations[-1] if self.evaluations else (0, math.nan, math.nan)
            session.end_episode(
                float(points_of_0),
                moves,
                {
                    "pubeval_ppg": last[1],
                    "pubeval_ci95": last[2],
                    "loss": self._last_loss,
                    "lr": self.learning_rate(),
                    "points": float(points),
                },
            )

    def self_play_game(self) -> tuple[int, int, int]:
        """Play one self-play game at ``selfplay_plies`` and put its positions and λ-return
        targets into the replay buffer. Returns ``(winner, points, moves)`` (winner -1: cut at
        the game's length limit; such a game has no result and is not learned from)."""
        c = self.config
        if c.selfplay_plies == 1:
            limit = int(self.game.info.max_game_length)
            boards = np.empty((min(limit, 2000), 52), np.int8)
            outputs = np.empty((len(boards), NUM_OUTPUTS), np.float32)
            winner, points, moves = _self_play_game(
                *self.value._params,
                np.uint64(self.rng.integers(1, 2**63)),
                len(boards),
                float(c.temperature),
                c.explore_moves,
                *self._work,
                boards,
                outputs,
            )
            boards, outputs = boards[:moves], outputs[:moves]
        else:
            winner, points, boards, outputs = self._searched_game()
            moves = len(boards)
        self.games_played += 1
        if winner >= 0:
            self._store(boards, lambda_targets(outputs, c.target_lambda))
        return int(winner), int(points), int(moves)

    def _searched_game(self) -> tuple[int, int, np.ndarray, np.ndarray]:
        """A self-play game through the rules and the batched search (``selfplay_plies > 1``)."""
        c, game = self.config, self.game
        state = game.initial_state()
        boards, outputs = [], []
        while not game.is_terminal(state):
            if game.is_chance(state):
                state = game.apply(state, game.sample_chance(state, self.rng))
                continue
            mover = state.turn
            after = game.afterstates(state)
            rows = np.frombuffer(b"".join(s.board for _, s in after), np.int8).reshape(-1, 52)
            index, values, _ = search_move(
                self.value, rows, mover, c.selfplay_plies, c.candidates, self._work
            )
            if len(boards) < c.explore_moves:
                p = afterstate_priors(equity(self.value.outputs(rows, mover)), c.temperature)
                index = int(self.rng.choice(len(p), p=p))
            own = 26 * mover
            boards.append(
                np.concatenate([rows[index, own : own + 26], rows[index, 26 - own : 52 - own]])
            )
            outputs.append(values[index])
            state = after[index][1]
        winner = game.winner(state)
        points = int(abs(game.returns(state)[0]))
        return winner, points, np.array(boards, np.int8), np.array(outputs, np.float32)

    def _store(self, boards: np.ndarray, targets: np.ndarray) -> None:
        """Append rows to the replay ring."""
        capacity = self.config.buffer_size
        if self._buffer_boards is None:
            self._buffer_boards = np.zeros((capacity, 52), np.int8)
            self._buffer_targets = np.zeros((capacity, NUM_OUTPUTS), np.float32)
        for board, target in zip(boards[-capacity:], targets[-capacity:], strict=True):
            self._buffer_boards[self._buffer_next] = board
            self._buffer_targets[self._buffer_next] = target
            self._buffer_next = (self._buffer_next + 1) % capacity
        self._buffer_size = min(capacity, self._buffer_size + min(len(boards), capacity))

    def update(self) -> float:
        """One round of ``steps_per_update`` minibatch steps on the buffer; the mean loss."""
        c = self.config
        if self._buffer_size < c.batch_size:
            return math.nan
        net = self.value.net
        lr = self.learning_rate()
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        net.train()
        total = 0.0
        for _ in range(c.steps_per_update):
            rows = self.rng.integers(self._buffer_size, size=c.batch_size)
            x = torch.from_numpy(encode_boards(self._buffer_boards[rows], 0))
            y = torch.from_numpy(self._buffer_targets[rows])
            loss = bce(net(x), y)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            total += float(loss.detach())
        net.eval()
        self.value._play_net = None  # TDLambda's device copy of the weights is now stale
        self.updates += 1
        return total / c.steps_per_update

    def learning_rate(self) -> float:
        """The optimiser's step size for the next round of updates (see ``lr_final``)."""
        c = self.config
        start = parse_optimizer(c.optimizer).lr
        if c.lr_final is None:
            return start
        return Schedule("exponential", start, c.lr_final, c.lr_decay_games).value(self.games_played)

    # -- persistence ---------------------------------------------------------------------------
    def state_dict(self) -> dict[str, torch.Tensor]:
        """``net.<name>`` (the network), ``optimizer.<i>.<key>`` (its moments) and
        ``buffer.boards`` / ``buffer.targets`` (the replay buffer's filled rows)."""
        tensors = self.value.state_dict()
        tensors.update(optimizer_state_tensors(self.optimizer, "optimizer")[0])
        if self._buffer_size:
            tensors["buffer.boards"] = torch.from_numpy(
                self._buffer_boards[: self._buffer_size].copy()
            )
            tensors["buffer.targets"] = torch.from_numpy(
                self._buffer_targets[: self._buffer_size].copy()
            )
        return tensors

    def load_state_dict(self, tensors: dict[str, torch.Tensor]) -> None:
        """Restore what :meth:`state_dict` returned.

        Raises:
            CheckpointError: tensors of another architecture or agent.
        """
        known = {k for k in tensors if k.startswith("net.")}
        self.value.load_state_dict({k: tensors[k] for k in known})
        try:
            # param_groups (learning rate, betas) come with extra_state, loaded next.
            known |= load_optimizer_state(self.optimizer, tensors, "optimizer")
        except (RuntimeError, ValueError, KeyError) as exc:
            raise CheckpointError(
                f"alphazero-dice optimizer state does not fit: {str(exc).splitlines()[0]}"
            ) from None
        if "buffer.boards" in tensors:
            boards = tensors["buffer.boards"].cpu().numpy()
            targets = tensors["buffer.targets"].cpu().numpy()
            capacity = self.config.buffer_size
            self._buffer_boards = np.zeros((capacity, 52), np.int8)
            self._buffer_targets = np.zeros((capacity, NUM_OUTPUTS), np.float32)
            self._buffer_size = min(len(boards), capacity)
            self._buffer_boards[: self._buffer_size] = boards[: self._buffer_size]
            self._buffer_targets[: self._buffer_size] = targets[: self._buffer_size]
            known |= {"buffer.boards", "buffer.targets"}
        unknown = sorted(set(tensors) - known)
        if unknown:
            raise CheckpointError(f"unexpected tensors for alphazero-dice: {unknown[:5]}")

    def extra_state(self) -> dict[str, Any]:
        """Generator state, counters, the buffer's write position, evaluations and the
        optimiser's ``param_groups``."""
        state = super().extra_state()
        state.update(
            games_played=self.games_played,
            updates=self.updates,
            pending_games=self._pending_games,
            buffer_next=self._buffer_next,
            last_loss=None if math.isnan(self._last_loss) else self._last_loss,
            evaluations=[list(e) for e in self.evaluations],
            optimizer=optimizer_state_tensors(self.optimizer, "optimizer")[1],
        )
        return state

    def load_extra_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`extra_state` returned."""
        super().load_extra_state(state)
        self.games_played = int(state.get("games_played", 0))
        self.updates = int(state.get("updates", 0))
        self._pending_games = int(state.get("pending_games", 0))
        self._buffer_next = int(state.get("buffer_next", 0)) % self.config.buffer_size
        loss = state.get("last_loss")
        self._last_loss = math.nan if loss is None else float(loss)
        self.evaluations = [
            (int(g), float(p), float(c)) for g, p, c in state.get("evaluations", [])
        ]
        if "optimizer" in state:
            tensors = optimizer_state_tensors(self.optimizer, "optimizer")[0]
            try:
                load_optimizer_state(self.optimizer, tensors, "optimizer", state["optimizer"])
            except (RuntimeError, ValueError, KeyError) as exc:
                raise CheckpointError(
                    f"alphazero-dice optimizer state does not fit: {str(exc).splitlines()[0]}"
                ) from None
