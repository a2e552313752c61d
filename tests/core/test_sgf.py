"""SGF records: round trips, replay through the Go rules, malformed input, the FF[4] grammar."""

from __future__ import annotations

import re
import textwrap

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rlkit.match import GameRecord, make_player, play_game
from rlkit.sgf import (
    SgfError,
    SgfGame,
    action_to_vertex,
    format_result,
    go_record,
    read_sgf,
    replay,
    vertex_to_action,
    write_sgf,
)


def go_game(size: int = 9, komi: float = 7.5, **kwargs):
    from rlkit.envs.go import GoGame

    return GoGame(size=size, komi=komi, **kwargs)


def random_game(game, seed: int, max_moves: int = 400) -> tuple[list[int], list]:
    """A game of uniformly random legal moves: its actions and every state."""
    rng = np.random.default_rng(seed)
    states, actions = [game.initial_state()], []
    while not game.is_terminal(states[-1]) and len(actions) < max_moves:
        legal = game.legal_actions(states[-1])
        action = int(legal[rng.integers(len(legal))])
        actions.append(action)
        states.append(game.apply(states[-1], action))
    return actions, states


# -- coordinates ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("vertex", "size", "action", "sgf"),
    [
        ("A9", 9, 0, "aa"),  # top-left
        ("J9", 9, 8, "ia"),  # top-right (no I column in GTP)
        ("E5", 9, 40, "ee"),  # tengen
        ("A1", 9, 72, "ai"),  # bottom-left
        ("J1", 9, 80, "ii"),
        ("C3", 9, 56, "cg"),
        ("T19", 19, 18, "sa"),
        ("pass", 9, 81, ""),
    ],
)
def test_coordinates_agree_between_gtp_sgf_and_actions(vertex, size, action, sgf):
    assert vertex_to_action(vertex, size) == action
    assert vertex_to_action(vertex.lower(), size) == action
    assert action_to_vertex(action, size) == vertex
    text = write_sgf(size, 0, [(0, action)])
    assert f";B[{sgf}]" in text
    assert read_sgf(text).moves == ((0, action),)


@pytest.mark.parametrize("vertex", ["I5", "K10", "A0", "", "E", "55", "pas", "Z1"])
def test_bad_vertices_are_rejected(vertex):
    with pytest.raises(ValueError):
        vertex_to_action(vertex, 9)


# -- round trips ---------------------------------------------------------------------------------
names = st.none() | st.text(
    st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="\u2028\u2029"),
    max_size=12,
)


@st.composite
def records(draw):
    size = draw(st.integers(1, 25))
    komi = draw(st.integers(-200, 200)) / 2
    actions = draw(st.lists(st.integers(0, size * size), max_size=60))
    return size, komi, actions


@settings(max_examples=150, deadline=None)
@given(records(), names, names, st.sampled_from([None, "B+3.5", "W+R", "0", "Void"]))
def test_write_then_read_gives_the_same_game(record, black, white, result):
    size, komi, actions = record
    moves = [(i % 2, a) for i, a in enumerate(actions)]
    text = write_sgf(size, komi, moves, result, (black, white))
    game = read_sgf(text)
    assert game == SgfGame(size, komi, tuple(moves), result, "Chinese", (black, white))
    # Vertices in, vertices out.
    vertices = [action_to_vertex(a, size) for a in actions]
    assert read_sgf(write_sgf(size, komi, vertices)).vertices == vertices


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from([5, 7, 9]))
def test_a_random_game_replays_to_the_same_positions(seed, size):
    game = go_game(size)
    actions, states = random_game(game, seed)
    record = read_sgf(write_sgf(size, game.komi, [game.action_to_vertex(a) for a in actions]))
    assert record.actions == actions
    replayed = replay(game, record)
    assert len(replayed) == len(states)
    for ours, theirs in zip(states, replayed, strict=True):
        np.testing.assert_array_equal(game.board_array(ours), game.board_array(theirs))
        assert game.current_player(ours) == game.current_player(theirs)


def test_go_record_of_a_played_game_states_the_players_and_the_score():
    game = go_game(5, komi=0.5)
    players = [make_player("random", game, seed=1), make_player("random", game, seed=2)]
    record = play_game(game, players, np.random.default_rng(0))
    text, extension = go_record(game, record)
    assert extension == "sgf"
    sgf = read_sgf(text)
    assert sgf.players == ("random", "random")
    assert (sgf.size, sgf.komi) == (5, 0.5)
    assert sgf.vertices == [m if m == "pass" else m.upper() for m in record.moves]
    final = replay(game, sgf)[-1]
    if record.truncated:
        assert sgf.result == "Void"
    else:
        assert sgf.result == format_result(game.score(final))
        assert sgf.winner == (0 if record.returns[0] > 0 else 1)


def test_go_record_names_a_resignation():
    game = go_game(5, komi=0.5)
    # White resigns on an empty board that Tromp-Taylor scores for White (komi).
    record = GameRecord(("a", "b"), (), (1.0, -1.0))
    assert read_sgf(go_record(game, record)[0]).result == "B+R"
    record = GameRecord(("a", "b"), ("C3", "pass"), (0.0, 0.0), truncated=True)
    assert read_sgf(go_record(game, record)[0]).result == "Void"


def test_go_record_of_a_game_the_rules_cut_off_is_scored_with_a_comment():
    game = go_game(5, komi=0.5, max_game_length=6)
    players = [make_player("random", game, seed=1), make_player("random", game, seed=2)]
    record = play_game(game, players, np.random.default_rng(0))
    text, _ = go_record(game, record)
    sgf = read_sgf(text)
    assert len(sgf.moves) == 6
    assert sgf.result == format_result(game.score(replay(game, sgf)[-1]))
    assert "C[Cut off after 6 moves" in text


@pytest.mark.parametrize(
    ("score", "text"), [(3.5, "B+3.5"), (-0.5, "W+0.5"), (0.0, "0"), (12.0, "B+12")]
)
def test_format_result(score, text):
    assert format_result(score) == text


# -- other programs' records ---------------------------------------------------------------------
def test_reads_the_main_line_of_a_record_with_variations_comments_and_old_conventions():
    text = textwrap.dedent("""\
    Header lines before the record are ignored.
    (;GM[1]FF[3]SZ[9]KM[6.5]RU[Japanese]PB[Honinbo \\] Shusaku]PW[Gennan
    Inseki]RE[W+2.5]CoPyright[old FF[3\\] style]
     C[a comment with (parentheses\\) and ;semicolons]
     ;B[ee]C[first move]
     (;W[cc];B[tt]
        (;W[gg]TR[aa][bb])
        (;W[hh]))
     (;W[dd];B[gc]))
    (;GM[1]SZ[19];B[pd])
    """)
    game = read_sgf(text)
    assert game.size == 9 and game.komi == 6.5 and game.rules == "Japanese"
    assert game.players == ("Honinbo ] Shusaku", "Gennan Inseki")
    assert game.result == "W+2.5" and game.winner == 1
    assert game.vertices == ["E5", "C7", "pass", "G3"]


def test_defaults_follow_the_spec():
    game = read_sgf("(;B[pd];W[dp])")
    assert game.size == 19 and game.komi == 0.0 and game.rules is None
    assert game.players == (None, None) and game.result is None
    assert game.vertices == ["Q16", "D4"]
    assert read_sgf("(;SZ[9]KM[]RE[Draw])").komi == 0.0
    assert read_sgf("(;SZ[13:13];B[])").moves == ((0, 169),)
    assert read_sgf("(;SZ[25];B[tt])").moves == ((0, 19 * 25 + 19),)  # [tt] is a point above 19


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no game tree"),
        ("just text", "no game tree"),
        ("(;SZ[9];B[ee]", "never closed with ')'"),
        ("(;SZ[9];B[ee])(", "does not start with a node"),
        ("(;SZ[9];B[ee]))", "closes no game tree"),
        ("(;SZ[9];B[ee", "never closed with ']'"),
        ("(;SZ[9]PB[who\\]", "never closed with ']'"),
        ("(;SZ[9];B[ee] x)", "expected a property name"),
        ("(;SZ[9];B)", "has no value"),
        ("(SZ[9];B[ee])", "does not start with a node"),
        ("(;SZ[9]SZ[9])", "appears twice"),
        ("(;GM[2]SZ[8])", "not Go"),
        ("(;SZ[nine])", "not a board size"),
        ("(;SZ[9:13])", "only square boards"),
        ("(;SZ[0])", "out of range"),
        ("(;SZ[26])", "out of range"),
        ("(;KM[six])", "KM[six] is not a number"),
        ("(;SZ[9];B[jj])", "move 1: [jj] is off the 9x9 board"),
        ("(;SZ[9];B[e5])", "move 1: bad coordinates"),
        ("(;SZ[9];B[eee])", "move 1: bad coordinates"),
        ("(;SZ[9];B[ee][ff])", "2 values"),
        ("(;SZ[9];W[ee])", "move 1: W plays out of turn (B to move"),
        ("(;SZ[9];B[ee];B[ff])", "move 2: B plays out of turn"),
        ("(;SZ[9];B[ee]W[ff])", "both a B and a W move"),
        ("(;SZ[9]AW[dd][ee];W[cc])", "setup properties (AW)"),  # AB (handicap) reads
        ("(;SZ[9]HA[2]AB[cc][gg];W[ee];AB[aa])", "setup properties (AB)"),
        ("(;SZ[9];B[ee];AE[ee])", "setup properties (AE)"),
    ],
)
def test_malformed_records_raise_a_clear_sgf_error(text, message):
    with pytest.raises(SgfError) as info:
        read_sgf(text)
    assert message in str(info.value)


def test_errors_give_the_line_and_column():
    with pytest.raises(SgfError, match=r"line 3, column 3"):
        read_sgf("(;SZ[9]\n;B[ee]\n;W[cc\n")


def test_an_illegal_move_stops_the_replay_with_its_number():
    game = go_game(9)
    record = read_sgf("(;SZ[9];B[ee];W[ee])")
    with pytest.raises(SgfError, match=r"move 2 \(E5\)"):
        replay(game, record)
    with pytest.raises(SgfError, match="19x19"):
        replay(game, read_sgf("(;B[pd])"))


def test_writing_rejects_what_sgf_cannot_say():
    with pytest.raises(SgfError, match="out of range"):
        write_sgf(26, 0, [])
    with pytest.raises(SgfError, match="move 2"):
        write_sgf(9, 0, ["E5", "Z9"])
    with pytest.raises(SgfError, match="not a finite number"):
        write_sgf(9, float("nan"), [])


# -- what Sabaki and GoGui read ------------------------------------------------------------------
VALUE = r"\[(?:[^\\\]]|\\.)*\]"
PROPERTY = rf"[A-Z]+(?:{VALUE})+"
NODE = rf";\s*(?:{PROPERTY}\s*)*"
GAME_TREE = rf"\(\s*(?:{NODE}\s*)+\)"  # the main line only: rlkit writes no variations


def test_output_follows_the_ff4_grammar():
    game = go_game(9)
    actions, _ = random_game(game, seed=3)
    moves = [game.action_to_vertex(a) for a in actions]
    text = write_sgf(9, 7.5, moves, "B+3.5", ("rlkit [mcts]", "GNU Go\\3.8"))
    assert re.fullmatch(rf"\s*{GAME_TREE}\s*", text), text
    assert text.startswith("(;GM[1]FF[4]CA[UTF-8]AP[rlkit:")
    root = text.split(";")[1]
    for prop in ("SZ[9]", "KM[7.5]", "RU[Chinese]", "PB[rlkit [mcts\\]]", "RE[B+3.5]"):
        assert prop in root
    assert "PW[GNU Go\\\\3.8]" in root
    # Moves: one per node, two lower-case letters on the board or [] for a pass.
    move_values = re.findall(r";([BW])\[([^\]]*)\]", text)
    assert [c for c, _ in move_values] == ["B", "W"] * (len(moves) // 2) + ["B"] * (len(moves) % 2)
    assert all(re.fullmatch(r"[a-i]{2}|", v) for _, v in move_values)
    assert max(len(line) for line in text.splitlines()) < 120


# -- nesting, handicap, komi default, turn order ---------------------------------------------------
@pytest.mark.parametrize("depth", [1, 999, 20_000])
def test_any_depth_of_nested_game_trees_reads(depth):
    """Variations nested deeper than Python's recursion limit (once a RecursionError)."""
    text = "(;GM[1]SZ[9];B[ee];W[cc]" + "(;C[a variation]" * depth + ")" * depth + ")"
    game = read_sgf(text)
    assert game.moves == ((0, 40), (1, 20))  # the main line: the first child at each branch


def test_an_unclosed_deep_tree_names_where_it_opened():
    text = "(;SZ[9]\n" + "(;B[aa]" * 2000
    with pytest.raises(SgfError, match=r"opened at line 1, column 1 is never closed"):
        read_sgf(text)


def test_handicap_stones_round_trip():
    game = go_game(9)
    handicap = [game.vertex_to_action(v) for v in ("C3", "G7")]
    text = write_sgf(9, 0.5, [(1, 40), (0, 20)], handicap=handicap)
    assert "HA[2]AB[cg][gc]" in text
    record = read_sgf(text)
    assert record.handicap == tuple(handicap) and record.moves == ((1, 40), (0, 20))
    states = replay(game, record)
    assert states[0] == game.handicap_state(handicap) and states[0].to_move == 1
    assert game.board_array(states[-1]).sum() == 1 + 1 + 2 + 1  # C3, G7, C7 black; E5 white
    assert read_sgf("(;SZ[9]AB[aa:bb];W[ee])").handicap == (0, 1, 9, 10)  # compressed list


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("(;SZ[9]AB[ee];B[cc])", r"move 1: B plays out of turn \(W to move"),
        ("(;SZ[9]AW[ee])", r"setup properties \(AW\)"),
        ("(;SZ[9];B[cc]AB[ee])", r"setup properties \(AB\)"),
        ("(;SZ[9]AB[ee][ee])", "AB names a point twice"),
        ("(;SZ[9]AB[zz])", r"AB\[zz\] is not a point"),
    ],
)
def test_bad_setup_is_an_sgf_error(text, message):
    with pytest.raises(SgfError, match=message):
        read_sgf(text)


def test_komi_default_and_free_turn_order():
    assert read_sgf("(;SZ[9];B[ee])").komi == 0.0
    assert read_sgf("(;SZ[9];B[ee])", default_komi=6.5).komi == 6.5
    assert read_sgf("(;SZ[9]KM[];B[ee])", default_komi=6.5).komi == 6.5
    assert read_sgf("(;SZ[9]KM[0];B[ee])", default_komi=6.5).komi == 0.0
    with pytest.raises(SgfError, match="out of turn"):
        read_sgf("(;SZ[9];W[ee];W[cc])")
    record = read_sgf("(;SZ[9];W[ee];W[cc])", alternate=False)
    assert record.moves == ((1, 40), (1, 20))
    states = replay(go_game(9), record)
    assert states[-1].to_move == 0 and go_game(9).board_array(states[-1]).sum() == 4
