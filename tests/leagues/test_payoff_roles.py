"""League rules against AlphaStar's formulas: payoff decay, PFSP, each role's branches,
snapshot thresholds and resets (Vinyals et al., Nature 2019, pseudocode)."""

import math
from collections import Counter

import numpy as np
import pytest

from rlkit.errors import SpecError
from rlkit.leagues.payoff import Payoff, pfsp_choice, pfsp_probabilities
from rlkit.leagues.roles import (
    FROZEN,
    LEAGUE_EXPLOITER,
    MAIN,
    MAIN_EXPLOITER,
    League,
    LeaguePlayer,
    RoleSettings,
    make_role,
    remove_monotonic_suffix,
)

DRAWS = 20_000


def within_4_sigma(counts: Counter, expected: dict[str, float], n: int) -> None:
    for name, p in expected.items():
        sigma = math.sqrt(n * p * (1 - p))
        assert abs(counts[name] - n * p) <= 4 * sigma + 1e-9, (name, counts[name], n * p)
    assert set(counts) <= {name for name, p in expected.items() if p > 0}


# -- payoff ----------------------------------------------------------------------------------


def test_payoff_decay_is_exact_by_hand():
    payoff = Payoff(decay=0.99)
    assert payoff.win_rate("A", "B") == 0.5  # unplayed
    payoff.update("A", "B", 1.0)
    assert payoff.counts("A", "B") == (1.0, 0.0, 1.0)
    assert payoff.counts("B", "A") == (0.0, 0.0, 1.0)
    payoff.update("B", "A", 0.5)  # a draw, seen from B
    assert payoff.counts("A", "B") == pytest.approx((0.99, 1.0, 1.99), abs=1e-15)
    assert payoff.win_rate("A", "B") == pytest.approx(1.49 / 1.99, abs=1e-15)
    assert payoff.win_rate("B", "A") == pytest.approx(0.5 / 1.99, abs=1e-15)
    payoff.update("B", "A", 1.0)  # B wins: (A, B) = (0.9801, 0.99, 2.9701)
    assert payoff.counts("A", "B") == pytest.approx((0.9801, 0.99, 2.9701), abs=1e-15)
    assert payoff.counts("B", "A") == pytest.approx((1.0, 0.99, 2.9701), abs=1e-15)
    assert payoff.win_rate("A", "B") == pytest.approx((0.9801 + 0.495) / 2.9701, abs=1e-15)
    # other pairs are untouched by decay, and unplayed pairs stay at 0.5
    payoff.update("A", "C", 0.0)
    assert payoff.counts("A", "B") == pytest.approx((0.9801, 0.99, 2.9701), abs=1e-15)
    assert payoff.win_rate("C", "A") == 1.0 and payoff.win_rate("B", "C") == 0.5
    assert list(payoff.win_rates("A", ["B", "C", "D"])) == pytest.approx(
        [(0.9801 + 0.495) / 2.9701, 0.0, 0.5]
    )


def test_payoff_without_decay_counts_games_and_from_results_replays_in_order():
    games = [("A", "B", 1.0), ("A", "B", 0.0), ("B", "A", 0.5), ("A", "B", 1.0)]
    plain = Payoff.from_results(games, decay=1.0)
    assert plain.counts("A", "B") == (2.0, 1.0, 4.0)
    assert plain.win_rate("A", "B") == 2.5 / 4
    decayed = Payoff.from_results(games)
    again = Payoff()
    for game in games:
        again.update(*game)
    assert decayed.counts("A", "B") == again.counts("A", "B")
    with pytest.raises(ValueError):
        Payoff(decay=0.0)
    with pytest.raises(ValueError):
        plain.update("A", "B", 0.3)


# -- PFSP ------------------------------------------------------------------------------------

RATES = [0.1, 0.5, 0.8, 1.0]
# f(p) by hand for p = 0.1, 0.5, 0.8, 1.0, then normalised
HAND = {
    "hard": [0.81, 0.25, 0.04, 0.0],
    "squared": [0.81, 0.25, 0.04, 0.0],
    "variance": [0.09, 0.25, 0.16, 0.0],
    "linear": [0.9, 0.5, 0.2, 0.0],
    "linear_capped": [0.5, 0.5, 0.2, 0.0],
}


@pytest.mark.parametrize("weighting", sorted(HAND))
def test_pfsp_probabilities_and_sampled_frequencies(weighting):
    weights = np.array(HAND[weighting])
    expected = weights / weights.sum()
    assert pfsp_probabilities(RATES, weighting) == pytest.approx(expected, abs=1e-12)
    names = ["a", "b", "c", "d"]
    rng = np.random.default_rng(7)
    counts = Counter(pfsp_choice(names, RATES, weighting, rng) for _ in range(DRAWS))
    within_4_sigma(counts, dict(zip(names, expected, strict=True)), DRAWS)
    assert counts["d"] == 0  # an opponent always beaten has weight 0


@pytest.mark.parametrize(("weighting", "rates"), [("hard", [1, 1, 1]), ("variance", [0, 1])])
def test_all_zero_weights_choose_uniformly(weighting, rates):
    assert pfsp_probabilities(rates, weighting) == pytest.approx([1 / len(rates)] * len(rates))
    names = [str(i) for i in range(len(rates))]
    rng = np.random.default_rng(1)
    counts = Counter(pfsp_choice(names, rates, weighting, rng) for _ in range(DRAWS))
    within_4_sigma(counts, dict.fromkeys(names, 1 / len(rates)), DRAWS)


def test_pfsp_refuses_unknown_weighting_and_no_candidates():
    with pytest.raises(ValueError, match="weighting"):
        pfsp_probabilities([0.5], "cubic")
    with pytest.raises(ValueError, match="candidate"):
        pfsp_probabilities([], "hard")


# -- roles -----------------------------------------------------------------------------------


class TablePayoff(Payoff):
    """A payoff with win rates set by hand (0.5 where unset), as AlphaStar's roles read it."""

    def __init__(self, rates: dict[tuple[str, str], float]) -> None:
        super().__init__()
        self.rates = rates

    def win_rate(self, home: str, away: str) -> float:
        return self.rates.get((home, away), 0.5)


def league(rates: dict[tuple[str, str], float], *extra: LeaguePlayer) -> League:
    players = [
        LeaguePlayer("m", MAIN),
        LeaguePlayer("x", MAIN_EXPLOITER),
        LeaguePlayer("l", LEAGUE_EXPLOITER),
        LeaguePlayer("m@0", MAIN, frozen=True, parent="m"),
        LeaguePlayer("random", FROZEN, frozen=True),
        *extra,
    ]
    return League(players, TablePayoff(rates))


def branches(role: str, lg: League, n: int = DRAWS, seed: int = 0) -> Counter:
    rules = make_role(role, RoleSettings())
    name = {MAIN: "m", MAIN_EXPLOITER: "x", LEAGUE_EXPLOITER: "l"}[role]
    player = next(p for p in lg.players if p.name == name)
    rng = np.random.default_rng(seed)
    return Counter(rules.get_match(player, lg, rng) for _ in range(n))


def test_main_agent_splits_pfsp_verification_and_selfplay():
    # The main agent loses to an exploiter snapshot (0.2 < 0.3): verification plays it.
    lg = league(
        {("m", "x@1"): 0.2, ("m", "m@0"): 0.6, ("m", "random"): 0.9},
        LeaguePlayer("x@1", MAIN_EXPLOITER, frozen=True, parent="x"),
    )
    counts = branches(MAIN, lg)
    by_branch = Counter()
    for match, count in counts.items():
        by_branch[match.branch] += count
    within_4_sigma(
        by_branch, {"pfsp": 0.5, "verification_exploiters": 0.15, "selfplay": 0.35}, DRAWS
    )
    # PFSP (hard) over all frozen players: weights 0.16, 0.01, 0.64 for m@0, random, x@1
    pfsp = Counter({m.opponent: c for m, c in counts.items() if m.branch == "pfsp"})
    n = sum(pfsp.values())
    within_4_sigma(pfsp, {"m@0": 0.16 / 0.81, "random": 0.01 / 0.81, "x@1": 0.64 / 0.81}, n)
    assert all(m.opponent == "m" for m in counts if m.branch == "selfplay")


def test_verification_checks_forgetting_after_a_monotonic_suffix():
    # exploiter snapshot beaten (0.5 >= 0.3); own snapshots m@0, m@1, m@2 at 0.6, 0.9, 0.8:
    # the trailing decrease (m@2) is dropped, min(0.6, 0.9) < 0.7 -> PFSP hard over m@0, m@1.
    lg = league(
        {("m", "x@1"): 0.5, ("m", "m@0"): 0.6, ("m", "m@1"): 0.9, ("m", "m@2"): 0.8},
        LeaguePlayer("x@1", MAIN_EXPLOITER, frozen=True, parent="x"),
        LeaguePlayer("m@1", MAIN, frozen=True, parent="m"),
        LeaguePlayer("m@2", MAIN, frozen=True, parent="m"),
    )
    counts = branches(MAIN, lg)
    forgetting = Counter(
        {m.opponent: c for m, c in counts.items() if m.branch == "verification_forgetting"}
    )
    n = sum(forgetting.values())
    within_4_sigma(
        Counter({"verification_forgetting": n}), {"verification_forgetting": 0.15}, DRAWS
    )
    within_4_sigma(forgetting, {"m@0": 0.16 / 0.17, "m@1": 0.01 / 0.17}, n)
    assert not any(m.branch == "verification_exploiters" for m in counts)


def test_verification_falls_through_to_selfplay_when_nothing_is_lost():
    lg = league({("m", "m@0"): 0.95})  # one own snapshot: the suffix rule leaves nothing
    counts = branches(MAIN, lg)
    assert {m.branch for m in counts} == {"pfsp", "selfplay"}
    selfplay = sum(c for m, c in counts.items() if m.branch == "selfplay")
    within_4_sigma(Counter({"s": selfplay}), {"s": 0.5}, DRAWS)


def test_remove_monotonic_suffix():
    names = ["a", "b", "c"]
    rates, kept = remove_monotonic_suffix(np.array([0.9, 0.8, 0.7]), names)
    assert kept == [] and rates.size == 0
    rates, kept = remove_monotonic_suffix(np.array([0.5, 0.6, 0.4]), names)
    assert kept == ["a", "b"] and list(rates) == [0.5, 0.6]
    assert remove_monotonic_suffix(np.array([0.5]), ["a"])[1] == []


@pytest.mark.parametrize(("rate", "branch"), [(0.3, "selfplay_curriculum"), (0.31, "selfplay")])
def test_selfplay_falls_back_to_pfsp_variance_at_the_threshold(rate, branch):
    settings = RoleSettings(pfsp_probability=0.0, verification_probability=0.0)
    lg = League(
        [
            LeaguePlayer("m", MAIN),
            LeaguePlayer("m2@0", MAIN, frozen=True, parent="m2"),
            LeaguePlayer("m2", MAIN),
            LeaguePlayer("m2@1", MAIN, frozen=True, parent="m2"),
        ],
        TablePayoff({("m", "m2"): rate, ("m", "m2@0"): 0.5, ("m", "m2@1"): 0.9, ("m", "m"): 0.5}),
    )
    rules = make_role(MAIN, settings)
    rng = np.random.default_rng(3)
    counts = Counter(rules.get_match(lg.players[0], lg, rng) for _ in range(DRAWS))
    vs_m2 = Counter({m.opponent: c for m, c in counts.items() if m.branch == branch})
    assert all(m.branch in (branch, "selfplay") for m in counts)  # self-play against m itself
    if branch == "selfplay":
        assert set(vs_m2) == {"m", "m2"}
    else:  # variance weights 0.25 and 0.09 over m2's snapshots
        n = sum(vs_m2.values())
        within_4_sigma(vs_m2, {"m2@0": 0.25 / 0.34, "m2@1": 0.09 / 0.34}, n)


@pytest.mark.parametrize(("rate", "branch"), [(0.1, "main_snapshots"), (0.11, "main")])
def test_main_exploiter_plays_main_while_above_10_percent(rate, branch):
    lg = league(
        {("x", "m"): rate, ("x", "m@0"): 0.5, ("x", "m@1"): 0.8},
        LeaguePlayer("m@1", MAIN, frozen=True, parent="m"),
    )
    counts = branches(MAIN_EXPLOITER, lg)
    assert {m.branch for m in counts} == {branch}
    if branch == "main":
        assert set(m.opponent for m in counts) == {"m"}
    else:  # PFSP variance over m's snapshots: 0.25, 0.16
        within_4_sigma(
            Counter({m.opponent: c for m, c in counts.items()}),
            {"m@0": 0.25 / 0.41, "m@1": 0.16 / 0.41},
            DRAWS,
        )


def test_league_exploiter_uses_linear_capped_pfsp_over_all_frozen():
    lg = league({("l", "m@0"): 0.8, ("l", "random"): 0.1})
    counts = Counter({m.opponent: c for m, c in branches(LEAGUE_EXPLOITER, lg).items()})
    within_4_sigma(counts, {"m@0": 0.2 / 0.7, "random": 0.5 / 0.7}, DRAWS)


# -- snapshots and resets --------------------------------------------------------------------

SNAP = RoleSettings(min_steps=100, max_steps=200)


@pytest.mark.parametrize(
    ("role", "name", "targets"),
    [
        (MAIN, "m", ["m@0", "random"]),
        (MAIN_EXPLOITER, "x", ["m"]),
        (LEAGUE_EXPLOITER, "l", ["m@0", "random"]),
    ],
)
def test_snapshot_triggers_at_exactly_the_thresholds(role, name, targets):
    rules = make_role(role, SNAP)

    def ready(passed: int, rate: float) -> bool:
        lg = league(dict.fromkeys(((name, t) for t in targets), rate))
        player = LeaguePlayer(name, role, steps=1000 + passed, snapshot_steps=1000)
        return rules.ready_to_snapshot(player, lg)

    assert not ready(99, 0.99)  # fewer than min_steps since the last snapshot
    assert ready(100, 0.71)  # at min_steps, every target beaten more than 70%
    assert not ready(100, 0.70)  # exactly 70% is not more than 70%
    assert not ready(200, 0.2)  # exactly max_steps is not more than max_steps
    assert ready(201, 0.2)
    # one target below the threshold holds the snapshot back
    lg = league({**dict.fromkeys(((name, t) for t in targets), 0.9), (name, targets[0]): 0.69})
    assert not rules.ready_to_snapshot(LeaguePlayer(name, role, steps=150), lg)


def test_resets_main_never_main_exploiter_always_league_exploiter_a_quarter():
    rng = np.random.default_rng(5)
    main, exploiter, league_exploiter = (
        make_role(r, RoleSettings()) for r in (MAIN, MAIN_EXPLOITER, LEAGUE_EXPLOITER)
    )
    assert not any(main.resets_on_snapshot(rng) for _ in range(1000))
    assert all(exploiter.resets_on_snapshot(rng) for _ in range(1000))
    resets = sum(league_exploiter.resets_on_snapshot(rng) for _ in range(DRAWS))
    within_4_sigma(Counter({"reset": resets}), {"reset": 0.25}, DRAWS)


def test_settings_are_checked():
    with pytest.raises(SpecError, match="decay"):
        RoleSettings(decay=0.0)
    with pytest.raises(SpecError, match="snapshot_win_rate"):
        RoleSettings(snapshot_win_rate=1.5)
    with pytest.raises(SpecError, match="min_steps"):
        RoleSettings(min_steps=2.5)
    with pytest.raises(SpecError, match="max_steps"):
        RoleSettings(min_steps=10, max_steps=5)
    with pytest.raises(SpecError, match="at most 1"):
        RoleSettings(pfsp_probability=0.9, verification_probability=0.2)
    with pytest.raises(SpecError, match="unknown role"):
        make_role("coach", RoleSettings())
