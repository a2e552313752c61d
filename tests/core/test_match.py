"""Matches and `rlkit play`: colours alternate, results add up, records and errors."""

import json
from dataclasses import dataclass

import pytest

from rlkit.cli import main
from rlkit.envs.tictactoe import TicTacToe
from rlkit.game import GameAgent, IllegalMoveError
from rlkit.match import play_match


def test_results_add_up_and_colours_alternate():
    result = play_match(TicTacToe(), "random", "random", 40, seed=1)
    summary = result.summary()
    assert summary["wins"] + summary["draws"] + summary["losses"] == summary["games"] == 40
    assert result.seats_of_a == [i % 2 for i in range(40)]
    assert -1.0 <= summary["points_per_game"] <= 1.0 and summary["ci95"] > 0


def test_same_seed_same_games():
    first = play_match(TicTacToe(), "random", "random", 10, seed=5).records
    assert first == play_match(TicTacToe(), "random", "random", 10, seed=5).records
    assert first != play_match(TicTacToe(), "random", "random", 10, seed=6).records


def test_env_agents_play_through_observations():
    """An observation-based agent (an untrained policy network) plays legal moves."""
    summary = play_match(TicTacToe(), "reinforce:device=cpu", "random", 6, seed=0).summary()
    assert summary["games"] == 6


@dataclass(frozen=True)
class _CornerConfig:
    pass


class CornerOnly(GameAgent):
    """Always plays the top-left corner: illegal from its second move on."""

    Config = _CornerConfig

    def act(self, state):
        return 0


def test_illegal_move_names_the_player_and_move():
    with pytest.raises(
        IllegalMoveError,
        match=r"test_match:CornerOnly \(player \d\) played the "
        r"illegal move 0",
    ):
        play_match(TicTacToe(), "tests.core.test_match:CornerOnly", "random", 2)


def test_play_command_json_and_records(tmp_path, capsys):
    assert (
        main(
            [
                "play",
                "random",
                "random",
                "--env",
                "tictactoe",
                "--games",
                "6",
                "--json",
                "--record",
                str(tmp_path / "games"),
            ]
        )
        == 0
    )
    summary = json.loads(capsys.readouterr().out)
    assert summary["games"] == 6 and summary["a"] == "random"
    records = sorted((tmp_path / "games").iterdir())
    assert len(records) == 6
    assert "moves: x(" in records[0].read_text()


def test_play_command_errors(capsys):
    assert main(["play", "random", "random", "--env", "tictacto"]) == 2
    assert "did you mean 'tictactoe'" in capsys.readouterr().err
    assert main(["play", "minimx", "random", "--env", "tictactoe"]) == 2
    assert "did you mean 'minimax'" in capsys.readouterr().err
