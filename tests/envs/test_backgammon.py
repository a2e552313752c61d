"""Backgammon rules: named positions for each rule, the encodings' worked examples, gnubg
Position IDs and notation, and invariants of random play."""

from __future__ import annotations

import base64

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rlkit.envs.backgammon import (
    NUM_ACTIONS,
    START_BOARD,
    BackgammonGame,
    BackgammonState,
    board_from_position_id,
    decode_action,
    encode_move,
)
from rlkit.game import CHANCE, TERMINAL, IllegalMoveError

GAME = BackgammonGame()
START_ID = "4HPwATDgc/ABMA"


def moves(state: BackgammonState) -> set[str]:
    return {GAME.move_to_notation(state, a) for a in GAME.legal_actions(state)}


def play(state: BackgammonState, text: str) -> BackgammonState:
    return GAME.apply(state, GAME.notation_to_move(state, text))


def start_with(dice: tuple[int, int]) -> BackgammonState:
    """The starting position, player 0 to play ``dice``."""
    return GAME.state_from_position_id(START_ID, dice)


def random_state(seed: int, steps: int) -> BackgammonState:
    """The state after ``steps`` uniformly random chance outcomes and moves."""
    rng = np.random.default_rng(seed)
    state = GAME.initial_state()
    for _ in range(steps):
        player = GAME.current_player(state)
        if player == TERMINAL:
            break
        if player == CHANCE:
            state = GAME.apply(state, GAME.sample_chance(state, rng))
        else:
            legal = GAME.legal_actions(state)
            state = GAME.apply(state, legal[int(rng.integers(len(legal)))])
    return state


# -- the game record and chance --------------------------------------------------------------
def test_info():
    info = GAME.info
    assert (info.name, info.num_players, info.has_chance, info.zero_sum) == (
        "backgammon",
        2,
        True,
        True,
    )
    assert (info.min_utility, info.max_utility, info.num_actions) == (-3.0, 3.0, 25103)
    assert NUM_ACTIONS == 25103


def test_opening_roll_is_a_chance_node_over_30_outcomes():
    state = GAME.initial_state()
    assert GAME.current_player(state) == CHANCE and GAME.legal_actions(state) == []
    outcomes = GAME.chance_outcomes(state)
    assert len(outcomes) == 30 and {p for _, p in outcomes} == {1 / 30}
    assert sum(p for _, p in outcomes) == pytest.approx(1.0)
    # outcome 84: player 1 wins the opening with 3-1 (the module docstring's example)
    after = GAME.apply(state, 84)
    assert (after.turn, after.dice, GAME.current_player(after)) == (1, (3, 1), 1)
    assert GAME.apply(state, 36 + 34).turn == 0  # player 0 starts with 6-5
    with pytest.raises(IllegalMoveError):
        GAME.apply(state, 34)  # a regular roll id is no opening roll
    with pytest.raises(IllegalMoveError):
        GAME.apply(state, 36 + 35)  # 6-6 cannot open


def test_regular_rolls_are_21_outcomes():
    state = play(GAME.apply(GAME.initial_state(), 36 + 34), "24/18 13/8")
    assert GAME.current_player(state) == CHANCE and state.turn == 1
    outcomes = dict(GAME.chance_outcomes(state))
    assert len(outcomes) == 21 and sum(outcomes.values()) == pytest.approx(1.0)
    assert outcomes[34] == pytest.approx(2 / 36)  # 6-5
    assert outcomes[35] == pytest.approx(1 / 36)  # 6-6
    rolled = GAME.apply(state, 34)
    assert (rolled.turn, rolled.dice) == (1, (6, 5))


def test_sample_chance_matches_probabilities():
    state = play(start_with((3, 1)), "8/5 6/5")
    rng = np.random.default_rng(0)
    draws = [GAME.sample_chance(state, rng) for _ in range(36_000)]
    values, counts = np.unique(draws, return_counts=True)
    expected = dict(GAME.chance_outcomes(state))
    assert set(values.tolist()) == set(expected)
    for value, count in zip(values.tolist(), counts.tolist(), strict=True):
        assert count / 36_000 == pytest.approx(expected[value], abs=0.006)


# -- rules, on named positions --------------------------------------------------------------
def test_opening_6_5_moves():
    assert moves(start_with((6, 5))) == {
        "24/13",
        "24/18 13/8",
        "24/18 8/3",
        "13/8 13/7",
        "13/7 8/3",
        "13/2",
        "8/3 8/2",
    }


def test_bar_entry_comes_first():
    state = GAME.state_from_points({"bar": 1, 6: 14}, {13: 15}, (6, 4))
    # enter with the 6 (on 19) or the 4 (on 21); the other die after entering
    assert moves(state) == {"bar/15", "bar/19 6/2"}


def test_blocked_entry():
    # the opponent holds its 1-5 points (the mover's 24-20) and leaves its 6-point open
    closed_but_6 = {1: 2, 2: 2, 3: 2, 4: 2, 5: 2, 13: 5}
    state = GAME.state_from_points({"bar": 1, 6: 14}, closed_but_6, (6, 5))
    assert moves(state) == {"bar/14", "bar/19 6/1"}
    # nothing enters with 5-5: the only legal move is the pass
    stuck = GAME.state_from_points({"bar": 1, 6: 14}, closed_but_6, (5, 5))
    assert GAME.legal_actions(stuck) == [1352] and moves(stuck) == {"pass"}
    after = GAME.apply(stuck, 1352)
    assert after.board == stuck.board and GAME.current_player(after) == CHANCE
    # two on the bar, one entry point: the second checker cannot enter, nothing else moves
    two = GAME.state_from_points({"bar": 2, 6: 13}, closed_but_6, (6, 5))
    assert moves(two) == {"bar/19"}


def test_hitting_sends_the_blot_to_the_bar():
    # an opposing blot on the mover's 10 (its 15-point)
    state = GAME.state_from_points({13: 2, 6: 13}, {15: 1, 1: 14}, (3, 1))
    assert moves(state) == {
        "13/10* 6/5",
        "13/10*/9",
        "13/12 13/10*",
        "13/12 6/3",
        "13/9",
        "6/2",
        "6/5 6/3",
    }
    after = play(state, "13/10* 13/12")
    rows = np.frombuffer(after.board, np.int8).reshape(2, 26)
    assert rows[1, 25] == 1 and rows[1, 15] == 0 and rows[0, 10] == 1
    # landing on a blot hits whether or not the text says so
    assert GAME.notation_to_move(state, "13/10 13/12") == GAME.notation_to_move(
        state, "13/12 13/10*"
    )


def test_hit_on_the_way():
    # a blot on the mover's 18: 24/13 can go through 18 (hitting) or through 19
    state = GAME.state_from_points({24: 1, 6: 14}, {7: 1, 20: 14}, (6, 5))
    assert moves(state) == {"24/13", "24/18* 6/1", "24/18*/13"}
    assert GAME.notation_to_move(state, "24/13") != GAME.notation_to_move(state, "24/18*/13")
    assert np.frombuffer(play(state, "24/18*/13").board, np.int8)[26 + 25] == 1
    assert np.frombuffer(play(state, "24/13").board, np.int8)[26 + 25] == 0


def test_bear_off_with_the_exact_die():
    state = GAME.state_from_points({6: 1, 5: 1}, {1: 15}, (6, 5))
    assert moves(state) == {"6/off 5/off", "6/1 5/off"}
    final = play(state, "6/off 5/off")
    assert GAME.current_player(final) == TERMINAL and GAME.winner(final) == 0


def test_bear_off_with_a_higher_die_only_from_the_highest_point():
    state = GAME.state_from_points({3: 1, 2: 1}, {1: 15}, (6, 5))
    assert moves(state) == {"3/off 2/off"}
    # the 3 bears off from the 2 only once the 5 is gone; it cannot bear off the 1
    state = GAME.state_from_points({5: 1, 2: 1, 1: 1}, {1: 15}, (6, 3))
    assert moves(state) == {"5/off 2/off", "5/off"}  # "5/off": 5/2 then 2/off with the 6


def test_no_bear_off_with_a_checker_outside():
    # 3/off needs the 7 home first: 7/6 then 6/off, or 7/1 and the 1 elsewhere
    state = GAME.state_from_points({7: 1, 3: 1}, {1: 15}, (6, 1))
    assert moves(state) == {"7/1 3/2", "7/off"}


def test_must_use_both_dice():
    # the mover's 18 is blocked: 24/19 then 19/13 uses both dice, so 24/19 alone is illegal
    state = GAME.state_from_points({24: 1, 1: 14}, {7: 2, 20: 13}, (6, 5))
    assert moves(state) == {"24/13"}


def test_larger_die_when_only_one_can_be_used():
    # the mover's 13 is blocked: 24/18 or 24/19, either ends the move; the 6 must be played
    state = GAME.state_from_points({24: 1, 1: 14}, {12: 2, 11: 13}, (6, 5))
    assert moves(state) == {"24/18"}
    # with 18 blocked as well only the 5 can be played
    state = GAME.state_from_points({24: 1, 1: 14}, {12: 2, 7: 2, 11: 11}, (6, 5))
    assert moves(state) == {"24/19"}


def test_doubles_move_four_times_or_as_far_as_they_can():
    start = start_with((4, 4))
    assert len(GAME.legal_actions(start)) > 20 and "8/4(2) 6/2(2)" in moves(start)
    assert all(len(decode_action((4, 4), a)) == 4 for a in GAME.legal_actions(start))
    # the mover's 9 is blocked: 24/19/14 and no further
    state = GAME.state_from_points({24: 1, 1: 14}, {16: 2, 20: 13}, (5, 5))
    assert moves(state) == {"24/14"}
    (action,) = GAME.legal_actions(state)
    assert decode_action((5, 5), action) == [(24, 5), (19, 5)]


@pytest.mark.parametrize(
    ("loser", "points"),
    [
        ({3: 1}, 1),  # the loser bore off 14: single game
        ({6: 5, 4: 10}, 2),  # nothing borne off: gammon
        ({20: 1, 6: 14}, 3),  # a checker in the winner's home board: backgammon
        ({"bar": 1, 6: 14}, 3),  # on the bar: backgammon
        ({18: 1, 6: 14}, 2),  # the winner's outer board: only a gammon
    ],
)
def test_results(loser, points):
    state = GAME.state_from_points({1: 1}, loser, (2, 1))
    final = play(state, "1/off")
    assert GAME.current_player(final) == TERMINAL and GAME.legal_actions(final) == []
    np.testing.assert_array_equal(GAME.returns(final), [points, -points])
    # and for player 1 winning
    state = GAME.state_from_points({1: 1}, loser, (2, 1), turn=1)
    final = play(state, "1/off")
    np.testing.assert_array_equal(GAME.returns(final), [-points, points])


# -- encodings --------------------------------------------------------------------------------
def test_action_worked_examples():
    six_five = start_with((6, 5))
    assert GAME.notation_to_move(six_five, "24/18 13/8") == 1274
    assert encode_move((6, 5), [(24, 6), (13, 5)]) == 1274
    assert decode_action((6, 5), 1274) == [(24, 6), (13, 5)]
    four_four = start_with((4, 4))
    assert GAME.notation_to_move(four_four, "8/4(2) 6/2(2)") == 1829
    assert encode_move((4, 4), [(8, 4), (8, 4), (6, 4), (6, 4)]) == 1829
    assert decode_action((4, 4), 1829) == [(8, 4), (8, 4), (6, 4), (6, 4)]


@given(st.lists(st.integers(0, 25), min_size=0, max_size=4))
def test_double_rank_round_trips(sources):
    sources = sorted((s for s in sources if s), reverse=True)
    action = encode_move((3, 3), [(s, 3) for s in sources])
    assert 1352 <= action < NUM_ACTIONS
    assert decode_action((3, 3), action) == [(s, 3) for s in sources]


def test_every_double_rank_is_used_once():
    seen = set()
    for a in range(26):
        for b in range(a + 1):
            for c in range(b + 1):
                for d in range(c + 1):
                    sources = [s for s in (a, b, c, d) if s]
                    seen.add(encode_move((2, 2), [(s, 2) for s in sources]))
    assert seen == set(range(1352, NUM_ACTIONS))


def test_pass_ids():
    assert encode_move((6, 5), []) == 0 and encode_move((5, 5), []) == 1352


def test_illegal_actions_raise():
    state = start_with((6, 5))
    for bad in (1275, -1, NUM_ACTIONS, 1829, "24/18"):
        with pytest.raises(IllegalMoveError):
            GAME.apply(state, bad)


def test_legal_actions_sorted_and_mask():
    for seed in range(5):
        state = random_state(seed, 41)
        if GAME.current_player(state) < 0:
            continue
        legal = GAME.legal_actions(state)
        assert legal == sorted(set(legal)) and all(0 <= a < NUM_ACTIONS for a in legal)
        assert np.flatnonzero(GAME.legal_mask(state)).tolist() == legal


# -- notation -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    ["", "24/18 13", "24/26", "xx", "24/18 13/8 6/5", "13/18", "off/5", "24/18(0)", "6/bar"],
)
def test_bad_notation_names_the_move(text):
    with pytest.raises(IllegalMoveError, match=repr(text).replace("(", r"\(").replace(")", r"\)")):
        GAME.notation_to_move(start_with((6, 5)), text)


def test_notation_variants_parse():
    state = start_with((6, 5))
    assert GAME.notation_to_move(state, "24/18/13") == GAME.notation_to_move(state, "24/13")
    assert GAME.notation_to_move(state, "13/8 24/18") == 1274
    assert GAME.notation_to_move(state, " 24-18  13-8 ") == 1274
    assert GAME.notation_to_move(state, "13/8 8/2") == GAME.notation_to_move(state, "13/2")
    assert GAME.action_to_string(state, 1274) == "24/18 13/8"
    assert GAME.string_to_action(state, "24/18 13/8") == 1274


# -- Position IDs -----------------------------------------------------------------------------
def test_start_position_id():
    assert GAME.position_id(GAME.initial_state()) == START_ID
    assert board_from_position_id(START_ID) == START_BOARD
    state = GAME.state_from_position_id(START_ID)
    assert GAME.current_player(state) == CHANCE and state.board == START_BOARD


def test_position_id_from_gnubg():
    """A position gnubg printed with its ID (a 4-ply review report): X to play 6-2 with
    checkers on its 1, 2, 3, 5, 6, 9 and 19 points; O with 2, 5, 3, 3 on its 1-4 points and
    two borne off. gnubg encodes the side not on roll first."""
    state = GAME.state_from_position_id("++4AAEA7dwRgAA", (6, 2), turn=1)
    x = dict(enumerate(state.counts(1)))
    o = dict(enumerate(state.counts(0)))
    assert {p: n for p, n in x.items() if n} == {1: 1, 2: 2, 3: 3, 5: 3, 6: 3, 9: 1, 19: 2}
    assert {p: n for p, n in o.items() if n} == {0: 2, 1: 2, 2: 5, 3: 3, 4: 3}
    assert GAME.position_id(state) == "++4AAEA7dwRgAA"
    assert state.dice == (6, 2) and GAME.current_player(state) == 1


def _pid_from_key(key: int) -> str:
    return base64.b64encode(key.to_bytes(10, "little")).decode()[:14]


@pytest.mark.parametrize(
    ("pid", "message"),
    [
        ("4HPwATDgc/ABM", "14 characters"),
        ("4HPwATDgc/AB!A", "14 characters"),
        (12345, "14 characters"),
        ("//////////////", "beyond its 80 bits"),
        ("4HPwATDgc/ABMB", "beyond its 80 bits"),
        (_pid_from_key((1 << 79) - 1), "ends before"),
        (_pid_from_key((1 << 16) - 1), "16 checkers"),
    ],
)
def test_malformed_position_ids(pid, message):
    with pytest.raises(ValueError, match=message):
        GAME.state_from_position_id(pid)


def test_both_sides_on_one_point_is_rejected():
    # the side not on roll on its 24-point (the side on roll's 1-point) and vice versa
    pid = _pid_from_counts({24: 15}, {1: 15})
    with pytest.raises(ValueError, match="both sides"):
        GAME.state_from_position_id(pid)


def _pid_from_counts(not_on_roll: dict[int, int], on_roll: dict[int, int]) -> str:
    key, bit = 0, 0
    for side in (not_on_roll, on_roll):
        for point in range(1, 26):
            n = side.get(point, 0)
            key |= ((1 << n) - 1) << bit
            bit += n + 1
    return _pid_from_key(key)


@pytest.mark.parametrize("dice", [(0, 3), (7, 1), (6,), "65", (6.0, 5), 65])
def test_impossible_dice(dice):
    with pytest.raises(ValueError, match="dice"):
        GAME.state_from_position_id(START_ID, dice)


def test_turn_must_be_a_player():
    with pytest.raises(ValueError, match="turn"):
        GAME.state_from_position_id(START_ID, turn=2)


# -- states -----------------------------------------------------------------------------------
def test_apply_never_changes_the_state_and_equality_ignores_ply():
    state = start_with((6, 5))
    snapshot = tuple(state)
    after = GAME.apply(state, 1274)
    assert tuple(state) == snapshot
    assert after.ply == 1
    same = after._replace(ply=7)
    assert same == after and hash(same) == hash(after)
    assert after != state


def test_truncation_is_a_draw():
    game = BackgammonGame(max_game_length=3)
    state = game.state_from_position_id(START_ID, (6, 5))._replace(ply=3)
    assert game.current_player(state) == TERMINAL
    np.testing.assert_array_equal(game.returns(state), [0.0, 0.0])
    with pytest.raises(ValueError):
        BackgammonGame(max_game_length=0)


def test_observation_worked_example():
    obs = GAME.observation(start_with((6, 5)), 0)
    assert obs.shape == (210,) and obs.dtype == np.float32
    assert obs.min() >= 0 and obs.max() <= 1
    assert obs[4 * 5] == 1 and obs[4 * 5 + 3] == pytest.approx(2 / 12)
    assert obs[98 + 4 * 18 + 3] == pytest.approx(2 / 12)
    assert obs[196] == 1 and obs[197] == 0
    assert obs[198 + 5] == 1 and obs[204 + 4] == 1
    other = GAME.observation(start_with((6, 5)), 1)
    assert other[196] == 0 and other[197] == 1


def test_render_mentions_the_turn():
    text = GAME.render(start_with((6, 5)))
    assert "X to play 6-5" in text and "X5" in text


def test_afterstates_match_legal_actions():
    state = start_with((3, 1))
    pairs = GAME.afterstates(state)
    assert [a for a, _ in pairs] == GAME.legal_actions(state)
    for action, after in pairs:
        assert GAME.apply(state, action) == after
        assert GAME.current_player(after) == CHANCE and after.turn == 1
    assert len({after for _, after in pairs}) == len(pairs)
    assert GAME.afterstates(GAME.initial_state()) == []


def test_random_rollout_is_seeded_and_valid():
    state = GAME.initial_state()
    a = GAME.random_games(state, np.random.default_rng(3), 50)
    b = GAME.random_games(state, np.random.default_rng(3), 50)
    np.testing.assert_array_equal(a, b)
    assert set(np.abs(a[:, 0]).tolist()) <= {1.0, 2.0, 3.0}
    np.testing.assert_array_equal(a.sum(axis=1), 0)
    single = GAME.random_rollout(start_with((6, 5)), np.random.default_rng(0))
    assert single.shape == (2,) and single.sum() == 0


# -- invariants of random play ----------------------------------------------------------------
@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 300))
def test_random_play_invariants(seed, steps):
    state = random_state(seed, steps)
    rows = np.frombuffer(state.board, np.int8).reshape(2, 26)
    assert rows.sum(axis=1).tolist() == [15, 15] and rows.min() >= 0
    for p in range(1, 25):
        assert not (rows[0, p] and rows[1, 25 - p])
    # Position IDs round-trip
    on_roll = max(state.turn, 0)
    pid = GAME.position_id(state)
    assert GAME.state_from_position_id(pid, turn=on_roll).board == state.board
    if GAME.current_player(state) >= 0:
        # every legal move, formatted then parsed, is the same move
        for action in GAME.legal_actions(state):
            text = GAME.move_to_notation(state, action)
            assert GAME.notation_to_move(state, text) == action, text
