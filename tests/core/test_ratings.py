"""Elo ratings: exact small cases, an independent optimiser, OpenSpiel, coverage, the command."""

import doctest
import json
import math
import re
import sqlite3

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rlkit.ratings
from rlkit.cli import main
from rlkit.errors import SpecError
from rlkit.ratings import ELO_PER_NAT, GameResult, RatingTable, fit_elo, read_results
from rlkit.stats import Z95, normal_cdf

TRUE_ELO = np.array([0.0, 160.0, 320.0, 480.0, 640.0, 800.0])


def synthetic_tournament(
    rng: np.random.Generator,
    true_elo: np.ndarray,
    games_per_pairing: int = 40,
    draw_factor: float = 0.5,
) -> tuple[list[str], list[GameResult]]:
    """A round robin drawn from the Elo model; colours alternate; draws possible.

    A game between players with expected score p is drawn with probability
    ``draw_factor · p(1 - p)`` (1/8 of the games between equals by default), won with
    p - draw/2 and lost otherwise, so the expected score is exactly the model's p.
    """
    names = [f"p{i}" for i in range(len(true_elo))]
    results = []
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            p = 1.0 / (1.0 + 10.0 ** ((true_elo[j] - true_elo[i]) / 400.0))
            draw = draw_factor * p * (1.0 - p)
            u = rng.random(games_per_pairing)
            scores = np.where(u < p - draw / 2, 1.0, np.where(u < p + draw / 2, 0.5, 0.0))
            for g, s in enumerate(scores):
                if g % 2 == 0:
                    results.append(GameResult(names[i], names[j], float(s)))
                else:
                    results.append(GameResult(names[j], names[i], float(1.0 - s)))
    return names, results


def elo_of(table: RatingTable, names: list[str]) -> np.ndarray:
    by_name = {r.name: r.elo for r in table.ratings}
    return np.array([by_name[name] for name in names])


def centred(values: np.ndarray) -> np.ndarray:
    return values - values.mean()


def test_doctests():
    assert doctest.testmod(rlkit.ratings).failed == 0


def test_two_players_three_of_four_is_400_log10_3():
    games = [GameResult("a", "b", 1.0)] * 3 + [GameResult("b", "a", 1.0)]
    table = fit_elo(games, prior_games=0)
    a, b = table.ratings
    assert (a.name, b.name) == ("a", "b")
    assert a.elo == 0.0 and a.ci95 == (0.0, 0.0)  # the anchor
    assert a.elo - b.elo == pytest.approx(400 * math.log10(3), abs=1e-9)
    # Curvature: the information about the gap is n·p(1-p) = 4 · 3/4 · 1/4 per squared nat.
    sd = ELO_PER_NAT / math.sqrt(4 * 0.75 * 0.25)
    assert b.ci95 == pytest.approx((b.elo - Z95 * sd, b.elo + Z95 * sd), abs=1e-6)
    assert table.likelihood_of_superiority == [pytest.approx(normal_cdf((a.elo - b.elo) / sd))]
    assert (a.games, a.score, b.games, b.score) == (4, 0.75, 4, 0.25)


def test_draws_count_as_half_points():
    halves = fit_elo([GameResult("a", "b", 0.5)] * 2 + [GameResult("a", "b", 1.0)], prior_games=0)
    wins = fit_elo([GameResult("a", "b", 1.0)] * 2 + [GameResult("a", "b", 0.0)], prior_games=0)
    gap = halves.ratings[0].elo - halves.ratings[1].elo
    assert gap == pytest.approx(400 * math.log10(2), abs=1e-9)
    assert gap == pytest.approx(wins.ratings[0].elo - wins.ratings[1].elo, abs=1e-9)


def _minimise_independently(games, names, prior_games):
    """The same log-posterior written game by game and maximised by scipy (BFGS)."""
    optimize = pytest.importorskip("scipy.optimize")
    index = {name: i for i, name in enumerate(names)}

    def negative_log_posterior(x):  # x: ratings of names[1:] in units of 100 Elo
        r = np.concatenate([[0.0], 100.0 * x])
        total = 0.0
        for game in games:
            p = 1.0 / (1.0 + 10.0 ** ((r[index[game.b]] - r[index[game.a]]) / 400.0))
            total += game.score * math.log(p) + (1.0 - game.score) * math.log(1.0 - p)
        for rating in r:
            q = 1.0 / (1.0 + 10.0 ** ((r.mean() - rating) / 400.0))
            total += prior_games / 2 * (math.log(q) + math.log(1.0 - q))
        return -total

    solution = optimize.minimize(
        negative_log_posterior, np.zeros(len(names) - 1), method="BFGS", options={"gtol": 1e-9}
    )
    return np.concatenate([[0.0], 100.0 * solution.x])


@pytest.mark.parametrize("prior_games", [0.0, 2.0])
def test_three_players_agree_with_scipy_minimize(prior_games):
    games = (
        [GameResult("x", "y", 1.0)] * 5
        + [GameResult("y", "x", 1.0)] * 2
        + [GameResult("x", "y", 0.5)] * 3
        + [GameResult("y", "z", 1.0)] * 4
        + [GameResult("z", "y", 0.5)] * 2
        + [GameResult("z", "x", 1.0)] * 1
        + [GameResult("x", "z", 1.0)] * 6
        + [GameResult("x", "z", 0.25)]  # fractional scores are allowed
    )
    names = ["x", "y", "z"]
    ours = elo_of(fit_elo(games, prior_games=prior_games), names)
    reference = _minimise_independently(games, names, prior_games)
    np.testing.assert_allclose(centred(ours), centred(reference), atol=1e-3)


def test_agrees_with_openspiel_mm_algorithm():
    """OpenSpiel's evaluation/elo.cc (MM of Hunter 2004), no smoothing, run to convergence."""
    pyspiel = pytest.importorskip("pyspiel")
    if not hasattr(pyspiel, "elo"):
        pytest.skip("this OpenSpiel build has no elo module")
    names, games = synthetic_tournament(np.random.default_rng(1), TRUE_ELO)
    outcome = {
        1.0: pyspiel.elo.FIRST_PLAYER_WIN,
        0.0: pyspiel.elo.FIRST_PLAYER_LOSS,
        0.5: pyspiel.elo.DRAW,
    }
    records = [pyspiel.elo.MatchRecord(g.a, g.b, outcome[g.score]) for g in games]
    options = pyspiel.elo.default_elo_options()
    options.smoothing_factor = 0.0
    options.max_iterations = 100_000
    options.convergence_delta = 1e-14
    theirs = pyspiel.elo.compute_ratings_from_match_records(records, options)
    ours = elo_of(fit_elo(games, prior_games=0), names)
    np.testing.assert_allclose(
        centred(ours), centred(np.array([theirs[n] for n in names])), atol=1e-3
    )


def test_recovers_known_ratings_and_curvature_intervals_cover():
    """200 simulated round robins (6 players over 0..800, 40 games a pairing, draws).

    The intervals are relative to the anchor p0 (true Elo 0), so they are compared with the
    true ratings of the other five players: 968 of 1000 cover (96.8%). Draws make a game's
    score less variable than the win/loss model assumes (here by 1/8 at p = 1/2), so the
    curvature intervals err on the wide side: without draws 95.0-95.8% cover, with twice
    these draws 97.0-99.0% (seeds 2026, 1, 2).
    """
    rng = np.random.default_rng(2026)
    covered = total = 0
    errors = []
    for _ in range(200):
        names, games = synthetic_tournament(rng, TRUE_ELO)
        table = fit_elo(games, players=names)
        by_name = {r.name: r for r in table.ratings}
        for name, true in zip(names[1:], TRUE_ELO[1:], strict=True):
            lower, upper = by_name[name].ci95
            covered += lower <= true <= upper
            total += 1
        errors.append(centred(elo_of(table, names)) - centred(TRUE_ELO))
    errors = np.array(errors)
    assert 0.90 <= covered / total <= 0.98, covered
    # The 2-game prior shrinks the extremes by about 10 Elo; sampling error is about 30.
    assert np.all(np.abs(errors.mean(axis=0)) < 15), errors.mean(axis=0)
    assert np.sqrt(np.mean(errors**2)) < 40


def test_prior_keeps_undefeated_players_finite_and_fades_with_games():
    sweep = [GameResult("champion", "rest", 1.0)] * 10
    table = fit_elo(sweep)
    champion, rest = table.ratings
    assert champion.name == "champion" and 200 < champion.elo - rest.elo < 1000
    assert math.isfinite(rest.ci95[0]) and rest.ci95[1] < champion.elo
    with pytest.raises(SpecError, match=r"champion scored every point against .*rest"):
        fit_elo(sweep, prior_games=0)
    # With many games the prior barely matters: 300 of 400 points.
    many = [GameResult("a", "b", 1.0)] * 300 + [GameResult("a", "b", 0.0)] * 100
    gap = fit_elo(many).ratings[0].elo - fit_elo(many).ratings[1].elo
    assert 400 * math.log10(3) - 1.0 < gap < 400 * math.log10(3)


def test_disconnected_players_need_the_prior():
    games = [GameResult("a", "b", 1.0), GameResult("b", "a", 1.0)]
    games += [GameResult("c", "d", 1.0), GameResult("d", "c", 1.0)]
    with pytest.raises(SpecError, match="never played"):
        fit_elo(games, prior_games=0)
    assert len(fit_elo(games).ratings) == 4


def test_anchor_shifts_ratings_exactly():
    names, games = synthetic_tournament(np.random.default_rng(3), TRUE_ELO, games_per_pairing=6)
    base = fit_elo(games)
    shifted = fit_elo(games, anchor_elo=1500.0)
    for r0, r1 in zip(base.ratings, shifted.ratings, strict=True):
        assert r1.name == r0.name
        assert r1.elo - r0.elo == pytest.approx(1500.0, abs=1e-9)
        assert np.subtract(r1.ci95, r0.ci95) == pytest.approx([1500.0, 1500.0], abs=1e-9)
    assert shifted.likelihood_of_superiority == base.likelihood_of_superiority
    other = fit_elo(games, anchor="p3", anchor_elo=100.0)
    assert other.anchor == "p3" and elo_of(other, ["p3"])[0] == 100.0
    np.testing.assert_allclose(centred(elo_of(other, names)), centred(elo_of(base, names)))
    # The LOS of neighbours does not depend on which player anchors the scale.
    np.testing.assert_allclose(other.likelihood_of_superiority, base.likelihood_of_superiority)
    assert fit_elo(games, players=names[::-1]).anchor == "p5"


def test_bootstrap_is_seeded_and_close_to_the_curvature():
    _, games = synthetic_tournament(np.random.default_rng(4), TRUE_ELO)
    first = fit_elo(games, interval="bootstrap", bootstrap_samples=300, seed=7)
    assert first == fit_elo(games, interval="bootstrap", bootstrap_samples=300, seed=7)
    assert first != fit_elo(games, interval="bootstrap", bootstrap_samples=300, seed=8)
    assert first.interval == "bootstrap (300 samples, seed 7)"
    curvature = fit_elo(games)
    for boot, curv in zip(first.ratings, curvature.ratings, strict=True):
        assert boot.elo == curv.elo
        if boot.name == "p0":
            assert boot.ci95 == (0.0, 0.0)
            continue
        assert boot.ci95[0] < boot.elo < boot.ci95[1]
        width, curvature_width = boot.ci95[1] - boot.ci95[0], curv.ci95[1] - curv.ci95[0]
        assert 0.7 < width / curvature_width < 1.1  # draws: the curvature is a little wide


def test_bootstrap_without_a_prior_refuses_infinite_resamples():
    games = [GameResult("a", "b", 1.0)] * 3 + [GameResult("a", "b", 0.0)]
    with pytest.raises(SpecError, match=r"bootstrap sample .* use prior_games > 0"):
        fit_elo(games, prior_games=0, interval="bootstrap", bootstrap_samples=100)
    table = fit_elo(games, interval="bootstrap", bootstrap_samples=100)
    assert all(math.isfinite(bound) for r in table.ratings for bound in r.ci95)


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from("abcd"), st.sampled_from("abcd"), st.sampled_from([0, 0.5, 1])
        ).filter(lambda t: t[0] != t[1]),
        min_size=1,
        max_size=40,
    ),
    st.randoms(use_true_random=False),
)
def test_order_and_point_of_view_do_not_matter(games, random):
    results = [GameResult(a, b, float(s)) for a, b, s in games]
    names = sorted({name for a, b, _ in games for name in (a, b)})
    table = fit_elo(results, players=names)
    flipped = [GameResult(g.b, g.a, 1.0 - g.score) for g in results]
    random.shuffle(flipped)
    again = fit_elo(flipped, players=names)
    np.testing.assert_allclose(elo_of(again, names), elo_of(table, names), atol=1e-7)
    assert all(0.5 <= los <= 1.0 for los in table.likelihood_of_superiority)
    assert [r.elo for r in table.ratings] == sorted((r.elo for r in table.ratings), reverse=True)
    assert sum(r.score * r.games for r in table.ratings) == pytest.approx(len(games))


def test_crosstable_and_text_table():
    games = (
        [GameResult("a", "b", 1.0)] * 7
        + [GameResult("b", "a", 0.5)]
        + [GameResult("a", "b", 0.0)] * 2
        + [GameResult("c", "b", 1.0)]
    )
    table = fit_elo(games)
    assert table.crosstable["a"] == {"b": (7.5, 10)}
    assert table.crosstable["b"] == {"a": (2.5, 10), "c": (0.0, 1)}
    text = table.format()
    assert "7.5/10" in text and "2.5/10" in text and "0/1" in text
    assert "11 games, 3 players" in text and "anchored at a = 0" in text
    rows = text.splitlines()
    cross = rows[rows.index(next(r for r in rows if r.startswith("crosstable"))) + 2 :]
    assert [row.split()[1] for row in cross] == [r.name for r in table.ratings]
    assert cross[0].split()[2] == "-"
    assert all(row.split()[2:].count("-") == 1 for row in cross)
    data = json.loads(json.dumps(table.to_dict()))
    assert data["crosstable"]["a"]["b"] == [7.5, 10]
    assert [r["name"] for r in data["ratings"]] == [r.name for r in table.ratings]


@pytest.mark.parametrize(
    ("games", "kwargs", "message"),
    [
        ([], {}, "no games to rate"),
        ([GameResult("a", "b", math.nan)], {}, "score nan"),
        ([GameResult("a", "b", 1.5)], {}, r"in \[0, 1\]"),
        ([GameResult("a", "b", -0.5)], {}, r"in \[0, 1\]"),
        ([GameResult("a", "b", "won")], {}, "score won"),
        ([GameResult("a", "a", 1.0)], {}, "against itself"),
        ([GameResult("a", "b", 1.0)], {"anchor": "z"}, "unknown anchor 'z'"),
        ([GameResult("a", "b", 1.0)], {"players": ["a", "b", "c"]}, "'c' has no games"),
        ([GameResult("a", "b", 1.0)], {"players": ["a"]}, "'b', who is not in players"),
        ([GameResult("a", "b", 1.0)], {"prior_games": -1.0}, "prior_games"),
        ([GameResult("a", "b", 1.0)], {"interval": "jackknife"}, "interval"),
    ],
)
def test_bad_input_is_one_spec_error(games, kwargs, message):
    with pytest.raises(SpecError, match=message):
        fit_elo(games, **kwargs)


# --------------------------------------------------------------------------- the command


def write_store(path, rows, table="games"):
    connection = sqlite3.connect(path)
    connection.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, a TEXT, b TEXT, score REAL)")
    connection.executemany(f"INSERT INTO {table} (a, b, score) VALUES (?, ?, ?)", rows)
    connection.commit()
    connection.close()


def test_reads_both_csv_formats_and_a_store(tmp_path):
    (tmp_path / "games.csv").write_text("a,b,score,seed\nx,y,1,3\nx,y,0.5,4\ny,x,,5\n")
    (tmp_path / "pgn.csv").write_text(
        "Event,White,Black,Result\nt,y,z,1-0\nt,z,y,1/2-1/2\nt,y,z,*\n"
    )
    write_store(tmp_path / "results.sqlite", [("z", "x", 0.0), ("x", "z", None)])
    results = read_results(
        [tmp_path / "games.csv", tmp_path / "pgn.csv", tmp_path / "results.sqlite"]
    )
    assert results == [
        GameResult("x", "y", 1.0),
        GameResult("x", "y", 0.5),
        GameResult("y", "z", 1.0),
        GameResult("z", "y", 0.5),
        GameResult("z", "x", 0.0),
    ]


def test_reading_a_store_leaves_it_as_it_was(tmp_path):
    """A WAL-mode store (as a running tournament keeps it) reads without leftover files."""
    store = tmp_path / "results.sqlite"
    connection = sqlite3.connect(store)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("CREATE TABLE games (a TEXT, b TEXT, score REAL)")
    connection.execute("INSERT INTO games VALUES ('x', 'y', 1.0)")
    connection.commit()
    connection.close()
    before = store.read_bytes()
    assert read_results([store]) == [GameResult("x", "y", 1.0)]
    assert store.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.sqlite"]


def test_ratings_command_combines_files(tmp_path, capsys):
    rows = [("a", "b", 1.0)] * 6 + [("b", "a", 1.0)] * 2 + [("a", "b", None)]
    write_store(tmp_path / "results.sqlite", rows)
    (tmp_path / "more.csv").write_text("white,black,result\nb,c,1-0\nc,b,0-1\nc,a,1/2-1/2\n")
    files = [str(tmp_path / "results.sqlite"), str(tmp_path / "more.csv")]
    assert main(["ratings", *files, "--anchor", "c", "--anchor-elo", "1000", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    expected = fit_elo(read_results(files), anchor="c", anchor_elo=1000.0).to_dict()
    assert data == json.loads(json.dumps(expected))
    assert [r["name"] for r in data["ratings"]] == ["a", "b", "c"]
    assert data["crosstable"]["a"]["b"] == [6.0, 8]
    assert main(["ratings", *files, "--bootstrap", "50"]) == 0
    out = capsys.readouterr().out
    assert "bootstrap (50 samples, seed 0)" in out and "anchored at a = 0" in out
    assert "6/8" in out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"x,y,z\n1,2,3\n", "header a,b,score or white,black,result"),
        (b"a,b,score\nx,y,maybe\n", "line 2: score 'maybe' is not a number"),
        (b"a,b,score\nx,y,nan\n", "line 2: score nan"),
        (b"a,b,score\nx,y,2\n", r"line 2: score 2.0 is not a's points in \[0, 1\]"),
        (b"white,black,result\nx,y,2-0\n", "result '2-0' is not one of"),
        (b"a,b,score\n", "no finished games"),
        (b"\xff\xfe\x00garbage", "neither a results CSV"),
        (b"SQLite format 3\x00" + b"\x13" * 2000, "cannot read the SQLite file"),
    ],
)
def test_bad_files_give_one_line_and_exit_2(tmp_path, capsys, content, message):
    path = tmp_path / "results.bin"
    path.write_bytes(content)
    assert main(["ratings", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rlkit: error: ") and err.count("\n") == 1
    assert re.search(message, err), err


def test_foreign_sqlite_missing_file_and_unknown_anchor(tmp_path, capsys):
    write_store(tmp_path / "other.sqlite", [("a", "b", 1.0)], table="matches")
    (tmp_path / "ok.csv").write_text("a,b,score\nx,y,1\nx,y,0\n")
    cases = [
        ([str(tmp_path / "other.sqlite")], "not a tournament results store"),
        ([str(tmp_path / "missing.csv")], "no such results file"),
        ([str(tmp_path / "ok.csv"), "--anchor", "nobody"], "unknown anchor 'nobody'"),
        ([str(tmp_path / "ok.csv"), "--prior-games", "-1"], "prior_games must be"),
    ]
    for argv, message in cases:
        assert main(["ratings", *argv]) == 2
        err = capsys.readouterr().err
        assert err.startswith("rlkit: error: ") and message in err and err.count("\n") == 1
