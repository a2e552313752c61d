"""Matches: play games between agents on a :class:`~rlkit.game.Game` and summarise results.

Two kinds of agent can sit at the board, behind one :class:`Player` face:

- a :class:`~rlkit.game.GameAgent` (minimax, MCTS, external engines) sees the rules and the
  state;
- an :class:`~rlkit.agent.Agent` (random, a trained network, a checkpoint) sees what an
  environment would show it: ``game.observation(state, player)`` and ``game.legal_mask``.

Colours alternate from game to game, so neither agent keeps the first-move advantage. With
``swap=True`` games are played in pairs that share their chance seed (the same dice, the same
random rollouts where an agent's randomness comes from the game seed) with colours swapped,
which cancels much of the luck in games with dice.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from rlkit.agent import Agent
from rlkit.errors import SpecError
from rlkit.game import (
    CHANCE,
    TERMINAL,
    Game,
    GameAgent,
    IllegalMoveError,
    game_observation_space,
)
from rlkit.specs import parse_spec


class Player:
    """An agent of either kind, seated at a game. ``name`` is the spec it was made from."""

    def __init__(self, name: str, agent: Agent | GameAgent) -> None:
        self.name = name
        self.agent = agent

    def new_game(self) -> None:
        if isinstance(self.agent, GameAgent):
            self.agent.new_game()

    def act(self, game: Game, state: Any) -> int:
        if isinstance(self.agent, GameAgent):
            return int(self.agent.act(state))
        player = game.current_player(state)
        return int(self.agent.act(game.observation(state, player), game.legal_mask(state)))


def make_player(spec: str, game: Game, *, seed: int | None = None) -> Player:
    """Build a player from an agent spec or a checkpoint, for ``game``.

    Raises:
        UnknownNameError, SpecError, CheckpointError: as for :func:`rlkit.make_agent`.
    """
    from rlkit.registry import is_checkpoint_reference, resolve_agent_class
    from rlkit.specs import build_config
    from rlkit.training import load_agent

    if is_checkpoint_reference(spec):
        return Player(spec, load_agent(spec))
    parsed = parse_spec(spec)
    cls, defaults = resolve_agent_class(parsed.name)
    config = build_config(cls.Config, {**defaults, **parsed.params}, owner=parsed.name)
    if issubclass(cls, GameAgent):
        return Player(spec, cls(config, game, seed=seed))
    space = game_observation_space(game)
    return Player(spec, cls(config, space, gym.spaces.Discrete(game.info.num_actions), seed=seed))


@dataclass(frozen=True)
class GameRecord:
    """One finished game: who played which colour, the moves, and the returns."""

    players: tuple[str, ...]
    moves: tuple[str, ...]
    returns: tuple[float, ...]
    truncated: bool = False


def play_game(game: Game, players: list[Player], rng: np.random.Generator) -> GameRecord:
    """Play one game; ``players[i]`` plays player index ``i``. Chance comes from ``rng``.

    Raises:
        IllegalMoveError: naming the player and the move, when an agent plays an illegal move.
    """
    for p in players:
        p.new_game()
    state = game.initial_state()
    moves: list[str] = []
    decisions = 0
    while True:
        to_move = game.current_player(state)
        if to_move == TERMINAL:
            break
        if to_move == CHANCE:
            outcome = game.sample_chance(state, rng)
            moves.append(game.action_to_string(state, outcome))
            state = game.apply(state, outcome)
            continue
        if decisions >= game.info.max_game_length:
            return GameRecord(
                tuple(p.name for p in players), tuple(moves), (0.0,) * len(players), truncated=True
            )
        action = players[to_move].act(game, state)
        if action not in game.legal_actions(state):
            raise IllegalMoveError(
                f"{players[to_move].name} (player {to_move}) played the illegal move "
                f"{action} in\n{game.render(state)}"
            )
        moves.append(game.action_to_string(state, action))
        state = game.apply(state, action)
        decisions += 1
    return GameRecord(
        tuple(p.name for p in players), tuple(moves), tuple(float(r) for r in game.returns(state))
    )


@dataclass
class MatchResult:
    """Results from agent A's point of view (A is the first agent named)."""

    a: str
    b: str
    records: list[GameRecord] = field(default_factory=list)
    seats_of_a: list[int] = field(default_factory=list)
    """The player index A had in each game."""

    def points_of_a(self) -> np.ndarray:
        return np.array([r.returns[s] for r, s in zip(self.records, self.seats_of_a, strict=True)])

    def summary(self) -> dict[str, Any]:
        """Wins, draws, losses, points per game with a 95% interval (normal approximation)."""
        points = self.points_of_a()
        n = len(points)
        mean = float(points.mean()) if n else 0.0
        std = float(points.std(ddof=1)) if n > 1 else 0.0
        return {
            "a": self.a,
            "b": self.b,
            "games": n,
            "wins": int((points > 0).sum()),
            "draws": int((points == 0).sum()),
            "losses": int((points < 0).sum()),
            "points_per_game": mean,
            "ci95": 1.96 * std / math.sqrt(n) if n else 0.0,
            "truncated": sum(r.truncated for r in self.records),
        }


def play_match(
    game: Game,
    a: str,
    b: str,
    games: int,
    *,
    seed: int = 0,
    swap: bool = False,
    record_dir: Path | None = None,
    progress: bool = False,
) -> MatchResult:
    """Play ``games`` games between agent specs ``a`` and ``b``, alternating colours.

    Each agent is built once, seeded from ``seed``; chance events use a generator per game
    (shared by the two games of a pair when ``swap`` is set).

    Raises:
        SpecError: ``games`` not positive, or the game is not for two players.
    """
    if games <= 0:
        raise SpecError(f"--games must be positive, got {games}")
    if game.info.num_players != 2:
        raise SpecError(f"{game.info.name} has {game.info.num_players} players; matches need 2")
    seeds = np.random.SeedSequence(seed).spawn(games + 2)
    player_a = make_player(a, game, seed=int(seeds[0].generate_state(1)[0]))
    player_b = make_player(b, game, seed=int(seeds[1].generate_state(1)[0]))
    result = MatchResult(a, b)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=games, unit="game", dynamic_ncols=True)
    for i in range(games):
        chance_seed = seeds[2 + (i - i % 2 if swap else i)]
        seats = [player_a, player_b] if i % 2 == 0 else [player_b, player_a]
        record = play_game(game, seats, np.random.default_rng(chance_seed))
        result.records.append(record)
        result.seats_of_a.append(i % 2)
        if record_dir is not None:
            _write_record(game, record, record_dir, i)
        if bar is not None:
            summary = result.summary()
            bar.set_postfix_str(f"{summary['points_per_game']:+.3f} ppg", refresh=False)
            bar.update(1)
    if bar is not None:
        bar.close()
    return result


def _write_record(game: Game, record: GameRecord, folder: Path, index: int) -> None:
    from rlkit.checkpoint import write_atomically

    folder.mkdir(parents=True, exist_ok=True)
    format_record = getattr(game, "format_record", None)
    if format_record is not None:
        text, extension = format_record(record)
    else:
        lines = [
            f"game: {game.info.name}",
            *(f"player {i}: {name}" for i, name in enumerate(record.players)),
            "moves: " + " ".join(record.moves),
            "returns: " + " ".join(f"{r:g}" for r in record.returns),
        ]
        text, extension = "\n".join(lines) + "\n", "txt"
    path = folder / f"game_{index:05d}.{extension}"
    write_atomically(path, lambda tmp: Path(tmp).write_text(text))
