"""League roles: whom each learning player trains against, when it is snapshotted, and resets.

The three roles of AlphaStar's league (Vinyals et al., Nature 575, 2019, "Methods: League
training" and the supplementary pseudocode ``league.py``), every constant a field of
:class:`RoleSettings` whose default is the paper's:

**Main agents** (:class:`MainPlayer`). A coin ``u ~ U(0, 1)``:

- ``u < pfsp_probability`` (0.5): PFSP with the ``hard`` weighting ``(1 - p)^2`` over all frozen
  (historical) players: "make sure you can beat the league";
- ``u < pfsp_probability + verification_probability`` (0.15), *verification*: among the
  snapshots of main exploiters, if the main agent's lowest win rate is below
  ``verification_exploiter_threshold`` (0.3), PFSP ``hard`` over them ("check exploitation");
  otherwise among the snapshots of a randomly chosen main agent, after dropping the trailing
  run of snapshots whose win rates only fall (the newest snapshots are expected to be harder:
  the pseudocode's ``remove_monotonic_suffix``), if the lowest win rate is below
  ``verification_forgetting_threshold`` (0.7), PFSP ``hard`` over them ("check forgetting");
  otherwise fall through to self-play;
- otherwise *self-play* against a randomly chosen current main agent while the win rate against
  it is above ``selfplay_threshold`` (0.3); below it, PFSP ``variance`` ``p (1 - p)`` over
  that main agent's snapshots, as a curriculum.

Snapshot when at least ``min_steps`` steps passed since the last snapshot and either every
frozen player is beaten more than ``snapshot_win_rate`` (0.7) of the time or more than
``max_steps`` passed (the paper: 2e9 and 4e9 steps). Main agents are never reset.

**Main exploiters** (:class:`MainExploiter`): a randomly chosen main agent while beating it
more than ``main_exploiter_threshold`` (0.1) of the time, else PFSP ``variance`` over that main
agent's snapshots. Snapshot on the rule above, measured against the current main agents; then
always reset to the supervised start.

**League exploiters** (:class:`LeagueExploiter`): PFSP ``linear_capped`` ``min(0.5, 1 - p)``
over all frozen players. Snapshot on the rule above, measured against all frozen players; then
reset to the supervised start with probability ``league_exploiter_reset_probability`` (0.25).

Thresholds are strict as in the pseudocode: a win rate of exactly 0.7 does not trigger a
snapshot, a self-play win rate of exactly 0.3 falls back to the curriculum, and exactly
``max_steps`` steps is not yet "more than" ``max_steps``.

"Frozen" (historical) players are snapshots of learners plus any fixed agent specs the config
adds to the pool (role ``frozen``, no parent).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import NamedTuple

import numpy as np

from rlkit.errors import SpecError
from rlkit.leagues.payoff import DEFAULT_DECAY, Payoff, pfsp_choice

MAIN = "main"
MAIN_EXPLOITER = "main_exploiter"
LEAGUE_EXPLOITER = "league_exploiter"
FROZEN = "frozen"
LEARNING_ROLES = (MAIN, MAIN_EXPLOITER, LEAGUE_EXPLOITER)
"""Roles a config may give a learning player."""


@dataclass(frozen=True)
class RoleSettings:
    """The league's matchmaking, snapshot and reset constants (config table ``[league]``).

    Defaults are AlphaStar's (Vinyals et al. 2019, pseudocode), except the step counts, which
    the paper gives for StarCraft (2e9 / 4e9 agent steps) and a config scales to its game.
    """

    decay: float = DEFAULT_DECAY
    """Payoff decay per game of a pair (see :mod:`rlkit.leagues.payoff`)."""
    pfsp_probability: float = 0.5
    """Main agents: fraction of matches by PFSP (hard) over all frozen players."""
    verification_probability: float = 0.15
    """Main agents: fraction of matches that first try the verification branch."""
    verification_exploiter_threshold: float = 0.3
    """Verification: play main exploiters' snapshots if the lowest win rate is below this."""
    verification_forgetting_threshold: float = 0.7
    """Verification: play old main snapshots if the lowest win rate is below this."""
    selfplay_threshold: float = 0.3
    """Main agents self-play while their win rate against the opponent is above this."""
    main_exploiter_threshold: float = 0.1
    """Main exploiters play a main agent while their win rate against it is above this."""
    snapshot_win_rate: float = 0.7
    """Snapshot when the lowest win rate against the role's targets is above this."""
    min_steps: int = 2_000_000_000
    """Steps since the last snapshot before a snapshot is considered (paper: 2e9)."""
    max_steps: int = 4_000_000_000
    """Snapshot anyway after more than this many steps since the last one (paper: 4e9)."""
    league_exploiter_reset_probability: float = 0.25
    """Probability that a league exploiter is reset to the supervised start at a snapshot."""

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.type == "int":
                if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                    raise SpecError(f"league.{f.name} must be an integer >= 0, got {value!r}")
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise SpecError(f"league.{f.name} must be a number, got {value!r}")
            low_open = f.name == "decay"
            if not math.isfinite(value) or value > 1 or value < 0 or (low_open and value == 0):
                interval = "(0, 1]" if low_open else "[0, 1]"
                raise SpecError(f"league.{f.name} must be in {interval}, got {value!r}")
        if self.pfsp_probability + self.verification_probability > 1:
            raise SpecError(
                "league.pfsp_probability + league.verification_probability must be at most 1, "
                f"got {self.pfsp_probability} + {self.verification_probability}"
            )
        if self.max_steps < self.min_steps:
            raise SpecError(
                f"league.max_steps ({self.max_steps}) must be at least league.min_steps "
                f"({self.min_steps})"
            )


@dataclass(frozen=True)
class LeaguePlayer:
    """A player as matchmaking sees it.

    Attributes:
        name: unique; frozen snapshots are named ``PARENT@K``.
        role: one of :data:`LEARNING_ROLES` (snapshots keep their parent's role) or ``frozen``.
        frozen: a fixed player (snapshot or agent spec) that no longer learns.
        parent: the learning player a snapshot was taken from (None otherwise).
        steps: environment steps trained so far (learners).
        snapshot_steps: ``steps`` at the last snapshot (learners).
    """

    name: str
    role: str
    frozen: bool = False
    parent: str | None = None
    steps: int = 0
    snapshot_steps: int = 0


class Match(NamedTuple):
    """A chosen opponent and the branch of the role's rule that chose it (for metrics)."""

    opponent: str
    branch: str


class League:
    """Players (in the order they joined) and the payoff: what a role decides from."""

    def __init__(self, players: list[LeaguePlayer], payoff: Payoff) -> None:
        self.players = players
        self.payoff = payoff

    def historical(self) -> list[str]:
        """Every frozen player, oldest first."""
        return [p.name for p in self.players if p.frozen]

    def mains(self) -> list[str]:
        """The learning main agents."""
        return [p.name for p in self.players if p.role == MAIN and not p.frozen]

    def snapshots_of(self, parent: str) -> list[str]:
        """Frozen snapshots of ``parent``, oldest first."""
        return [p.name for p in self.players if p.frozen and p.parent == parent]

    def snapshots_of_role(self, role: str) -> list[str]:
        """Frozen snapshots of every learner of ``role``, oldest first."""
        return [p.name for p in self.players if p.frozen and p.parent and p.role == role]


def remove_monotonic_suffix(win_rates: np.ndarray, players: list[str]) -> tuple[np.ndarray, list]:
    """Drop the trailing run of snapshots whose win rates never rise (AlphaStar pseudocode).

    Scanning from the newest snapshot back, the list is cut after the first snapshot ``i``
    whose predecessor has a lower win rate; if the rates never rise, nothing is left.
    """
    for i in range(len(win_rates) - 1, 0, -1):
        if win_rates[i - 1] < win_rates[i]:
            return win_rates[: i + 1], players[: i + 1]
    return np.array([]), []


class Role:
    """A role's rules. Subclasses implement :meth:`get_match` and :meth:`snapshot_targets`."""

    name = ""

    def __init__(self, settings: RoleSettings) -> None:
        self.settings = settings

    def get_match(self, player: LeaguePlayer, league: League, rng: np.random.Generator) -> Match:
        raise NotImplementedError

    def snapshot_targets(self, player: LeaguePlayer, league: League) -> list[str]:
        """The players whose win rates decide a snapshot."""
        raise NotImplementedError

    def ready_to_snapshot(self, player: LeaguePlayer, league: League) -> bool:
        """At least ``min_steps`` since the last snapshot, and every target beaten more than
        ``snapshot_win_rate`` of the time or more than ``max_steps`` steps passed."""
        passed = player.steps - player.snapshot_steps
        if passed < self.settings.min_steps:
            return False
        if passed > self.settings.max_steps:
            return True
        targets = self.snapshot_targets(player, league)
        rates = league.payoff.win_rates(player.name, targets)
        return bool(rates.size) and float(rates.min()) > self.settings.snapshot_win_rate

    def resets_on_snapshot(self, rng: np.random.Generator) -> bool:
        """Whether the learner goes back to the supervised start after a snapshot."""
        return False


class MainPlayer(Role):
    name = MAIN

    def get_match(self, player: LeaguePlayer, league: League, rng: np.random.Generator) -> Match:
        s = self.settings
        coin = float(rng.random())
        if coin < s.pfsp_probability:
            historical = league.historical()
            rates = league.payoff.win_rates(player.name, historical)
            return Match(pfsp_choice(historical, rates, "hard", rng), "pfsp")
        mains = league.mains()
        opponent = mains[int(rng.integers(len(mains)))]
        if coin < s.pfsp_probability + s.verification_probability:
            match = self._verification(player, opponent, league, rng)
            if match is not None:
                return match
        return self._selfplay(player, opponent, league, rng)

    def _verification(
        self, player: LeaguePlayer, opponent: str, league: League, rng: np.random.Generator
    ) -> Match | None:
        exploiters = league.snapshots_of_role(MAIN_EXPLOITER)
        rates = league.payoff.win_rates(player.name, exploiters)
        if rates.size and rates.min() < self.settings.verification_exploiter_threshold:
            return Match(pfsp_choice(exploiters, rates, "hard", rng), "verification_exploiters")
        historical = league.snapshots_of(opponent)
        rates, historical = remove_monotonic_suffix(
            league.payoff.win_rates(player.name, historical), historical
        )
        if len(rates) and rates.min() < self.settings.verification_forgetting_threshold:
            return Match(pfsp_choice(historical, rates, "hard", rng), "verification_forgetting")
        return None

    def _selfplay(
        self, player: LeaguePlayer, opponent: str, league: League, rng: np.random.Generator
    ) -> Match:
        if league.payoff.win_rate(player.name, opponent) > self.settings.selfplay_threshold:
            return Match(opponent, "selfplay")
        historical = league.snapshots_of(opponent)
        rates = league.payoff.win_rates(player.name, historical)
        return Match(pfsp_choice(historical, rates, "variance", rng), "selfplay_curriculum")

    def snapshot_targets(self, player: LeaguePlayer, league: League) -> list[str]:
        return league.historical()


class MainExploiter(Role):
    name = MAIN_EXPLOITER

    def get_match(self, player: LeaguePlayer, league: League, rng: np.random.Generator) -> Match:
        mains = league.mains()
        opponent = mains[int(rng.integers(len(mains)))]
        if league.payoff.win_rate(player.name, opponent) > self.settings.main_exploiter_threshold:
            return Match(opponent, "main")
        historical = league.snapshots_of(opponent)
        rates = league.payoff.win_rates(player.name, historical)
        return Match(pfsp_choice(historical, rates, "variance", rng), "main_snapshots")

    def snapshot_targets(self, player: LeaguePlayer, league: League) -> list[str]:
        return league.mains()

    def resets_on_snapshot(self, rng: np.random.Generator) -> bool:
        return True


class LeagueExploiter(Role):
    name = LEAGUE_EXPLOITER

    def get_match(self, player: LeaguePlayer, league: League, rng: np.random.Generator) -> Match:
        historical = league.historical()
        rates = league.payoff.win_rates(player.name, historical)
        return Match(pfsp_choice(historical, rates, "linear_capped", rng), "pfsp")

    def snapshot_targets(self, player: LeaguePlayer, league: League) -> list[str]:
        return league.historical()

    def resets_on_snapshot(self, rng: np.random.Generator) -> bool:
        return float(rng.random()) < self.settings.league_exploiter_reset_probability


ROLE_CLASSES: dict[str, type[Role]] = {
    MAIN: MainPlayer,
    MAIN_EXPLOITER: MainExploiter,
    LEAGUE_EXPLOITER: LeagueExploiter,
}


def make_role(role: str, settings: RoleSettings) -> Role:
    """The rules of a learning role.

    Raises:
        SpecError: an unknown role.
    """
    if role not in ROLE_CLASSES:
        raise SpecError(f"unknown role {role!r}: use one of {', '.join(LEARNING_ROLES)}")
    return ROLE_CLASSES[role](settings)
