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

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rlkit.agent import Agent
from rlkit.errors import SpecError
from rlkit.game import (
    CHANCE,
    TERMINAL,
    Game,
    GameAgent,
    IllegalMoveError,
)

MAX_GAMES = 10**8
"""More games than any match needs; the bound keeps a typo from running for ever."""


class Player:
    """An agent of either kind, seated at a game. ``name`` is the spec it was made from."""

    def __init__(self, name: str, agent: Agent | GameAgent) -> None:
        self.name = name
        self.agent = agent

    def new_game(self) -> None:
        if isinstance(self.agent, GameAgent):
            self.agent.new_game()

    def game_over(self, state: Any) -> None:
        """Tell an agent that wants to know (``human``) the final position."""
        hook = getattr(self.agent, "game_over", None)
        if callable(hook):
            hook(state)

    def close(self) -> None:
        """Release what the agent holds (an engine process), if it holds anything."""
        close = getattr(self.agent, "close", None)
        if callable(close):
            close()

    def act(self, game: Game, state: Any) -> int:
        if isinstance(self.agent, GameAgent):
            return int(self.agent.act(state))
        player = game.current_player(state)
        return int(self.agent.act(game.observation(state, player), game.legal_mask(state)))


def make_player(
    spec: str,
    game: Game,
    *,
    seed: int | None = None,
    device: str | None = None,
    threads: int | None = None,
) -> Player:
    """Seat an agent spec or checkpoint at ``game`` (built by :func:`rlkit.builder.build_agent`).

    Raises:
        UnknownNameError, SpecError, CheckpointError, IncompatibleEnvError: one-line messages.
    """
    from rlkit.builder import Runtime, build_agent

    agent = build_agent(spec, game=game, seed=seed, runtime=Runtime(device, threads))
    return Player(spec, agent)


@dataclass(frozen=True)
class GameRecord:
    """One finished game: who played which colour, the moves, and the returns."""

    players: tuple[str, ...]
    moves: tuple[str, ...]
    returns: tuple[float, ...]
    truncated: bool = False
    opening_moves: int = 0
    """How many first decisions were random opening moves, not the players' own."""


def play_game(
    game: Game,
    players: list[Player],
    rng: np.random.Generator,
    *,
    opening_moves: int = 0,
    opening_rng: np.random.Generator | None = None,
    on_move: Callable[[Any, str, Any], None] | None = None,
) -> GameRecord:
    """Play one game; ``players[i]`` plays player index ``i``. Chance comes from ``rng``.

    Args:
        game: the rules.
        players: one per player index.
        rng: draws chance outcomes (dice).
        opening_moves: the first decisions are uniformly random legal moves drawn from
            ``opening_rng``, whoever is to move (a varied opening, shared by both colourings
            when both games use the same ``opening_rng`` seed).
        opening_rng: generator of the opening moves (required when ``opening_moves > 0``).
        on_move: called as ``on_move(state_before, move_text, state_after)`` after every move
            and chance event (``rlkit play --watch``).

    Raises:
        IllegalMoveError: naming the player and the move, when an agent plays an illegal move.
    """
    if opening_moves and opening_rng is None:
        raise ValueError("opening_moves needs an opening_rng")
    for p in players:
        p.new_game()
    state = game.initial_state()
    moves: list[str] = []
    decisions = 0

    def advance(state: Any, action: int) -> Any:
        """Apply a move or chance outcome: record it, show it (--watch), return the state."""
        text = game.action_to_string(state, action)
        moves.append(text)
        after = game.apply(state, action)
        if on_move is not None:
            on_move(state, text, after)
        return after
    while True:
        to_move = game.current_player(state)
        if to_move == TERMINAL:
            break
        if to_move == CHANCE:
            state = advance(state, game.sample_chance(state, rng))
            continue
        if decisions >= game.info.max_game_length:
            return GameRecord(
                tuple(p.name for p in players),
                tuple(moves),
                (0.0,) * len(players),
                truncated=True,
                opening_moves=min(opening_moves, decisions),
            )
        if decisions < opening_moves:
            legal = game.legal_actions(state)
            action = int(legal[int(opening_rng.integers(len(legal)))])
        else:
            action = players[to_move].act(game, state)
            if action not in game.legal_actions(state):
                raise IllegalMoveError(
                    f"{players[to_move].name} (player {to_move}) played the illegal move "
                    f"{action} in\n{game.render(state)}"
                )
        state = advance(state, action)
        decisions += 1
    for p in players:  # an agent that shows the game (human) sees how it ended
        p.game_over(state)
    return GameRecord(
        tuple(p.name for p in players),
        tuple(moves),
        tuple(float(r) for r in game.returns(state)),
        opening_moves=min(opening_moves, decisions),
    )


@dataclass
class MatchResult:
    """Results from agent A's point of view (A is the first agent named)."""

    a: str
    b: str
    records: list[GameRecord] = field(default_factory=list)
    seats_of_a: list[int] = field(default_factory=list)
    """The player index A had in each game."""
    interrupted: bool = False
    """Ctrl-C stopped the match early; ``records`` holds the games finished before."""

    def points_of_a(self) -> np.ndarray:
        return np.array([r.returns[s] for r, s in zip(self.records, self.seats_of_a, strict=True)])

    def summary(self) -> dict[str, Any]:
        """Wins, draws, losses, points per game with a 95% interval (normal approximation)."""
        from rlkit.stats import mean_ci95

        points = self.points_of_a()
        n = len(points)
        mean, ci95 = mean_ci95(points) if n else (0.0, 0.0)
        return {
            "a": self.a,
            "b": self.b,
            "games": n,
            "wins": int((points > 0).sum()),
            "draws": int((points == 0).sum()),
            "losses": int((points < 0).sum()),
            "points_per_game": mean,
            "ci95": ci95,
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
    opening_moves: int = 0,
    record_dir: Path | None = None,
    progress: bool = False,
    device: str | None = None,
    threads: int | None = None,
    on_move: Callable[[Any, str, Any], None] | None = None,
) -> MatchResult:
    """Play ``games`` games between agent specs ``a`` and ``b``, alternating colours.

    Each agent is built once, seeded from ``seed``. Chance events use a generator per game;
    with ``swap`` (or ``opening_moves``) games come in pairs, colours swapped, that share the
    chance seed and the random opening, which cancels much of the luck.

    Ctrl-C abandons the game in progress: the result holds the games finished before it and
    ``interrupted`` is set.

    Raises:
        SpecError: ``games`` not positive, the game is not for two players, or ``record_dir``
            cannot take new records.
    """
    if not 0 < games <= MAX_GAMES:
        raise SpecError(f"--games must be from 1 to {MAX_GAMES:,}, got {games}")
    if seed < 0:
        raise SpecError(f"--seed must be a non-negative integer, got {seed}")
    if opening_moves < 0:
        raise SpecError(f"--opening-moves must be non-negative, got {opening_moves}")
    if game.info.num_players != 2:
        raise SpecError(f"{game.info.name} has {game.info.num_players} players; matches need 2")
    if record_dir is not None:
        check_record_folder(Path(record_dir))
    def child(*key: int) -> np.random.SeedSequence:
        # What SeedSequence(seed).spawn(n)[k] gives, made by key: no list of n seeds up front,
        # and both games of a pair (and their opening) can share one key.
        return np.random.SeedSequence(seed, spawn_key=key)

    player_a = make_player(
        a, game, seed=int(child(0).generate_state(1)[0]), device=device, threads=threads
    )
    player_b = make_player(
        b, game, seed=int(child(1).generate_state(1)[0]), device=device, threads=threads
    )
    result = MatchResult(a, b)
    paired = swap or opening_moves > 0
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=games, unit="game", dynamic_ncols=True)
    try:
        for i in range(games):
            pair = 2 + (i - i % 2 if paired else i)
            chance_seed, opening_seed = child(pair, 0), child(pair, 1)
            seats = [player_a, player_b] if i % 2 == 0 else [player_b, player_a]
            record = play_game(
                game,
                seats,
                np.random.default_rng(chance_seed),
                opening_moves=opening_moves,
                opening_rng=np.random.default_rng(opening_seed),
                on_move=on_move,
            )
            result.records.append(record)
            result.seats_of_a.append(i % 2)
            if record_dir is not None:
                _write_record(game, record, Path(record_dir), i)
            if bar is not None:
                summary = result.summary()
                bar.set_postfix_str(f"{summary['points_per_game']:+.3f} ppg", refresh=False)
                bar.update(1)
    except KeyboardInterrupt:
        result.interrupted = True
    finally:
        if bar is not None:
            bar.close()
        for player in (player_a, player_b):
            player.close()
    return result


def check_record_folder(folder: Path) -> None:
    """Refuse, in one line, a ``--record`` folder that cannot take new records.

    Raises:
        SpecError: a file (or a path under one), an unwritable place, or a folder that already
            holds game records (they would be overwritten).
    """
    if str(folder) in ("", "."):
        raise SpecError("--record must name a folder for the records, e.g. --record games/")
    for parent in [folder, *folder.parents]:
        if parent.exists() and not parent.is_dir():
            raise SpecError(f"--record {folder}: {parent} is a file, not a folder")
    if folder.is_dir() and any(folder.glob("game_*.*")):
        raise SpecError(
            f"--record {folder} already holds game records; choose a new folder so they are "
            "not overwritten"
        )
    existing = next(p for p in [folder, *folder.parents] if p.exists())
    if not os.access(existing, os.W_OK | os.X_OK):
        raise SpecError(f"--record {folder}: cannot write in {existing} (permission denied)")
    try:  # made now, so a place that cannot be written fails before the first game
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SpecError(f"--record {folder}: cannot create the folder ({exc.strerror})") from None


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
            *([f"opening: {record.opening_moves}"] if record.opening_moves else []),
            "returns: " + " ".join(f"{r:g}" for r in record.returns),
        ]
        text, extension = "\n".join(lines) + "\n", "txt"
    path = folder / f"game_{index:05d}.{extension}"
    write_atomically(path, lambda tmp: Path(tmp).write_text(text))
