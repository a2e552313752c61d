"""Go rules from move tables on small boards, and random games against a plain-Python referee."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rlkit.envs.go import GoGame, GoState
from rlkit.game import TERMINAL, IllegalMoveError

GO5 = GoGame(5)
GO9 = GoGame(9)
GO19 = GoGame(19)


def play(game: GoGame, vertices: str, state: GoState | None = None) -> GoState:
    state = game.initial_state() if state is None else state
    for vertex in vertices.split():
        state = game.apply(state, game.vertex_to_action(vertex))
    return state


def position(game: GoGame, diagram: str, to_move: int = 0) -> GoState:
    """A state with the stones of ``diagram`` (rows top to bottom, ``X`` black, ``O`` white),
    placed alternately (a colour with no stones left passes), then ``to_move`` to play."""
    rows = diagram.split("\n")
    cells = "".join(row.replace(" ", "") for row in rows if row.strip())
    assert len(cells) == game.num_points
    stones = {
        colour: [p for p, c in enumerate(cells) if c == mark]
        for colour, mark in ((0, "X"), (1, "O"))
    }
    state = game.initial_state()
    while stones[0] or stones[1]:
        mine = stones[state.to_move]
        state = game.apply(state, mine.pop(0) if mine else game.pass_action)
    if state.to_move != to_move:
        state = game.apply(state, game.pass_action)
    assert picture(game, state) == picture_of(diagram)
    return state


def picture_of(diagram: str) -> str:
    return "\n".join(row.replace(" ", "") for row in diagram.split("\n") if row.strip())


def picture(game: GoGame, state: GoState) -> str:
    grid = game.board_array(state)
    return "\n".join("".join(".XO"[c] for c in row) for row in grid)


# --------------------------------------------------------------------------------------------
# captures, suicide, ko
# --------------------------------------------------------------------------------------------
CAPTURES = {
    "single stone": (
        """
        . . . . .
        . . X . .
        . X O . .
        . . X . .
        . . . . .
        """,
        "D3",
        """
        . . . . .
        . . X . .
        . X . X .
        . . X . .
        . . . . .
        """,
    ),
    "group of two": (
        """
        . . . . .
        . X X . .
        X O O . .
        . X X . .
        . . . . .
        """,
        "D3",
        """
        . . . . .
        . X X . .
        X . . X .
        . X X . .
        . . . . .
        """,
    ),
    "edge": (
        """
        . . . . .
        . . . . .
        . . . . .
        . . . . .
        . X O X .
        """,
        "C2",
        """
        . . . . .
        . . . . .
        . . . . .
        . . X . .
        . X . X .
        """,
    ),
    "corner": (
        """
        . . . . .
        . . . . .
        . . . . .
        O X . . .
        O X . . .
        """,
        "A3",
        """
        . . . . .
        . . . . .
        X . . . .
        . X . . .
        . X . . .
        """,
    ),
    "two groups at once": (
        """
        . X O X .
        X O . O X
        . X O X .
        . . . . .
        . . . . .
        """,
        "C4",
        """
        . X . X .
        X . X . X
        . X O X .
        . . . . .
        . . . . .
        """,
    ),
    "looks like suicide": (
        """
        . O X . .
        O X . . .
        . . . . .
        . . . . .
        . . . . .
        """,
        "A5",
        """
        X . X . .
        O X . . .
        . . . . .
        . . . . .
        . . . . .
        """,
    ),
}


@pytest.mark.parametrize("name", list(CAPTURES))
def test_captures(name):
    before, move, after = CAPTURES[name]
    state = position(GO5, before)
    action = GO5.vertex_to_action(move)
    assert action in GO5.legal_actions(state)
    state = GO5.apply(state, action)
    assert picture(GO5, state) == picture_of(after)
    assert state.hash == GO5.board_hash(state.board)


SUICIDES = {
    "single stone in the corner": (
        """
        . X . . .
        X . . . .
        . . . . .
        . . . . .
        . . . . .
        """,
        "A5",
    ),
    "two stones": (
        """
        O . X . .
        X X X . .
        . . . . .
        . . . . .
        . . . . .
        """,
        "B5",
    ),
    "filling its own last liberty": (
        """
        . . . . .
        X X X . .
        O O . X .
        X X X . .
        . . . . .
        """,
        "C3",
    ),
}


@pytest.mark.parametrize("name", list(SUICIDES))
def test_suicide_is_illegal(name):
    diagram, move = SUICIDES[name]
    state = position(GO5, diagram, to_move=1)
    action = GO5.vertex_to_action(move)
    assert action not in GO5.legal_actions(state)
    assert not GO5.legal_mask(state)[action]
    with pytest.raises(IllegalMoveError, match=f"{move}.*suicide"):
        GO5.apply(state, action)


def test_occupied_point_is_illegal():
    state = play(GO5, "C3")
    with pytest.raises(IllegalMoveError, match=r"C3.*occupied"):
        GO5.apply(state, GO5.vertex_to_action("C3"))


KO = """
. . . . .
. X O . .
X O . O .
. X O . .
. . . . .
"""


def test_simple_ko_forbidden_then_allowed_after_a_threat():
    state = play(GO5, "C3", position(GO5, KO))  # black takes the ko at B3
    assert picture(GO5, state).split("\n")[2] == "X.XO."
    retake = GO5.vertex_to_action("B3")
    assert retake not in GO5.legal_actions(state)
    with pytest.raises(IllegalMoveError, match=r"B3.*repeats an earlier position"):
        GO5.apply(state, retake)
    state = play(GO5, "E5 E1", state)  # a threat and an answer elsewhere: the board changed
    assert retake in GO5.legal_actions(state)
    state = GO5.apply(state, retake)
    assert picture(GO5, state).split("\n")[2] == "XO.O."


def test_simple_ko_without_superko():
    game = GoGame(5, superko=False)
    state = play(game, "C3", position(game, KO))
    assert game.vertex_to_action("B3") not in game.legal_actions(state)


# White sends two stones (A5, making A4-A5 capturable), Black takes both with A3, and
# White's recapture of one at A4 would recreate the position after move 19 (three plies
# earlier, so not a simple ko): "sending two, returning one". Found by random play, kept as
# a game record.
SEND_TWO_RETURN_ONE = "D1 B1 C4 A4 A3 A2 C3 B2 E2 E3 D4 B3 D2 E5 B5 A1 B4 E4 C5 A5 A3"


def test_positional_superko_beyond_simple_ko():
    state = play(GO5, SEND_TWO_RETURN_ONE)
    assert picture(GO5, state) == picture_of("""
        . X X . O
        . X X X O
        X O X . O
        O O . X X
        O O . X .
        """)
    recapture = GO5.vertex_to_action("A4")
    assert recapture not in GO5.legal_actions(state)
    with pytest.raises(IllegalMoveError, match=r"A4.*repeats an earlier position"):
        GO5.apply(state, recapture)
    # Under the simple ko rule alone the recapture is legal, and it does repeat the board
    # after move 19 (with the other side to move), not the board before the last move.
    simple = GoGame(5, superko=False)
    boards = [simple.initial_state()]
    for vertex in (SEND_TWO_RETURN_ONE + " A4").split():
        boards.append(simple.apply(boards[-1], simple.vertex_to_action(vertex)))
    assert np.array_equal(boards[22].board, boards[19].board)
    assert boards[22].to_move != boards[19].to_move
    assert not np.array_equal(boards[22].board, boards[20].board)


# --------------------------------------------------------------------------------------------
# end of game, scoring, resignation, truncation
# --------------------------------------------------------------------------------------------
def test_two_passes_end_the_game_and_pass_is_always_legal():
    state = GO9.initial_state()
    assert GO9.legal_actions(state)[-1] == GO9.pass_action
    state = play(GO9, "pass")
    assert GO9.current_player(state) == 1
    state = play(GO9, "D4 pass", state)
    assert GO9.current_player(state) == 1 and state.passes == 1
    state = play(GO9, "pass", state)
    assert GO9.current_player(state) == TERMINAL
    assert not GO9.is_truncated(state)
    assert GO9.legal_actions(state) == []
    assert not GO9.legal_mask(state).any()
    assert GO9.returns(state).tolist() == [-1.0, 1.0]  # white D4 owns the board: -81 - 7.5
    with pytest.raises(IllegalMoveError, match="game is over"):
        GO9.apply(state, 0)


@pytest.mark.parametrize(
    ("komi", "score", "returns"), [(7.5, -7.5, [-1, 1]), (0, 0.0, [0, 0]), (-2, 2.0, [1, -1])]
)
def test_empty_board_score_is_minus_komi(komi, score, returns):
    game = GoGame(5, komi=komi)
    state = play(game, "pass pass")
    assert game.score(state) == score
    assert game.returns(state).tolist() == returns


def test_hand_scored_position():
    state = position(
        GO5,
        """
        . . . O .
        . . X O .
        X X X O .
        X . O O .
        . X O . .
        """,
    )
    # Stones: black C4 A3 B3 C3 A2 B1 (6), white D5 D4 D3 C2 D2 C1 (6).
    # Empty regions: A5 B5 C5 A4 B4 touch X (C4) and O (D5): nobody's; E5-E1 and D1 touch
    # only O: white 6; B2 touches X and O (C2): nobody's; A1 touches only X: black 1.
    black, white = 6 + 1, 6 + 6
    assert GO5.score(state) == black - white - 7.5 == -12.5
    state = play(GO5, "pass pass", state)
    assert GO5.returns(state).tolist() == [-1.0, 1.0]
    assert GoGame(5, komi=-5).returns(state).tolist() == [0.0, 0.0]


def test_resign():
    state = play(GO9, "E5")
    resigned = GO9.resign(state, 1)
    assert GO9.current_player(resigned) == TERMINAL
    assert GO9.returns(resigned).tolist() == [1.0, -1.0]
    assert GO9.returns(GO9.resign(state, 0)).tolist() == [-1.0, 1.0]
    assert state.resigned == -1 and resigned.resigned == 1
    with pytest.raises(IllegalMoveError, match="game is over"):
        GO9.resign(resigned, 0)
    with pytest.raises(ValueError, match="player must be 0"):
        GO9.resign(state, 2)


def test_truncation_at_max_game_length():
    game = GoGame(5, max_game_length=4)
    assert game.info.max_game_length == 4
    state = play(game, "A1 B1 C1")
    assert game.current_player(state) == 1 and not game.is_truncated(state)
    state = play(game, "D1", state)
    assert game.current_player(state) == TERMINAL
    assert game.is_truncated(state)
    assert game.legal_actions(state) == []
    # 2 black, 2 white stones on the bottom row; A-rows above reach both: 0 - 7.5
    assert game.returns(state).tolist() == [-1.0, 1.0]
    assert GoGame(9).info.max_game_length == 243


def test_ended_by_passes_on_the_last_move_is_not_truncated():
    game = GoGame(5, max_game_length=2)
    state = play(game, "pass pass")
    assert game.current_player(state) == TERMINAL and not game.is_truncated(state)


# --------------------------------------------------------------------------------------------
# coordinates, construction, observation, rendering
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("game", "vertex", "action"),
    [
        (GO9, "A9", 0),
        (GO9, "J9", 8),
        (GO9, "C7", 20),
        (GO9, "A1", 72),
        (GO9, "J1", 80),
        (GO9, "H2", 7 * 9 + 7),
        (GO9, "pass", 81),
        (GO19, "T19", 18),
        (GO19, "A1", 342),
        (GO19, "K10", 9 * 19 + 9),
        (GO5, "E5", 4),
        (GO5, "C3", 12),
    ],
)
def test_vertices(game, vertex, action):
    assert game.vertex_to_action(vertex) == action
    assert game.vertex_to_action(vertex.lower()) == action
    assert game.action_to_vertex(action) == vertex
    assert game.action_to_string(game.initial_state(), action) == vertex


@pytest.mark.parametrize("game", [GO5, GO9, GO19])
def test_vertex_round_trip(game):
    vertices = [game.action_to_vertex(a) for a in range(game.info.num_actions)]
    assert "I" not in "".join(vertices)
    assert [game.vertex_to_action(v) for v in vertices] == list(range(game.info.num_actions))


@pytest.mark.parametrize(
    "vertex", ["I5", "Z1", "A0", "A10", "F1", "", "D", "pass1", "4D", "A-1", "resign", "A05"]
)
def test_bad_vertices_raise(vertex):
    with pytest.raises(IllegalMoveError, match=repr(vertex).replace("'", ".")):
        GoGame(5).vertex_to_action(vertex)
    assert issubclass(IllegalMoveError, ValueError)


def test_bad_actions_raise():
    with pytest.raises(IllegalMoveError, match="not an action 0-81"):
        GO9.apply(GO9.initial_state(), 82)
    with pytest.raises(ValueError, match="not an action"):
        GO9.action_to_vertex(-1)
    with pytest.raises(IllegalMoveError, match="not a legal move"):
        GO5.string_to_action(play(GO5, "C3"), "c3")
    assert GO5.string_to_action(GO5.initial_state(), " c3 ") == 12


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"size": 4}, "size must be an integer from 5 to 19"),
        ({"size": 20}, "from 5 to 19"),
        ({"size": 9.0}, "size"),
        ({"komi": float("nan")}, "komi"),
        ({"max_game_length": 0}, "max_game_length"),
        ({"history": 0}, "history"),
    ],
)
def test_constructor_validates(kwargs, message):
    with pytest.raises(ValueError, match=message):
        GoGame(**kwargs)


def test_info():
    info = GO9.info
    assert (info.name, info.num_players, info.num_actions) == ("go", 2, 82)
    assert info.observation_shape == (3, 9, 9)
    assert GoGame(19, history=8).info.observation_shape == (17, 19, 19)
    assert GO9.pass_action == 81


def test_observation_worked_example():
    state = play(GO5, "C3")
    white = GO5.observation(state, 1)
    assert white.dtype == np.float32 and white.shape == (3, 5, 5)
    assert white[0].sum() == 0 and white[1].sum() == 1 and white[1, 2, 2] == 1
    assert (white[2] == 1).all()
    black = GO5.observation(state, 0)
    assert black[0, 2, 2] == 1 and black[1].sum() == 0 and black[2].sum() == 0
    game = GoGame(5, history=2)
    state = play(game, "C3 D4 E5")
    planes = game.observation(state, 0)
    assert planes.shape == (5, 5, 5)
    assert planes[0].sum() == 2 and planes[1].sum() == 1  # black now, black one move ago
    assert planes[2, 1, 3] == 1 and planes[3, 1, 3] == 1  # white D4 now and a move ago
    assert (planes[4] == 0).all()  # white to move


def test_render_like_showboard():
    text = GO9.render(play(GO9, "D4 E5"))
    lines = text.splitlines()
    assert lines[0] == "   A B C D E F G H J"
    assert lines[1] == " 9 . . . . . . . . . 9"
    assert lines[3] == " 7 . . + . . . + . . 7"
    assert lines[5] == " 5 . . . . O . . . . 5"
    assert lines[6] == " 4 . . . X . . . . . 4"
    assert "Black (X) to move" in text
    assert " 1 . . . " in GO19.render(GO19.initial_state()).splitlines()[19]
    assert "W+7.5" in GO9.render(play(GO9, "pass pass"))


def test_states_are_read_only_and_hashable():
    state = play(GO9, "E5")
    for array in (state.board, state.chains, state.hashes):
        assert not array.flags.writeable
    assert state == play(GO9, "E5")
    assert state != play(GO9, "E4")
    assert len({state, play(GO9, "E5")}) == 1


def test_random_rollout_and_kernel_games():
    state = play(GO9, "E5 C3")
    before = [array.copy() for array in (state.board, state.chains, state.hashes)]
    results = {tuple(GO9.random_rollout(state, np.random.default_rng(i))) for i in range(20)}
    assert results <= {(1.0, -1.0), (-1.0, 1.0)} and len(results) == 2
    for array, copy in zip((state.board, state.chains, state.hashes), before, strict=True):
        assert np.array_equal(array, copy)
    stats = GO9.play_random_games(50, seed=3)
    again = GO9.play_random_games(50, seed=3)
    assert np.array_equal(stats.lengths, again.lengths)
    assert stats.games == 50 and stats.moves == stats.lengths.sum()
    assert stats.black_wins + stats.white_wins + stats.draws == 50
    eyes = GO9.play_random_games(50, seed=3, avoid_eyes=True)
    assert eyes.truncated == 0  # eye-avoiding random games end by passes


# --------------------------------------------------------------------------------------------
# random games against a plain-Python referee
# --------------------------------------------------------------------------------------------
def referee_neighbours(size: int, point: int) -> list[int]:
    row, col = divmod(point, size)
    return [
        r * size + c
        for r, c in ((row - 1, col), (row + 1, col), (row, col - 1), (row, col + 1))
        if 0 <= r < size and 0 <= c < size
    ]


def referee_chain(board: list[int], size: int, start: int) -> tuple[set[int], set[int]]:
    """Flood fill: the chain through ``start`` and its liberties."""
    chain, liberties, todo = {start}, set(), [start]
    while todo:
        for q in referee_neighbours(size, todo.pop()):
            if board[q] == 0:
                liberties.add(q)
            elif board[q] == board[start] and q not in chain:
                chain.add(q)
                todo.append(q)
    return chain, liberties


def referee_play(board: list[int], size: int, point: int, colour: int) -> list[int] | None:
    """The board after ``colour`` plays ``point``, or None for suicide."""
    board = list(board)
    board[point] = colour
    for q in referee_neighbours(size, point):
        if board[q] == 3 - colour:
            chain, liberties = referee_chain(board, size, q)
            if not liberties:
                for stone in chain:
                    board[stone] = 0
    return board if referee_chain(board, size, point)[1] else None


def referee_legal(board: list[int], size: int, colour: int, seen: set[tuple]) -> list[int]:
    legal = []
    for point in range(size * size):
        if board[point] == 0:
            after = referee_play(board, size, point, colour)
            if after is not None and tuple(after) not in seen:
                legal.append(point)
    return [*legal, size * size]


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from([5, 6, 7, 9]))
def test_random_games_match_the_referee(seed, size):
    game = GoGame(size, max_game_length=4 * size * size)
    rng = np.random.default_rng(seed)
    state = game.initial_state()
    board = [0] * (size * size)
    seen = {tuple(board)}
    while game.current_player(state) != TERMINAL:
        colour = state.to_move + 1
        legal = game.legal_actions(state)
        assert legal == referee_legal(board, size, colour, seen)
        assert np.flatnonzero(game.legal_mask(state)).tolist() == legal
        points = legal[:-1]
        action = int(rng.choice(points)) if points and rng.random() < 0.97 else legal[-1]
        copies = [array.copy() for array in (state.board, state.chains, state.hashes)]
        after = game.apply(state, action)
        for array, copy in zip((state.board, state.chains, state.hashes), copies, strict=True):
            assert np.array_equal(array, copy)  # apply never changes its input
        if action != game.pass_action:
            board = referee_play(board, size, action, colour)
            seen.add(tuple(board))
        state = after
        assert state.board.tolist() == board
        assert state.hash == game.board_hash(state.board)  # incremental == from scratch
        for point in range(size * size):  # no chain without liberties stays on the board
            if board[point]:
                assert referee_chain(board, size, point)[1]
    assert game.score(state) == referee_score(board, size) - game.komi


def referee_score(board: list[int], size: int) -> int:
    score = board.count(1) - board.count(2)
    done: set[int] = set()
    for point in range(size * size):
        if board[point] == 0 and point not in done:
            region, reaches, todo = {point}, set(), [point]
            while todo:
                for q in referee_neighbours(size, todo.pop()):
                    if board[q] == 0 and q not in region:
                        region.add(q)
                        todo.append(q)
                    elif board[q]:
                        reaches.add(board[q])
            done |= region
            if reaches == {1}:
                score += len(region)
            elif reaches == {2}:
                score -= len(region)
    return score
