"""Datasets from game records: reading and replaying, positions, symmetries, shards, splits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rlkit.datasets import (
    RecordError,
    ShardError,
    augment,
    distinct_games,
    load_records,
    load_shards,
    positions,
    save_shards,
    split_by_game,
    symmetries,
)
from rlkit.errors import RlkitError
from rlkit.match import play_match
from rlkit.registry import make_game


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


def text_record(game: str, moves: str, returns: str = "1 -1") -> str:
    return f"game: {game}\nplayer 0: a\nplayer 1: b\nmoves: {moves}\nreturns: {returns}\n"


def random_actions(game, seed: int) -> list[int]:
    """A game of uniformly random legal moves (chance outcomes by their probabilities)."""
    rng = np.random.default_rng(seed)
    state, actions = game.initial_state(), []
    while not game.is_terminal(state):
        if game.is_chance(state):
            action = game.sample_chance(state, rng)
        else:
            legal = game.legal_actions(state)
            action = int(legal[rng.integers(len(legal))])
        actions.append(action)
        state = game.apply(state, action)
    return actions


# -- reading records --------------------------------------------------------------------------
@pytest.mark.parametrize("spec", ["tictactoe", "connect4", "go:size=5", "backgammon"])
def test_records_from_rlkit_play_replay_to_their_returns(tmp_path, spec):
    game = make_game(spec)
    games = 1 if spec == "backgammon" else 4
    match = play_match(game, "random", "random", games, seed=3, record_dir=tmp_path)
    lines = load_records(tmp_path, spec)
    assert [line.returns for line in lines] == [r.returns for r in match.records]
    assert [Path(line.source).name for line in lines] == [
        p.name for p in sorted(tmp_path.iterdir())
    ]
    for line, record in zip(lines, match.records, strict=True):
        # the moves as rlkit wrote them, re-spelled from the replayed actions
        state, spelled = game.initial_state(), []
        for action in line.actions:
            spelled.append(game.action_to_string(state, action))
            state = game.apply(state, action)
        assert tuple(spelled) == record.moves
    data = positions(lines, game)
    assert data["legal_mask"][np.arange(len(data["move"])), data["move"]].all()
    assert data["x"].shape[1:] == game.info.observation_shape
    assert data["legal_mask"].shape[1] == game.info.num_actions


def test_positions_of_a_hand_written_tictactoe_game(tmp_path):
    # x takes the top row: x(0,0) o(1,0) x(0,1) o(1,1) x(0,2)
    write(tmp_path, "g.txt", text_record("tictactoe", "x(0,0) o(1,0) x(0,1) o(1,1) x(0,2)"))
    lines = load_records(tmp_path, "tictactoe")
    assert lines[0].actions == (0, 3, 1, 4, 2)
    data = positions(lines, make_game("tictactoe"))
    assert data["move"].tolist() == [0, 3, 1, 4, 2]
    assert data["result"].tolist() == [1, -1, 1, -1, 1]  # the mover's final return
    assert data["game"].tolist() == [0] * 5
    # o's first view: x's mark at cell 0 is the opponent's (plane 1), o to move (plane 2)
    assert data["x"][1, 1].ravel().tolist() == [1, 0, 0, 0, 0, 0, 0, 0, 0]
    assert data["x"][1, 0].sum() == 0 and data["x"][1, 2].min() == 1
    assert data["legal_mask"][1].tolist() == [False] + [True] * 8


def test_random_opening_moves_are_left_out(tmp_path):
    record = text_record("tictactoe", "0 3 1 4 2").replace("returns", "opening: 2\nreturns")
    write(tmp_path, "g.txt", record)
    lines = load_records(tmp_path, "tictactoe")
    assert lines[0].opening == 2
    game = make_game("tictactoe")
    assert positions(lines, game)["move"].tolist() == [1, 4, 2]
    assert positions(lines, game, opening_moves=0)["move"].tolist() == [0, 3, 1, 4, 2]
    assert positions(lines, game, opening_moves=4)["result"].tolist() == [1]


def test_sgf_from_elsewhere_takes_its_result_from_re(tmp_path):
    # A GNU Go-style record that ends in a resignation, with no passes.
    write(tmp_path, "r.sgf", "(;GM[1]FF[4]SZ[9]KM[7.5]RE[W+R];B[ee];W[cc];B[gg];W[cg])")
    lines = load_records(tmp_path, "go:size=9")
    assert lines[0].returns == (-1.0, 1.0)
    assert lines[0].actions == (40, 20, 60, 56)
    data = positions(lines, make_game("go:size=9"))
    assert data["result"].tolist() == [-1, 1, -1, 1]


def test_a_list_of_files_and_distinct_games(tmp_path):
    a = write(tmp_path, "a.txt", text_record("connect4", "1 2 1 2 1 2 1"))
    b = write(tmp_path, "b.txt", text_record("connect4", "1 2 1 2 1 2 1"))
    c = write(tmp_path, "c.txt", text_record("connect4", "2 1 2 1 2 1 2"))
    lines = load_records([a, b, c], "connect4")
    assert len(lines) == 3 and distinct_games(lines) == 2
    # copies of a game share its id, so a split by game keeps them on one side
    assert positions(lines, make_game("connect4"))["game"].tolist() == [0] * 14 + [2] * 7


BAD_RECORDS = [
    # (file name, text, game spec, words the one-line message must contain)
    ("full.txt", text_record("connect4", "1 1 1 1 1 1 1"), "connect4", ["move 7", "full"]),
    ("other.txt", text_record("tictactoe", "0 1 2"), "connect4", ["'tictactoe'", "connect"]),
    ("cut.txt", "game: connect_four\nmoves: 1 2 1 2", "connect4", ["returns", "truncated"]),
    ("short.txt", text_record("connect4", "1 2 1 2"), "connect4", ["move 4", "truncated"]),
    ("junk.txt", "hello world\n", "connect4", ["line 1"]),
    ("word.txt", text_record("connect4", "1 2 x"), "connect4", ["move 3", "'x'"]),
    ("lie.txt", text_record("connect4", "1 2 1 2 1 2 1", "-1 1"), "connect4", ["returns"]),
    ("over.txt", text_record("connect4", "1 2 1 2 1 2 1 2"), "connect4", ["move 8", "over"]),
    ("bad.sgf", "(;GM[1]SZ[9];B[ee];W[cc]", "go:size=9", ["never closed"]),
    ("big.sgf", "(;GM[1]SZ[19]RE[B+R];B[dd])", "go:size=9", ["19x19", "go:size=9"]),
    ("ko.sgf", "(;GM[1]SZ[9]RE[B+R];B[ee];W[ee])", "go:size=9", ["move 2", "occupied"]),
    ("c4.sgf", "(;GM[1]SZ[9]RE[B+R];B[ee])", "connect4", ["SGF"]),
    ("open.sgf", "(;GM[1]SZ[9];B[ee];W[cc])", "go:size=9", ["no result"]),
]


@pytest.mark.parametrize(("name", "text", "spec", "words"), BAD_RECORDS)
def test_a_bad_record_stops_with_a_one_line_error_naming_file_and_move(
    tmp_path, name, text, spec, words
):
    write(tmp_path, name, text)
    with pytest.raises(RecordError) as info:
        load_records(tmp_path, spec)
    message = str(info.value)
    assert "\n" not in message and name in message
    for word in words:
        assert word in message


def test_binary_file_and_missing_or_empty_folders(tmp_path):
    (tmp_path / "bin.txt").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(RecordError, match=r"bin\.txt: not a text file"):
        load_records(tmp_path, "connect4")
    with pytest.raises(RecordError, match="does not exist"):
        load_records(tmp_path / "nowhere", "connect4")
    (tmp_path / "empty").mkdir()
    with pytest.raises(RecordError, match="holds no game records"):
        load_records(tmp_path / "empty", "connect4")
    with pytest.raises(RlkitError, match="connect5"):
        load_records(tmp_path, "connect5")  # unknown game: the registry's error


def test_skip_warns_once_per_bad_record_and_counts(tmp_path, capsys):
    write(tmp_path, "a.txt", text_record("connect4", "1 2 1 2 1 2 1"))
    write(tmp_path, "b.txt", text_record("connect4", "1 1 1 1 1 1 1"))
    write(tmp_path, "c.txt", text_record("tictactoe", "0 1 2"))
    write(tmp_path, "d.txt", text_record("connect4", "2 1 2 1 2 1 2"))
    lines = load_records(tmp_path, "connect4", on_error="skip")
    assert [Path(line.source).name for line in lines] == ["a.txt", "d.txt"]
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 3
    assert "b.txt" in err[0] and "c.txt" in err[1] and "skipped 2 of 4 records" in err[2]
    (tmp_path / "a.txt").unlink()
    (tmp_path / "d.txt").unlink()
    with pytest.raises(RecordError, match="none of the 2 records"):
        load_records(tmp_path, "connect4", on_error="skip")


# -- symmetries -------------------------------------------------------------------------------
def test_symmetry_counts_and_known_action_images():
    tictactoe = symmetries(make_game("tictactoe"))
    assert len(tictactoe) == 8
    rot90 = next(s for s in tictactoe if s.name == "rot90")
    assert rot90.action_map.tolist() == [6, 3, 0, 7, 4, 1, 8, 5, 2]  # top-right 2 -> top-left 0
    assert len({tuple(s.action_map) for s in tictactoe}) == 8
    go = symmetries(make_game("go:size=5"))
    assert len(go) == 8 and all(s.action_map[25] == 25 for s in go)  # pass stays pass
    connect4 = symmetries(make_game("connect4"))
    assert [s.action_map.tolist() for s in connect4] == [list(range(7)), list(range(7))[::-1]]
    assert len(symmetries(make_game("backgammon"))) == 1


@settings(max_examples=12, deadline=None)
@given(spec=st.sampled_from(["tictactoe", "connect4", "go:size=5"]), seed=st.integers(0, 10**6))
def test_augmented_games_replay_legally_with_the_same_results(spec, seed):
    """The image of a game under a symmetry is a legal game with the same returns, whose
    observations and legal masks are the images of the original ones."""
    game = make_game(spec)
    actions = random_actions(game, seed)
    states = [game.initial_state()]
    for action in actions:
        states.append(game.apply(states[-1], action))
    for symmetry in symmetries(game):
        image = game.initial_state()
        for state, action in zip(states, actions, strict=False):
            player = game.current_player(state)
            assert game.current_player(image) == player
            np.testing.assert_array_equal(
                game.observation(image, player), symmetry.board(game.observation(state, player))
            )
            np.testing.assert_array_equal(
                game.legal_mask(image), symmetry.masks(game.legal_mask(state))
            )
            image = game.apply(image, int(symmetry.actions(action)))  # legal, or it raises
        assert game.is_terminal(image)
        np.testing.assert_array_equal(game.returns(image), game.returns(states[-1]))


def test_augment_adds_each_image_once_and_keeps_game_ids(tmp_path):
    play_match(make_game("connect4"), "random", "random", 3, seed=1, record_dir=tmp_path)
    game = make_game("connect4")
    lines = load_records(tmp_path, "connect4")
    plain = positions(lines, game)
    both = positions(lines, game, augment=True)
    n = len(plain["move"])
    assert len(both["move"]) == 2 * n
    np.testing.assert_array_equal(both["x"][n:], plain["x"][..., ::-1])
    np.testing.assert_array_equal(both["move"][n:], 6 - plain["move"])
    np.testing.assert_array_equal(both["game"][n:], plain["game"])
    np.testing.assert_array_equal(both["result"][n:], plain["result"])
    assert both["legal_mask"][np.arange(2 * n), both["move"]].all()
    np.testing.assert_array_equal(augment(plain, game)["x"], both["x"])


# -- splits and shards ------------------------------------------------------------------------
def synthetic(rows_per_game: list[int]) -> dict[str, np.ndarray]:
    ids = np.repeat(np.arange(len(rows_per_game)), rows_per_game)
    n = len(ids)
    return {
        "x": np.arange(n * 3 * 6 * 7, dtype=np.float32).reshape(n, 3, 6, 7),
        "legal_mask": (np.arange(n * 7).reshape(n, 7) % 3 > 0),
        "move": (np.arange(n) % 7).astype(np.int64),
        "result": np.where(np.arange(n) % 2, 1.0, -1.0).astype(np.float32),
        "game": ids.astype(np.int64),
    }


def test_split_by_game_keeps_games_whole_and_repeats_with_a_seed():
    data = synthetic([5, 7, 3, 9, 4, 6, 8, 2, 5, 6])
    kept, held = split_by_game(data, 0.3, seed=4)
    assert len(np.unique(held["game"])) == 3
    assert not set(kept["game"]) & set(held["game"])
    assert len(kept["move"]) + len(held["move"]) == len(data["move"])
    again, _ = split_by_game(data, 0.3, seed=4)
    np.testing.assert_array_equal(again["game"], kept["game"])
    assert len(np.unique(split_by_game(data, 0.01, seed=0)[1]["game"])) == 1
    assert len(split_by_game(data, 0.0)[1]["move"]) == 0
    with pytest.raises(RlkitError, match=r"\[0, 1\)"):
        split_by_game(data, 1.0)


def test_shards_round_trip_exactly(tmp_path):
    data = synthetic([10, 20, 15])
    manifest = save_shards(data, tmp_path / "set", 16, game="connect4")
    assert sorted(p.name for p in (tmp_path / "set").iterdir()) == [
        "manifest.json",
        "shard_00000.npz",
        "shard_00001.npz",
        "shard_00002.npz",
    ]
    assert manifest.name == "manifest.json"
    loaded = load_shards(tmp_path / "set", game="connect4")
    assert set(loaded) == set(data)
    for key in data:
        np.testing.assert_array_equal(loaded[key], data[key])
        assert loaded[key].dtype == data[key].dtype
    with pytest.raises(ShardError, match="already holds"):
        save_shards(data, tmp_path / "set", 16, game="connect4")


def test_corrupt_missing_or_foreign_shards_give_one_line_errors(tmp_path):
    folder = tmp_path / "set"
    save_shards(synthetic([10, 20]), folder, 16, game="connect4")
    with pytest.raises(ShardError, match="positions of 'connect4', not of 'tictactoe'"):
        load_shards(folder, game="tictactoe")
    shard = folder / "shard_00001.npz"
    data = bytearray(shard.read_bytes())
    data[len(data) // 2] ^= 0xFF
    shard.write_bytes(bytes(data))
    with pytest.raises(ShardError, match=r"shard_00001\.npz is corrupt"):
        load_shards(folder)
    shard.unlink()
    with pytest.raises(ShardError, match=r"shard_00001\.npz is missing"):
        load_shards(folder)
    (folder / "manifest.json").write_text("{not json")
    with pytest.raises(ShardError, match="unreadable manifest"):
        load_shards(folder)
    with pytest.raises(ShardError, match="no position set"):
        load_shards(tmp_path / "nothing")
