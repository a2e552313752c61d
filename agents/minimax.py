"""Minimax search for two-player zero-sum games: alpha-beta negamax, and expectiminimax for dice.

Registry name ``minimax``; ``minimax:depth=4`` searches four moves deep, ``minimax:time=0.5``
deepens for half a second per move, plain ``minimax`` solves the game from the position
(fine for tic-tac-toe and endgames, hopeless for a Connect Four opening).

The search, in the order the code below runs it:

- **Negamax with alpha-beta pruning** (Knuth & Moore, "An Analysis of Alpha-Beta Pruning",
  Artificial Intelligence 6, 1975). Every decision node is searched from the point of view of
  its player to move, and a child's value is negated when the child's player to move is the
  other player. The players are compared rather than assumed to alternate: in backgammon the
  same player may move again after the dice. Results carry their *kind* explicitly: exact, a
  lower bound (a cutoff) or an upper bound (nothing reached the window), so that no bound is
  ever mistaken for a value.
- **Expectiminimax** (Michie, "Game-playing and game-learning automata", 1966; Ballard, "The
  *-minimax search procedure for trees containing chance nodes", Artificial Intelligence 21,
  1983): a chance node's value is the probability-weighted mean of its children's. This module
  does *not* implement Ballard's Star1/Star2 pruning: the alpha-beta window is reset to
  ``(-inf, inf)`` below each chance node, which is always correct and prunes only inside the
  subtrees of the outcomes. Chance events do not count towards the depth: ``depth=2`` in
  backgammon is the classic 2-ply search (my move, every roll, your best reply, evaluate).
- **Iterative deepening**: depths 1, 2, ... up to ``depth``; under a ``time`` limit the move
  of the deepest *completed* iteration is played (depth 1 always completes). Deepening stops
  early once an iteration proves the value: when no leaf of it was cut off by the depth (all
  lines reached the end of the game), or when the best move is a proven result that no
  deeper search can beat (a proven maximal win, which a faster win would have shown up at a
  shallower depth to beat).
- **Transposition table**: states are hashable; an entry holds the depth it was searched to,
  the value and its kind, and the best move. An entry answers any query of at most its depth;
  an entry whose subtree reached only ends of games ("solved") answers queries of any depth.
  It is kept between moves and emptied by :meth:`Minimax.new_game`, or when it holds
  ``max_table_size`` entries (simple, and bounds memory).
- **Move ordering**: the table's best move first, then the previous iteration's principal
  variation, then the legal order. At the root, the previous iteration's scores.
- **Win distance**: every move multiplies a value by :data:`DISCOUNT` (0.999), so a win in 3
  moves (0.997) beats a win in 5 (0.995) and a loss in 5 beats a loss in 3: the agent neither
  dawdles when winning nor resigns early when losing. Values stay relative to their node, so
  table entries remain valid wherever a position recurs. A move that ends the game with the
  highest possible return stops the search of its node at once.

Values are from the point of view of the player to move, in ``[min_utility, max_utility]``.
Leaf evaluations come from an *evaluator* ``(game, state, player) -> float`` (a value for
``player``, clipped to the utility range; it may be handed a chance node, such as
backgammon's position after a move, before the dice): ``game.evaluate`` where the game has
one, zero, random playouts, or any function passed as ``evaluator=`` (pubeval, a TD network).

Ties between equally valued moves (within 1e-9) go to the agent's seeded generator, so that
a minimax agent varies its play while a seed repeats it; ``deterministic=True`` plays the
lowest tied action instead.

    >>> from rlkit.envs.tictactoe import TicTacToe
    >>> agent = Minimax(MinimaxConfig(), TicTacToe(), seed=0)
    >>> agent.value(TicTacToe().initial_state())  # tic-tac-toe is a draw
    0.0
    >>> agent.search_info.solved
    True
"""

from __future__ import annotations

import inspect
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from time import perf_counter
from typing import Any, Literal, NamedTuple

from rlkit.errors import IncompatibleEnvError
from rlkit.game import CHANCE, TERMINAL, Game, GameAgent

__all__ = [
    "DISCOUNT",
    "Evaluator",
    "Minimax",
    "MinimaxConfig",
    "SearchInfo",
    "heuristic_evaluation",
    "zero_evaluation",
]

DISCOUNT = 0.999
"""Factor applied to a value per move (decision), so that faster wins and slower losses rank
higher: a win in ``k`` moves is worth ``DISCOUNT ** k``."""

TIE_TOLERANCE = 1e-9
"""Root moves whose values differ by at most this much are tied (a move's worth is 1e-3)."""

EXACT, LOWER, UPPER = 0, 1, 2
"""Kinds of a search result: the value itself, a lower bound, an upper bound."""
_FLIPPED = (EXACT, UPPER, LOWER)  # the kind of a negated result

_SOLVED = 1 << 30
"""Depth stored with a table entry whose subtree ended in terminal states only."""

Evaluator = Callable[[Game, Any, int], float]
"""``evaluator(game, state, player)``: the value of ``state`` for ``player``, in the utility
range (e.g. ``[-1, 1]``) and best kept strictly inside it, below any proven win. Zero-sum:
the value for one player is minus the value for the other (the search asks for either)."""


def zero_evaluation(game: Game, state: Any, player: int) -> float:
    """Every unfinished position is worth 0 (pure look-ahead for wins and losses)."""
    return 0.0


def heuristic_evaluation(game: Game, state: Any, player: int) -> float:
    """``game.evaluate(state, player)`` when the game provides it, else 0."""
    evaluate = getattr(game, "evaluate", None)
    return 0.0 if evaluate is None else float(evaluate(state, player))


@dataclass(frozen=True)
class MinimaxConfig:
    """Search limits and options of :class:`Minimax`."""

    depth: int | None = None
    """Maximum search depth in moves (plies; chance events do not count). None: with ``time``,
    deepen until the time runs out; with ``solve``, until the value is proven; with neither,
    solve games small enough to solve (tic-tac-toe) and search others to a depth of about 1e5
    positions (:func:`default_depth`: connect four 5, 9x9 Go 2, backgammon 1)."""
    solve: bool = False
    """Without ``depth`` and ``time``: search until the value is proven, whatever the game
    (an endgame of connect four, say; from the opening of a large game this never ends)."""
    time: float | None = None
    """Seconds per move for iterative deepening; the deepest completed iteration's move is
    played (depth 1 always completes). None: no limit. Makes play time-dependent."""
    transposition_table: bool = True
    """Remember searched positions (value, bound kind, depth, best move) across the search
    and across the moves of a game."""
    max_table_size: int = 1_000_000
    """Entries in the transposition table; when full it is emptied."""
    evaluation: Literal["heuristic", "zero", "rollout"] = "heuristic"
    """Value of a position at the depth limit: ``heuristic`` is the game's ``evaluate`` (0 for
    games without one), ``zero`` is 0, ``rollout`` is half the mean return of ``rollouts``
    uniformly random playouts (halved so that a proven win ranks above a position that merely
    won its playouts). An ``evaluator=`` passed to the agent replaces all three."""
    rollouts: int = 8
    """Random playouts per leaf with ``evaluation=rollout``."""
    value: str | None = None
    """An agent whose ``value(state, player)`` evaluates positions at the depth limit instead
    of ``evaluation``: a spec or checkpoint such as ``pubeval``, ``td-gammon`` or
    ``runs/td/final.pt`` (values are clipped to the game's utility range)."""
    deterministic: bool = False
    """Play the lowest of equally valued moves instead of a seeded random one."""

    def __post_init__(self) -> None:
        if self.depth is not None and self.depth < 1:
            raise ValueError(f"depth must be at least 1 (or None to solve), got {self.depth}")
        if self.time is not None and not (self.time > 0.0 and math.isfinite(self.time)):
            raise ValueError(f"time must be positive seconds (or None), got {self.time}")
        if self.max_table_size < 1:
            raise ValueError(f"max_table_size must be at least 1, got {self.max_table_size}")
        if self.evaluation not in ("heuristic", "zero", "rollout"):
            raise ValueError(
                f"evaluation must be 'heuristic', 'zero' or 'rollout', got {self.evaluation!r}"
            )
        if self.rollouts < 1:
            raise ValueError(f"rollouts must be at least 1, got {self.rollouts}")


@dataclass(frozen=True)
class SearchInfo:
    """What the last search did (``Minimax.search_info``), for tests and logging.

    Attributes:
        depth: the deepest completed iteration (moves).
        nodes: interior nodes searched (leaves and table hits not counted).
        seconds: wall-clock time of the search.
        value: the root value for the player to move.
        solved: whether ``value`` is proven (independent of the depth limit).
        principal_variation: the expected line of play from the root, as actions.
        table_size: entries in the transposition table afterwards.
    """

    depth: int
    nodes: int
    seconds: float
    value: float
    solved: bool
    principal_variation: tuple[int, ...]
    table_size: int


class _Entry(NamedTuple):
    depth: int  # _SOLVED when the subtree ended in terminal states only
    value: float
    kind: int
    move: int | None  # None at chance nodes


class _OutOfTime(Exception):
    """Raised inside the search when the move's time is up; the iteration is discarded."""


def _child_bound(bound: float, at_most: bool) -> float:
    """The child value ``x`` that maps onto the parent's ``bound`` through ``DISCOUNT * x``.

    Rounded outward: ``DISCOUNT * x <= bound`` when ``at_most`` (a child at most ``x`` cannot
    raise the parent's alpha), ``DISCOUNT * x >= bound`` otherwise (a child at least ``x`` is a
    cutoff). Without this a child value exactly on its bound could, one rounding later, land
    just inside the parent's window and a bound would be taken for an exact value.
    """
    x = bound / DISCOUNT
    if at_most:
        while DISCOUNT * x > bound:
            x = math.nextafter(x, -math.inf)
    else:
        while DISCOUNT * x < bound:
            x = math.nextafter(x, math.inf)
    return x


def _ordered(moves: list[int], *first: int | None) -> list[int]:
    """``moves`` with the legal ones of ``first`` moved to the front, in that order."""
    front = [m for m in dict.fromkeys(first) if m is not None and m in moves]
    return front + [m for m in moves if m not in front] if front else moves


SOLVE_BUDGET = 1e9
"""Bare ``minimax`` solves a game whose tree has at most about this many lines
(``num_actions ** max_game_length``): tic-tac-toe (9**9 ≈ 3.9e8) yes, connect four no."""
DEFAULT_NODES = 1e5
"""Otherwise it searches to the depth that visits about this many positions."""


def default_depth(info: Any) -> int:
    """The search depth of ``minimax`` without ``depth=`` or ``time=``.

    Solving (the full game length) when the game is small enough, else the depth ``d`` with
    ``num_actions ** d ≈ DEFAULT_NODES`` (chance nodes multiply the tree, so one level less),
    at least 1: connect four 5, 9x9 Go 2, 19x19 Go and backgammon 1. Deterministic, unlike a
    time budget, so games repeat for a seed.

        >>> from rlkit.envs.connect_four import ConnectFour
        >>> from rlkit.envs.tictactoe import TicTacToe
        >>> default_depth(ConnectFour().info), default_depth(TicTacToe().info)
        (5, 9)
    """
    branching = max(2, info.num_actions)
    if not info.has_chance and math.log(SOLVE_BUDGET) >= info.max_game_length * math.log(
        branching
    ):
        return info.max_game_length
    depth = int(math.log(DEFAULT_NODES) / math.log(branching))
    return max(1, depth - 1 if info.has_chance else depth)


def _value_agent_evaluator(spec: str, game: Game, seed: int | None) -> Evaluator:
    """The ``value(state, player)`` of the agent ``spec`` as a minimax evaluator.

    Raises:
        SpecError: the agent has no value function.
    """
    from rlkit.errors import SpecError
    from rlkit.match import make_player

    agent = make_player(spec, game, seed=seed).agent
    value = getattr(agent, "value", None)
    if callable(value):
        try:  # minimax's own value(state) does not take a player: not an evaluation
            inspect.signature(value).bind(None, 0)
        except TypeError:
            value = None
    if not callable(value):
        raise SpecError(
            f"minimax value={spec!r}: that agent has no value(state, player) to evaluate "
            "positions with (pubeval, td-gammon and TD(lambda) checkpoints do)"
        )
    return lambda game, state, player: float(value(state, player))


class Minimax(GameAgent):
    """Alpha-beta / expectiminimax search agent (see the module docstring).

    Args:
        config: the search limits and options.
        game: a two-player zero-sum game (with or without chance nodes).
        seed: seeds the generator for ties and random playouts.
        evaluator: ``(game, state, player) -> value`` for positions at the depth limit;
            overrides ``config.evaluation``.

    Raises:
        IncompatibleEnvError: (a ValueError) the game is not for two players or not zero-sum.
    """

    Config = MinimaxConfig

    def __init__(
        self,
        config: MinimaxConfig,
        game: Game,
        *,
        seed: int | None = None,
        evaluator: Evaluator | None = None,
    ) -> None:
        super().__init__(config, game, seed=seed)
        info = game.info
        if info.num_players != 2 or not info.zero_sum:
            raise IncompatibleEnvError(
                f"minimax needs a two-player zero-sum game; {info.name} has "
                f"{info.num_players} player(s) and is {'' if info.zero_sum else 'not '}zero-sum "
                f"(try mcts)"
            )
        if evaluator is None and config.value is not None:
            evaluator = _value_agent_evaluator(config.value, game, seed)
        if evaluator is None:
            evaluator = {
                "heuristic": heuristic_evaluation,
                "zero": zero_evaluation,
                "rollout": self._rollout_evaluation,
            }[config.evaluation]
        self.evaluator: Evaluator = evaluator
        self.table: dict[Any, _Entry] = {}
        self.search_info: SearchInfo | None = None
        # Python's generator is far cheaper per draw than numpy's; seeded from the agent's.
        self._random = random.Random(int(self.rng.integers(2**63)))
        self._min_utility, self._max_utility = info.min_utility, info.max_utility
        self._best_possible = DISCOUNT * info.max_utility  # winning at once
        self._nodes = 0
        self._horizon_hits = 0  # leaves cut off by the depth limit (or unsolved table entries)
        self._deadline = math.inf
        self.max_depth = default_depth(info) if config.depth is None else config.depth
        if config.depth is None and (config.time is not None or config.solve):
            self.max_depth = info.max_game_length  # deepen until proven or out of time

    # -- the agent's interface ------------------------------------------------------------------
    def act(self, state: Any) -> int:
        """The best move for the player to move; ties go to the generator (or lowest action)."""
        tied, _ = self._search_root(state)
        if self.config.deterministic or len(tied) == 1:
            return tied[0]
        return tied[int(self.rng.integers(len(tied)))]

    def value(self, state: Any) -> float:
        """The search value of ``state`` (a decision node) for the player to move.

        Exact game values are discounted per move: a win in ``k`` moves is ``DISCOUNT ** k``.
        """
        return self._search_root(state)[1]

    def new_game(self) -> None:
        self.table.clear()

    # -- root: iterative deepening --------------------------------------------------------------
    def _search_root(self, state: Any) -> tuple[list[int], float]:
        """Deepen from ``state``; return the tied best moves (sorted) and the value."""
        game, config = self.game, self.config
        player = game.current_player(state)
        if player < 0:
            where = "the game is over" if player == TERMINAL else "it is a chance node"
            raise ValueError(f"minimax needs a state with a player to move, but {where}")
        start = perf_counter()
        self._nodes = 0
        children = {move: game.apply(state, move) for move in game.legal_actions(state)}
        entry = self.table.get(state)
        line: tuple[int, ...] = (entry.move,) if entry is not None else ()
        scores: dict[int, float] = {}
        best, solved, completed = 0.0, False, 0
        max_depth = self.max_depth
        for depth in range(1, max_depth + 1):
            has_time = config.time is not None and depth > 1
            self._deadline = start + config.time if has_time else math.inf
            # Best first: the previous principal variation, then the previous iteration's order.
            order = sorted(children, key=lambda m: -scores.get(m, -math.inf))
            try:
                result = self._root_iteration(
                    children, player, depth, _ordered(order, *line[:1]), line
                )
            except _OutOfTime:
                break
            scores, best, line, solved = result
            completed = depth
            if config.transposition_table:
                self._store(state, _SOLVED if solved else depth, best, EXACT, line[0])
            if solved:
                break
        self.search_info = SearchInfo(
            depth=completed,
            nodes=self._nodes,
            seconds=perf_counter() - start,
            value=best + 0.0,
            solved=solved,
            principal_variation=line,
            table_size=len(self.table),
        )
        tied = sorted(m for m, v in scores.items() if v >= best - TIE_TOLERANCE)
        return tied, best + 0.0  # + 0.0 turns a negated draw, -0.0, into 0.0

    def _root_iteration(
        self,
        children: dict[int, Any],
        player: int,
        depth: int,
        order: list[int],
        previous_line: tuple[int, ...],
    ) -> tuple[dict[int, float], float, tuple[int, ...], bool]:
        """One iteration at the root: the exact scores of the moves that may be best, the best
        value, the principal variation, and whether the value is proven."""
        self._nodes += 1
        scores: dict[int, float] = {}
        best, best_line, best_solved = -math.inf, (), False
        all_solved = True
        for move in order:
            # Moves within TIE_TOLERANCE of the best so far get exact scores (for tie-breaks);
            # worse ones only need to be shown worse.
            low = _child_bound(best - TIE_TOLERANCE, at_most=True)
            pv = previous_line[1:] if previous_line and previous_line[0] == move else ()
            hits = self._horizon_hits
            value, kind, line = self._value(children[move], player, depth - 1, low, math.inf, pv)
            move_solved = self._horizon_hits == hits
            all_solved = all_solved and move_solved
            if kind == EXACT:  # otherwise an upper bound at most best - TIE_TOLERANCE
                scores[move] = DISCOUNT * value
                if scores[move] > best:
                    best, best_line, best_solved = scores[move], (move, *line), move_solved
        # A proven value above anything an unproven move could still turn out to be (a result
        # beyond this depth is worth at most DISCOUNT ** (depth + 1) * max_utility) is final.
        final = best_solved and best >= DISCOUNT ** (depth + 1) * self._max_utility
        return scores, best, best_line, all_solved or final

    # -- the recursive search -------------------------------------------------------------------
    def _value(
        self, state: Any, player: int, depth: int, alpha: float, beta: float, pv: tuple[int, ...]
    ) -> tuple[float, int, tuple[int, ...]]:
        """The value of ``state`` for ``player``, searched ``depth`` moves deep.

        Returns:
            ``(value, kind, line)``: ``kind`` is EXACT, LOWER (the true value is at least
            ``value``, which is at least ``beta``: a cutoff) or UPPER (at most ``value``, which
            is at most ``alpha``); ``line`` is the principal variation from ``state``.
        """
        mover = self.game.current_player(state)
        if mover == TERMINAL:
            return float(self.game.returns(state)[player]), EXACT, ()
        if depth == 0:
            self._horizon_hits += 1
            value = self.evaluator(self.game, state, player)
            return min(max(value, self._min_utility), self._max_utility), EXACT, ()
        # Nodes are searched and stored from their owner's view: the player to move, or player
        # 0 at chance nodes. Zero-sum: the other player's value is the negation, window and
        # bound kinds mirrored; negating a float is exact.
        owner = 0 if mover == CHANCE else mover
        if owner == player:
            return self._node(state, mover, depth, alpha, beta, pv)
        value, kind, line = self._node(state, mover, depth, -beta, -alpha, pv)
        return -value, _FLIPPED[kind], line

    def _node(
        self, state: Any, mover: int, depth: int, alpha: float, beta: float, pv: tuple[int, ...]
    ) -> tuple[float, int, tuple[int, ...]]:
        """:meth:`_value` of an unfinished ``state`` for its owner, through the table."""
        self._nodes += 1
        if perf_counter() > self._deadline:
            raise _OutOfTime
        entry = self.table.get(state) if self.config.transposition_table else None
        if entry is not None and entry.depth >= depth:
            kind, value = entry.kind, entry.value
            if (
                kind == EXACT
                or (kind == LOWER and value >= beta)
                or (kind == UPPER and value <= alpha)
            ):
                if entry.depth < _SOLVED:
                    self._horizon_hits += 1
                return value, kind, () if entry.move is None else (entry.move,)
        hits = self._horizon_hits
        if mover == CHANCE:
            value, kind, move, line = self._chance(state, depth), EXACT, None, ()
        else:
            first = None if entry is None else entry.move
            value, kind, move, line = self._decision(state, mover, depth, alpha, beta, pv, first)
        if self.config.transposition_table:
            self._store(state, _SOLVED if self._horizon_hits == hits else depth, value, kind, move)
        return value, kind, line

    def _decision(
        self,
        state: Any,
        player: int,
        depth: int,
        alpha: float,
        beta: float,
        pv: tuple[int, ...],
        table_move: int | None,
    ) -> tuple[float, int, int, tuple[int, ...]]:
        """Fail-soft alpha-beta over the moves of ``player``; returns value, kind, best move
        and principal variation."""
        game = self.game
        moves = _ordered(game.legal_actions(state), table_move, *pv[:1])
        hits = self._horizon_hits
        best_exact = best_bound = -math.inf  # best exact value; best upper bound
        best_move, best_line = moves[0], ()
        for move in moves:
            child = game.apply(state, move)
            low = _child_bound(max(alpha, best_exact), at_most=True)
            high = _child_bound(beta, at_most=False)
            child_pv = pv[1:] if pv and pv[0] == move else ()
            value, kind, line = self._value(child, player, depth - 1, low, high, child_pv)
            value *= DISCOUNT
            if kind == EXACT and value >= self._best_possible and game.is_terminal(child):
                # Winning at once cannot be beaten, whatever the other moves hold: proven.
                self._horizon_hits = hits
                return value, EXACT, move, (move,)
            if kind == LOWER or (kind == EXACT and value >= beta):
                return value, LOWER, move, (move, *line)  # cutoff
            if kind == UPPER:  # this move is no better than alpha
                best_bound = max(best_bound, value)
            elif value > best_exact:
                best_exact, best_move, best_line = value, move, (move, *line)
        if best_exact >= best_bound:
            return best_exact, EXACT, best_move, best_line
        return best_bound, UPPER, best_move, best_line

    def _chance(self, state: Any, depth: int) -> float:
        """Expectation over the outcomes, for player 0, each searched with a full window."""
        game = self.game
        total = 0.0
        for outcome, probability in game.chance_outcomes(state):
            # A full window below a chance node: every child result is exact.
            value, _, _ = self._value(game.apply(state, outcome), 0, depth, -math.inf, math.inf, ())
            total += probability * value
        return total

    def _store(self, state: Any, depth: int, value: float, kind: int, move: int | None) -> None:
        if len(self.table) >= self.config.max_table_size and state not in self.table:
            self.table.clear()
        self.table[state] = _Entry(depth, value, kind, move)

    # -- evaluation -----------------------------------------------------------------------------
    def _rollout_evaluation(self, game: Game, state: Any, player: int) -> float:
        """Half the mean return for ``player`` of ``config.rollouts`` uniformly random playouts
        (chance outcomes drawn with their probabilities, from the agent's generator)."""
        rand = self._random.random
        total = 0.0
        for _ in range(self.config.rollouts):
            position = state
            while (mover := game.current_player(position)) != TERMINAL:
                if mover == CHANCE:
                    action = game.sample_chance(position, self.rng)
                else:
                    legal = game.legal_actions(position)
                    action = legal[int(rand() * len(legal))]
                position = game.apply(position, action)
            total += float(game.returns(position)[player])
        return 0.5 * total / self.config.rollouts
