"""Our backgammon move generator against OpenSpiel's C++ ``backgammon`` over random games.

At the start of every turn of random games, for each of the 21 rolls, the set of positions
reachable by a legal full move must be identical in both engines (OpenSpiel's move sets were
checked against gnubg's). Compared are sets of distinct resulting positions, not action ids.

Conventions mapped here: OpenSpiel's player 0 (``x``) and 1 (``o``) are ours. Positions
are read from OpenSpiel's observation tensor: the four units from ``96 * p + 4 * pos`` count
player ``p``'s checkers at position ``pos``, which is x's point ``24 - pos`` and o's point
``pos + 1`` (``state.board(p, pos)`` agrees; a test checks it); ``[192]`` and ``[193]`` are
x's bar and borne-off checkers, ``[195]`` and ``[196]`` o's. A double is two consecutive
OpenSpiel decisions of two checker moves each; the default ``max_player_turns=500`` would
end a long game as a draw, even between the halves of a double, so it is raised.
"""

from __future__ import annotations

import numpy as np
import pytest

from rlkit.envs.backgammon import BackgammonGame
from rlkit.game import CHANCE, TERMINAL

pyspiel = pytest.importorskip("pyspiel")


def boards_from_tensors(tensors) -> list[bytes]:
    """OpenSpiel positions in our board layout, from observation tensors (``[n, 200]``): per
    player and position four units, ``n`` checkers as ``u0 + 2 u1 + 3 u2 + (u3 + 3 if u3)``."""
    tensors = np.asarray(tensors).reshape(-1, 200)
    units = tensors[:, :192].reshape(-1, 2, 24, 4)
    counts = units[..., 0] + 2 * units[..., 1] + 3 * units[..., 2]
    counts += np.where(units[..., 3] > 0, units[..., 3] + 3, 0)
    rows = np.zeros((len(tensors), 2, 26), dtype=np.int8)
    rows[:, 0, 1:25] = counts[:, 0, ::-1]  # x's point 24 - pos
    rows[:, 1, 1:25] = counts[:, 1]  # o's point pos + 1
    rows[:, 0, 25], rows[:, 0, 0] = tensors[:, 192], tensors[:, 193]
    rows[:, 1, 25], rows[:, 1, 0] = tensors[:, 195], tensors[:, 196]
    return [row.tobytes() for row in rows]


def spiel_board(state) -> bytes:
    return boards_from_tensors(state.observation_tensor(0))[0]


def spiel_afterstates(state) -> dict[bytes, object]:
    """Positions reachable by a full move from an OpenSpiel decision node, each with an
    OpenSpiel state that reached it (a chance node, or the end of the game)."""
    found: dict[tuple[float, ...], object] = {}
    _collect(state, found)
    return dict(zip(boards_from_tensors(list(found)), found.values(), strict=True))


def _collect(state, found: dict) -> None:
    for action in state.legal_actions():
        child = state.child(action)
        if child.is_chance_node() or child.is_terminal():
            found.setdefault(tuple(child.observation_tensor(0)), child)
        else:  # the second half of a double
            _collect(child, found)


def test_board_reading_agrees_with_board_accessor():
    game = pyspiel.load_game("backgammon")
    state = game.new_initial_state()
    rng = np.random.default_rng(0)
    for _ in range(2000):
        if state.is_terminal():
            state = game.new_initial_state()
        if state.is_chance_node():
            outcomes = state.chance_outcomes()
            state.apply_action(outcomes[int(rng.integers(len(outcomes)))][0])
        else:
            actions = state.legal_actions()
            state.apply_action(actions[int(rng.integers(len(actions)))])
        rows = np.frombuffer(spiel_board(state), np.int8).reshape(2, 26)
        assert rows.sum(axis=1).tolist() == [15, 15]
        for pos in range(24):
            assert rows[0, 24 - pos] == state.board(0, pos)
            assert rows[1, pos + 1] == state.board(1, pos)


def roll_outcomes(state) -> dict[tuple[int, int], int]:
    """OpenSpiel's chance outcome of each distinct roll at a (non-opening) chance node."""
    outcomes = {}
    for outcome, _ in state.chance_outcomes():
        digits = state.action_to_string(outcome).split("roll: ")[1].rstrip(")")
        a, b = int(digits[0]), int(digits[1])
        outcomes.setdefault((max(a, b), min(a, b)), outcome)
    assert len(outcomes) == 21
    return outcomes


def compare_random_positions(positions: int, seed: int) -> dict[str, int]:
    """Walk random games until ``positions`` turn starts were compared with every roll."""
    ours = BackgammonGame()
    theirs = pyspiel.load_game(
        "backgammon", {"scoring_type": "full_scoring", "max_player_turns": 1_000_000}
    )
    rng = np.random.default_rng(seed)
    counts = {"positions": 0, "rolls": 0, "afterstates": 0, "games": 0, "max_moves": 0}
    while counts["positions"] < positions:
        spiel = theirs.new_initial_state()
        outcome = int(rng.integers(30))  # the opening: who starts, and the roll
        text = spiel.action_to_string(outcome)
        digits = text.split("roll: ")[1].rstrip(")")
        a, b = int(digits[0]), int(digits[1])
        starter = 0 if "X starts" in text else 1
        state = ours.apply(
            ours.initial_state(), 36 * (1 + starter) + 6 * (max(a, b) - 1) + min(a, b) - 1
        )
        spiel.apply_action(outcome)
        pairs = {state.dice: (state, spiel)}  # the opening roll, just rolled
        while True:
            chosen = list(pairs)[int(rng.integers(len(pairs)))]
            next_pair = None
            for dice, (rolled, spiel_rolled) in pairs.items():
                assert ours.current_player(rolled) == spiel_rolled.current_player()
                assert spiel_board(spiel_rolled) == rolled.board
                expected = spiel_afterstates(spiel_rolled)
                after = {s.board: s for _, s in ours.afterstates(rolled)}
                assert len(after) == len(ours.legal_actions(rolled))
                if set(after) != set(expected):
                    raise AssertionError(
                        f"roll {dice} from {ours.position_id(rolled)} (player {rolled.turn}): "
                        f"{len(set(expected) - set(after))} OpenSpiel moves missing, "
                        f"{len(set(after) - set(expected))} extra\n" + ours.render(rolled)
                    )
                counts["rolls"] += 1
                counts["afterstates"] += len(after)
                counts["max_moves"] = max(counts["max_moves"], len(after))
                if dice == chosen:
                    key = list(after)[int(rng.integers(len(after)))]
                    next_pair = (after[key], expected[key])
            state, spiel = next_pair
            if ours.current_player(state) == TERMINAL:
                assert spiel.is_terminal()
                np.testing.assert_array_equal(ours.returns(state), spiel.returns())
                counts["games"] += 1
                break
            assert ours.current_player(state) == CHANCE and spiel.is_chance_node()
            assert spiel_board(spiel) == state.board
            counts["positions"] += 1
            pairs = {
                dice: (ours.with_dice(state, dice), spiel.child(outcome))
                for dice, outcome in roll_outcomes(spiel).items()
            }
    return counts


def test_same_move_sets_from_300_positions():
    """The quick version for every test run; the 20,000-position check is marked slow."""
    counts = compare_random_positions(300, seed=1)
    assert counts["rolls"] >= 300 * 21


@pytest.mark.slow
def test_same_move_sets_from_20000_positions():
    counts = compare_random_positions(20_000, seed=2)
    assert counts["rolls"] >= 420_000
    print(counts)
