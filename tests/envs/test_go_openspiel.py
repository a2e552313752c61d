"""Our Go against OpenSpiel's C++ ``go`` over many random games: legal moves, boards, results.

Conventions mapped here: OpenSpiel numbers a point ``row * size + col`` with row 0 at the
*bottom* (its action 0 is A1), ours with row 0 at the top; pass is ``size * size`` in both.

One rule differs. OpenSpiel forbids suicide and simple ko (its ko point), but it lets a move
recreate an earlier whole-board position and then ends the game as a draw; our positional
superko forbids such a move. So at every step OpenSpiel's legal set must equal ours plus
exactly the moves that recreate a board seen earlier in the game (checked against our own
record of the boards); the random player then picks from our legal set, which both accept,
and the comparison goes on.
"""

from __future__ import annotations

import numpy as np
import pytest

from rlkit.envs.go import GoGame
from rlkit.game import TERMINAL

pyspiel = pytest.importorskip("pyspiel")

MAX_LENGTH = 1000
RECORD = "D1 B1 C4 A4 A3 A2 C3 B2 E2 E3 D4 B3 D2 E5 B5 A1 B4 E4 C5 A5 A3 A4"
"""Sending two, returning one (see test_go.py): the last move repeats the board of move 19."""


def to_ours(action: int, size: int) -> int:
    if action == size * size:
        return action
    row, col = divmod(action, size)
    return (size - 1 - row) * size + col


def openspiel_board(state, size: int) -> list[int]:
    """OpenSpiel's board in our layout: observation planes black, white, empty, to-play."""
    planes = np.asarray(state.observation_tensor(0)).reshape(4, size, size)[:, ::-1]
    return (planes[0] + 2 * planes[1]).astype(int).ravel().tolist()


def compare_random_games(size: int, games: int, seed: int) -> dict[str, int]:
    """Play ``games`` uniformly random games in both engines, asserting agreement; counts."""
    ours = GoGame(size, komi=7.5, max_game_length=MAX_LENGTH)
    simple_ko = GoGame(size, komi=7.5, max_game_length=MAX_LENGTH, superko=False)
    theirs = pyspiel.load_game(
        "go", {"board_size": size, "komi": 7.5, "max_game_length": MAX_LENGTH}
    )
    assert to_ours(0, size) == ours.vertex_to_action("A1")
    rng = np.random.default_rng(seed)
    counts = {"games": 0, "moves": 0, "superko_games": 0, "superko_moves": 0, "truncated": 0}
    for _ in range(games):
        state, spiel = ours.initial_state(), theirs.new_initial_state()
        seen = {state.hash}
        hit = False
        while not spiel.is_terminal():
            assert ours.current_player(state) == spiel.current_player()
            legal = ours.legal_actions(state)
            their_legal = sorted(to_ours(a, size) for a in spiel.legal_actions())
            if their_legal != legal:
                extra = set(their_legal) - set(legal)
                assert set(legal) < set(their_legal), "we allow a move OpenSpiel forbids"
                for action in extra:  # each must recreate an earlier board (superko)
                    assert simple_ko.apply(state, action).hash in seen
                counts["superko_moves"] += len(extra)
                hit = True
            action = legal[int(rng.integers(len(legal)))]
            state = ours.apply(state, action)
            spiel.apply_action(
                action if action == size * size else to_ours(action, size)  # an involution
            )
            seen.add(state.hash)
            assert state.board.tolist() == openspiel_board(spiel, size)
            counts["moves"] += 1
        assert ours.current_player(state) == TERMINAL
        assert ours.returns(state).tolist() == list(spiel.returns())
        counts["games"] += 1
        counts["superko_games"] += hit
        counts["truncated"] += ours.is_truncated(state)
    return counts


@pytest.mark.parametrize("size", [5, 9])
def test_random_games_agree_with_openspiel(size):
    # 2,000 games per size take about 3 s (5x5) and 17 s (9x9) on one core.
    counts = compare_random_games(size, games=2000, seed=1000 + size)
    print(f"\n{size}x{size}: {counts}")
    assert counts["games"] == 2000
    assert counts["superko_games"] > 0  # the rule difference was met and checked


def test_openspiel_ends_a_superko_repetition_as_a_draw():
    """The rule difference itself, on the sending-two-returning-one record of test_go.py."""
    record = RECORD.split()
    ours = GoGame(5)
    spiel = pyspiel.load_game("go", {"board_size": 5, "komi": 7.5}).new_initial_state()
    state = ours.initial_state()
    for vertex in record[:-1]:
        action = ours.vertex_to_action(vertex)
        state = ours.apply(state, action)
        spiel.apply_action(to_ours(action, 5))
    last = ours.vertex_to_action(record[-1])
    assert last not in ours.legal_actions(state)
    assert to_ours(last, 5) in spiel.legal_actions()
    spiel.apply_action(to_ours(last, 5))
    assert spiel.is_terminal()
    assert list(spiel.returns()) == [0.0, 0.0]
