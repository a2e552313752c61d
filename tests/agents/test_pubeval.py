"""Pubeval against hand-worked inputs and scores, its compiled twin, its move choice, and its
strength against the random agent."""

from __future__ import annotations

import numpy as np
import pytest

from rlkit.agents.minimax import Minimax, MinimaxConfig
from rlkit.agents.pubeval import (
    CONTACT_WEIGHTS,
    RACE_WEIGHTS,
    WIN_SCORE,
    PubEval,
    board_is_race,
    board_score,
    is_race,
    pubeval_evaluator,
    pubeval_inputs,
    pubeval_scores,
)
from rlkit.envs.backgammon import START_BOARD, BackgammonGame
from rlkit.envs.tictactoe import TicTacToe
from rlkit.errors import IncompatibleEnvError
from rlkit.game import CHANCE, TERMINAL
from rlkit.match import play_match

GAME = BackgammonGame()
START = np.frombuffer(START_BOARD, np.int8)


def board_of(state) -> np.ndarray:
    return np.frombuffer(state.board, np.int8)


def random_states(seed: int, count: int) -> list:
    """States met in uniformly random games (decision nodes and chance nodes)."""
    rng = np.random.default_rng(seed)
    states = []
    while len(states) < count:
        state = GAME.initial_state()
        while GAME.current_player(state) != TERMINAL and len(states) < count:
            if GAME.current_player(state) == CHANCE:
                state = GAME.apply(state, GAME.sample_chance(state, rng))
                continue
            legal = GAME.legal_actions(state)
            state = GAME.apply(state, legal[int(rng.integers(len(legal)))])
            states.append(state)
    return states


def decision_states(seed: int, count: int) -> list:
    """Positions of random games with a player to move (dice rolled at random)."""
    rng = np.random.default_rng(seed)
    states = []
    for state in random_states(seed, count):
        if GAME.current_player(state) == CHANCE:
            states.append(GAME.apply(state, GAME.sample_chance(state, rng)))
    return states


# -- the 122 inputs ----------------------------------------------------------------------------
def test_inputs_of_the_starting_position():
    x = pubeval_inputs(START, 0)[0]
    # group g is the point 24 - g: 24-point (2) -> x[2]; 13-point (5) -> x[57], x[59] = 1
    # ((5 - 3) / 2); 8-point (3) -> x[82], x[83]; 6-point (5) -> x[92], x[94] = 1.
    expected = np.zeros(122)
    expected[[2, 57, 59, 82, 83, 92, 94]] = 1.0
    np.testing.assert_array_equal(x, expected)
    np.testing.assert_array_equal(pubeval_inputs(START, 1)[0], expected)  # symmetric start


def test_inputs_with_blots_bar_and_borne_off_checkers():
    # Player 0: 4 on its 6-point, 3 on its 8, a blot on its 13; 7 borne off.
    # Player 1: 2 on the bar, a blot on its 20-point (player 0's 5), 5 on its 1-point
    # (player 0's 24); 7 borne off.
    state = GAME.state_from_points({6: 4, 8: 3, 13: 1}, {"bar": 2, 20: 1, 1: 5})
    x = pubeval_inputs(board_of(state), 0)[0]
    expected = np.zeros(122)
    expected[5 * 18 + 2] = 1.0  # 6-point, n = 4: n >= 2 ...
    expected[5 * 18 + 4] = 0.5  # ... and (4 - 3) / 2
    expected[5 * 16 + 2] = expected[5 * 16 + 3] = 1.0  # 8-point, n = 3
    expected[5 * 11 + 1] = 1.0  # own blot on the 13-point
    expected[5 * 19 + 0] = 1.0  # opposing blot on the 5-point (group 24 - 5)
    expected[120] = 1.0  # two opposing checkers on the bar / 2
    expected[121] = 7 / 15  # seven borne off
    np.testing.assert_allclose(x, expected)

    # The same board for player 1: its 1-point (5) is group 23, its 20-point blot group 4,
    # player 0's 13-point blot is its 12 (group 12); nobody of player 0's is on the bar.
    y = pubeval_inputs(board_of(state), 1)[0]
    expected = np.zeros(122)
    expected[5 * 23 + 2] = 1.0
    expected[5 * 23 + 4] = 1.0
    expected[5 * 4 + 1] = 1.0
    expected[5 * 12 + 0] = 1.0
    expected[121] = 7 / 15
    np.testing.assert_allclose(y, expected)


def test_race_detection():
    assert not is_race(START)
    race = GAME.state_from_points({6: 5, 5: 5, 1: 5}, {6: 5, 4: 5, 2: 5})
    assert is_race(board_of(race)) and board_is_race(board_of(race))
    # Player 0 still has a checker on its 19-point, behind player 1's 6-point (its 19).
    touching = GAME.state_from_points({20: 1, 5: 5}, {6: 5})
    assert not is_race(board_of(touching)) and not board_is_race(board_of(touching))
    # A checker on the bar is always in contact while the opponent has one on the board.
    barred = GAME.state_from_points({"bar": 1}, {24: 1})
    assert not is_race(board_of(barred))


# -- scores ------------------------------------------------------------------------------------
def test_starting_position_score_is_the_sum_of_its_published_weights():
    # wc[2] + wc[57] + wc[59] + wc[82] + wc[83] + wc[92] + wc[94], read off Tesauro's table
    hand = -1.66135 + 1.78389 + 0.36797 + 1.83120 + 0.58722 + 3.35809 + 0.57353
    assert hand == pytest.approx(6.84055)
    assert pubeval_scores(START, 0, race=False)[0] == pytest.approx(hand)
    # race weights on the same inputs: wr[2] + wr[57] + wr[59] + wr[82] + wr[83] + ...
    race_hand = 0.27010 - 0.10839 - 0.88035 + 0.20178 - 0.06285 + 5.16874 + 5.35000
    assert pubeval_scores(START, 0, race=True)[0] == pytest.approx(race_hand)


def test_weights_are_tesauros():
    assert CONTACT_WEIGHTS.shape == RACE_WEIGHTS.shape == (122,)
    assert (CONTACT_WEIGHTS[0], CONTACT_WEIGHTS[-1]) == (0.25696, -2.75800)
    assert (RACE_WEIGHTS[-2], RACE_WEIGHTS[-1]) == (0.0, 3.42040)
    assert RACE_WEIGHTS[5 * np.arange(24)].tolist() == [0.0] * 24  # no opposing blots in a race
    # spot checks against the published table (wc[59], wc[120]; wr[119], wr[91])
    assert (CONTACT_WEIGHTS[59], CONTACT_WEIGHTS[120]) == (0.36797, 5.62596)
    assert (RACE_WEIGHTS[119], RACE_WEIGHTS[91]) == (-12.32252, 3.05454)


def test_all_checkers_off_scores_the_win_score():
    state = GAME.state_from_points({}, {6: 2})
    assert pubeval_scores(board_of(state), 0, race=True)[0] == WIN_SCORE
    assert board_score(board_of(state), 0, RACE_WEIGHTS) == WIN_SCORE


def test_compiled_score_matches_the_matrix_product():
    for state in random_states(0, 300):
        board = board_of(state)
        for player in (0, 1):
            for weights, race in ((RACE_WEIGHTS, True), (CONTACT_WEIGHTS, False)):
                expected = pubeval_scores(board, player, race=race)[0]
                assert board_score(board, player, weights) == pytest.approx(expected, abs=1e-9)
        assert board_is_race(board) == is_race(board)


# -- the agent ---------------------------------------------------------------------------------
def test_agent_plays_the_highest_scoring_afterstate():
    agent = PubEval(None, GAME)
    for state in decision_states(1, 200):
        after = GAME.afterstates(state)
        boards = np.stack([board_of(s) for _, s in after])
        scores = pubeval_scores(boards, state.turn, race=is_race(board_of(state)))
        assert agent.act(state) == after[int(np.argmax(scores))][0]


def test_opening_moves():
    agent = PubEval(None, GAME)
    start = "4HPwATDgc/ABMA"
    expected = {(3, 1): "8/5 6/5", (6, 5): "24/13", (4, 2): "8/4 6/4", (6, 1): "13/7 8/7"}
    for dice, move in expected.items():
        state = GAME.state_from_position_id(start, dice)
        assert GAME.move_to_notation(state, agent.act(state)) == move


def test_rejects_other_games():
    with pytest.raises(IncompatibleEnvError, match="backgammon"):
        PubEval(None, TicTacToe())


# -- the evaluator for minimax -----------------------------------------------------------------
def test_evaluator_is_zero_sum_and_bounded():
    for state in random_states(2, 100):
        if GAME.current_player(state) == TERMINAL:
            continue
        v0, v1 = (pubeval_evaluator(GAME, state, p) for p in (0, 1))
        assert v0 == -v1 and -1.0 < v0 < 1.0
    assert pubeval_evaluator(GAME, GAME.initial_state(), 0) == 0.0


def test_one_ply_minimax_with_the_evaluator_plays_like_pubeval():
    agent = PubEval(None, GAME)
    search = Minimax(MinimaxConfig(depth=1, deterministic=True), GAME, evaluator=pubeval_evaluator)
    agree = total = 0
    for state in decision_states(3, 60):
        total += 1
        agree += agent.act(state) == search.act(state)
    # They differ only when the move breaks contact (pubeval reads the race switch before it).
    assert total > 20 and agree >= total - 2


# -- strength ----------------------------------------------------------------------------------
def test_beats_random_in_200_games():
    summary = play_match(GAME, "pubeval", "random", 200, seed=0).summary()
    assert summary["wins"] >= 197, summary


@pytest.mark.slow
def test_beats_random_in_99_percent_of_1000_games():
    summary = play_match(GAME, "pubeval", "random", 1000, seed=1).summary()
    assert summary["wins"] >= 990, summary


# -- rlkit.bg: an agent's move in a gnubg position ----------------------------------------------
def test_suggest_move_in_gnubg_positions():
    from rlkit.bg import suggest_move

    start = "4HPwATDgc/ABMA"
    result = suggest_move("pubeval", start, "31")
    assert result == {"move": "8/5 6/5", "position_id": "sGfwATDgc/ABMA"}
    # the ID after the move has the opponent on roll: it is the mover's position, read back
    after = GAME.state_from_position_id(result["position_id"], turn=1)
    expected = GAME.apply(
        GAME.state_from_position_id(start, (3, 1)),
        GAME.notation_to_move(GAME.state_from_position_id(start, (3, 1)), "8/5 6/5"),
    )
    assert after.board == expected.board
    assert suggest_move("pubeval", start, "6-5")["move"] == "24/13"


@pytest.mark.parametrize(
    ("position", "dice", "message"),
    [
        ("4HPwATDgc/ABM", "31", "not a gnubg Position ID"),
        ("4HPwATDgc/AB!A", "31", "not a gnubg Position ID"),
        ("4HPwATDgc/ABMA", "71", "not a roll"),
        ("4HPwATDgc/ABMA", "3", "not a roll"),
        ("4HPwATDgc/ABMA", "3-1-2", "not a roll"),
    ],
)
def test_suggest_move_rejects_bad_input_clearly(position, dice, message):
    from rlkit.bg import suggest_move
    from rlkit.errors import RlkitError

    with pytest.raises(RlkitError, match=message):
        suggest_move("pubeval", position, dice)


def test_parse_dice_forms():
    from rlkit.bg import parse_dice

    assert parse_dice("31") == parse_dice("3-1") == parse_dice("1 3") == parse_dice("1,3") == (3, 1)
    assert parse_dice("66") == (6, 6)
