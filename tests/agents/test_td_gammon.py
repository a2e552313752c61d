"""The shipped td-gammon network: it loads safely, plays legal moves, and beats pubeval."""

import json

from rlkit.cli import main
from rlkit.envs.backgammon import BackgammonGame
from rlkit.match import make_player, play_match


def test_shipped_network_loads_and_suggests_a_move(capsys):
    player = make_player("td-gammon", BackgammonGame(), seed=0)
    assert player.agent.games_trained > 0  # trained weights, not a fresh network
    assert (
        main(
            [
                "bg",
                "move",
                "--agent",
                "td-gammon",
                "--position",
                "4HPwATDgc/ABMA",
                "--dice",
                "31",
                "--json",
            ]
        )
        == 0
    )
    answer = json.loads(capsys.readouterr().out)
    assert set(answer) == {"move", "position_id"} and "/" in answer["move"]


def test_shipped_network_beats_pubeval():
    """A regression guard on the weights: 400 colour-swapped games (the full 10,000-game
    measurement is recorded in agents/weights/td_gammon.md)."""
    summary = play_match(BackgammonGame(), "td-gammon", "pubeval", 400, seed=7, swap=True).summary()
    assert summary["points_per_game"] > 0.0, summary
