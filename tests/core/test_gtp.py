"""GTP: the engine's answers, sessions over pipes, the gtp: agent, and play against GNU Go."""

from __future__ import annotations

import io
import re
import shlex
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rlkit.agents.gtp_agent import GtpAgent, GtpAgentConfig, GtpProcess, find_executable
from rlkit.envs.go import GoGame
from rlkit.errors import IncompatibleEnvError, RlkitError, SpecError, UnknownNameError
from rlkit.gtp import GtpEngine
from rlkit.match import make_player, play_game, play_match
from rlkit.registry import make_game, resolve_agent_class

GNUGO = find_executable("gnugo")
needs_gnugo = pytest.mark.skipif(GNUGO is None, reason="GNU Go is not installed")
# rlkit's rules, as GNU Go names them: area scoring, positional superko, no suicide (default).
GNUGO_RULES = "--mode gtp --level 1 --chinese-rules --positional-superko"

SERVE = "import sys; from rlkit.gtp import serve; sys.exit(serve({spec!r}, 9, 7.5, {seed}))"
"""Our engine as a subprocess (``rlkit gtp --agent SPEC`` once the CLI has it)."""


def rlkit_engine_command(spec: str = "random", seed: int = 0) -> list[str]:
    return [sys.executable, "-c", SERVE.format(spec=spec, seed=seed)]


def new_engine(size: int = 9, komi: float = 7.5) -> GtpEngine:
    return GtpEngine(lambda game: make_player("random", game, seed=0), size, komi)


def fake_engine(script: str) -> str:
    """A gtp: command running a tiny Python GTP engine; ``script`` maps a command to a reply."""
    reply = textwrap.indent(textwrap.dedent(script).strip(), "    ")
    loop = (
        "for line in sys.stdin:\n"
        "    command = line.split()[0]\n"
        "    sys.stdout.write(reply(command) + '\\n\\n')\n"
        "    sys.stdout.flush()\n"
        "    if command == 'quit':\n"
        "        break\n"
    )
    body = f"import sys\ndef reply(command):\n{reply}\n{loop}"
    return shlex.join([sys.executable, "-c", body])


# -- the engine, command by command --------------------------------------------------------------
# (commands sent first, the command, the expected answer: a string, or a regex for re.fullmatch)
TABLE = [
    ([], "protocol_version", "= 2\n\n"),
    ([], "name", "= rlkit\n\n"),
    ([], "version", re.compile(r"= \d+\.\d+.*\n\n")),
    ([], "known_command genmove", "= true\n\n"),
    ([], "known_command frobnicate", "= false\n\n"),
    ([], "known_command", re.compile(r"\? syntax error.*\n\n")),
    ([], "list_commands", re.compile(r"= protocol_version\n(?:[a-z_-]+\n)+\n")),
    ([], "quit", "= \n\n"),
    ([], "boardsize 13", "= \n\n"),
    ([], "boardsize 26", "? unacceptable size\n\n"),
    ([], "boardsize 4", "? unacceptable size\n\n"),  # rlkit's Go: 5x5 to 19x19
    ([], "boardsize 0", "? unacceptable size\n\n"),
    ([], "boardsize nine", "? syntax error (boardsize 'nine' is not an integer)\n\n"),
    ([], "boardsize", re.compile(r"\? syntax error \(usage: boardsize SIZE\)\n\n")),
    (["play b E5"], "clear_board", "= \n\n"),
    ([], "komi 6.5", "= \n\n"),
    ([], "komi -3", "= \n\n"),
    ([], "komi lots", "? syntax error (komi 'lots' is not a number)\n\n"),
    ([], "komi nan", re.compile(r"\? syntax error.*finite.*\n\n")),
    ([], "play black E5", "= \n\n"),
    ([], "play B e5", "= \n\n"),
    ([], "play b pass", "= \n\n"),
    ([], "play w PASS", "= \n\n"),  # White first: Black's pass is inserted
    (["play b E5"], "play w E5", "? illegal move\n\n"),
    (["play b pass", "play w pass"], "play b E5", re.compile(r"\? illegal move \(the game.*\n\n")),
    (["play b A2", "play w E5", "play b B1"], "play w A1", "? illegal move\n\n"),  # suicide
    ([], "play red E5", "? invalid color 'red' (expected black, b, white or w)\n\n"),
    ([], "play b Z5", "? invalid vertex 'Z5'\n\n"),
    ([], "play b I5", "? invalid vertex 'I5'\n\n"),
    ([], "play b E10", "? invalid vertex 'E10'\n\n"),
    ([], "play b", re.compile(r"\? syntax error \(usage: play COLOR VERTEX\)\n\n")),
    ([], "play", re.compile(r"\? syntax error.*\n\n")),
    ([], "genmove b", re.compile(r"= (?:[A-HJ][1-9]|pass)\n\n")),
    ([], "genmove white", re.compile(r"= (?:[A-HJ][1-9]|pass)\n\n")),
    ([], "kgs-genmove_cleanup b", re.compile(r"= (?:[A-HJ][1-9]|pass)\n\n")),
    (["play b pass", "play w pass"], "genmove b", "= pass\n\n"),
    ([], "genmove", re.compile(r"\? syntax error.*\n\n")),
    ([], "genmove x", re.compile(r"\? invalid color.*\n\n")),
    ([], "undo", "? cannot undo\n\n"),
    (["play b E5"], "undo", "= \n\n"),
    (["play b E5"], "is_legal w E5", "= 0\n\n"),
    (["play b E5"], "is_legal w D5", "= 1\n\n"),
    ([], "is_legal b", re.compile(r"\? syntax error.*\n\n")),
    (["play b E5"], "showboard", re.compile(r"= \n   A B C D E F G H J\n(?:.+\n)+\n")),
    ([], "final_score", "= W+7.5\n\n"),
    (["play b E5"], "final_score", "= B+73.5\n\n"),  # one stone owns the empty board
    (["komi 81", "play b E5"], "final_score", "= 0\n\n"),
    (["play b E5", "play w D5"], "final_status_list alive", "= D5 E5\n\n"),
    (["play b E5"], "final_status_list dead", "= \n\n"),
    ([], "final_status_list", re.compile(r"\? syntax error.*\n\n")),
    ([], "final_status_list maybe", re.compile(r"\? syntax error.*\n\n")),
    ([], "time_settings 0 10 1", "= \n\n"),
    ([], "time_left b 10 0", "= \n\n"),
    (
        ["play b E5", "play w pass"],
        "printsgf",
        re.compile(r"= \(;GM\[1\]FF\[4\].*;B\[ee\];W\[\]\)\n\n", re.S),
    ),
    ([], "loadsgf /nonexistent/game.sgf", re.compile(r"\? cannot load file.*\n\n")),
    ([], "frobnicate", "? unknown command\n\n"),
    ([], "GENMOVE b", "? unknown command\n\n"),  # command names are lower case
    ([], "7 name", "=7 rlkit\n\n"),
    ([], "12 frobnicate", "?12 unknown command\n\n"),
    ([], "12", "?12 missing command after the id\n\n"),
    ([], "  name  # a comment", "= rlkit\n\n"),
    ([], "\tname\x01\r\n", "= rlkit\n\n"),  # tabs are spaces, control characters dropped
    ([], "", ""),  # empty and comment lines get no answer (GTP 2, section 2.6)
    ([], "   \n", ""),
    ([], "# just a comment", ""),
]


@pytest.mark.parametrize(
    ("setup", "command", "expected"), TABLE, ids=[repr(row[1]) for row in TABLE]
)
def test_engine_answers(setup, command, expected):
    engine = new_engine()
    for line in setup:
        assert engine.handle(line).startswith("="), line
    answer = engine.handle(command)
    if isinstance(expected, str):
        assert answer == expected
    else:
        assert expected.fullmatch(answer), answer


def test_a_scripted_session():
    engine = new_engine()
    script = [
        ("1 boardsize 7", "=1 \n\n"),
        ("2 komi 0.5", "=2 \n\n"),
        ("3 play black B3", "=3 \n\n"),
        ("4 play white B4", "=4 \n\n"),
        ("5 play black B4", "?5 illegal move\n\n"),
        ("6 play black C2", "=6 \n\n"),
        ("7 play white D4", "=7 \n\n"),
        ("8 play black D3", "=8 \n\n"),
        ("9 play white C5", "=9 \n\n"),
        ("10 play black G7", "=10 \n\n"),
        ("11 play white C3", "=11 \n\n"),
        ("12 play black C4", "=12 \n\n"),  # captures C3
        ("13 final_score", "=13 B+2.5\n\n"),  # 5 black stones and C3, 3 white, komi 0.5
        ("14 undo", "=14 \n\n"),
        ("15 final_score", "=15 W+1.5\n\n"),  # 4 stones each; C4 is White's
        ("16 play b C4", "=16 \n\n"),
        ("17 play w C3", "?17 illegal move\n\n"),  # the ko
        ("18 play b pass", "=18 \n\n"),  # White to move: White's pass is inserted first
        ("19 genmove w", "=19 pass\n\n"),  # two passes ended the game
        ("20 undo", "=20 \n\n"),  # takes back both passes
        ("21 genmove w", re.compile(r"=21 (?:[A-G][1-7]|pass)\n\n")),
        ("22 boardsize 9", "=22 \n\n"),
        ("23 final_score", "=23 W+0.5\n\n"),
        ("24 quit", "=24 \n\n"),
    ]
    for command, expected in script:
        answer = engine.handle(command)
        if isinstance(expected, str):
            assert answer == expected, command
        else:
            assert expected.fullmatch(answer), (command, answer)
    assert engine.quit_requested


def test_komi_keeps_the_position_and_boardsize_clears_it():
    engine = new_engine()
    for line in ["play b E5", "play w C3", "komi 0.5"]:
        assert engine.handle(line).startswith("=")
    assert engine.game.komi == 0.5
    assert engine.handle("final_score") == "= W+0.5\n\n"  # still one stone each
    assert engine.handle("undo") == "= \n\n"
    assert engine.handle("boardsize 9") == "= \n\n"
    assert engine.handle("undo") == "? cannot undo\n\n"


def test_loadsgf_and_printsgf_round_trip(tmp_path):
    engine = new_engine()
    for line in ["boardsize 7", "play b D4", "play w C3", "play b pass"]:
        engine.handle(line)
    path = tmp_path / "game.sgf"
    assert engine.handle(f"printsgf {path}") == "= \n\n"
    other = new_engine()
    assert other.handle(f"loadsgf {path}") == "= white\n\n"
    assert other.game.size == 7 and other.actions == engine.actions
    assert other.handle(f"loadsgf {path} 2") == "= white\n\n"  # up to move 2, not including it
    assert len(other.actions) == 1
    (tmp_path / "bad.sgf").write_text("(;SZ[7];B[dd];W[dd])")
    assert other.handle(f"loadsgf {tmp_path / 'bad.sgf'}") == (
        "? cannot load file (move 2 is illegal)\n\n"
    )


def test_an_agent_error_is_an_answer_not_a_crash():
    class Broken:
        def new_game(self):
            pass

        def act(self, game, state):
            raise RuntimeError("out of memory\n\nreally")

    engine = GtpEngine(lambda game: Broken())
    answer = engine.handle("genmove b")
    assert answer == "? RuntimeError: out of memory\nreally\n\n"
    assert engine.handle("undo") == "? cannot undo\n\n"  # nothing was played


def test_run_answers_until_quit():
    stdin = io.StringIO("name\n\n# comment\nfoo\n1 quit\nname\n")
    stdout = io.StringIO()
    assert new_engine().run(stdin, stdout) == 0
    assert stdout.getvalue() == "= rlkit\n\n? unknown command\n\n=1 \n\n"
    stdout = io.StringIO()
    assert new_engine().run(io.StringIO("protocol_version"), stdout) == 0  # EOF, no newline
    assert stdout.getvalue() == "= 2\n\n"


def test_serve_over_pipes():
    commands = "1 name\n2 boardsize 9\n3 play b E5\n4 genmove w\n5 final_score\n6 quit\n"
    done = subprocess.run(
        rlkit_engine_command(), input=commands, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    answers = done.stdout.split("\n\n")
    assert answers[0] == "=1 rlkit random"
    assert answers[1:3] == ["=2 ", "=3 "]
    assert re.fullmatch(r"=4 (?:[A-HJ][1-9]|pass)", answers[3])
    assert re.fullmatch(r"=5 [BW]\+\d+(\.5)?", answers[4])
    assert answers[5:] == ["=6 ", ""]


def test_serve_rejects_a_bad_agent_spec_before_the_session():
    from rlkit.gtp import serve

    with pytest.raises(UnknownNameError):
        serve("no-such-agent", 9, 7.5, 0, io.StringIO(""), io.StringIO())


# -- the gtp: agent, against our own engine and fakes --------------------------------------------
def test_gtp_agent_plays_our_engine_through_a_whole_game():
    game = GoGame(9)
    command = shlex.join(rlkit_engine_command(seed=3))
    with GtpAgent(GtpAgentConfig(command=command), game) as agent:
        from rlkit.match import Player

        players = [Player("gtp", agent), make_player("random", game, seed=1)]
        record = play_game(game, players, np.random.default_rng(0))
        assert game.is_terminal(_replay(game, record.moves))
        # A second game, this time as White, in the same engine process.
        players.reverse()
        record = play_game(game, players, np.random.default_rng(0))
        assert game.is_terminal(_replay(game, record.moves))
        assert agent.engine.send("final_score") == _score_text(game, record.moves)


def _replay(game, moves):
    state = game.initial_state()
    for move in moves:
        state = game.apply(state, game.vertex_to_action(move))
    return state


def _score_text(game, moves):
    from rlkit.sgf import format_result

    return format_result(game.score(_replay(game, moves)))


def test_gtp_agent_reports_a_missing_engine_when_built():
    with pytest.raises(RlkitError, match="'no-such-engine-xyz' was not found on PATH"):
        GtpAgent(GtpAgentConfig(command="no-such-engine-xyz --mode gtp"), GoGame(9))


@pytest.mark.parametrize(
    ("command", "message"),
    [("", "command is empty"), ("'unclosed", "cannot be split"), ("x", None)],
)
def test_gtp_agent_config_is_validated(command, message):
    if message is None:
        GtpAgentConfig(command=command)
        with pytest.raises(ValueError, match="timeout"):
            GtpAgentConfig(command=command, timeout=0)
    else:
        with pytest.raises(ValueError, match=message):
            GtpAgentConfig(command=command)


def test_gtp_agent_needs_a_go_game():
    with pytest.raises(IncompatibleEnvError, match="not a Go game"):
        GtpAgent(GtpAgentConfig(command=sys.executable), make_game("tictactoe"))


def test_engine_errors_carry_the_engines_text():
    command = fake_engine(
        """
        if command == "komi":
            return "? komi is a lie"
        return "= "
        """
    )
    agent = GtpAgent(GtpAgentConfig(command=command), GoGame(9))
    with pytest.raises(RlkitError, match=r"answered 'komi 7\.5' with: komi is a lie"):
        agent.act(GoGame(9).initial_state())
    agent.close()


def test_an_engine_that_dies_or_hangs_is_reported():
    command = fake_engine(
        """
        if command == "genmove":
            sys.stderr.write("segmentation fault (not really)\\n")
            sys.exit(3)
        return "= "
        """
    )
    agent = GtpAgent(GtpAgentConfig(command=command), GoGame(9))
    with pytest.raises(RlkitError, match=r"exited with status 3.*\n.*segmentation fault"):
        agent.act(GoGame(9).initial_state())
    agent.close()
    hang = shlex.join([sys.executable, "-c", "import time; time.sleep(30)"])
    agent = GtpAgent(GtpAgentConfig(command=hang, timeout=0.5), GoGame(9))
    with pytest.raises(RlkitError, match=r"did not answer .boardsize 9. within 0\.5 s"):
        agent.act(GoGame(9).initial_state())
    agent.close()


def test_a_resigning_engine_passes():
    command = fake_engine(
        """
        if command == "genmove":
            return "= resign"
        return "= false" if command == "known_command" else "= "
        """
    )
    game = GoGame(9)
    with GtpAgent(GtpAgentConfig(command=command), game) as agent:
        assert agent.act(game.initial_state()) == game.pass_action
        assert agent.resigned
        agent.new_game()
        assert not agent.resigned


def test_an_engine_move_that_our_rules_forbid_becomes_a_pass():
    command = fake_engine(
        """
        return "= E5" if command == "genmove" else "= "
        """
    )
    game = GoGame(9)
    state = game.apply(game.initial_state(), game.vertex_to_action("E5"))
    with GtpAgent(GtpAgentConfig(command=command), game) as agent, pytest.warns(UserWarning):
        assert agent.act(state) == game.pass_action


def test_the_agent_notices_a_position_it_cannot_reach():
    game = GoGame(9)
    command = shlex.join(rlkit_engine_command())
    with GtpAgent(GtpAgentConfig(command=command), game) as agent:
        state = game.initial_state()
        for vertex in ["E5", "C3", "D4"]:
            state = game.apply(state, game.vertex_to_action(vertex))
        with pytest.raises(RlkitError, match="lost track of the game"):
            agent.act(state)


def test_gtp_agent_spec_builds_through_the_registry():
    spec = gtp_spec("gnugo --mode gtp")
    if GNUGO is None:
        with pytest.raises(RlkitError, match="not found"):
            make_player(spec, GoGame(9))
    else:
        player = make_player(spec, GoGame(9))
        assert isinstance(player.agent, GtpAgent)
    with pytest.raises(SpecError, match="command is empty"):
        make_player("rlkit.agents.gtp_agent:GtpAgent", GoGame(9))


def gtp_spec(command: str) -> str:
    """``gtp:COMMAND``, or the class spelled out where the registry does not know ``gtp:``."""
    try:
        resolve_agent_class("gtp:" + command)
        return "gtp:" + command
    except UnknownNameError:
        return "rlkit.agents.gtp_agent:GtpAgent:command=" + command


# -- GNU Go ----------------------------------------------------------------------------------------
def _genmove_with_cleanup(engine: GtpProcess, color: str) -> str:
    """GNU Go's move; when it would pass, its ``kgs-genmove_cleanup`` move instead."""
    vertex = engine.send(f"genmove {color}")
    if vertex.lower() == "pass":
        engine.send("undo")
        vertex = engine.send(f"kgs-genmove_cleanup {color}")
    return vertex.lower()


@needs_gnugo
def test_gnugo_plays_our_engine_over_gtp():
    """A referee between two GTP engines: GNU Go (Black) and rlkit's random agent (White)."""
    gnugo = GtpProcess([GNUGO, *GNUGO_RULES.split(), "--seed", "5"], timeout=60)
    ours = GtpProcess(rlkit_engine_command(seed=5), timeout=60)
    game = GoGame(9)
    state = game.initial_state()
    try:
        for engine in (gnugo, ours):
            for command in ["boardsize 9", "komi 7.5", "clear_board"]:
                engine.send(command)
        passes = 0
        color = "b"
        while passes < 2:
            assert state.moves < game.max_game_length
            if color == "b":
                vertex = _genmove_with_cleanup(gnugo, "b")
                assert vertex != "resign"
                ours.send(f"play b {vertex}")
            else:
                vertex = ours.send("genmove w").lower()
                gnugo.send(f"play w {vertex}")
            state = game.apply(state, game.vertex_to_action(vertex))  # legal for rlkit too
            passes = passes + 1 if vertex == "pass" else 0
            color = "w" if color == "b" else "b"
        assert game.is_terminal(state) and not game.is_truncated(state)
        board = game.board_array(state)
        for color, stone in (("black", 1), ("white", 2)):
            theirs = sorted(gnugo.send(f"list_stones {color}").split())
            assert theirs == sorted(
                game.action_to_vertex(int(a)) for a in np.flatnonzero(board.ravel() == stone)
            )
        # Every dead stone was captured, so the area counts agree.
        assert ours.send("final_score") == gnugo.send("final_score")
    finally:
        gnugo.close()
        ours.close()


@needs_gnugo
def test_gnugo_as_an_agent_in_a_match_beats_random():
    spec = gtp_spec(f"{GNUGO} {GNUGO_RULES} --seed 1")
    result = play_match(GoGame(9), spec, "random", 2, seed=0)
    summary = result.summary()
    assert summary["wins"] == 2, summary
    assert summary["truncated"] == 0


@needs_gnugo
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_tromp_taylor_score_agrees_with_gnugo_after_cleanup(seed):
    """GNU Go finishes a game from a random opening, capturing every dead stone; then our
    Tromp-Taylor score equals its area score under Chinese rules."""
    game = GoGame(9, komi=7.5)
    rng = np.random.default_rng(seed)
    gnugo = GtpProcess([GNUGO, *GNUGO_RULES.split(), "--seed", str(seed)], timeout=60)
    try:
        for command in ["boardsize 9", "komi 7.5", "clear_board"]:
            gnugo.send(command)
        state = game.initial_state()
        for _ in range(10):  # a random opening, different for each seed
            legal = game.legal_actions(state)[:-1]  # no passes
            action = int(legal[rng.integers(len(legal))])
            gnugo.send(f"play {'bw'[state.to_move]} {game.action_to_vertex(action)}")
            state = game.apply(state, action)
        while not game.is_terminal(state):
            vertex = gnugo.send(f"kgs-genmove_cleanup {'bw'[state.to_move]}").lower()
            assert vertex != "resign"
            state = game.apply(state, game.vertex_to_action(vertex))
        assert not game.is_truncated(state)
        assert _score_text_of(game, state) == gnugo.send("final_score")
    finally:
        gnugo.close()


def _score_text_of(game, state):
    from rlkit.sgf import format_result

    return format_result(game.score(state))


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, 10_000), min_size=1, max_size=40), st.integers(1, 40))
def test_undo_restores_the_exact_previous_state(choices, undos):
    """Random legal plays, then undos: each undo gives back the state before that play."""
    engine = new_engine(size=5)
    states = [engine.state]
    for i, choice in enumerate(choices):
        legal = engine.game.legal_actions(engine.state)
        if not legal:
            break
        vertex = engine.game.action_to_vertex(legal[choice % len(legal)])
        assert engine.handle(f"play {'bw'[i % 2]} {vertex}") == "= \n\n"
        states.append(engine.state)
    for _ in range(min(undos, len(states) - 1)):
        assert engine.handle("undo") == "= \n\n"
        states.pop()
        assert engine.state == states[-1]
        assert engine.game.board_hash(engine.state.board) == states[-1].hash
