"""The league's payoff matrix and prioritised fictitious self-play (PFSP) weightings.

Both follow the pseudocode published with AlphaStar (Vinyals et al., "Grandmaster level in
StarCraft II using multi-agent reinforcement learning", Nature 575, 2019; supplementary
``payoff.py`` and ``pfsp``):

- For every ordered pair of players ``(home, away)`` the payoff keeps *decayed* counts of
  wins, draws and games. When a game between them ends, the counts of both ``(home, away)``
  and ``(away, home)`` are first multiplied by ``decay`` (0.99 in the paper), then the game is
  added (a win of ``home`` is a win in ``(home, away)`` and a loss — no win, no draw — in
  ``(away, home)``). Old games thus fade, so the matrix follows players that keep learning.
- The win rate of ``home`` against ``away`` is ``(wins + draws / 2) / games``; a pair that has
  never played counts as ``0.5``.
- PFSP picks an opponent with probability proportional to ``f(p)``, ``p`` the learner's win rate
  against it: ``hard``/``squared`` ``(1 - p)^2`` (focus on the opponents it loses to),
  ``variance`` ``p (1 - p)`` (opponents of its own level), ``linear`` ``1 - p`` and
  ``linear_capped`` ``min(0.5, 1 - p)``. When every weight is (near) zero the choice is
  uniform.

Worked example (decay 0.99): A beats B, then draws with B. After the first game
``(A, B) = (wins 1, draws 0, games 1)``; the draw decays it to ``(0.99, 0, 0.99)`` and adds
``(0, 1, 1)``, giving ``(0.99, 1, 1.99)`` and a win rate ``(0.99 + 0.5) / 1.99 = 0.7487``;
``(B, A) = (0, 1, 1.99)``, win rate ``0.2513``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np

DEFAULT_DECAY = 0.99
"""AlphaStar's payoff decay per game of a pair."""

WEIGHTINGS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "hard": lambda p: (1.0 - p) ** 2,
    "squared": lambda p: (1.0 - p) ** 2,
    "variance": lambda p: p * (1.0 - p),
    "linear": lambda p: 1.0 - p,
    "linear_capped": lambda p: np.minimum(0.5, 1.0 - p),
}
"""PFSP weighting functions ``f(p)`` of the learner's win rate ``p`` (AlphaStar's names;
``hard`` is the paper's text for the pseudocode's ``squared``)."""

_ZERO_NORM = 1e-10
"""A total weight below this counts as zero (the pseudocode's threshold): choose uniformly."""


def pfsp_probabilities(win_rates: Sequence[float] | np.ndarray, weighting: str) -> np.ndarray:
    """Opponent probabilities from the learner's win rates against each candidate.

    Args:
        win_rates: shape ``[n]``, each in ``[0, 1]``.
        weighting: a key of :data:`WEIGHTINGS`.

    Returns:
        Probabilities, shape ``[n]``, summing to 1 (uniform when every weight is zero).

    Raises:
        ValueError: an unknown weighting or no candidates.
    """
    if weighting not in WEIGHTINGS:
        raise ValueError(f"unknown PFSP weighting {weighting!r}: use one of {sorted(WEIGHTINGS)}")
    rates = np.asarray(win_rates, dtype=float)
    if rates.size == 0:
        raise ValueError("PFSP needs at least one candidate opponent")
    weights = WEIGHTINGS[weighting](rates)
    total = float(weights.sum())
    if total < _ZERO_NORM:
        return np.full(rates.size, 1.0 / rates.size)
    return weights / total


def pfsp_choice(
    candidates: Sequence[str],
    win_rates: Sequence[float] | np.ndarray,
    weighting: str,
    rng: np.random.Generator,
) -> str:
    """Draw one of ``candidates`` with :func:`pfsp_probabilities`."""
    probabilities = pfsp_probabilities(win_rates, weighting)
    return candidates[int(rng.choice(len(candidates), p=probabilities))]


class Payoff:
    """Decayed wins, draws and games for every ordered pair of player names.

    Args:
        decay: factor applied to a pair's counts before each new game between them, in
            ``(0, 1]`` (1: no decay).
    """

    def __init__(self, decay: float = DEFAULT_DECAY) -> None:
        if not 0.0 < decay <= 1.0:
            raise ValueError(f"payoff decay must be in (0, 1], got {decay}")
        self.decay = decay
        self._wins: dict[tuple[str, str], float] = {}
        self._draws: dict[tuple[str, str], float] = {}
        self._games: dict[tuple[str, str], float] = {}

    def update(self, home: str, away: str, score: float) -> None:
        """Add one game; ``score`` is ``home``'s: 1 win, 0.5 draw, 0 loss."""
        if score not in (0.0, 0.5, 1.0):
            raise ValueError(f"a game's score is 0, 0.5 or 1, got {score}")
        for pair, own in (((home, away), score), ((away, home), 1.0 - score)):
            for table in (self._wins, self._draws, self._games):
                table[pair] = table.get(pair, 0.0) * self.decay
            self._wins[pair] += own == 1.0
            self._draws[pair] += own == 0.5
            self._games[pair] += 1.0

    def counts(self, home: str, away: str) -> tuple[float, float, float]:
        """``(wins, draws, games)`` of ``home`` against ``away``, decayed."""
        pair = (home, away)
        return self._wins.get(pair, 0.0), self._draws.get(pair, 0.0), self._games.get(pair, 0.0)

    def win_rate(self, home: str, away: str) -> float:
        """``(wins + draws / 2) / games`` of ``home`` against ``away``; 0.5 when unplayed."""
        wins, draws, games = self.counts(home, away)
        if games == 0.0:
            return 0.5
        return (wins + 0.5 * draws) / games

    def win_rates(self, home: str, aways: Iterable[str]) -> np.ndarray:
        """:meth:`win_rate` of ``home`` against each of ``aways``, shape ``[len(aways)]``."""
        return np.array([self.win_rate(home, away) for away in aways], dtype=float)

    def played(self, home: str, away: str) -> bool:
        return self._games.get((home, away), 0.0) > 0.0

    @classmethod
    def from_results(
        cls, results: Iterable[tuple[str, str, float]], decay: float = DEFAULT_DECAY
    ) -> Payoff:
        """Replay ``(home, away, score)`` games in the order given."""
        payoff = cls(decay)
        for home, away, score in results:
            payoff.update(home, away, score)
        return payoff
