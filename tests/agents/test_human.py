"""The ``human`` agent driven by scripted input: moves in each game's notation, the commands,
illegal input with its reason, the opponent's moves shown, and the end of a match."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rlkit.agents.human import Human, Quit
from rlkit.envs.backgammon import BackgammonGame
from rlkit.envs.connect_four import ConnectFour
from rlkit.envs.go import GoGame
from rlkit.envs.tictactoe import TicTacToe
from rlkit.game import CHANCE, GameAgent
from rlkit.match import Player, play_game, play_match

RLKIT = [sys.executable, "-m", "rlkit"]


class HighestLegal(GameAgent):
    """Plays the highest legal action id: an opponent whose every move is known."""

    def act(self, state):
        return max(self.game.legal_actions(state))


def human(game, script: str, **config) -> tuple[Human, io.StringIO]:
    out = io.StringIO()
    agent = Human(Human.Config(**config), game, input_stream=io.StringIO(script), output_stream=out)
    return agent, out


def test_tictactoe_game_with_commands_and_illegal_input():
    game = TicTacToe()
    # The opponent answers 0 with 8 and 1 with 7; the typed 8 is then taken, 'foo' is no move.
    agent, out = human(game, "help\n0\nmoves\n\n8\nfoo\n1\n2\n")
    record = play_game(
        game, [Player("human", agent), Player("high", HighestLegal(None, game))], None
    )
    assert record.moves == ("x(0,0)", "o(2,2)", "x(0,1)", "o(2,1)", "x(0,2)")
    assert record.returns == (1.0, -1.0)
    text = out.getvalue()
    assert "you play x" in text
    assert "hint" in text and "quit, resign, exit" in text  # help lists the commands
    assert "legal moves: x(0,0), x(0,1)" in text  # ...and a few legal moves
    assert "x(0,1), x(0,2), x(1,0), x(1,1), x(1,2), x(2,0), x(2,1)\n" in text  # moves: all 7
    assert "o played o(2,2)" in text
    assert "move 8: cell 8 is already taken" in text
    assert "'foo' is not a legal move in tictactoe here" in text
    assert text.rstrip().endswith("game over: you win (+1)")


def test_connect_four_as_second_player_sees_the_opponents_moves():
    game = ConnectFour()
    agent, out = human(game, "8\n1\n1\n1\n1\n")
    record = play_game(
        game, [Player("high", HighestLegal(None, game)), Player("human", agent)], None
    )
    # The opponent stacks column 7, we stack column 1; it connects four first.
    assert record.moves == ("7", "1", "7", "1", "7", "1", "7")
    assert record.returns == (1.0, -1.0)
    text = out.getvalue()
    assert "you play o" in text
    # the fourth ends the game: play_game's game_over hook shows it, and the result, once
    assert text.count("x played 7") == 4 and text.count("game over: you lose (-1)") == 1
    assert "'8' is not a column 1-7" in text
    agent.game_over(ConnectFour().state_from_moves("7171717"))  # a second call shows nothing
    assert out.getvalue() == text


def test_hint_names_the_winning_move_without_playing_it():
    game = TicTacToe()
    state = game.initial_state()
    for cell in (0, 3, 1, 4):  # x: 0 1, o: 3 4; x wins at 2 at once
        state = game.apply(state, cell)
    agent, out = human(game, "hint\n6\n", hint="minimax")
    assert agent.act(state) == 6  # the hint is shown, the typed move is played
    assert "hint from minimax: x(0,2)" in out.getvalue()


def test_a_hint_agent_that_cannot_be_built_is_reported_and_play_goes_on():
    game = TicTacToe()
    agent, out = human(game, "hint\n4\n", hint="no-such-agent")
    assert agent.act(game.initial_state()) == 4
    assert "no hint: unknown agent 'no-such-agent'" in out.getvalue()


@pytest.mark.parametrize("script", ["quit\n", "resign\n", "EXIT\n", "help\n", ""])
def test_quit_resign_and_end_of_input_end_the_match(script):
    game = TicTacToe()
    agent, _ = human(game, script)
    with pytest.raises(Quit) as caught:
        agent.act(game.initial_state())
    assert isinstance(caught.value, KeyboardInterrupt)  # commands treat it as Ctrl-C


def test_play_match_builds_the_human_from_its_spec(monkeypatch):
    out = io.StringIO()
    monkeypatch.setattr(Human, "input_stream", io.StringIO("".join(f"{c}\n" for c in range(9))))
    monkeypatch.setattr(Human, "output_stream", out)
    result = play_match(TicTacToe(), "human", "random", 1, seed=0)
    assert (result.summary()["games"], result.summary()["wins"]) == (1, 1)
    assert "game over: you win (+1)" in out.getvalue()


def test_go_vertices_reasons_and_pass():
    game = GoGame(size=5)
    black_c3 = game.apply(game.initial_state(), game.vertex_to_action("C3"))
    agent, out = human(game, "c3\nZ9\nD6\npass\n")
    assert agent.act(black_c3) == game.pass_action
    text = out.getvalue()
    assert "you play White (O)" in text
    assert "Black (X) played C3" in text
    assert "the point is occupied" in text
    assert "'Z9' is not a vertex of the 5x5 board" in text
    assert "'D6' is not a vertex of the 5x5 board" in text


def test_backgammon_board_from_the_second_players_side():
    game = BackgammonGame()
    # O (player 1) to play 6-5 with two checkers on its 24-point and 13 on its 6-point.
    state = game.state_from_points({24: 2, 6: 13}, {6: 15}, (6, 5), turn=1)
    agent, out = human(game, "24/13\n")
    assert agent.act(state) == game.notation_to_move(state, "24/13")
    lines = agent.picture(state).splitlines()  # as act showed it
    assert lines[0].split()[-1] == "24" and lines[1].split()[-1] == "O2"  # O's 24 is at 24
    assert lines[2].split()[6] == "O13"  # ...its 6-point at 6 (12 11 10 9 8 7 [6])
    assert lines[1].split()[6] == "X15"  # and X's 6-point at 19, as O counts
    assert "O to play 6-5" in lines[4]
    assert "O to move with 6-5> " in out.getvalue()


def test_backgammon_forced_pass_is_played_without_asking():
    game = BackgammonGame()
    # O on the bar against a closed board: no legal move with any roll.
    state = game.state_from_points(
        {"bar": 1, 6: 14}, {1: 2, 2: 2, 3: 2, 4: 2, 5: 2, 6: 2, 12: 3}, (6, 5), turn=1
    )
    agent, out = human(game, "")  # reading would end the match
    assert agent.act(state) == game.legal_actions(state)[0]
    assert "no legal move, you pass" in out.getvalue()


def test_backgammon_events_between_name_the_rolls_and_the_move():
    game = BackgammonGame()
    agent, _ = human(game, "")
    # After X's move: O rolls 6-6 (one way to roll it), plays its first legal move, X rolls 2-1.
    start = game.state_from_points({6: 15}, {24: 2, 13: 5, 8: 3, 6: 5})._replace(turn=1)
    assert game.current_player(start) == CHANCE
    rolled = game.apply(start, 6 * 5 + 5)
    move = game.legal_actions(rolled)[0]
    moved = game.apply(rolled, move)
    target = game.apply(moved, 6 * 1 + 0)
    events = agent.events_between(start, target, 0)
    assert events == [
        "O rolled 6-6",
        f"O played {game.action_to_string(rolled, move)}",
        "X rolled 2-1",
    ]


def test_backgammon_roll_that_the_position_does_not_pin_down_is_left_out():
    game = BackgammonGame()
    agent, _ = human(game, "")
    start = game.state_from_points({6: 15}, {24: 2, 13: 5, 8: 3, 6: 5})._replace(turn=1)
    rolled = game.apply(start, 6 * 5 + 0)  # 6-1
    moved = game.apply(rolled, game.notation_to_move(rolled, "24/17"))  # 5-2, 4-3 reach it too
    target = game.apply(moved, 6 * 2 + 0)  # X rolls 3-1
    assert agent.events_between(start, target, 0) == ["O played 24/17", "X rolled 3-1"]


GAMES = {
    "tictactoe": (TicTacToe(), None),
    "connect_four": (ConnectFour(), None),
    "go": (GoGame(size=5), None),
    "backgammon": (BackgammonGame(), (3, 1)),
}


@pytest.mark.parametrize("name", sorted(GAMES))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    line=st.text(alphabet=st.characters(blacklist_characters="\r\n"), max_size=20)
    | st.text(alphabet="0123456789/*() -barofpsBARDx,", max_size=20)  # near-notation
)
def test_any_input_line_is_a_legal_move_or_asked_again(name, line):
    game, dice = GAMES[name]
    state = game.initial_state()
    if dice is not None:  # backgammon: X to play 3-1 from the start
        state = game.state_from_points({24: 2, 13: 5, 8: 3, 6: 5}, {24: 2, 13: 5, 8: 3, 6: 5}, dice)
    agent, _ = human(game, line + "\nquit\n")
    try:
        action = agent.act(state)
    except Quit:
        return
    assert action in game.legal_actions(state)


def test_rlkit_play_human_with_piped_input():
    """The command a user types, with its stdin piped: the board goes to stderr, the result
    (here JSON) alone to stdout."""
    moves = "".join(f"{cell}\n" for cell in range(9))  # occupied cells are refused and skipped
    command = ["play", "human", "random", "--env", "tictactoe", "--games", "1", "--seed", "0"]
    proc = subprocess.run(
        [*RLKIT, *command, "--json"],
        input=moves,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert (result["games"], result["wins"], result["losses"]) == (1, 1, 0)
    assert "game over: you win (+1)" in proc.stderr
    assert "Traceback" not in proc.stderr
