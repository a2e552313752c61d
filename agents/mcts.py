"""Monte Carlo tree search (UCT) for any :class:`~rlkit.game.Game`, built from parts.

UCT is Kocsis & Szepesvári, "Bandit based Monte-Carlo Planning" (ECML 2006): every
simulation walks down the tree picking the child with the highest upper confidence bound
(UCB1, Auer et al. 2002) until it reaches a leaf, evaluates the leaf, and backs the value up
the path. The search is split the way OpenSpiel's ``algorithms/mcts.py`` and mctx split it, so
AlphaZero can reuse it by swapping two parts and no search code:

- an :class:`~rlkit.search.Evaluator` gives, for a *batch* of leaf states, the prior over
  their actions and every player's value, in one ``prior_and_value(states)`` call (the
  protocol of :mod:`rlkit.search`). :class:`RandomRolloutEvaluator` is one implementation:
  uniform priors and the mean return of uniformly random playouts; a network evaluator
  returns its policy and value heads;
- a **score function** ranks the children of a decision node: :func:`uct_score` or
  :func:`puct_score` (AlphaZero's rule; Silver et al. 2017, after Rosin 2011), or any function
  of ``(parent, child, c)``;
- :class:`SearchNode` (``__slots__``) holds the tree; :class:`Search` runs simulations over it.

A simulation is two halves, :meth:`Search.select_leaf` (walk down to an unevaluated node, a
terminal or a solved node) and :meth:`Search.backup` (add the leaf's value along the path); a
leaf is expanded from its priors when it is evaluated, so each leaf costs one evaluation.
Between the halves, leaves wait for one batched evaluation:

- within one tree, :meth:`Search.run` with ``leaves_per_batch > 1`` gathers several distinct
  leaves, each path carrying a *virtual loss* (its visits counted in advance as losses for
  the players choosing them, so the next selection prefers other lines; Chaslot, Winands &
  van den Herik, "Parallel Monte-Carlo Tree Search", CG 2008), evaluates them together and
  replaces the virtual losses with the real values;
- across trees, :func:`run_many` steps several ``(search, root)`` pairs in lockstep and sends
  the leaves of all of them in one evaluation (self-play of many games at once).

Chance nodes get one child per outcome, with the outcome's probability as its prior, as soon
as a simulation reaches them (they never reach an evaluator); a simulation samples the outcome
to follow with that probability, so a chance node's value is an estimate of the expectation
over outcomes.

With ``solve=True`` the search is an MCTS-Solver (Winands, Björnsson & Saito 2008): terminal
values are propagated as proven outcomes (a node is solved once one child wins outright for
the player to move, or all children are solved), and proven results steer the final move.

Passing (games with a ``pass_action``, Go). When every line looks lost, all moves have the
same value and the most visited one is a coin toss, so a plain UCT agent often passes and
hands the opponent the rest of the board. The agent's final choice therefore goes through
:func:`sound_root_choice`: it passes only when the pass is the only legal move, or when the
search ranks the pass first and either the game scored now would not be a loss or the
position is settled; otherwise it plays the best-ranked other move.

Speed notes. Selection and backup use Python floats and lists only (no numpy per node), cache
each node's state, player to move and legal children, and draw random numbers from a
:class:`random.Random` seeded from the agent's :class:`numpy.random.Generator`. A game may
provide a fast playout, ``game.random_rollout(state, rng) -> returns`` (see
:class:`RandomRolloutEvaluator`), which the rollout evaluator then uses. One leaf at a time,
the search asks that evaluator for the value alone and makes the (uniform) priors only for
nodes a later simulation passes through, as the protocol path would give them; most leaves
are never revisited, so this saves two arrays and a ``legal_actions`` call per simulation.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from rlkit.errors import RlkitError
from rlkit.game import CHANCE, TERMINAL, Game, GameAgent
from rlkit.search import Evaluator, check_evaluation

__all__ = [
    "MCTS",
    "RandomRolloutEvaluator",
    "Search",
    "SearchNode",
    "puct_score",
    "run_many",
    "sound_root_choice",
    "uct_score",
]


# -- tree ----------------------------------------------------------------------------------------
class SearchNode:
    """One node of the search tree: the state reached by ``action`` from the parent.

    Attributes:
        action: the action (or chance outcome) leading here from the parent; None at the root.
        player: whose return ``total_reward`` sums: the player who chose ``action``. For the
            root it is the player to move there, and for the outcomes of a chance node it is
            the chance node's own ``player``, so values along a chance edge keep one view.
        prior: the evaluator's prior probability of ``action`` (the outcome's probability
            under a chance node; 1 for the root).
        visits: number of simulations that passed through this node.
        total_reward: sum over those simulations of ``player``'s value; the node's value is
            ``total_reward / visits``.
        children: the child nodes once expanded, else None (a decision node is expanded
            when its leaf evaluation comes back, a chance node when its state is set). Under
            UCT a decision node creates a child only when a simulation first tries it (an
            untried child's UCT score is +inf, so this is the same search with fewer
            objects), in random order; other rules create every child, shuffled, at
            expansion. Chance nodes create all outcomes.
        untried: under UCT, the ``(action, prior)`` pairs not yet made children (None
            before expansion and for other rules).
        priors: the evaluator's prior row (``[num_actions]``) of an evaluated decision node
            that no simulation has passed through yet; the first one to pass turns it into
            ``untried`` or ``children`` and clears it (most leaves are never revisited, so
            they never pay for their children).
        state: the game state here, computed when a simulation first reaches the node.
        to_play: ``game.current_player(state)``: a player index, ``CHANCE`` or ``TERMINAL``
            (None until ``state`` is set).
        outcome: every player's return, as a list of floats, at a terminal node or a node the
            solver proved; else None.
    """

    __slots__ = (
        "action",
        "children",
        "outcome",
        "player",
        "prior",
        "priors",
        "state",
        "to_play",
        "total_reward",
        "untried",
        "visits",
    )

    def __init__(self, action: int | None, player: int, prior: float) -> None:
        self.action = action
        self.player = player
        self.prior = prior
        self.visits = 0
        self.total_reward = 0.0
        self.children: list[SearchNode] | None = None
        self.state: Any = None
        self.to_play: int | None = None
        self.outcome: list[float] | None = None
        self.untried: list[tuple[int, float]] | None = None
        self.priors: Any = None

    @property
    def value(self) -> float:
        """Mean value for ``player`` (0 before the first visit)."""
        return self.total_reward / self.visits if self.visits else 0.0

    def child(self, action: int) -> SearchNode:
        """The child reached by ``action``.

        Raises:
            KeyError: the node is not expanded or has no such child (yet).
        """
        for node in self.children or ():
            if node.action == action:
                return node
        raise KeyError(f"no child for action {action!r}")

    def __repr__(self) -> str:
        solved = f", outcome={self.outcome}" if self.outcome is not None else ""
        return (
            f"SearchNode(action={self.action}, player={self.player}, prior={self.prior:.3f}, "
            f"visits={self.visits}, value={self.value:+.3f}{solved})"
        )


# -- selection rules -----------------------------------------------------------------------------
ScoreFn = Callable[[SearchNode, SearchNode, float], float]


def uct_score(parent: SearchNode, child: SearchNode, c: float) -> float:
    """UCB1 applied to trees (Kocsis & Szepesvári 2006): ``Q + c * sqrt(ln N / n)``.

    ``Q`` is the child's mean value for the player choosing at ``parent``, ``N`` the parent's
    visits and ``n`` the child's. An unvisited child scores ``+inf`` (every child is tried once
    before any is tried twice).

        >>> parent, child = SearchNode(None, 0, 1.0), SearchNode(3, 0, 0.5)
        >>> parent.visits, child.visits, child.total_reward = 100, 10, 5.0
        >>> round(uct_score(parent, child, 1.0), 6) == round(0.5 + math.sqrt(math.log(100) / 10), 6)
        True
    """
    n = child.visits
    if n == 0:
        return math.inf
    return child.total_reward / n + c * math.sqrt(math.log(parent.visits) / n)


def puct_score(parent: SearchNode, child: SearchNode, c: float) -> float:
    """AlphaZero's PUCT rule: ``Q + c * P * sqrt(N) / (1 + n)``.

    ``P`` is the child's prior; ``Q`` is its mean value, 0 while unvisited (as in OpenSpiel's
    ``puct_value``). Silver et al., "Mastering Chess and Shogi by Self-Play with a General
    Reinforcement Learning Algorithm" (2017), after Rosin's PUCB (2011).

        >>> parent, child = SearchNode(None, 0, 1.0), SearchNode(3, 0, 0.25)
        >>> parent.visits = 16
        >>> puct_score(parent, child, 2.0)  # unvisited: 0 + 2 * 0.25 * 4 / 1
        2.0
    """
    n = child.visits
    q = child.total_reward / n if n else 0.0
    return q + c * child.prior * math.sqrt(parent.visits) / (n + 1)


def _uct_selector(inv_sqrt: list[float]) -> Callable[[SearchNode, float], SearchNode]:
    """argmax of :func:`uct_score` over ``parent.children``, inlined (first child wins ties).

    ``inv_sqrt[n]`` is ``1 / sqrt(n)``, a table the search keeps longer than the root's visit
    count (a list lookup is cheaper than a ``sqrt`` call per child).
    """

    def select_uct(parent: SearchNode, c: float) -> SearchNode:
        explore = c * _sqrt(_log(parent.visits))
        best = None
        best_score = -_inf
        for child in parent.children:
            n = child.visits
            if n == 0:
                return child
            score = child.total_reward / n + explore * inv_sqrt[n]
            if score > best_score:
                best, best_score = child, score
        return best

    return select_uct


def _puct_selector(inv_sqrt: list[float]) -> Callable[[SearchNode, float], SearchNode]:
    """argmax of :func:`puct_score` over ``parent.children``, inlined (first child wins ties)."""

    def select_puct(parent: SearchNode, c: float) -> SearchNode:
        explore = c * _sqrt(parent.visits)
        best = None
        best_score = -_inf
        for child in parent.children:
            n = child.visits
            score = (child.total_reward / n if n else 0.0) + explore * child.prior / (n + 1)
            if score > best_score:
                best, best_score = child, score
        return best

    return select_puct


_sqrt, _log, _inf = math.sqrt, math.log, math.inf


_FAST_SELECT: dict[Any, Callable[[list[float]], Callable[[SearchNode, float], SearchNode]]] = {
    uct_score: _uct_selector,
    puct_score: _puct_selector,
}
SCORES: dict[str, ScoreFn] = {"uct": uct_score, "puct": puct_score}
"""Score functions by the name :attr:`MCTS.Config.selection` uses."""


# -- evaluators ----------------------------------------------------------------------------------
class RandomRolloutEvaluator(Evaluator):
    """Uniform priors over the legal actions; values from uniformly random playouts.

    Args:
        game: the rules the states belong to.
        n_rollouts: playouts per leaf; the value is their mean return.
        rng: the generator all playout randomness comes from (or a seed).

    Fast-playout hook: if the game has a method ``random_rollout(state, rng) -> returns``
    (``rng`` a :class:`numpy.random.Generator`; returns every player's return at the end of
    one uniformly random playout, chance outcomes drawn with their probabilities), it is used
    instead of the Python loop. Go provides one in a compiled kernel. Otherwise each playout
    step costs one ``legal_actions`` and one ``apply`` call (games without chance end the
    playout on an empty ``legal_actions``; games with chance also call ``current_player``),
    and chance outcomes come from ``game.sample_chance`` when the game overrides it, else
    from ``chance_outcomes``. The first step's legal actions are those the priors need.

    Raises:
        ValueError: ``n_rollouts`` < 1.
    """

    def __init__(
        self, game: Game, n_rollouts: int = 1, rng: np.random.Generator | int | None = None
    ) -> None:
        if n_rollouts < 1:
            raise ValueError(f"n_rollouts must be at least 1, got {n_rollouts}")
        self.game = game
        self.n_rollouts = n_rollouts
        self.rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        # Python's generator is ~20x cheaper per draw than numpy's; seeded from ``rng``.
        self._random = random.Random(int(self.rng.integers(2**63)))
        self._hook: Callable[[Any, np.random.Generator], Any] | None = getattr(
            game, "random_rollout", None
        )

    def prior_and_value(self, states: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
        """Uniform priors float32 ``[B, num_actions]`` and mean playout returns float32
        ``[B, num_players]`` for ``B`` non-terminal decision states."""
        info = self.game.info
        num_actions = info.num_actions
        priors = np.empty((len(states), num_actions), np.float32)
        values = np.empty((len(states), info.num_players), np.float32)
        legal_actions = self.game.legal_actions
        for i, state in enumerate(states):
            legal = legal_actions(state)
            row = [0.0] * num_actions  # filled in Python: numpy's list indexing costs more
            p = 1.0 / len(legal)
            for a in legal:
                row[a] = p
            priors[i] = row
            values[i] = self.value(state, legal)
        return priors, values

    def value(self, state: Any, legal: list[int] | None = None) -> Any:
        """Mean return of ``n_rollouts`` playouts from ``state``, shape ``[num_players]``.

        ``legal`` (optional) is ``game.legal_actions(state)``, already known to the caller.
        """
        fast, n = self._hook, self.n_rollouts
        if fast is not None:
            if n == 1:
                return fast(state, self.rng)
            return sum(np.asarray(fast(state, self.rng), float) for _ in range(n)) / n
        if n == 1:
            return self._playout(state, legal)
        total = np.zeros(self.game.info.num_players)
        for _ in range(n):
            total += self._playout(state, legal)
        return total / n

    def _playout(self, state: Any, legal: list[int] | None) -> np.ndarray:
        game = self.game
        rand = self._random.random
        legal_actions, apply = game.legal_actions, game.apply
        if not game.info.has_chance:
            if legal is None:
                legal = legal_actions(state)
            while legal:
                state = apply(state, legal[int(rand() * len(legal))])
                legal = legal_actions(state)
            return game.returns(state)
        current_player = game.current_player
        overrides_sampler = type(game).sample_chance is not Game.sample_chance
        while True:
            player = current_player(state)
            if player == TERMINAL:
                return game.returns(state)
            if player == CHANCE:
                if overrides_sampler:
                    action = game.sample_chance(state, self.rng)
                else:
                    action = _sample_outcome(game.chance_outcomes(state), rand())
            else:
                legal = legal_actions(state)
                action = legal[int(rand() * len(legal))]
            state = apply(state, action)


def _sample_outcome(outcomes: list[tuple[int, float]], u: float) -> int:
    """The outcome whose cumulative-probability interval holds ``u`` in [0, 1)."""
    u *= sum(p for _, p in outcomes)
    for outcome, p in outcomes:
        u -= p
        if u < 0.0:
            return outcome
    return outcomes[-1][0]


# -- search --------------------------------------------------------------------------------------
class SearchError(RlkitError, ValueError):
    """A search asked of a state it cannot search (a terminal state for a move)."""


_UNIFORM = "uniform"
"""The priors of a leaf the rollout evaluator valued alone: uniform over the legal actions."""

Path = list[SearchNode]
"""The nodes a simulation went through, root first; the last is its leaf."""


class Search:
    """Runs MCTS simulations on a tree of :class:`SearchNode` (no agent concerns).

    Args:
        game: the rules.
        evaluator: leaf priors and values (:class:`rlkit.search.Evaluator`).
        score: the selection rule for decision nodes, ``score(parent, child, c)``;
            :func:`uct_score` and :func:`puct_score` run through inlined loops.
        c: the exploration constant handed to ``score``.
        rng: source of all tie-breaking and chance sampling in the tree.
        solve: back up proven outcomes (MCTS-Solver) and stop early once the root is proven.

    A node is a leaf until it is evaluated: a decision node gets its children (UCT: its
    untried actions) from its priors in the same step that backs its value up, a chance node
    gets its outcomes when a simulation first reaches it.
    """

    def __init__(
        self,
        game: Game,
        evaluator: Evaluator,
        *,
        score: ScoreFn = uct_score,
        c: float = 1.4,
        rng: np.random.Generator | int | None = None,
        solve: bool = False,
    ) -> None:
        self.game = game
        self.evaluator = evaluator
        self.score = score
        self.c = c
        self.solve = solve
        rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        self._random = random.Random(int(rng.integers(2**63)))
        self._inv_sqrt = [0.0]
        self._grow_table(1024)
        fast = _FAST_SELECT.get(score)
        self._select = fast(self._inv_sqrt) if fast is not None else self._select_generic
        self._lazy = score is uct_score
        self._max_utility = float(game.info.max_utility)
        # The built-in rollout evaluator's priors are uniform over the legal actions, so one
        # leaf at a time the search asks it for the value alone and makes the priors when it
        # makes the node's children (the same numbers, without two arrays per leaf); a
        # subclass that overrides `prior_and_value` goes through it.
        self._rollout_value = (
            evaluator.value
            if isinstance(evaluator, RandomRolloutEvaluator)
            and type(evaluator).prior_and_value is RandomRolloutEvaluator.prior_and_value
            else None
        )
        # A virtual loss counts a pending visit as the worst return for the player choosing it.
        self._loss = float(game.info.min_utility)

    def _grow_table(self, size: int) -> None:
        table = self._inv_sqrt
        table.extend(1.0 / math.sqrt(n) for n in range(len(table), size))

    def _select_generic(self, parent: SearchNode, c: float) -> SearchNode:
        score = self.score
        return max(parent.children, key=lambda child: score(parent, child, c))

    def new_root(self, state: Any) -> SearchNode:
        """A fresh, unvisited root for ``state``."""
        to_play = self.game.current_player(state)
        root = SearchNode(None, to_play if to_play >= 0 else 0, 1.0)
        self._set_state(root, state)
        return root

    def _set_state(self, node: SearchNode, state: Any) -> None:
        game = self.game
        node.state = state
        node.to_play = to_play = game.current_player(state)
        if to_play == TERMINAL:
            node.outcome = _floats(game.returns(state))
        elif to_play == CHANCE:  # outcomes are known without an evaluation
            player = node.player
            node.children = [SearchNode(o, player, p) for o, p in game.chance_outcomes(state)]

    # -- one simulation, in two halves ------------------------------------------------------------
    def select_leaf(self, root: SearchNode, *, virtual_loss: bool = False) -> Path:
        """Walk down from ``root`` to a leaf: an unevaluated decision node, a terminal node or
        a solved one. Under UCT an untried child is made (picked at random) before any tried
        child is chosen twice; chance outcomes are sampled with their probabilities.

        Args:
            virtual_loss: count this simulation's visit on every node of the path now, as a
                loss for its ``player``, so that the next selection avoids the path until
                :meth:`backup` (with ``virtual_loss=True``) replaces it with the value.

        Returns:
            The path, ``root`` first and the leaf last.
        """
        if root.visits + 1 >= len(self._inv_sqrt):  # visits of any node <= the root's
            self._grow_table(2 * root.visits + 4)
        apply, select, c, rand = self.game.apply, self._select, self.c, self._random.random
        node = root
        path = [node]
        while node.children is not None and node.outcome is None:
            if node.to_play == CHANCE:
                u = rand()
                children = node.children
                child = children[-1]
                for candidate in children:
                    u -= candidate.prior
                    if u < 0.0:
                        child = candidate
                        break
            else:
                if node.priors is not None:  # first pass through it since its evaluation
                    self._make_children(node)
                if node.untried:  # UCT: try an untried child first, picked at random
                    untried = node.untried
                    k = int(rand() * len(untried))
                    action, prior = untried[k]
                    untried[k] = untried[-1]
                    untried.pop()
                    child = SearchNode(action, node.to_play, prior)
                    node.children.append(child)
                else:
                    child = select(node, c)
            if child.state is None:  # first visit: compute and cache its state
                self._set_state(child, apply(node.state, child.action))
            path.append(child)
            node = child
        if virtual_loss:
            loss = self._loss
            for node in path:
                node.visits += 1
                node.total_reward += loss
        return path

    def expand(self, node: SearchNode, priors: Sequence[float] | np.ndarray) -> None:
        """Mark the decision ``node`` evaluated, with ``priors`` (``[num_actions]``, the
        evaluator's row for it, kept by reference). Its children are made from them when a
        simulation first passes through it: under UCT as untried ``(action, prior)`` pairs,
        under other rules as child nodes in random order (ties, e.g. between unvisited children
        under equal priors, go to the first in the list)."""
        node.children = []
        node.priors = priors

    def _make_children(self, node: SearchNode) -> None:
        priors = node.priors
        node.priors = None
        legal = self.game.legal_actions(node.state)
        if priors is _UNIFORM:  # as RandomRolloutEvaluator.prior_and_value gives them
            p = float(np.float32(1.0 / len(legal)))
            pairs = [(a, p) for a in legal]
        else:
            if isinstance(priors, np.ndarray):
                priors = priors.tolist()
            pairs = [(a, priors[a]) for a in legal]
        if self._lazy:  # children are made one at a time by `select_leaf`
            node.untried = pairs
            return
        player = node.to_play
        children = [SearchNode(a, player, p) for a, p in pairs]
        self._random.shuffle(children)
        node.children = children

    def backup(self, path: Path, values: Sequence[float], *, virtual_loss: bool = False) -> None:
        """Add the leaf's ``values`` (every player's return, ``[num_players]``) to the path.

        Args:
            virtual_loss: the path was selected with ``virtual_loss=True``: its visits are
                counted already, and the virtual losses are replaced by ``values``.
        """
        if virtual_loss:
            loss = self._loss
            for node in path:
                node.total_reward += values[node.player] - loss
        else:
            for node in path:
                node.visits += 1
                node.total_reward += values[node.player]
        if self.solve and path[-1].outcome is not None:
            self._backup_proof(path)

    def _revert(self, path: Path) -> None:
        """Take back the virtual loss of a path that will not be evaluated."""
        loss = self._loss
        for node in path:
            node.visits -= 1
            node.total_reward -= loss

    def _gather(self, root: SearchNode, limit: int, virtual_loss: bool) -> tuple[list[Path], int]:
        """Up to ``limit`` simulations' leaves from ``root``: the paths to distinct leaves
        that need an evaluation, and how many simulations ended on terminal or solved nodes
        (backed up at once). Stops early at a path to a leaf already gathered (its virtual
        loss is taken back) or when the solver proves the root."""
        paths: list[Path] = []
        pending: set[int] = set()
        finished = 0
        while len(paths) + finished < limit:
            path = self.select_leaf(root, virtual_loss=virtual_loss)
            leaf = path[-1]
            if leaf.outcome is not None:
                self.backup(path, leaf.outcome, virtual_loss=virtual_loss)
                finished += 1
                if self.solve and root.outcome is not None:
                    break
                continue
            if id(leaf) in pending:
                self._revert(path)
                break
            pending.add(id(leaf))
            paths.append(path)
        return paths, finished

    def run(
        self,
        root: SearchNode,
        simulations: int,
        *,
        deadline: float | None = None,
        leaves_per_batch: int = 1,
    ) -> SearchNode:
        """Run ``simulations`` simulations from ``root`` (fewer if ``deadline``, a
        :func:`time.perf_counter` value, passes first, or if the solver proves the root).

        Args:
            leaves_per_batch: leaves gathered with virtual loss and evaluated in one
                ``prior_and_value`` call (1: one leaf per call, no virtual loss).

        Returns:
            ``root``, with updated statistics.
        """
        if leaves_per_batch == 1:
            return self._run_single(root, simulations, deadline)
        run_many([(self, root)], simulations, deadline=deadline, leaves_per_batch=leaves_per_batch)
        return root

    def _run_single(self, root: SearchNode, simulations: int, deadline: float | None) -> SearchNode:
        """:meth:`run` with one leaf per evaluation: :func:`run_many`'s steps for one tree,
        without its bookkeeping (this is the speed path of the UCT agent)."""
        evaluator, game = self.evaluator, self.game
        select_leaf, expand, backup = self.select_leaf, self.expand, self.backup
        solve, rollout_value = self.solve, self._rollout_value
        for sim in range(simulations):
            if solve and root.outcome is not None:
                break
            if deadline is not None and sim and time.perf_counter() >= deadline:
                break
            path = select_leaf(root)
            leaf = path[-1]
            if leaf.outcome is not None:
                backup(path, leaf.outcome)
                continue
            if rollout_value is not None:
                values = rollout_value(leaf.state)
                expand(leaf, _UNIFORM)
                backup(path, values.tolist() if isinstance(values, np.ndarray) else values)
                continue
            priors, values = check_evaluation(game, 1, *evaluator.prior_and_value([leaf.state]))
            expand(leaf, priors[0])
            backup(path, values[0].tolist())
        return root

    def _backup_proof(self, path: Path) -> None:
        """MCTS-Solver backup: a decision node is proven when one child gives its mover the
        maximum utility or when every child is proven (it takes the best proven child)."""
        for node in reversed(path[:-1]):
            if node.to_play == CHANCE or node.outcome is not None:
                return
            mover = node.to_play
            best: list[float] | None = None
            all_solved = not node.untried
            for child in node.children:
                outcome = child.outcome
                if outcome is None:
                    all_solved = False
                elif best is None or outcome[mover] > best[mover]:
                    best = outcome
            if best is None or not (all_solved or best[mover] >= self._max_utility):
                return
            node.outcome = best


def run_many(
    searches_and_roots: Sequence[tuple[Search, SearchNode]],
    simulations: int,
    *,
    deadline: float | None = None,
    leaves_per_batch: int = 1,
) -> list[SearchNode]:
    """Step several trees in lockstep, with one ``prior_and_value`` call per step for the
    leaves of all of them.

    Each step, every tree that has simulations left gathers up to ``leaves_per_batch`` leaves
    (with virtual loss when more than one), then a single evaluation covers every tree's
    leaves, and each tree expands and backs up its own. Trees keep their own random streams,
    so with a deterministic evaluator each tree ends exactly as ``search.run(root,
    simulations, leaves_per_batch=...)`` alone would leave it (a shared random-rollout
    evaluator draws its playouts in a different order).

    Args:
        searches_and_roots: the ``(search, root)`` pairs; the searches share one evaluator
            (the first one's is called) and one game.
        simulations: simulations per tree (fewer for a tree the solver proves, or when
            ``deadline``, a :func:`time.perf_counter` value, passes).
        leaves_per_batch: leaves per tree per step.

    Returns:
        The roots, in order, with updated statistics.

    Raises:
        ValueError: ``leaves_per_batch`` < 1, or searches with different evaluators.
    """
    if leaves_per_batch < 1:
        raise ValueError(f"leaves_per_batch must be at least 1, got {leaves_per_batch}")
    pairs = list(searches_and_roots)
    if not pairs:
        return []
    evaluator = pairs[0][0].evaluator
    if any(search.evaluator is not evaluator for search, _ in pairs):
        raise ValueError("run_many needs searches that share one evaluator")
    game = pairs[0][0].game
    virtual_loss = leaves_per_batch > 1
    left = [simulations] * len(pairs)
    first = True
    while True:
        if not first and deadline is not None and time.perf_counter() >= deadline:
            break
        first = False
        batch: list[tuple[Search, Path]] = []
        active = False
        for i, (search, root) in enumerate(pairs):
            if left[i] <= 0 or (search.solve and root.outcome is not None):
                continue
            active = True
            paths, finished = search._gather(root, min(leaves_per_batch, left[i]), virtual_loss)
            left[i] -= finished + len(paths)
            batch.extend((search, path) for path in paths)
        if not active:
            break
        if not batch:  # every simulation of this step ended on a terminal or solved node
            continue
        priors, values = check_evaluation(
            game, len(batch), *evaluator.prior_and_value([path[-1].state for _, path in batch])
        )
        for (search, path), prior_row, value_row in zip(
            batch, priors, values.tolist(), strict=True
        ):
            search.expand(path[-1], prior_row.copy())  # a copy: the batch's array is freed
            search.backup(path, value_row, virtual_loss=virtual_loss)
    return [root for _, root in pairs]


def _floats(values: Any) -> list[float]:
    return [float(v) for v in values]


# -- passing -------------------------------------------------------------------------------------
def sound_root_choice(game: Game, state: Any, ranked_actions: Sequence[int]) -> int:
    """The move to play at ``state`` given the search's ranking, without unsound passes.

    For a game with a pass (``game.pass_action``, e.g. Go) the agent passes only if

    (a) the pass is its only legal move, or
    (b) the search ranks the pass first (no worse than the best other move) and the game
        scored now -- ``game.apply`` of this pass and, unless that ends the game, of the
        opponent's answering pass, then ``game.returns`` -- is not a loss for the mover
        (a loss: some other player's return is higher), or
    (c) the search ranks the pass first and the position is settled (see below).

    Otherwise it plays the best-ranked other move, so a position in which every line looks
    lost is played on instead of handed over by a pass (random playouts value all lines -1
    there, and the most visited child is then a coin toss between equal values). A game
    without a pass gets ``ranked_actions[0]``.

    Settled: ``game.is_settled(state)`` when the game has it; otherwise, for a game with
    ``board_array(state)`` (Go: 0 empty, 1 and 2 the players' stones), every empty region
    borders stones of one colour only (no neutral or contested points, so Tromp-Taylor area
    counts every point for someone) and no chain is in atari (no capture is pending).

    Args:
        game: the rules.
        state: a decision state of the player to move.
        ranked_actions: legal actions, best first by the search (all legal actions, or at
            least one non-pass action when there is one; otherwise the game's legal actions
            are consulted).

    Returns:
        The action to play.

    Raises:
        ValueError: ``ranked_actions`` is empty.
    """
    if not ranked_actions:
        raise ValueError("sound_root_choice needs at least one ranked action")
    best = int(ranked_actions[0])
    pass_action = getattr(game, "pass_action", None)
    if pass_action is None or best != pass_action:
        return best
    others = [a for a in ranked_actions if a != pass_action]
    if not others:
        others = [a for a in game.legal_actions(state) if a != pass_action]
        if not others:  # (a)
            return best
    if not _loses_by_passing(game, state) or _is_settled(game, state):  # (b), (c)
        return best
    return int(others[0])


def _loses_by_passing(game: Game, state: Any) -> bool:
    """Whether the game, ended by this pass (and the opponent's pass back), is lost."""
    pass_action = game.pass_action
    player = game.current_player(state)
    after = game.apply(state, pass_action)
    if not game.is_terminal(after):
        if game.current_player(after) < 0 or pass_action not in game.legal_actions(after):
            return False
        after = game.apply(after, pass_action)
        if not game.is_terminal(after):
            return False  # two passes do not end this game: nothing is lost by passing
    returns = [float(r) for r in game.returns(after)]
    mine = returns.pop(player)
    return bool(returns) and mine < max(returns)


def _is_settled(game: Game, state: Any) -> bool:
    """See :func:`sound_root_choice`: the game's ``is_settled`` or the board test."""
    hook = getattr(game, "is_settled", None)
    if hook is not None:
        return bool(hook(state))
    board_array = getattr(game, "board_array", None)
    if board_array is None:
        return False
    board = np.asarray(board_array(state)).tolist()
    rows, cols = len(board), len(board[0])
    seen = [[False] * cols for _ in range(rows)]
    for r0 in range(rows):
        for c0 in range(cols):
            if seen[r0][c0]:
                continue
            colour = board[r0][c0]
            seen[r0][c0] = True
            stack, touching = [(r0, c0)], set()  # bordering colours (empty) or liberties
            while stack:
                r, c = stack.pop()
                for rr, cc in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)):
                    if not (0 <= rr < rows and 0 <= cc < cols):
                        continue
                    other = board[rr][cc]
                    if other == colour:
                        if not seen[rr][cc]:
                            seen[rr][cc] = True
                            stack.append((rr, cc))
                    elif colour == 0:
                        touching.add(other)
                    elif other == 0:
                        touching.add((rr, cc))
            if len(touching) < 2 if colour else len(touching) != 1:
                return False
    return True


# -- agent ---------------------------------------------------------------------------------------
class MCTS(GameAgent):
    """Plain UCT with random-rollout evaluation (registry name ``mcts``).

    ``mcts:simulations=2000`` searches 2000 simulations per move; ``mcts:time=1`` caps each
    move at about a second. Same seed, same moves (unless ``time`` cuts a search short). In
    games with a pass the move goes through :func:`sound_root_choice`.
    """

    @dataclass(frozen=True)
    class Config:
        simulations: int = 1000
        """Simulations per move (each evaluates one leaf and adds it to the tree)."""
        uct_c: float = 1.4
        """Exploration constant c of the selection rule (sqrt(2) ≈ 1.41 for returns in
        [0, 1] in UCB1's analysis; returns here span [-1, 1])."""
        rollouts: int = 1
        """Random playouts averaged per leaf evaluation."""
        time: float | None = None
        """Wall-clock cap per move in seconds (None: no cap); makes moves time-dependent."""
        final_move: Literal["most_visits", "max_value"] = "most_visits"
        """How the move is picked from the root's children: the most visited, or the highest
        mean value among visited ones; ties go to the agent's generator."""
        selection: Literal["uct", "puct"] = "uct"
        """Selection rule: UCB1 (Kocsis & Szepesvári 2006) or AlphaZero's PUCT over priors."""
        solve: bool = False
        """MCTS-Solver: back up proven wins/losses/draws and prefer proven wins."""
        reuse_tree: bool = False
        """Keep the subtree of the move played and reuse it if the next state is found in it
        (states compared with ``==``)."""
        leaves_per_batch: int = 1
        """Leaves gathered with virtual loss per evaluation call (1: plain sequential UCT)."""

        def __post_init__(self) -> None:
            if self.simulations < 1:
                raise ValueError(f"simulations must be at least 1, got {self.simulations}")
            if not (self.uct_c >= 0.0 and math.isfinite(self.uct_c)):
                raise ValueError(f"uct_c must be a finite number >= 0, got {self.uct_c}")
            if self.rollouts < 1:
                raise ValueError(f"rollouts must be at least 1, got {self.rollouts}")
            if self.time is not None and not self.time > 0.0:
                raise ValueError(f"time must be positive seconds or None, got {self.time}")
            if self.final_move not in ("most_visits", "max_value"):
                raise ValueError(
                    f"final_move must be 'most_visits' or 'max_value', got {self.final_move!r}"
                )
            if self.selection not in SCORES:
                raise ValueError(
                    f"selection must be one of {sorted(SCORES)}, got {self.selection!r}"
                )
            if self.leaves_per_batch < 1:
                raise ValueError(
                    f"leaves_per_batch must be at least 1, got {self.leaves_per_batch}"
                )

    def __init__(self, config: Config, game: Game, *, seed: int | None = None) -> None:
        super().__init__(config, game, seed=seed)
        if game.info.num_players < 1:
            raise ValueError(f"{game.info.name}: MCTS needs at least one player")
        evaluator = RandomRolloutEvaluator(
            game, config.rollouts, np.random.default_rng(int(self.rng.integers(2**63)))
        )
        self.searcher = Search(
            game,
            evaluator,
            score=SCORES[config.selection],
            c=config.uct_c,
            rng=np.random.default_rng(int(self.rng.integers(2**63))),
            solve=config.solve,
        )
        self._kept: SearchNode | None = None  # subtree of our last move (reuse_tree)

    def search(self, state: Any) -> SearchNode:
        """Run one move's search from ``state`` and return the root (for tests and analysis).

        The root's ``value`` is for the player to move, except for a root reused from the
        last search (``reuse_tree``): that keeps the view of the player who moved into it.
        """
        cfg = self.config
        deadline = None if cfg.time is None else time.perf_counter() + cfg.time
        root = self._reused_root(state) if cfg.reuse_tree else None
        if root is None:
            root = self.searcher.new_root(state)
        return self.searcher.run(
            root, cfg.simulations, deadline=deadline, leaves_per_batch=cfg.leaves_per_batch
        )

    def act(self, state: Any) -> int:
        to_play = self.game.current_player(state)
        if to_play < 0:
            where = "the game is over" if to_play == TERMINAL else "it is a chance node"
            raise SearchError(f"MCTS cannot pick a move here: {where}")
        root = self.search(state)
        action = sound_root_choice(self.game, state, self.ranked_actions(root))
        kept = None
        if self.config.reuse_tree:
            kept = next((ch for ch in root.children or () if ch.action == action), None)
        self._kept = kept
        return action

    def ranked_actions(self, root: SearchNode) -> list[int]:
        """The root's legal actions, best first: visited children by most visits or best mean
        value (proven results first when solving), the first place's ties broken by the
        agent's generator and the others' by action; then the unvisited actions. Before any
        child is visited, all legal actions in an order drawn by the generator."""
        player, solve = root.to_play, self.config.solve
        by_value = self.config.final_move == "max_value"
        visited = [ch for ch in root.children or () if ch.visits]
        if not visited:  # one simulation only: nothing tried yet
            legal = self.game.legal_actions(root.state)
            return [int(legal[i]) for i in self.rng.permutation(len(legal))]

        def key(ch: SearchNode) -> tuple[float, float]:
            proven = ch.outcome[player] if solve and ch.outcome is not None else 0.0
            return (proven, ch.value if by_value else ch.visits)

        visited.sort(key=lambda ch: ch.action)
        visited.sort(key=key, reverse=True)  # stable: equal keys stay in action order
        best_key = key(visited[0])
        ties = sum(1 for ch in visited if key(ch) == best_key)
        if ties > 1:
            visited.insert(0, visited.pop(int(self.rng.integers(ties))))
        ranked = [int(ch.action) for ch in visited]
        unvisited = [ch.action for ch in root.children if not ch.visits]
        unvisited += [a for a, _ in root.untried or ()]
        return ranked + sorted(int(a) for a in unvisited)

    def _reused_root(self, state: Any) -> SearchNode | None:
        """The kept subtree's node for ``state``: the kept node (our last move) or a node up to
        two plies below it (the opponent's reply, or a chance outcome and a reply)."""
        kept, self._kept = self._kept, None
        if kept is None:
            return None
        frontier = [kept]
        for _ in range(3):
            next_frontier = []
            for node in frontier:
                if node.state is not None and _same_state(node.state, state):
                    return node
                next_frontier.extend(node.children or ())
            frontier = next_frontier
        return None

    def new_game(self) -> None:
        self._kept = None


def _same_state(a: Any, b: Any) -> bool:
    if a is b:
        return True
    try:
        return bool(a == b)
    except (ValueError, TypeError):  # e.g. states holding numpy arrays
        return False
