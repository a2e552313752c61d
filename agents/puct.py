"""AlphaZero's PUCT search over many trees in lockstep, with compiled tree statistics.

The search is AlphaZero's (Silver et al., "Mastering Chess and Shogi by Self-Play with a
General Reinforcement Learning Algorithm", 2017; Science 362, 2018). A simulation walks down
from the root choosing, at every decision node ``s``, the edge ``a`` that maximises::

    Q(s, a) + c(s) * P(s, a) * sqrt(N(s)) / (1 + N(s, a))
    c(s) = log((1 + N(s) + c_base) / c_base) + c_init        (the published pseudocode)

where ``P`` is the evaluator's prior, ``N(s, a)`` the edge's visits, ``Q(s, a)`` the mean
value of the child for the player who chose ``a`` and ``N(s)`` the node's own visit count,
which here counts the node's evaluation too (``N(s) = 1 + sum_a N(s, a)``; the pseudocode's
root starts at 0, so its first simulation picks by ``Q`` alone; ours picks by prior, as Lc0
and KataGo do). An unvisited edge gets the first-play-urgency value ``Q(s) - fpu_reduction``
with ``Q(s)`` the node's mean value for the player to move (Lc0/KataGo; ``fpu_reduction=0``
means the parent's value). The first new node on the path is evaluated (priors and a value
for every player), its legal edges are created with the priors renormalised over the legal
actions, and the value vector is added to every node on the path; an edge's ``Q`` reads the
child's sum for the player to move at the parent, so games of any number of players work.

Root. A tree's root is evaluated once when first searched; a root kept by :meth:`advance`
(tree reuse) keeps its subtree and statistics. ``noise=True`` mixes Dirichlet noise into the
root priors, ``(1 - fraction) * P + fraction * Dir(alpha)``, for this search only (the stored
priors stay the evaluator's); ``dirichlet_alpha=0`` means ``alpha = 10 / legal actions``,
which gives AlphaZero's 0.3 for chess (~30 moves) and 0.03 for 19x19 Go (~360).

Gumbel root (``root="gumbel"``; Danihelka et al., "Policy improvement by planning with
Gumbel", ICLR 2022, Algorithm 2, in the form of DeepMind's mctx). With ``g ~ Gumbel(0, 1)`` per
legal action (``g = 0`` without noise) and ``logits = log P``, the ``m = min(gumbel_actions,
legal)`` actions with the highest ``g + logits`` are searched by sequential halving: the
budget is split over ``ceil(log2 m)`` phases, each remaining action gets equal visits in a
phase, and the better half by ``g + logits + sigma(q)`` goes on (mctx's table of "considered
visits" makes that one root choice per simulation). ``sigma(q) = (c_visit + max_b N(b)) *
c_scale * q`` with ``q`` scaled to [0, 1] by the game's utility range. Completed Q: a visited
child's mean value, else the paper's ``v_mix`` (the network value of the root mixed with the
prior-weighted Q of the visited children). The policy target is ``softmax(logits +
sigma(completed Q))`` and the move is the halving's winner. Below the root the tree uses PUCT
as above: simpler than the paper's deterministic non-root rule, and what mctx users often do
with few simulations. Sequential halving counts this search's visits only, so a reused root
still spends its budget by the schedule.

Batching. :meth:`PuctSearch.search` steps all listed trees together. In one step a compiled
kernel selects ``leaves_per_tree`` leaves in every tree; the leaves of one tree are spread by
virtual loss (each pending path adds a visit and a loss of ``virtual_loss`` to its nodes,
removed at backup). A selection that runs into a node created earlier in the same step ends
that tree's gathering for the step (the node is evaluated once). Python then applies each
leaf's action (``game.apply``), reads terminal outcomes from ``game.returns``, sends all new
non-terminal leaves of all trees to ONE ``evaluator.prior_and_value`` call, and a second
kernel expands them and backs the values up. Python loops run per leaf, never per child.

Speed (``python scripts/bench_alphazero.py tree``, free evaluator, 200 simulations, a shared
2-core machine): 64 trees in lockstep run ~180k simulations/s on connect four and ~60k on 7x7
Go (per CPU second ~300k and ~75k), where ``game.apply`` and ``legal_mask`` take about half the
time; OpenSpiel's Python MCTS on the same rules runs ~70k and ~18k.

Storage. All trees share one pool of nodes (int32 rows: parent, action, player to move,
visits, pending visits, first edge, edge count), float64 value sums ``[nodes, players]`` and
a pool of edges (action, child, prior) with each node's edges contiguous; states live in a
Python list beside the nodes. When a pool is full the live trees (reachable from the roots)
are compacted into fresh arrays, grown when they are more than half full.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numba import njit

from rlkit.errors import IncompatibleEnvError, SpecError
from rlkit.game import TERMINAL, Game
from rlkit.search import Evaluator, check_evaluation

__all__ = ["PuctConfig", "PuctSearch", "SearchResult"]

# Columns of the node table (int32 [capacity, 8]).
_PARENT, _ACTION, _PLAYER, _VISITS, _PENDING, _EDGE_START, _NUM_EDGES = range(7)
_NODE_COLUMNS = 8
# Columns of the edge table (int32 [capacity, 2]).
_E_ACTION, _E_CHILD = 0, 1
# ``_PLAYER`` of a node created by a selection in the current step and not yet resolved.
_UNRESOLVED = -3
_TERMINAL = TERMINAL
# Indices into the float64 parameter vector the kernels read.
_C_INIT, _C_BASE, _FPU, _VLOSS, _MIN_U, _MAX_U, _C_VISIT, _C_SCALE = range(8)
_LOW_LOGIT = -1e9  # mctx's floor for logits of zero-prior actions
_NO_NODES = np.empty(0, dtype=np.int64)


def _same(state: Any, _action: int) -> Any:
    """``apply`` for leaves whose state is already stored (fresh roots)."""
    return state


# -- configuration and results ------------------------------------------------------------------
@dataclass(frozen=True)
class PuctConfig:
    """Settings of :class:`PuctSearch` (see the module docstring for the formulas).

    Attributes:
        simulations: simulations per search in each tree (at least 1).
        c_init, c_base: the exploration schedule ``c(s)``; AlphaZero's 1.25 and 19652.
        dirichlet_alpha: root noise concentration; 0 picks ``10 / legal actions``.
        dirichlet_fraction: weight of the noise in the root priors.
        fpu_reduction: an unvisited child's value is the parent's value minus this.
        leaves_per_tree: leaves gathered per tree per evaluator call (virtual loss).
        virtual_loss: value loss per pending visit on a path.
        root: ``"puct"`` (visit-count policy, Dirichlet noise) or ``"gumbel"``.
        gumbel_actions: ``m``, actions considered at a Gumbel root.
        gumbel_c_visit, gumbel_c_scale: ``sigma``'s constants (the paper's 50 and 1).
    """

    simulations: int = 200
    c_init: float = 1.25
    c_base: float = 19652.0
    dirichlet_alpha: float = 0.0
    dirichlet_fraction: float = 0.25
    fpu_reduction: float = 0.0
    leaves_per_tree: int = 1
    virtual_loss: float = 1.0
    root: Literal["puct", "gumbel"] = "puct"
    gumbel_actions: int = 16
    gumbel_c_visit: float = 50.0
    gumbel_c_scale: float = 1.0

    def __post_init__(self) -> None:
        for name in ("simulations", "leaves_per_tree", "gumbel_actions"):
            value = getattr(self, name)
            if not isinstance(value, int | np.integer) or isinstance(value, bool):
                raise SpecError(f"{name} must be an integer, got {value!r}")
            if value < 1:
                raise SpecError(f"{name} must be at least 1, got {value}")
        for name in (
            "c_init",
            "c_base",
            "dirichlet_alpha",
            "dirichlet_fraction",
            "fpu_reduction",
            "virtual_loss",
            "gumbel_c_visit",
            "gumbel_c_scale",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float | np.number):
                raise SpecError(f"{name} must be a number, got {value!r}")
            if not math.isfinite(value):
                raise SpecError(f"{name} must be finite, got {value!r}")
        for name in ("c_init", "dirichlet_alpha", "virtual_loss", "gumbel_c_visit"):
            if getattr(self, name) < 0:
                raise SpecError(f"{name} must be at least 0, got {getattr(self, name)}")
        for name in ("c_base", "gumbel_c_scale"):
            if getattr(self, name) <= 0:
                raise SpecError(f"{name} must be positive, got {getattr(self, name)}")
        if not 0.0 <= self.dirichlet_fraction <= 1.0:
            raise SpecError(f"dirichlet_fraction must be in [0, 1], got {self.dirichlet_fraction}")
        if self.root not in ("puct", "gumbel"):
            raise SpecError(f"root must be 'puct' or 'gumbel', got {self.root!r}")


@dataclass
class SearchResult:
    """What one :meth:`PuctSearch.search` found, one row per tree in the order asked.

    Attributes:
        visits: int32 ``[T, A]``, the root children's visit counts, reused visits included:
            a fresh root's row sums to ``simulations``, a reused root's to ``simulations``
            plus its earlier visits minus one (its own evaluation).
        policy: float32 ``[T, A]``, the policy target: the visit distribution (puct) or
            ``softmax(logits + sigma(completed Q))`` (gumbel); 0 on illegal actions.
        q: float32 ``[T, A]``, each child's mean value for the player to move at the root;
            an unvisited legal child gets the root value (puct) or ``v_mix`` (gumbel); 0 on
            illegal actions.
        root_value: float32 ``[T]``, the root's mean value for the player to move (its own
            evaluation and every simulation through it).
        action: int64 ``[T]``, the search's choice: most visits, ties to the higher search
            prior then the lower action (puct); sequential halving's winner (gumbel).
        prior: float32 ``[T, A]``, the root priors the search used (with Dirichlet noise when
            ``noise=True`` under puct; the evaluator's under gumbel).
    """

    visits: np.ndarray
    policy: np.ndarray
    q: np.ndarray
    root_value: np.ndarray
    action: np.ndarray
    prior: np.ndarray


# -- compiled kernels ---------------------------------------------------------------------------
@njit(cache=True)
def _puct_edge(node, nodes, values, edges, edge_prior, root_row, at_root, params):
    """The edge of ``node`` with the highest PUCT score (virtual loss included)."""
    player = nodes[node, _PLAYER]
    parent_visits = nodes[node, _VISITS] + nodes[node, _PENDING] - 1  # minus this descent
    vloss = params[_VLOSS]
    first_play = values[node, player] / max(nodes[node, _VISITS], 1) - params[_FPU]
    c = math.log((1.0 + parent_visits + params[_C_BASE]) / params[_C_BASE]) + params[_C_INIT]
    c_sqrt = c * math.sqrt(parent_visits)
    start = nodes[node, _EDGE_START]
    best, best_score = -1, -np.inf
    for e in range(start, start + nodes[node, _NUM_EDGES]):
        child = edges[e, _E_CHILD]
        n = 0
        q = first_play
        if child >= 0:
            pending = nodes[child, _PENDING]
            n = nodes[child, _VISITS] + pending
            if n > 0:
                q = (values[child, player] - vloss * pending) / n
        prior = root_row[edges[e, _E_ACTION]] if at_root else edge_prior[e]
        score = q + c_sqrt * prior / (1 + n)
        if score > best_score:
            best, best_score = e, score
    return best


@njit(cache=True)
def _completed_q(root, nodes, values, raw, edges, edge_prior, params, out):
    """Completed Q of the root's edges (scaled to [0, 1]) into ``out[:num_edges]``; returns
    ``(v_mix, max visits)``. Only completed visits count (virtual loss does not move it)."""
    player = nodes[root, _PLAYER]
    start = nodes[root, _EDGE_START]
    count = nodes[root, _NUM_EDGES]
    sum_n, max_n, sum_p, sum_pq = 0, 0, 0.0, 0.0
    for i in range(count):
        child = edges[start + i, _E_CHILD]
        n = nodes[child, _VISITS] if child >= 0 else 0
        if n > 0:
            q = values[child, player] / n
            out[i] = q
            sum_n += n
            sum_p += edge_prior[start + i]
            sum_pq += edge_prior[start + i] * q
            max_n = max(max_n, n)
    v_mix = raw[root]
    if sum_n > 0 and sum_p > 0.0:
        v_mix = (raw[root] + sum_n * sum_pq / sum_p) / (1.0 + sum_n)
    low, high = params[_MIN_U], params[_MAX_U]
    span = high - low if high > low else 1.0
    for i in range(count):
        child = edges[start + i, _E_CHILD]
        if child < 0 or nodes[child, _VISITS] == 0:
            out[i] = v_mix
        out[i] = (out[i] - low) / span
    return v_mix, max_n


@njit(cache=True)
def _gumbel_edge(
    root,
    t,
    nodes,
    values,
    raw,
    edges,
    edge_prior,
    g_score,
    g_visits,
    g_count,
    g_table,
    params,
    scratch,
):
    """Sequential halving's root choice for one simulation (mctx's table form)."""
    start = nodes[root, _EDGE_START]
    count = nodes[root, _NUM_EDGES]
    simulation = 0
    for i in range(count):
        simulation += g_visits[t, edges[start + i, _E_ACTION]]
    considered = g_table[g_count[t], min(simulation, g_table.shape[1] - 1)]
    _, max_n = _completed_q(root, nodes, values, raw, edges, edge_prior, params, scratch)
    sigma = (params[_C_VISIT] + max_n) * params[_C_SCALE]
    best, best_score = -1, -np.inf
    for i in range(count):
        a = edges[start + i, _E_ACTION]
        if g_visits[t, a] != considered:
            continue
        score = max(_LOW_LOGIT, g_score[t, a] + sigma * scratch[i])
        if score > best_score:
            best, best_score = start + i, score
    g_visits[t, edges[best, _E_ACTION]] += 1
    return best


@njit(cache=True)
def _select(
    trees,
    roots,
    todo,
    leaves_per_tree,
    gumbel,
    nodes,
    values,
    raw,
    edges,
    edge_prior,
    counts,
    root_prior,
    g_score,
    g_visits,
    g_count,
    g_table,
    params,
    out_leaf,
    out_parent,
    out_action,
    out_known,
    scratch,
):
    """Select up to ``leaves_per_tree`` leaves in each listed tree, with virtual loss.

    A new leaf gets a node (``_UNRESOLVED``) and goes to ``out_leaf/out_parent/out_action``;
    a path ending at a known terminal node goes to ``out_known``. ``todo[i]`` (simulations
    left in ``trees[i]``) drops by the selections made; ``scratch`` is float64
    ``[num_actions]``. Returns ``(new leaves, known, simulations still to do)``.
    """
    k = 0
    known = 0
    for i in range(trees.shape[0]):
        t = trees[i]
        root = roots[t]
        for _ in range(min(leaves_per_tree, todo[i])):
            node = root
            depth = 0
            root_action = -1
            collided = False
            while True:
                nodes[node, _PENDING] += 1
                player = nodes[node, _PLAYER]
                if player == _TERMINAL:
                    out_known[known] = node
                    known += 1
                    break
                if player == _UNRESOLVED:  # created by an earlier selection of this step
                    collided = True
                    break
                if depth == 0 and gumbel:
                    e = _gumbel_edge(
                        node,
                        t,
                        nodes,
                        values,
                        raw,
                        edges,
                        edge_prior,
                        g_score,
                        g_visits,
                        g_count,
                        g_table,
                        params,
                        scratch,
                    )
                else:
                    e = _puct_edge(
                        node, nodes, values, edges, edge_prior, root_prior[t], depth == 0, params
                    )
                if depth == 0:
                    root_action = edges[e, _E_ACTION]
                child = edges[e, _E_CHILD]
                if child < 0:
                    child = counts[0]
                    counts[0] += 1
                    nodes[child, _PARENT] = node
                    nodes[child, _ACTION] = edges[e, _E_ACTION]
                    nodes[child, _PLAYER] = _UNRESOLVED
                    nodes[child, _VISITS] = 0
                    nodes[child, _PENDING] = 1
                    nodes[child, _EDGE_START] = 0
                    nodes[child, _NUM_EDGES] = 0
                    values[child, :] = 0.0
                    edges[e, _E_CHILD] = child
                    out_leaf[k] = child
                    out_parent[k] = node
                    out_action[k] = edges[e, _E_ACTION]
                    k += 1
                    break
                node = child
                depth += 1
            if collided:
                while node >= 0:  # take this path's virtual loss back
                    nodes[node, _PENDING] -= 1
                    node = nodes[node, _PARENT]
                if gumbel:
                    g_visits[t, root_action] -= 1
                break
            todo[i] -= 1
    return k, known, todo.sum()


@njit(cache=True)
def _backup(node, value, nodes, values):
    """Add one visit and the value vector to ``node`` and its ancestors; clear the pending
    visit of the path."""
    while node >= 0:
        nodes[node, _VISITS] += 1
        nodes[node, _PENDING] -= 1
        for p in range(values.shape[1]):
            values[node, p] += value[p]
        node = nodes[node, _PARENT]


@njit(cache=True)
def _expand_backup(
    eval_nodes,
    eval_players,
    legal,
    offsets,
    priors,
    evaluations,
    term_nodes,
    term_returns,
    known_nodes,
    nodes,
    values,
    raw,
    terminal,
    edges,
    edge_prior,
    counts,
):
    """Expand the evaluated leaves (edges over ``legal[offsets[i]:offsets[i+1]]`` with the
    priors renormalised there), store the terminal leaves' returns, back everything up."""
    value = np.empty(values.shape[1], dtype=np.float64)
    for i in range(eval_nodes.shape[0]):
        node = eval_nodes[i]
        player = eval_players[i]
        lo, hi = offsets[i], offsets[i + 1]
        total = 0.0
        for j in range(lo, hi):
            total += priors[i, legal[j]]
        start = counts[1]
        for j in range(lo, hi):
            e = start + j - lo
            edges[e, _E_ACTION] = legal[j]
            edges[e, _E_CHILD] = -1
            if total > 0.0:
                edge_prior[e] = priors[i, legal[j]] / total
            else:  # an evaluator that puts no mass on any legal move: uniform
                edge_prior[e] = 1.0 / (hi - lo)
        counts[1] += hi - lo
        nodes[node, _PLAYER] = player
        nodes[node, _EDGE_START] = start
        nodes[node, _NUM_EDGES] = hi - lo
        raw[node] = evaluations[i, player]
        for p in range(value.shape[0]):
            value[p] = evaluations[i, p]
        _backup(node, value, nodes, values)
    for i in range(term_nodes.shape[0]):
        node = term_nodes[i]
        nodes[node, _PLAYER] = _TERMINAL
        terminal[node, :] = term_returns[i]
        _backup(node, term_returns[i], nodes, values)
    for i in range(known_nodes.shape[0]):
        _backup(known_nodes[i], terminal[known_nodes[i]], nodes, values)


@njit(cache=True)
def _abandon(leaves, known_nodes, nodes, edges):
    """Undo a step that failed before its backup: take back the pending visits of its paths
    and detach the nodes it created, so the trees are as before the step."""
    for i in range(leaves.shape[0]):
        leaf = leaves[i]
        parent = nodes[leaf, _PARENT]
        if nodes[leaf, _PLAYER] == _UNRESOLVED:
            start = nodes[parent, _EDGE_START]
            for e in range(start, start + nodes[parent, _NUM_EDGES]):
                if edges[e, _E_CHILD] == leaf:
                    edges[e, _E_CHILD] = -1
        node = leaf
        while node >= 0:
            nodes[node, _PENDING] -= 1
            node = nodes[node, _PARENT]
    for i in range(known_nodes.shape[0]):
        node = known_nodes[i]
        while node >= 0:
            nodes[node, _PENDING] -= 1
            node = nodes[node, _PARENT]


@njit(cache=True)
def _summarize(
    trees,
    roots,
    gumbel,
    nodes,
    values,
    raw,
    edges,
    edge_prior,
    root_prior,
    g_score,
    g_visits,
    params,
    visits,
    policy,
    q,
    root_value,
    action,
    prior,
):
    """Fill the :class:`SearchResult` arrays for the listed trees."""
    scratch = np.empty(visits.shape[1], dtype=np.float64)
    for i in range(trees.shape[0]):
        t = trees[i]
        root = roots[t]
        player = nodes[root, _PLAYER]
        start = nodes[root, _EDGE_START]
        count = nodes[root, _NUM_EDGES]
        v_root = values[root, player] / nodes[root, _VISITS]
        root_value[i] = v_root
        total = 0
        for j in range(count):
            a = edges[start + j, _E_ACTION]
            child = edges[start + j, _E_CHILD]
            n = nodes[child, _VISITS] if child >= 0 else 0
            visits[i, a] = n
            total += n
            q[i, a] = values[child, player] / n if n > 0 else v_root
            prior[i, a] = edge_prior[start + j] if gumbel else root_prior[t, a]
        if not gumbel:
            best, best_key_n, best_key_p = -1, -1, -1.0
            for j in range(count):
                a = edges[start + j, _E_ACTION]
                policy[i, a] = visits[i, a] / max(total, 1)
                if visits[i, a] > best_key_n or (
                    visits[i, a] == best_key_n and prior[i, a] > best_key_p
                ):
                    best, best_key_n, best_key_p = a, visits[i, a], prior[i, a]
            action[i] = best
            continue
        v_mix, max_n = _completed_q(root, nodes, values, raw, edges, edge_prior, params, scratch)
        sigma = (params[_C_VISIT] + max_n) * params[_C_SCALE]
        low, high = params[_MIN_U], params[_MAX_U]
        span = high - low if high > low else 1.0
        most = 0
        for j in range(count):
            most = max(most, g_visits[t, edges[start + j, _E_ACTION]])
        best, best_score, top = -1, -np.inf, -np.inf
        for j in range(count):
            a = edges[start + j, _E_ACTION]
            logit = math.log(max(edge_prior[start + j], 1e-30))
            scratch[j] = logit + sigma * scratch[j]
            top = max(top, scratch[j])
            if visits[i, a] == 0:
                q[i, a] = v_mix
            if g_visits[t, a] == most:
                score = g_score[t, a] + sigma * (q[i, a] - low) / span
                if score > best_score:
                    best, best_score = a, score
        action[i] = best
        norm = 0.0
        for j in range(count):
            scratch[j] = math.exp(scratch[j] - top)
            norm += scratch[j]
        for j in range(count):
            policy[i, edges[start + j, _E_ACTION]] = scratch[j] / norm


@njit(cache=True)
def _live_order(roots, nodes, edges, node_count):
    """Breadth-first order of the nodes reachable from the roots (old ids), the live node
    count and the live edge count."""
    order = np.empty(node_count, dtype=np.int64)
    tail = 0
    for r in roots:
        if r >= 0:
            order[tail] = r
            tail += 1
    head = 0
    live_edges = 0
    while head < tail:
        node = order[head]
        head += 1
        start = nodes[node, _EDGE_START]
        count = nodes[node, _NUM_EDGES]
        live_edges += count
        for e in range(start, start + count):
            if edges[e, _E_CHILD] >= 0:
                order[tail] = edges[e, _E_CHILD]
                tail += 1
    return order, tail, live_edges


@njit(cache=True)
def _compact(
    order,
    live,
    nodes,
    values,
    raw,
    terminal,
    edges,
    edge_prior,
    new_nodes,
    new_values,
    new_raw,
    new_terminal,
    new_edges,
    new_edge_prior,
):
    """Copy the live nodes in ``order`` (old ids; new id = position) into the new arrays."""
    new_id = np.full(nodes.shape[0], -1, dtype=np.int64)
    for i in range(live):
        new_id[order[i]] = i
    next_edge = 0
    for i in range(live):
        old = order[i]
        new_nodes[i, :] = nodes[old, :]
        parent = nodes[old, _PARENT]
        new_nodes[i, _PARENT] = new_id[parent] if parent >= 0 else -1
        new_values[i, :] = values[old, :]
        new_raw[i] = raw[old]
        new_terminal[i, :] = terminal[old, :]
        start = nodes[old, _EDGE_START]
        count = nodes[old, _NUM_EDGES]
        new_nodes[i, _EDGE_START] = next_edge
        for j in range(count):
            child = edges[start + j, _E_CHILD]
            new_edges[next_edge + j, _E_ACTION] = edges[start + j, _E_ACTION]
            new_edges[next_edge + j, _E_CHILD] = new_id[child] if child >= 0 else -1
            new_edge_prior[next_edge + j] = edge_prior[start + j]
        next_edge += count
    return next_edge


def _considered_visits(max_considered: int, simulations: int) -> np.ndarray:
    """mctx's sequential-halving schedule: int32 ``[max_considered + 1, simulations]``; row
    ``m`` gives, for each simulation index, the visit count an action must have to be chosen
    when ``m`` actions are considered (``ceil(log2 m)`` phases, equal visits per phase)."""
    table = np.zeros((max_considered + 1, simulations), dtype=np.int32)
    for m in range(max_considered + 1):
        if m <= 1:
            table[m] = np.arange(simulations)
            continue
        phases = math.ceil(math.log2(m))
        sequence: list[int] = []
        visits = [0] * m
        considered = m
        while len(sequence) < simulations:
            extra = max(1, int(simulations / (phases * considered)))
            for _ in range(extra):
                sequence.extend(visits[:considered])
                for j in range(considered):
                    visits[j] += 1
            considered = max(2, considered // 2)
        table[m] = sequence[:simulations]
    return table


# -- the search ---------------------------------------------------------------------------------
class PuctSearch:
    """PUCT search in ``num_trees`` trees of ``game`` that step together (see the module
    docstring).

    Args:
        game: the rules; games with chance nodes are refused.
        evaluator: priors and values for batches of leaf states (:mod:`rlkit.search`).
        config: the search's settings.
        num_trees: trees kept (e.g. one per self-play game).
        rng: the generator for root noise; the search draws nothing else.

    Raises:
        IncompatibleEnvError: ``game`` has chance nodes.
    """

    def __init__(
        self,
        game: Game,
        evaluator: Evaluator,
        config: PuctConfig,
        num_trees: int,
        rng: np.random.Generator,
    ) -> None:
        if game.info.has_chance:
            raise IncompatibleEnvError(
                f"PUCT search plays games without chance, and {game.info.name} has chance nodes: "
                "use alphazero-dice"
            )
        if not isinstance(num_trees, int | np.integer) or num_trees < 1:
            raise ValueError(f"num_trees must be a positive integer, got {num_trees!r}")
        self.game = game
        self.evaluator = evaluator
        self.config = config
        self.num_trees = int(num_trees)
        self.rng = rng
        info = game.info
        self._num_actions = info.num_actions
        self._num_players = info.num_players
        # A game that only inherits Game.legal_mask builds its mask from legal_actions, so
        # the list is the cheaper thing to ask for; games with a compiled mask give the mask.
        self._use_mask = type(game).legal_mask is not Game.legal_mask
        self._params = np.array(
            [
                config.c_init,
                config.c_base,
                config.fpu_reduction,
                config.virtual_loss,
                info.min_utility,
                info.max_utility,
                config.gumbel_c_visit,
                config.gumbel_c_scale,
            ],
            dtype=np.float64,
        )
        self._gumbel = config.root == "gumbel"
        self._g_table = _considered_visits(config.gumbel_actions, config.simulations)
        shape = (self.num_trees, self._num_actions)
        self._root_prior = np.zeros(shape, dtype=np.float32)
        self._g_score = np.zeros(shape, dtype=np.float64)
        self._g_visits = np.zeros(shape, dtype=np.int32)
        self._g_count = np.zeros(self.num_trees, dtype=np.int64)
        self._roots = np.full(self.num_trees, -1, dtype=np.int64)
        self._counts = np.zeros(2, dtype=np.int64)  # nodes used, edges used
        nodes = max(1024, 2 * self.num_trees * (config.simulations + 1))
        self._allocate(nodes, nodes * min(self._num_actions, 16))
        batch = self.num_trees * config.leaves_per_tree
        self._out_leaf = np.empty(batch, dtype=np.int64)
        self._out_parent = np.empty(batch, dtype=np.int64)
        self._out_action = np.empty(batch, dtype=np.int64)
        self._out_known = np.empty(batch, dtype=np.int64)
        self._scratch = np.empty(self._num_actions, dtype=np.float64)
        self._no_returns = np.zeros((0, self._num_players), dtype=np.float64)

    # -- storage ---------------------------------------------------------------------------------
    def _allocate(self, nodes: int, edges: int) -> None:
        self._nodes = np.zeros((nodes, _NODE_COLUMNS), dtype=np.int32)
        self._values = np.zeros((nodes, self._num_players), dtype=np.float64)
        self._raw = np.zeros(nodes, dtype=np.float64)
        self._terminal = np.zeros((nodes, self._num_players), dtype=np.float64)
        self._edges = np.zeros((edges, 2), dtype=np.int32)
        self._edge_prior = np.zeros(edges, dtype=np.float32)
        self._states: list[Any] = [None] * nodes

    def _ensure_room(self, nodes: int, edges: int) -> None:
        """Make room for ``nodes`` more nodes and ``edges`` more edges: compact the live trees
        when a pool is short, into pools grown to at least twice what is then needed."""
        used_nodes, used_edges = int(self._counts[0]), int(self._counts[1])
        capacity_nodes, capacity_edges = len(self._nodes), len(self._edges)
        if used_nodes + nodes <= capacity_nodes and used_edges + edges <= capacity_edges:
            return
        order, live, live_edges = _live_order(self._roots, self._nodes, self._edges, used_nodes)
        while 2 * (live + nodes) > capacity_nodes:
            capacity_nodes *= 2
        while 2 * (live_edges + edges) > capacity_edges:
            capacity_edges *= 2
        old = (self._nodes, self._values, self._raw, self._terminal, self._edges)
        old_prior, old_states = self._edge_prior, self._states
        self._allocate(capacity_nodes, capacity_edges)
        copied = _compact(
            order,
            live,
            *old,
            old_prior,
            self._nodes,
            self._values,
            self._raw,
            self._terminal,
            self._edges,
            self._edge_prior,
        )
        for new, previous in enumerate(order[:live].tolist()):
            self._states[new] = old_states[previous]
        new_id = np.full(used_nodes + 1, -1, dtype=np.int64)  # slot -1 maps "no root" to -1
        new_id[order[:live]] = np.arange(live)
        self._roots = new_id[self._roots]
        self._counts[:] = (live, copied)

    def _new_root(self, tree: int, state: Any) -> None:
        self._roots[tree] = -1  # the old tree is garbage for the compaction
        self._ensure_room(1, 0)
        node = int(self._counts[0])
        self._counts[0] += 1
        self._nodes[node] = 0
        self._nodes[node, _PARENT] = -1
        self._nodes[node, _ACTION] = -1
        self._nodes[node, _PLAYER] = self.game.current_player(state)
        self._values[node] = 0.0
        self._states[node] = state
        self._roots[tree] = node

    def _tree(self, tree: int) -> int:
        if not isinstance(tree, int | np.integer) or not 0 <= tree < self.num_trees:
            raise ValueError(f"tree must be an index 0-{self.num_trees - 1}, got {tree!r}")
        return int(tree)

    def _root(self, tree: int) -> int:
        root = int(self._roots[self._tree(tree)])
        if root < 0:
            raise ValueError(f"tree {tree} has no root: call set_root first")
        return root

    # -- public API ------------------------------------------------------------------------------
    def set_root(self, tree: int, state: Any) -> None:
        """Start a fresh tree ``tree`` at ``state``."""
        self._new_root(self._tree(tree), state)

    def advance(self, tree: int, action: int) -> None:
        """Move ``tree``'s root to its child by ``action``, keeping the child's subtree and
        statistics (tree reuse); a child never expanded becomes a fresh root.

        Raises:
            IllegalMoveError: ``action`` is not legal at the root.
        """
        root = self._root(tree)
        start, count = self._nodes[root, _EDGE_START], self._nodes[root, _NUM_EDGES]
        actions = self._edges[start : start + count, _E_ACTION]
        index = int(np.searchsorted(actions, action))
        if index < count and actions[index] == action:
            child = int(self._edges[start + index, _E_CHILD])
            if child >= 0 and self._nodes[child, _PLAYER] != _UNRESOLVED:
                self._nodes[child, _PARENT] = -1
                self._roots[tree] = child
                return
        self._new_root(int(tree), self.game.apply(self._states[root], int(action)))

    def root_state(self, tree: int) -> Any:
        """The game state at ``tree``'s root."""
        return self._states[self._root(tree)]

    def reset(self) -> None:
        """Empty every tree (new games); call :meth:`set_root` before searching again."""
        self._roots[:] = -1
        self._counts[:] = 0
        self._states = [None] * len(self._nodes)

    def search(self, trees: Sequence[int], *, noise: bool) -> SearchResult:
        """Run ``config.simulations`` simulations in each of ``trees`` (distinct indices),
        stepping them together with one evaluator call per step.

        Args:
            trees: the trees to search; the result's rows follow this order.
            noise: Dirichlet noise on the root priors (puct) or Gumbel noise (gumbel).

        Returns:
            The :class:`SearchResult`, one row per tree.

        Raises:
            ValueError: a tree without a root, a root where the game is over, repeated trees.
        """
        trees = np.array([self._tree(t) for t in trees], dtype=np.int64)
        if len(np.unique(trees)) != len(trees):
            raise ValueError(f"trees must be distinct, got {trees.tolist()}")
        roots = [self._root(t) for t in trees]
        for t, root in zip(trees.tolist(), roots, strict=True):
            if self._nodes[root, _PLAYER] == _TERMINAL:
                raise ValueError(f"tree {t}: the game is over at its root")
        config = self.config
        num_actions = self._num_actions
        fresh = [t for t, r in zip(trees.tolist(), roots, strict=True) if not self._expanded(r)]
        if fresh:
            self._ensure_room(0, len(fresh) * num_actions)
            nodes = self._roots[fresh]
            self._nodes[nodes, _PENDING] += 1
            leaves = nodes.tolist()
            try:
                self._evaluate_and_backup(leaves, leaves, [0] * len(leaves), _NO_NODES, _same)
            except BaseException:
                self._nodes[nodes, _PENDING] -= 1
                raise
        self._prepare_roots(trees, noise)

        todo = np.full(len(trees), config.simulations, dtype=np.int64)
        batch = len(trees) * config.leaves_per_tree
        left = int(todo.sum())
        while left:
            self._ensure_room(batch, batch * num_actions)
            count, known, left = _select(
                trees,
                self._roots,
                todo,
                config.leaves_per_tree,
                self._gumbel,
                self._nodes,
                self._values,
                self._raw,
                self._edges,
                self._edge_prior,
                self._counts,
                self._root_prior,
                self._g_score,
                self._g_visits,
                self._g_count,
                self._g_table,
                self._params,
                self._out_leaf,
                self._out_parent,
                self._out_action,
                self._out_known,
                self._scratch,
            )
            if count == 0 and known == 0:  # cannot happen: the first selection always counts
                raise RuntimeError("PUCT search made no progress")
            leaves = self._out_leaf[:count].tolist()
            known_nodes = self._out_known[:known].copy() if known else _NO_NODES
            try:
                self._evaluate_and_backup(
                    leaves,
                    self._out_parent[:count].tolist(),
                    self._out_action[:count].tolist(),
                    known_nodes,
                )
            except BaseException:  # e.g. Ctrl-C in the evaluator: leave the trees usable
                _abandon(self._out_leaf[:count].copy(), known_nodes, self._nodes, self._edges)
                raise
        return self._summary(trees)

    def _expanded(self, node: int) -> bool:
        return bool(self._nodes[node, _NUM_EDGES] > 0)

    def _evaluate_and_backup(
        self,
        leaves: list[int],
        parents: list[int],
        actions: list[int],
        known: np.ndarray,
        apply: Any = None,
    ) -> None:
        """Resolve ``leaves``: each one's state is ``apply(state of parent, action)``
        (``game.apply`` unless given); terminal ones take ``game.returns``, the others go to
        one evaluator call and are expanded over their legal actions. Back up everything,
        ``known`` (terminal nodes reached again) included. This loop is the per-leaf Python
        cost of the search."""
        game = self.game
        apply = apply or game.apply
        current_player = game.current_player
        legal_of = game.legal_mask if self._use_mask else game.legal_actions
        use_mask = self._use_mask
        states = self._states
        eval_nodes: list[int] = []
        eval_states: list[Any] = []
        players: list[int] = []
        term_nodes: list[int] = []
        term_returns: list[np.ndarray] = []
        legal_rows: list[Any] = []  # masks (use_mask) or the flattened action lists
        offsets = [0]
        for leaf, parent, action in zip(leaves, parents, actions, strict=True):
            state = states[leaf] = apply(states[parent], action)
            player = current_player(state)
            if player == TERMINAL:
                term_nodes.append(leaf)
                term_returns.append(game.returns(state))
                continue
            eval_nodes.append(leaf)
            eval_states.append(state)
            players.append(player)
            if use_mask:
                legal_rows.append(legal_of(state))
            else:
                legal_rows.extend(legal_of(state))
                offsets.append(len(legal_rows))
        if eval_states:
            priors, evaluations = self.evaluator.prior_and_value(eval_states)
            priors, evaluations = check_evaluation(game, len(eval_states), priors, evaluations)
        else:
            priors = np.zeros((0, self._num_actions), dtype=np.float32)
            evaluations = np.zeros((0, self._num_players), dtype=np.float32)
        if use_mask and eval_states:
            masks = np.stack(legal_rows)
            legal = np.nonzero(masks)[1].astype(np.int64)
            offsets_array = np.zeros(len(eval_states) + 1, dtype=np.int64)
            np.cumsum(masks.sum(axis=1), out=offsets_array[1:])
        else:
            legal = np.array(legal_rows if not use_mask else [], dtype=np.int64)
            offsets_array = np.array(offsets, dtype=np.int64)
        if term_returns:
            term = np.array(term_returns, dtype=np.float64)
            term_array = np.array(term_nodes, dtype=np.int64)
        else:
            term, term_array = self._no_returns, _NO_NODES
        _expand_backup(
            np.array(eval_nodes, dtype=np.int64),
            np.array(players, dtype=np.int64),
            legal,
            offsets_array,
            priors,
            evaluations,
            term_array,
            term,
            known,
            self._nodes,
            self._values,
            self._raw,
            self._terminal,
            self._edges,
            self._edge_prior,
            self._counts,
        )

    def _prepare_roots(self, trees: np.ndarray, noise: bool) -> None:
        """Root priors for this search: the evaluator's, with Dirichlet noise (puct), or the
        Gumbel scores ``g + logits`` and the number of considered actions (gumbel)."""
        config = self.config
        for t in trees.tolist():
            root = int(self._roots[t])
            start, count = self._nodes[root, _EDGE_START], self._nodes[root, _NUM_EDGES]
            actions = self._edges[start : start + count, _E_ACTION]
            priors = self._edge_prior[start : start + count].astype(np.float64)
            if self._gumbel:
                logits = np.log(np.maximum(priors, 1e-30))
                logits -= logits.max()
                gumbel = self.rng.gumbel(size=count) if noise else np.zeros(count)
                self._g_score[t] = -np.inf
                self._g_score[t, actions] = gumbel + logits
                self._g_visits[t] = 0
                self._g_count[t] = min(config.gumbel_actions, count)
                continue
            if noise and config.dirichlet_fraction > 0:
                alpha = config.dirichlet_alpha or 10.0 / count
                dirichlet = self.rng.dirichlet(np.full(count, alpha))
                fraction = config.dirichlet_fraction
                priors = (1.0 - fraction) * priors + fraction * dirichlet
            self._root_prior[t] = 0.0
            self._root_prior[t, actions] = priors

    def _summary(self, trees: np.ndarray) -> SearchResult:
        shape = (len(trees), self._num_actions)
        result = SearchResult(
            visits=np.zeros(shape, dtype=np.int32),
            policy=np.zeros(shape, dtype=np.float32),
            q=np.zeros(shape, dtype=np.float32),
            root_value=np.zeros(len(trees), dtype=np.float32),
            action=np.zeros(len(trees), dtype=np.int64),
            prior=np.zeros(shape, dtype=np.float32),
        )
        _summarize(
            trees,
            self._roots,
            self._gumbel,
            self._nodes,
            self._values,
            self._raw,
            self._edges,
            self._edge_prior,
            self._root_prior,
            self._g_score,
            self._g_visits,
            self._params,
            result.visits,
            result.policy,
            result.q,
            result.root_value,
            result.action,
            result.prior,
        )
        return result
