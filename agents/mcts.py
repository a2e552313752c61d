"""Monte Carlo tree search (UCT) for any :class:`~rlkit.game.Game`, built from parts.

UCT is Kocsis & Szepesvári, "Bandit based Monte-Carlo Planning" (ECML 2006): every
simulation walks down the tree picking the child with the highest upper confidence bound
(UCB1, Auer et al. 2002), adds one node, evaluates it, and backs the value up the path. The
search is split the way OpenSpiel's ``algorithms/mcts.py`` and mctx split it, so AlphaZero can
reuse it by swapping two parts and no search code:

- an :class:`Evaluator` gives a leaf's value for every player and the prior over its actions
  (:class:`RandomRolloutEvaluator`: uniform random playouts and uniform priors; a network
  evaluator returns the value head and the policy head);
- a **score function** ranks the children of a decision node: :func:`uct_score` or
  :func:`puct_score` (AlphaZero's rule; Silver et al. 2017, after Rosin 2011), or any function
  of ``(parent, child, c)``;
- :class:`SearchNode` (``__slots__``) holds the tree; :class:`Search` runs simulations over it.

Chance nodes get one child per outcome, with the outcome's probability as its prior; a
simulation samples the outcome to follow with that probability, so a chance node's value is
an estimate of the expectation over outcomes.

With ``solve=True`` the search is an MCTS-Solver (Winands, Björnsson & Saito 2008): terminal
values are propagated as proven outcomes (a node is solved once one child wins outright for
the player to move, or all children are solved), and proven results steer the final move.

Speed notes. The inner loop uses Python floats and lists only (no numpy per node), caches each
node's state, player to move and legal children, and draws random numbers from a
:class:`random.Random` seeded from the agent's :class:`numpy.random.Generator`. A game may
provide a fast playout, ``game.random_rollout(state, rng) -> returns`` (see
:class:`RandomRolloutEvaluator`), which the rollout evaluator then uses.
"""

from __future__ import annotations

import abc
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from rlkit.errors import RlkitError
from rlkit.game import CHANCE, TERMINAL, Game, GameAgent

__all__ = [
    "MCTS",
    "Evaluator",
    "RandomRolloutEvaluator",
    "Search",
    "SearchNode",
    "puct_score",
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
        children: the child nodes once expanded, else None. Under UCT a decision node
            creates a child only when a simulation first tries it (an untried child's UCT score
            is +inf, so this is the same search with fewer objects), in random order; other
            rules create every child, shuffled, at expansion. Chance nodes create all outcomes.
        untried: under UCT, the ``(action, prior)`` pairs not yet made children (None
            before expansion and for other rules).
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
class Evaluator(abc.ABC):
    """Values and priors of leaf states: the part that AlphaZero replaces with a network."""

    @abc.abstractmethod
    def evaluate(self, game: Game, state: Any) -> np.ndarray | Sequence[float]:
        """Estimated return of every player from ``state`` (non-terminal), shape
        ``[num_players]``."""

    @abc.abstractmethod
    def prior(self, game: Game, state: Any) -> list[tuple[int, float]]:
        """``(action, probability)`` for each legal action at the decision node ``state``.

        Chance nodes never reach the evaluator: the search takes their outcomes and
        probabilities from :meth:`Game.chance_outcomes`.
        """


class RandomRolloutEvaluator(Evaluator):
    """Values from uniformly random playouts to the end of the game; uniform priors.

    Args:
        n_rollouts: playouts per evaluation; the value is their mean return.
        rng: the generator all playout randomness comes from (or a seed).

    Fast-playout hook: if the game has a method ``random_rollout(state, rng) -> returns``
    (``rng`` a :class:`numpy.random.Generator`; returns every player's return at the end of
    one uniformly random playout, chance outcomes drawn with their probabilities), it is used
    instead of the Python loop. Go provides one in a compiled kernel. Otherwise each playout
    step costs one ``legal_actions`` and one ``apply`` call (games without chance end the
    playout on an empty ``legal_actions``; games with chance also call ``current_player``),
    and chance outcomes come from ``game.sample_chance`` when the game overrides it, else
    from ``chance_outcomes``.

    Raises:
        ValueError: ``n_rollouts`` < 1.
    """

    def __init__(self, n_rollouts: int = 1, rng: np.random.Generator | int | None = None) -> None:
        if n_rollouts < 1:
            raise ValueError(f"n_rollouts must be at least 1, got {n_rollouts}")
        self.n_rollouts = n_rollouts
        self.rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        # Python's generator is ~20x cheaper per draw than numpy's; seeded from ``rng``.
        self._random = random.Random(int(self.rng.integers(2**63)))
        self._hooked_game: Game | None = None
        self._hook: Callable[[Any, np.random.Generator], Any] | None = None

    def evaluate(self, game: Game, state: Any) -> np.ndarray | Sequence[float]:
        if game is not self._hooked_game:  # look the hook up once per game
            self._hooked_game, self._hook = game, getattr(game, "random_rollout", None)
        fast = self._hook
        if fast is not None:
            if self.n_rollouts == 1:
                return fast(state, self.rng)
            return sum(np.asarray(fast(state, self.rng), float) for _ in range(self.n_rollouts)) / (
                self.n_rollouts
            )
        if self.n_rollouts == 1:
            return self._playout(game, state)
        total = np.zeros(game.info.num_players)
        for _ in range(self.n_rollouts):
            total += self._playout(game, state)
        return total / self.n_rollouts

    def _playout(self, game: Game, state: Any) -> np.ndarray:
        rand = self._random.random
        legal_actions, apply = game.legal_actions, game.apply
        if not game.info.has_chance:
            while True:
                legal = legal_actions(state)
                if not legal:
                    return game.returns(state)
                state = apply(state, legal[int(rand() * len(legal))])
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

    def prior(self, game: Game, state: Any) -> list[tuple[int, float]]:
        legal = game.legal_actions(state)
        p = 1.0 / len(legal)
        return [(a, p) for a in legal]


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


class Search:
    """Runs MCTS simulations on a tree of :class:`SearchNode` (no agent concerns).

    Args:
        game: the rules.
        evaluator: leaf values and priors.
        score: the selection rule for decision nodes, ``score(parent, child, c)``;
            :func:`uct_score` and :func:`puct_score` run through inlined loops.
        c: the exploration constant handed to ``score``.
        rng: source of all tie-breaking and chance sampling in the tree.
        solve: back up proven outcomes (MCTS-Solver) and stop early once the root is proven.
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
        node.state = state
        node.to_play = to_play = self.game.current_player(state)
        if to_play == TERMINAL:
            node.outcome = _floats(self.game.returns(state))

    def _expand(self, node: SearchNode) -> None:
        if node.to_play == CHANCE:
            player = node.player
            node.children = [
                SearchNode(o, player, p) for o, p in self.game.chance_outcomes(node.state)
            ]
            return
        pairs = list(self.evaluator.prior(self.game, node.state))
        if self._lazy:  # children are made one at a time by `run`, in random order
            node.children = []
            node.untried = pairs
            return
        player = node.to_play
        children = [SearchNode(a, player, p) for a, p in pairs]
        # Ties (e.g. unvisited children under equal priors) go to the first in the list.
        self._random.shuffle(children)
        node.children = children

    def run(
        self, root: SearchNode, simulations: int, *, deadline: float | None = None
    ) -> SearchNode:
        """Run ``simulations`` simulations from ``root`` (fewer if ``deadline``, a
        :func:`time.perf_counter` value, passes first, or if the solver proves the root).

        Returns:
            ``root``, with updated statistics.
        """
        game, evaluator = self.game, self.evaluator
        apply, current_player, returns = game.apply, game.current_player, game.returns
        select, c, rand = self._select, self.c, self._random.random
        solve = self.solve
        inv_sqrt = self._inv_sqrt
        for sim in range(simulations):
            if root.visits >= len(inv_sqrt):  # visits of any node <= the root's
                self._grow_table(2 * root.visits + 2)
            if solve and root.outcome is not None:
                break
            if deadline is not None and sim and time.perf_counter() >= deadline:
                break
            # Selection: descend while the node has been evaluated before.
            node = root
            path = [node]
            while node.visits and node.outcome is None:
                if node.children is None:
                    self._expand(node)
                if node.to_play == CHANCE:
                    u = rand()
                    children = node.children
                    child = children[-1]
                    for candidate in children:
                        u -= candidate.prior
                        if u < 0.0:
                            child = candidate
                            break
                elif node.untried:  # UCT: try an untried child first, picked at random
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
                    child.state = state = apply(node.state, child.action)
                    child.to_play = to_play = current_player(state)
                    if to_play == TERMINAL:
                        child.outcome = _floats(returns(state))
                path.append(child)
                node = child
            # Evaluation.
            if node.outcome is not None:
                values = node.outcome
            else:
                values = evaluator.evaluate(game, node.state)
                values = values.tolist() if isinstance(values, np.ndarray) else _floats(values)
            # Backpropagation.
            for node in path:
                node.visits += 1
                node.total_reward += values[node.player]
            if solve and path[-1].outcome is not None:
                self._backup_proof(path)
        return root

    def _backup_proof(self, path: list[SearchNode]) -> None:
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


def _floats(values: Any) -> list[float]:
    return [float(v) for v in values]


# -- agent ---------------------------------------------------------------------------------------
class MCTS(GameAgent):
    """Plain UCT with random-rollout evaluation (registry name ``mcts``).

    ``mcts:simulations=2000`` searches 2000 simulations per move; ``mcts:time=1`` caps each
    move at about a second. Same seed, same moves (unless ``time`` cuts a search short).
    """

    @dataclass(frozen=True)
    class Config:
        simulations: int = 1000
        """Simulations per move (each adds one node and evaluates it)."""
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

    def __init__(self, config: Config, game: Game, *, seed: int | None = None) -> None:
        super().__init__(config, game, seed=seed)
        if game.info.num_players < 1:
            raise ValueError(f"{game.info.name}: MCTS needs at least one player")
        evaluator = RandomRolloutEvaluator(
            config.rollouts, np.random.default_rng(int(self.rng.integers(2**63)))
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
        return self.searcher.run(root, cfg.simulations, deadline=deadline)

    def act(self, state: Any) -> int:
        to_play = self.game.current_player(state)
        if to_play < 0:
            where = "the game is over" if to_play == TERMINAL else "it is a chance node"
            raise SearchError(f"MCTS cannot pick a move here: {where}")
        root = self.search(state)
        if not root.children:  # one simulation only: nothing tried yet
            self._kept = None
            legal = self.game.legal_actions(state)
            return int(legal[self.rng.integers(len(legal))])
        best = self._final_child(root)
        self._kept = best if self.config.reuse_tree else None
        return int(best.action)

    def _final_child(self, root: SearchNode) -> SearchNode:
        """The child to play: most visits or best mean value (proven results first when
        solving); ties go to the agent's generator."""
        player, solve = root.to_play, self.config.solve
        by_value = self.config.final_move == "max_value"
        candidates = [ch for ch in root.children if ch.visits] or root.children

        def key(ch: SearchNode) -> tuple[float, float]:
            proven = ch.outcome[player] if solve and ch.outcome is not None else 0.0
            return (proven, ch.value if by_value else ch.visits)

        best_key = max(map(key, candidates))
        ties = sorted((ch for ch in candidates if key(ch) == best_key), key=lambda ch: ch.action)
        return ties[int(self.rng.integers(len(ties)))] if len(ties) > 1 else ties[0]

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
