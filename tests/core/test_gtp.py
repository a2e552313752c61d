"""GTP: the engine's answers, sessions over pipes, the gtp: agent, and play against GNU Go."""

from __future__ import annotations

import io
import re
import shlex
import subprocess
import sys
import tempfile
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
    ([], "play w PASS", "= \n\n"),  # White first: no pass is inserted for Black
    (["play b E5"], "play w E5", "? illegal move\n\n"),
    (["play b pass", "play w pass"], "play b E5", "= \n\n"),  # the controller goes on
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
    (["play b pass", "play w pass"], "genmove b", re.compile(r"= (?:[A-HJ][1-9]|pass)\n\n")),
    (["play w pass"], "is_legal w E5", "= 1\n\n"),  # White may move again
    (["play w pass"], "undo", "= \n\n"),
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
    ([], "fixed_handicap 2", "= C3 G7\n\n"),
    ([], "fixed_handicap 5", "= C3 G7 C7 G3 E5\n\n"),
    ([], "fixed_handicap 9", "= C3 G7 C7 G3 C5 G5 E3 E7 E5\n\n"),
    ([], "fixed_handicap 1", "? invalid number of stones (2 to 9 on 9x9)\n\n"),
    ([], "fixed_handicap 10", "? invalid number of stones (2 to 9 on 9x9)\n\n"),
    (["boardsize 8"], "fixed_handicap 5", "? invalid number of stones (2 to 4 on 8x8)\n\n"),
    (["boardsize 6"], "fixed_handicap 2", "? invalid number of stones (none on 6x6)\n\n"),
    ([], "fixed_handicap two", re.compile(r"\? syntax error.*\n\n")),
    (["play b E5"], "fixed_handicap 2", "? board not empty\n\n"),
    (["fixed_handicap 2"], "fixed_handicap 2", "? board not empty\n\n"),
    (["fixed_handicap 2"], "is_legal w C3", "= 0\n\n"),
    (["fixed_handicap 2"], "undo", "? cannot undo\n\n"),  # set up, not played
    (["fixed_handicap 4"], "final_score", "= B+73.5\n\n"),
    ([], "place_free_handicap 3", "= C3 G7 C7\n\n"),
    ([], "place_free_handicap 1", "? invalid number of stones (2 to 80)\n\n"),
    (["boardsize 5"], "place_free_handicap 2", re.compile(r"= [A-E][1-5] [A-E][1-5]\n\n")),
    ([], "set_free_handicap A1 B2 J9", "= \n\n"),
    ([], "set_free_handicap A1", re.compile(r"\? bad vertex list.*\n\n")),
    ([], "set_free_handicap A1 A1", re.compile(r"\? bad vertex list.*\n\n")),
    ([], "set_free_handicap A1 pass", re.compile(r"\? bad vertex list.*\n\n")),
    ([], "set_free_handicap A1 Z9", "? invalid vertex 'Z9'\n\n"),
    (["play w E5"], "set_free_handicap A1 B2", "? board not empty\n\n"),
    ([], "frobnicate", "? unknown command\n\n"),
    ([], "GENMOVE b", "? unknown command\n\n"),  # command names are lower case
    ([], "7 name", "=7 rlkit\n\n"),
    ([], "12 frobnicate", "?12 unknown command\n\n"),
    ([], "12", "?12 missing command after the id\n\n"),
    ([], "\u0663 name", "? unknown command\n\n"),  # an Arabic-Indic digit is not an id
    ([], "\uff17 name", "? unknown command\n\n"),  # nor a full-width one
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
        ("18 play w pass", "=18 \n\n"),
        ("19 play b pass", "=19 \n\n"),  # two passes: the controller may still go on
        ("20 final_score", "=20 B+2.5\n\n"),
        ("21 genmove w", re.compile(r"=21 (?:[A-G][1-7]|pass)\n\n")),
        ("22 undo", "=22 \n\n"),  # takes back exactly the genmove
        ("23 undo", "=23 \n\n"),  # ... then Black's pass
        ("24 is_legal b C3", "=24 1\n\n"),  # Black may move again (C3 is empty again)
        ("25 is_legal w C3", "=25 0\n\n"),  # the ko, for White too
        ("26 boardsize 9", "=26 \n\n"),
        ("27 final_score", "=27 W+0.5\n\n"),
        ("28 quit", "=28 \n\n"),
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
    assert answers[0] == "=1 rlkit"  # the agent's spec (a checkpoint path) is not shown
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
        if len(record.moves) % 2 == 1:  # Black moved last: the agent (White) never saw it
            agent.engine.send(f"play b {record.moves[-1]}")
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
        for timeout in (0, -1, float("nan"), float("inf")):
            with pytest.raises(ValueError, match="timeout"):
                GtpAgentConfig(command=command, timeout=timeout)
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
    with pytest.raises(
        RlkitError, match=r"exited with status 3 .*; it wrote: segmentation f"
    ) as err:
        agent.act(GoGame(9).initial_state())
    assert "\n" not in str(err.value)  # one line at the terminal
    agent.close()
    hang = shlex.join([sys.executable, "-c", "import time; time.sleep(30)"])
    agent = GtpAgent(GtpAgentConfig(command=hang, timeout=0.5), GoGame(9))
    with pytest.raises(RlkitError, match=r"did not answer .boardsize 9. within 0\.5 s"):
        agent.act(GoGame(9).initial_state())
    assert agent.engine.process.poll() is not None  # killed, not left running
    agent.close()


@pytest.mark.parametrize(
    ("program", "message"),
    [
        # an "engine" that echoes: its first line is the command, not an answer
        ("import sys\nfor line in sys.stdin: print(line, end='', flush=True)", "not a GTP answer"),
        # one that says something at once, then never ends its answer: the deadline holds
        (
            "import sys, time\nsys.stdin.readline()\nprint('= ok', flush=True)\n"
            "while True:\n    time.sleep(0.1); print('= more', flush=True)",
            "did not answer",
        ),
        # one that never starts answering (as if slow to load)
        ("import time\ntime.sleep(30)", "did not answer"),
    ],
    ids=["echo", "trickle", "silent"],
)
def test_a_non_gtp_or_stuck_engine_fails_at_once_and_is_killed(program, message):
    command = shlex.join([sys.executable, "-c", program])
    agent = GtpAgent(GtpAgentConfig(command=command, timeout=1.0), GoGame(9))
    with pytest.raises(RlkitError, match=message) as err:
        agent.act(GoGame(9).initial_state())
    assert "\n" not in str(err.value)
    assert agent.engine.process.poll() is not None
    agent.close()


def test_gtp_cat_as_a_player_fails_with_one_line():
    """``rlkit play gtp:cat ...`` used to wait forever on an engine that echoes."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "rlkit.cli",
            "play",
            "gtp:cat",
            "random",
            "--env",
            "go:size=9",
            "--games",
            "1",
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("rlkit: error:")]
    assert len(lines) == 1 and "not a GTP answer" in lines[0], done.stderr


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


# -- rlkit gtp at start-up and when the controller hangs up --------------------------------------
RLKIT_GTP = [sys.executable, "-m", "rlkit.cli", "gtp"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        # (the CLI may catch some of these itself; either way one line naming the problem)
        (["--size", "4"], "size"),
        (["--komi", "nan"], "finite"),
    ],
)
def test_rlkit_gtp_rejects_bad_settings_with_one_line(args, message):
    done = subprocess.run(
        [*RLKIT_GTP, *args], input="name\n", capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert done.stdout == ""  # no command was answered
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert message in done.stderr


def test_serve_checks_its_settings_before_reading_a_command():
    from rlkit.gtp import serve

    stdin = io.StringIO("name\n")
    for size, komi, seed in [(4, 7.5, 0), (20, 7.5, 0), (9, float("nan"), 0), (9, 7.5, -1)]:
        with pytest.raises(SpecError):
            serve("random", size, komi, seed, stdin, io.StringIO())
    assert stdin.tell() == 0


def test_rlkit_gtp_ends_quietly_when_the_controller_closes_the_pipe():
    """``rlkit gtp < cmds | head -2``: the answers stop at a closed pipe; no traceback, exit 0."""
    commands = "".join(f"{i} list_commands\n" for i in range(3000))
    done = subprocess.run(
        f'{shlex.join(RLKIT_GTP)} | head -2; echo "status ${{PIPESTATUS[0]}}" >&2',
        shell=True,
        input=commands,
        capture_output=True,
        text=True,
        timeout=120,
        executable="/bin/bash",
    )
    assert done.stdout == "=0 protocol_version\nname\n"
    assert done.stderr == "status 0\n"


# -- following the controller --------------------------------------------------------------------
class Passer:
    """A player that always passes (its engine's clean-up has to find the captures)."""

    def new_game(self):
        pass

    def act(self, game, state):
        return game.pass_action


def passing_engine(size: int = 9, komi: float = 7.5) -> GtpEngine:
    return GtpEngine(lambda game: Passer(), size, komi)


def test_the_engine_plays_on_past_three_size_squared_moves():
    """rlkit's Go cuts games at 3 * size * size moves; a GTP engine must not."""
    engine = new_engine(size=5)
    limit = 3 * 5 * 5
    for i in range(limit + 10):
        assert engine.handle(f"play {'bw'[i % 2]} pass") == "= \n\n"  # the controller goes on
    assert engine.handle("play b C3") == "= \n\n"
    assert engine.handle("genmove w") != "= pass\n\n" or True  # a move (random), not refused
    assert len(engine.moves) == limit + 12
    assert engine.state.moves == limit + 12


def test_the_engine_refuses_past_its_own_limit_with_the_true_reason():
    engine = GtpEngine(
        lambda game: Passer(), 5, 7.5, game_factory=lambda s, k: GoGame(s, k, max_game_length=3)
    )
    for _ in range(3):
        assert engine.handle("play b pass") == "= \n\n"
    assert engine.handle("play b C3") == (
        "? illegal move (the game has reached the engine's limit of 3 moves)\n\n"
    )
    assert engine.handle("is_legal b C3") == "= 0\n\n"


def test_out_of_turn_moves_are_modelled_exactly():
    engine = new_engine()
    assert engine.handle("play white pass") == "= \n\n"
    assert engine.game.current_player(engine.state) == 0  # Black's turn now...
    assert engine.handle("is_legal white E5") == "= 1\n\n"  # ...but White may play
    answer = engine.handle("genmove white")
    assert answer != "= pass\n\n" or engine.moves[-1] == (1, engine.game.pass_action)
    assert [color for color, _ in engine.moves] == [1, 1]  # no pass was inserted for Black
    assert engine.handle("undo") == "= \n\n"
    assert engine.moves == [(1, engine.game.pass_action)]  # exactly the genmove taken back
    assert engine.handle("undo") == "= \n\n"
    assert engine.state == engine.game.initial_state()


def test_handicap_is_a_position_with_white_to_move(tmp_path):
    engine = new_engine()
    assert engine.handle("fixed_handicap 3") == "= C3 G7 C7\n\n"
    state = engine.state
    assert engine.game.current_player(state) == 1 and state.moves == 0
    assert engine.handle("genmove w").startswith("= ")
    path = tmp_path / "handicap.sgf"
    assert engine.handle(f"printsgf {path}") == "= \n\n"
    text = path.read_text()
    assert "HA[3]AB[cg][gc][cc]" in text
    other = new_engine()
    assert other.handle(f"loadsgf {path}") == "= black\n\n"
    assert other.handicap == engine.handicap and other.moves == engine.moves
    assert other.state == engine.state
    assert other.handle("clear_board") == "= \n\n"
    assert other.game.board_array(other.state).sum() == 0


def test_komi_keeps_handicap_and_moves():
    engine = new_engine()
    for line in ["set_free_handicap D4 F6", "play w E5", "komi 0.5"]:
        assert engine.handle(line) == "= \n\n"
    assert engine.handicap == [engine.game.vertex_to_action(v) for v in ("D4", "F6")]
    assert engine.handle("final_score") == "= B+0.5\n\n"  # 2 stones to 1, komi 0.5 (and the rest
    # of the board is neutral: it reaches both colours)


def test_a_failed_loadsgf_changes_nothing(tmp_path):
    engine = new_engine()
    for line in ["komi 5.5", "play b E5", "play w C3"]:
        assert engine.handle(line) == "= \n\n"
    before = (engine.game, engine.player, list(engine.states), list(engine.moves))
    bad = tmp_path / "bad.sgf"
    bad.write_text("(;SZ[13]KM[0.5];B[dd];W[dd])")  # another size and komi, then an illegal move
    assert engine.handle(f"loadsgf {bad}") == "? cannot load file (move 2 is illegal)\n\n"
    assert (engine.game, engine.player, engine.states, engine.moves) == before
    assert (engine.game.size, engine.game.komi) == (9, 5.5)
    unclosed = tmp_path / "unclosed.sgf"
    unclosed.write_text("(;SZ[9]" + "(;B[aa]" * 3000)
    assert "is never closed" in engine.handle(f"loadsgf {unclosed}")
    assert engine.moves == before[3]
    # Nesting deeper than Python's recursion limit (it was "? RecursionError").
    deep = tmp_path / "deep.sgf"
    deep.write_text("(;SZ[9](;B[ee]" + "(;C[variation]" * 5000 + ")" * 5001 + ")")
    assert engine.handle(f"loadsgf {deep}") == "= white\n\n"
    assert engine.moves == [(0, engine.game.vertex_to_action("E5"))]


def test_loadsgf_without_km_keeps_the_komi(tmp_path):
    engine = new_engine(komi=6.5)
    path = tmp_path / "nokomi.sgf"
    path.write_text("(;GM[1]SZ[7];B[dd];W[cc])")
    assert engine.handle(f"loadsgf {path}") == "= black\n\n"
    assert (engine.game.size, engine.game.komi) == (7, 6.5)
    path.write_text("(;GM[1]SZ[7]KM[0];B[dd])")
    assert engine.handle(f"loadsgf {path}") == "= white\n\n"
    assert engine.game.komi == 0.0


# -- kgs-genmove_cleanup --------------------------------------------------------------------------
# A 9x9 position: a black wall on column D, a white wall on column E; a dead white stone at B5
# in Black's area and two dead black stones at H5 H4 in White's area (GNU Go's
# final_status_list dead: B5 H5 H4).
WALLS = [f"play b D{row}" for row in range(1, 10)] + [f"play w E{row}" for row in range(1, 10)]
DEAD = ["play w B5", "play b H5", "play b H4"]
PASS_H4 = ["play b pass", "play w H4"]


def test_cleanup_captures_dead_stones_before_passing():
    engine = passing_engine()
    for line in WALLS + DEAD:
        assert engine.handle(line) == "= \n\n", line
    assert engine.handle("genmove w") == "= pass\n\n"  # the agent itself only passes
    assert engine.handle("undo") == "= \n\n"
    played = []
    for _ in range(20):
        vertex = engine.handle("kgs-genmove_cleanup w")[2:].strip()
        if vertex == "pass":
            break
        played.append(vertex)
        assert engine.handle("play b pass") == "= \n\n"  # Black does not defend
    board = engine.game.board_array(engine.state)
    assert not board[:, 5:].__eq__(1).any()  # no black stone left right of the E wall
    # Black: the D wall (9); White: E to J (45) and B5, which makes A-C neutral (Tromp-Taylor
    # counts it alive; Black's clean-up would capture it).
    assert engine.handle("final_score") == "= W+44.5\n\n"
    assert len(played) == 6  # the 6 liberties of H5-H4


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        ([], None),  # nothing on the board
        (WALLS, None),  # two living walls: nothing dead
        ([*WALLS, "play b H5"], "H6"),  # one of H5's liberties (the lowest point first)
        (
            [*WALLS, "play b H5", "play w J5", "play b pass", "play w H6", *PASS_H4],
            "G5",
        ),  # its last liberty: the capture
    ],
)
def test_cleanup_move_table(lines, expected):
    from rlkit.gtp import cleanup_move

    engine = passing_engine()
    for line in lines:
        assert engine.handle(line) == "= \n\n", line
    state = engine._ready(1)
    move = cleanup_move(engine.game, state)
    assert (None if move is None else engine.game.action_to_vertex(move)) == expected


@needs_gnugo
def test_cleanup_makes_our_score_agree_with_gnugo():
    """GNU Go (Black, Chinese rules) and our engine (White, an agent that only passes) run
    the clean-up phase on a finished position with dead stones on both sides; then our
    Tromp-Taylor ``final_score`` equals GNU Go's judgement of dead stones."""
    gnugo = GtpProcess([GNUGO, *GNUGO_RULES.split(), "--seed", "1"], timeout=60)
    ours = passing_engine()
    try:
        for line in ["boardsize 9", "komi 7.5", "clear_board", *WALLS, *DEAD]:
            gnugo.send(line)
            assert ours.handle(line) == "= \n\n", line
        assert gnugo.send("final_status_list dead").split() == ["B5", "H5", "H4"]
        assert gnugo.send("final_score") == "W+16.5"  # Black A-D (36), White E-J (45), komi
        # Tromp-Taylor counts the dead stones: 11 black, 10 white, every empty region neutral.
        assert ours.handle("final_score") == "= W+6.5\n\n"
        passes, color = 0, "w"
        for _ in range(60):
            if color == "b":
                vertex = gnugo.send("kgs-genmove_cleanup b").lower()
                assert ours.handle(f"play b {vertex}") == "= \n\n"
            else:
                vertex = ours.handle("kgs-genmove_cleanup w")[2:].strip().lower()
                gnugo.send(f"play w {vertex}")
            passes = passes + 1 if vertex == "pass" else 0
            color = "b" if color == "w" else "w"
            if passes == 2:
                break
        assert passes == 2
        assert ours.handle("final_score") == f"= {gnugo.send('final_score')}\n\n"
        assert gnugo.send("final_score") == "W+16.5"  # the same judgement as before
    finally:
        gnugo.close()


@needs_gnugo
def test_rlkit_gtp_plays_past_three_size_squared_moves_against_gnugo():
    """The acceptance test of issue 11: a referee drives GNU Go (Black) and ``rlkit gtp
    --agent random`` (White) through 250 moves (more than 3 * 9 * 9 = 243; passes do not
    stop it before then), then to two passes, then through the clean-up phase; the two
    engines' final scores agree."""
    gnugo = GtpProcess([GNUGO, *GNUGO_RULES.split(), "--seed", "4"], timeout=60)
    ours = GtpProcess([*RLKIT_GTP, "--agent", "random", "--seed", "4"], timeout=60)
    game = GoGame(9, max_game_length=10_000)  # a referee's own copy of the rules
    state = game.initial_state()
    try:
        for engine in (gnugo, ours):
            for command in ["boardsize 9", "komi 7.5", "clear_board"]:
                engine.send(command)
        moves, passes, color = 0, 0, "b"
        for phase, command in (("main", "genmove"), ("clean-up", "kgs-genmove_cleanup")):
            passes = 0
            while passes < 2 or (phase == "main" and moves <= 3 * 9 * 9):
                if color == "b":
                    vertex = gnugo.send(f"{command} b").lower()
                    assert vertex != "resign"
                    ours.send(f"play b {vertex}")
                else:
                    vertex = ours.send(f"{command} w").lower()
                    gnugo.send(f"play w {vertex}")
                player = "bw".index(color)
                if game.current_player(state) != player:
                    state = game.resume(state, player)
                state = game.apply(state, game.vertex_to_action(vertex))
                moves += 1
                passes = passes + 1 if vertex == "pass" else 0
                color = "w" if color == "b" else "b"
                assert moves < 2000
        assert moves > 3 * 9 * 9
        assert ours.send("final_score") == gnugo.send("final_score")
        assert ours.send("final_score") == _score_text_of(game, state)
    finally:
        gnugo.close()
        ours.close()


OUT_OF_TURN = [
    "play white pass",
    "play white E5",  # White twice in a row
    "play white D5",
    "play black pass",
    "play black pass",  # Black passes twice: the game is not over for the controller
    "play white pass",  # ...nor after passes of both colours
    "play black C5",
    "play black D6",
    "play black E6",
    "play black D4",
    "play black E4",
    "play black F5",  # captures D5 E5
    "play white D5",  # a stone back in the hole
    "undo",
    "undo",  # the capture is taken back
    "play black F5",
    "play white E5",  # into the hole: not suicide (it captures nothing, has a liberty)
    "play black D5",  # captures E5
    "play white E5",  # retaking: a repetition under superko? (no: D5 is black now)
    "undo",
]


@needs_gnugo
def test_the_engine_follows_the_controller_as_gnugo_does():
    """Moves out of turn, passes, captures and undo: after each command our engine and GNU Go
    agree on success, on every stone, and at the end on is_legal for every point."""
    gnugo = GtpProcess([GNUGO, *GNUGO_RULES.split()], timeout=60)
    ours = new_engine()
    game = ours.game
    try:
        for command in OUT_OF_TURN:
            try:
                gnugo.send(command)
                theirs = True
            except RlkitError:
                theirs = False
            assert ours.handle(command).startswith("=") == theirs, command
            board = game.board_array(ours.state)
            for color, stone in (("black", 1), ("white", 2)):
                expected = sorted(gnugo.send(f"list_stones {color}").split())
                assert expected == sorted(
                    game.action_to_vertex(int(a)) for a in np.flatnonzero(board.ravel() == stone)
                ), command
        for color in ("black", "white"):
            for action in range(game.num_points):
                vertex = game.action_to_vertex(action)
                command = f"is_legal {color} {vertex}"
                assert ours.handle(command) == f"= {gnugo.send(command)}\n\n", command
        vertex = ours.handle("genmove white")[2:].strip()  # White again, after White's move
        gnugo.send(f"play white {vertex}")  # legal for GNU Go too
    finally:
        gnugo.close()


def test_a_checkpoint_player_with_its_own_shorter_game_does_not_stop_the_engine():
    """A player whose own rules end games at 3 * size * size moves (a checkpoint's game)
    cannot be asked past that; the engine then plays its clean-up move or passes."""

    class Agent:
        game = GoGame(5)  # max_game_length 75

    class Player:
        agent = Agent()

        def new_game(self):
            pass

        def act(self, game, state):
            raise AssertionError("asked past its game's end")

    engine = GtpEngine(lambda game: Player(), 5)
    for i in range(80):
        assert engine.handle(f"play {'bw'[i % 2]} pass") == "= \n\n"
    assert engine.handle("genmove b") == "= pass\n\n"
    assert engine.handle("play w C3") == "= \n\n"
    assert engine.handle("play b pass") == "= \n\n"
    assert engine.handle("genmove b") == "= pass\n\n"  # nothing of White's is dead


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["play b", "play w", "undo", "genmove"]), st.integers(0, 25)),
        max_size=60,
    )
)
def test_the_engine_is_its_move_list_replayed(commands):
    """Whatever the controller sends (either colour, passes, illegal moves, undo), the
    engine's position is its move list played from the start, one state per move; and
    printsgf then loadsgf gives the same moves and position."""
    engine = new_engine(size=5)
    for command, choice in commands:
        if command == "undo":
            engine.handle("undo")
        elif command == "genmove":
            engine.handle(f"genmove {'bw'[choice % 2]}")
        else:
            engine.handle(f"{command} {engine.game.action_to_vertex(choice)}")
        assert len(engine.states) == len(engine.moves) + 1
    states, _ = engine._replayed(engine.game, engine.handicap, engine.moves)
    assert states == engine.states
    text = engine.handle("printsgf")[2:]
    other = new_engine(size=5)
    with tempfile.TemporaryDirectory() as folder:
        path = f"{folder}/game.sgf"
        with open(path, "w") as file:
            file.write(text)
        assert other.handle(f"loadsgf {path}").startswith("= ")
    assert other.moves == engine.moves and other.state == engine.state


@needs_gnugo
def test_fixed_handicap_places_what_gnugo_places():
    """GTP 2 section 4.1.1, as GNU Go implements it, on every board size rlkit plays."""
    gnugo = GtpProcess([GNUGO, "--mode", "gtp"], timeout=60)
    try:
        for size in range(5, 20):
            ours = new_engine(size=size)
            gnugo.send(f"boardsize {size}")
            for count in range(1, 11):
                gnugo.send("clear_board")
                ours.handle("clear_board")
                try:
                    theirs = sorted(gnugo.send(f"fixed_handicap {count}").split())
                except RlkitError:
                    theirs = None
                answer = ours.handle(f"fixed_handicap {count}")
                mine = sorted(answer[2:].split()) if answer.startswith("=") else None
                assert mine == theirs, (size, count, answer)
    finally:
        gnugo.close()
