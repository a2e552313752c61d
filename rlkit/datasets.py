"""Datasets from game records: replay what was played, and turn it into training arrays.

Three steps, each a function:

1. :func:`load_records` reads game records and replays every move through the rules,
   giving one :class:`GameLine` per game (its actions and final returns). It reads

   - the ``.txt`` move lists ``rlkit play --record DIR`` writes for games without a format of
     their own (tic-tac-toe, connect four, backgammon)::

         game: connect_four
         player 0: minimax:depth=5
         player 1: minimax:depth=5
         moves: 4 4 3 5 ...          (each move in the game's notation, chance outcomes too)
         returns: 1 -1

     and an optional ``opening: K`` line saying that the first ``K`` decisions were random
     opening moves (``rlkit play --opening-moves K``), which :func:`positions` leaves out.

   - Go records in SGF (``rlkit play --record`` writes ``.sgf`` for Go, and so do GNU Go,
     KGS, OGS and the rest): the main line of the first game in each file (:mod:`rlkit.sgf`).

   A bad record (unreadable, truncated, garbled, a record of another game or board size, an
   illegal move, returns that contradict the moves) raises :class:`RecordError` naming the
   file and the move; with ``on_error="skip"`` it is skipped instead, with one warning line
   on stderr per record and a count at the end. Nothing is dropped silently.

2. :func:`positions` turns lines into arrays, one row per decision (chance outcomes are
   replayed but are not rows):

   ==============  ===================  =====================================================
   key             shape, dtype         meaning
   ==============  ===================  =====================================================
   ``x``           [N, *obs], float32   ``game.observation(state, mover)``
   ``legal_mask``  [N, A], bool         ``game.legal_mask(state)``
   ``move``        [N], int64           the action the mover played
   ``result``      [N], float32         the mover's final return (e.g. +1 win, -1 loss)
   ``game``        [N], int64           the line the row came from (see below)
   ==============  ===================  =====================================================

   ``game`` is the index of the first line with the same moves, so copies of one game (an
   engine that plays the same game twice) share it and a split by game keeps them together.
   With ``augment=True`` every row also appears under each of the game's board symmetries
   (:func:`symmetries`): the 8 rotations and reflections of the square for Go and
   tic-tac-toe (pass stays pass), the left-right mirror for connect four, none for
   backgammon (its board has no symmetry that keeps the rules). The AlphaGo policy network
   was trained on all 8 reflections and rotations of each position (Silver et al., "Mastering
   the game of Go with deep neural networks and tree search", Nature 529, 2016, Methods).

3. :func:`save_shards` / :func:`load_shards` keep large sets on disk as compressed ``.npz``
   shards plus a ``manifest.json`` (game, shapes, count, each shard's SHA-256), written
   atomically, so a set is replayed once and read many times.

Hold-out sets are split by game (:func:`split_by_game`), never by position: the positions of
one game share an opening and a result, so a position-level split would leak the answer.
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from rlkit.errors import RlkitError
from rlkit.game import CHANCE, TERMINAL, Game

__all__ = [
    "POSITION_KEYS",
    "GameLine",
    "RecordError",
    "ShardError",
    "Symmetry",
    "augment",
    "distinct_games",
    "load_records",
    "load_shards",
    "positions",
    "read_manifest",
    "read_record",
    "save_shards",
    "split_by_game",
    "symmetries",
]

POSITION_KEYS = ("x", "legal_mask", "move", "result", "game")
"""The arrays :func:`positions` returns and shards hold, in this order."""
RECORD_SUFFIXES = (".txt", ".sgf")
MANIFEST = "manifest.json"
MANIFEST_FORMAT = "rlkit-positions"
MANIFEST_VERSION = 1


class RecordError(RlkitError, ValueError):
    """A game record that cannot be read or replayed; the message names the file and move."""


class ShardError(RlkitError, ValueError):
    """A position shard or manifest that is missing, corrupt, or of another game."""


@dataclass(frozen=True)
class GameLine:
    """One replayed game.

    Attributes:
        source: the file it was read from.
        actions: every action in order, chance outcomes included (action ids of the game).
        returns: each player's final return, ``[num_players]``.
        opening: how many decisions at the start were random opening moves rather than the
            players' own (an ``opening: K`` line in a ``.txt`` record; 0 when absent).
    """

    source: str
    actions: tuple[int, ...]
    returns: tuple[float, ...]
    opening: int = 0


# -- reading records ------------------------------------------------------------------------------
def load_records(
    source: str | Path | Iterable[str | Path],
    game_spec: str,
    *,
    on_error: Literal["stop", "skip"] = "stop",
    progress: bool = False,
) -> list[GameLine]:
    """Read game records and replay them through the rules of ``game_spec``.

    Args:
        source: a folder (searched recursively for ``*.txt`` and ``*.sgf``, in sorted order),
            or a list of record files.
        game_spec: the game the records are of, e.g. ``"connect4"`` or ``"go:size=9"``.
        on_error: ``"stop"`` raises at the first bad record; ``"skip"`` leaves it out with a
            warning line on stderr (and a count at the end).
        progress: show a progress bar (tqdm) on stderr.

    Returns:
        The games, in file order.

    Raises:
        RecordError: a bad record (with ``on_error="stop"``), a missing folder or file, a
            folder without records, or no usable record at all.
        UnknownNameError, SpecError: ``game_spec`` names no game or has bad parameters.
    """
    from rlkit.registry import make_game

    if on_error not in ("stop", "skip"):
        raise RecordError(f"on_error must be 'stop' or 'skip', got {on_error!r}")
    game = make_game(game_spec)
    files = _record_files(source)
    lines: list[GameLine] = []
    skipped = 0
    bar = None
    if progress:
        from tqdm import tqdm

        # Shown after a second, and cleared at the end, so that a bad record's one-line
        # error is all a quick failure prints.
        bar = tqdm(
            total=len(files),
            unit="game",
            dynamic_ncols=True,
            mininterval=0.5,
            delay=1.0,
            leave=False,
        )
    try:
        for path in files:
            try:
                lines.append(read_record(path, game, game_spec))
            except RecordError as exc:
                if on_error == "stop":
                    raise
                skipped += 1
                print(f"rlkit: warning: skipped {exc}", file=sys.stderr)
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    if skipped:
        print(f"rlkit: warning: skipped {skipped} of {len(files)} records", file=sys.stderr)
    if not lines:
        raise RecordError(f"none of the {len(files)} records could be used")
    return lines


def _record_files(source: str | Path | Iterable[str | Path]) -> list[Path]:
    if isinstance(source, str | Path):
        folder = Path(source)
        if folder.is_file():
            return [folder]
        if not folder.is_dir():
            raise RecordError(f"data folder {str(folder)!r} does not exist")
        files = sorted(
            p for p in folder.rglob("*") if p.suffix.lower() in RECORD_SUFFIXES and p.is_file()
        )
        if not files:
            raise RecordError(
                f"{str(folder)!r} holds no game records (*.txt from rlkit play --record, or *.sgf)"
            )
        return files
    files = [Path(p) for p in source]
    for path in files:
        if not path.is_file():
            raise RecordError(f"record file {str(path)!r} does not exist")
    if not files:
        raise RecordError("no record files given")
    return files


def read_record(path: str | Path, game: Game, game_spec: str = "") -> GameLine:
    """Read and replay one record file (``.sgf`` for Go, else an rlkit ``.txt`` move list).

    Raises:
        RecordError: naming the file (and the move, where one is at fault).
    """
    path = Path(path)
    where = str(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise RecordError(f"{where}: not a text file (binary or not UTF-8)") from None
    except OSError as exc:
        raise RecordError(f"{where}: cannot be read ({exc.strerror})") from None
    spec = game_spec or game.info.name
    if path.suffix.lower() == ".sgf" or text.lstrip().startswith("("):
        return _read_sgf_record(text, where, game, spec)
    return _read_text_record(text, where, game, spec)


def _read_text_record(text: str, where: str, game: Game, spec: str) -> GameLine:
    from rlkit.specs import parse_spec

    fields: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        key, sep, value = line.partition(":")
        key = key.strip()
        if not sep or not (key in _TEXT_KEYS or key.startswith("player ")):
            raise RecordError(
                f"{where}: line {number} is not 'game:', 'player i:', 'moves:', 'opening:' or "
                "'returns:' "
                f"(got {line[:40]!r}); is it an rlkit play --record file?"
            )
        if key in fields:
            raise RecordError(f"{where}: line {number} repeats {key!r}")
        fields[key] = value.strip()
    for key in ("game", "moves"):
        if key not in fields:
            raise RecordError(f"{where}: no {key!r} line (truncated or not an rlkit record)")
    # rlkit play writes the game's own name (connect_four); accept the registry name too.
    if fields["game"] not in (game.info.name, parse_spec(spec).name):
        raise RecordError(
            f"{where}: a record of {fields['game']!r}, not of {game.info.name!r} ({spec})"
        )
    if "returns" not in fields:
        raise RecordError(f"{where}: no 'returns' line after the moves (truncated file?)")
    try:
        returns = tuple(float(r) for r in fields["returns"].split())
    except ValueError:
        raise RecordError(f"{where}: returns {fields['returns']!r} are not numbers") from None
    if len(returns) != game.info.num_players or not all(np.isfinite(returns)):
        raise RecordError(
            f"{where}: returns {fields['returns']!r} should be {game.info.num_players} numbers"
        )

    opening_text = fields.get("opening", "0")
    if not opening_text.isdigit():
        raise RecordError(f"{where}: opening {opening_text!r} is not a number of moves")

    tokens = fields["moves"].split()
    state = game.initial_state()
    actions: list[int] = []
    decisions = 0
    i = 0
    while i < len(tokens):
        player = game.current_player(state)
        number = len(actions) + 1
        if player == TERMINAL:
            raise RecordError(f"{where}: move {number} ({tokens[i]!r}): the game is already over")
        taken, action = _parse_move(game, state, tokens, i, where, number)
        actions.append(action)
        state = game.apply(state, action)
        decisions += player != CHANCE
        i += taken

    if game.current_player(state) == TERMINAL:
        final = tuple(float(r) for r in game.returns(state))
        if not np.allclose(final, returns):
            raise RecordError(
                f"{where}: the record says returns {fields['returns']}, but its moves end "
                f"with {' '.join(f'{r:g}' for r in final)}"
            )
    elif not (decisions >= game.info.max_game_length and not any(returns)):
        # rlkit play cuts a game off at max_game_length and records zeros; anything else
        # that stops before the end is a truncated file.
        raise RecordError(
            f"{where}: the moves stop after move {len(actions)} before the game is over "
            "(truncated record?)"
        )
    return GameLine(where, tuple(actions), returns, int(opening_text))


_TEXT_KEYS = ("game", "moves", "opening", "returns")


def _parse_move(
    game: Game, state: Any, tokens: list[str], start: int, where: str, number: int
) -> tuple[int, int]:
    """Parse the move that starts at ``tokens[start]``; return (tokens used, action).

    Moves are separated by spaces, but some notations contain spaces themselves
    (backgammon's ``"8/4 6/4"``, ``"O starts with 4-2"``), so the move is the longest run of
    tokens that spells one of the moves possible here.
    """
    player = game.current_player(state)
    candidates = (
        [outcome for outcome, _ in game.chance_outcomes(state)]
        if player == CHANCE
        else game.legal_actions(state)
    )
    spelled = {game.action_to_string(state, a).lower(): a for a in candidates}
    longest = max((len(s.split()) for s in spelled), default=1)
    for count in range(min(longest, len(tokens) - start), 0, -1):
        text = " ".join(tokens[start : start + count])
        if text.lower() in spelled:
            if player == CHANCE:
                return count, spelled[text.lower()]
            # The game's own parser decides (two actions may read alike; it picks one).
            return count, int(game.string_to_action(state, text))
    text = tokens[start]
    if player != CHANCE:
        try:  # other spellings the game accepts (tic-tac-toe's bare cell numbers)
            return 1, int(game.string_to_action(state, text))
        except RlkitError as exc:
            raise RecordError(f"{where}: move {number} ({text!r}): {exc}") from None
    raise RecordError(f"{where}: move {number} ({text!r}) is not a chance outcome possible here")


def _read_sgf_record(text: str, where: str, game: Game, spec: str) -> GameLine:
    from rlkit.sgf import SgfError, read_sgf, replay

    if game.info.name != "go":
        raise RecordError(f"{where}: an SGF (Go) record, not a record of {game.info.name!r}")
    try:
        record = read_sgf(text)
    except SgfError as exc:
        raise RecordError(f"{where}: {exc}") from None
    size = game.size  # type: ignore[attr-defined]
    if record.size != size:
        raise RecordError(
            f"{where}: a {record.size}x{record.size} game; the data is for {spec} ({size}x{size})"
        )
    try:
        states = replay(game, record)
    except SgfError as exc:
        raise RecordError(f"{where}: {exc}") from None
    result = (record.result or "").strip().upper()
    if result.startswith(("B+", "W+")):
        winner = 0 if result[0] == "B" else 1
        returns = (1.0, -1.0) if winner == 0 else (-1.0, 1.0)
    elif result in ("0", "DRAW", "JIGO"):
        returns = (0.0, 0.0)
    elif game.current_player(states[-1]) == TERMINAL:
        # No usable RE (absent, "?", "Void"): score the end as the rules do.
        returns = tuple(float(r) for r in game.returns(states[-1]))
    else:
        raise RecordError(
            f"{where}: no result (RE[{record.result or ''}]) and the game does not end with "
            f"two passes after its {len(record.moves)} moves"
        )
    return GameLine(where, tuple(record.actions), returns)


def distinct_games(lines: Sequence[GameLine]) -> int:
    """How many different move sequences ``lines`` hold."""
    return len({line.actions for line in lines})


# -- positions ------------------------------------------------------------------------------------
def positions(
    lines: Sequence[GameLine],
    game: Game,
    *,
    augment: bool = False,
    opening_moves: int | None = None,
) -> dict[str, np.ndarray]:
    """Every decision of ``lines`` as training arrays (keys and shapes in the module docstring).

    Args:
        lines: games from :func:`load_records`.
        game: the rules they were replayed with.
        augment: add each row's images under the game's symmetries (:func:`symmetries`).
        opening_moves: leave out the first this many decisions of every game: moves played
            at random (``rlkit play --opening-moves K``) are not the players' choices and
            should not be imitated. None: each line's own :attr:`GameLine.opening`.

    Returns:
        ``x`` [N, *obs], ``legal_mask`` [N, A], ``move`` [N], ``result`` [N], ``game`` [N]
        (the index of the first line with the same moves).
    """
    xs, masks, moves, results, ids = [], [], [], [], []
    first: dict[tuple[int, ...], int] = {}
    for number, line in enumerate(lines):
        index = first.setdefault(line.actions, number)
        skip = line.opening if opening_moves is None else opening_moves
        state = game.initial_state()
        decisions = 0
        for action in line.actions:
            player = game.current_player(state)
            if player >= 0 and decisions >= skip:
                xs.append(game.observation(state, player))
                masks.append(game.legal_mask(state))
                moves.append(action)
                results.append(line.returns[player])
                ids.append(index)
            decisions += player >= 0
            state = game.apply(state, action)
    shape = game.info.observation_shape
    arrays = {
        "x": np.stack(xs).astype(np.float32) if xs else np.zeros((0, *shape), np.float32),
        "legal_mask": (
            np.stack(masks).astype(bool) if masks else np.zeros((0, game.info.num_actions), bool)
        ),
        "move": np.asarray(moves, dtype=np.int64),
        "result": np.asarray(results, dtype=np.float32),
        "game": np.asarray(ids, dtype=np.int64),
    }
    return _augment(arrays, game) if augment else arrays


# -- symmetries -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Symmetry:
    """One symmetry of a board game: a rotation/reflection of the board and its action map.

    The board transform acts on the last two axes of an observation (rows, columns):
    ``rotations`` quarter turns counter-clockwise (:func:`numpy.rot90`), then a left-right
    mirror when ``mirror`` is set. ``action_map[a]`` is the image of action ``a``; it is
    derived by moving an index grid with the same transform, so the two always agree.

    Example (3x3, actions ``row * 3 + col``): a quarter turn counter-clockwise takes the
    top-right corner (action 2) to the top-left (action 0), so ``action_map[2] == 0``.
    """

    name: str
    rotations: int
    mirror: bool
    action_map: np.ndarray

    def board(self, planes: np.ndarray) -> np.ndarray:
        """Transform the last two axes of ``planes`` (any leading shape)."""
        out = np.rot90(planes, self.rotations, axes=(-2, -1))
        if self.mirror:
            out = out[..., ::-1]
        return np.ascontiguousarray(out)

    def actions(self, actions: np.ndarray) -> np.ndarray:
        """The image of each action in ``actions`` (any shape)."""
        return self.action_map[np.asarray(actions)]

    def masks(self, masks: np.ndarray) -> np.ndarray:
        """Transform legal masks ``[..., A]``: entry ``action_map[a]`` takes entry ``a``."""
        out = np.empty_like(masks)
        out[..., self.action_map] = masks
        return out


def _dihedral(size: int, extra_actions: int) -> tuple[Symmetry, ...]:
    """The 8 symmetries of a ``size`` x ``size`` board whose actions are ``row * size + col``;
    actions from ``size * size`` on (Go's pass) map to themselves."""
    found = []
    grid = np.arange(size * size).reshape(size, size)
    for mirror in (False, True):
        for rotations in range(4):
            moved = np.rot90(grid, rotations)
            if mirror:
                moved = moved[:, ::-1]
            action_map = np.arange(size * size + extra_actions)
            action_map[moved.ravel()] = np.arange(size * size)  # point p lands where it shows
            name = ("mirror+" if mirror else "") + f"rot{90 * rotations}"
            found.append(Symmetry(name, rotations, mirror, action_map))
    return tuple(found)


def symmetries(game: Game) -> tuple[Symmetry, ...]:
    """The board symmetries that keep ``game``'s rules, the identity first.

    Go (any size, pass fixed) and tic-tac-toe: the 8 of the square. Connect four: the
    left-right mirror (columns ``c`` and ``6 - c``; gravity rules out the rest). Other games
    (backgammon): the identity alone.
    """
    name = game.info.name
    if name == "go":
        return _dihedral(game.size, 1)  # type: ignore[attr-defined]
    if name == "tictactoe":
        return _dihedral(3, 0)
    identity = Symmetry("rot0", 0, False, np.arange(game.info.num_actions))
    if name == "connect_four":
        columns = game.info.num_actions
        return identity, Symmetry("mirror", 0, True, np.arange(columns)[::-1].copy())
    return (identity,)


def augment(arrays: dict[str, np.ndarray], game: Game) -> dict[str, np.ndarray]:
    """``arrays`` (from :func:`positions`) followed by their images under each non-identity
    symmetry of ``game``: ``len(symmetries(game))`` times as many rows; ``game`` ids kept."""
    return _augment(arrays, game)


def _augment(arrays: dict[str, np.ndarray], game: Game) -> dict[str, np.ndarray]:
    images = [arrays]
    for symmetry in symmetries(game)[1:]:
        image = dict(arrays)
        image["x"] = symmetry.board(arrays["x"])
        image["legal_mask"] = symmetry.masks(arrays["legal_mask"])
        image["move"] = symmetry.actions(arrays["move"])
        images.append(image)
    return {key: np.concatenate([image[key] for image in images]) for key in arrays}


# -- splitting ------------------------------------------------------------------------------------
def split_by_game(
    arrays: dict[str, np.ndarray], fraction: float, *, seed: int = 0
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Split rows into (kept, held out) with whole games on one side.

    ``round(fraction * games)`` games (at least one when ``fraction > 0`` and there are two or
    more) are drawn with a generator seeded by ``seed``; every row of theirs (augmented images
    included) is held out.

    Raises:
        RlkitError: ``fraction`` outside ``[0, 1)``, or no ``game`` column.
    """
    if not 0.0 <= fraction < 1.0:
        raise RlkitError(f"the hold-out fraction must be in [0, 1), got {fraction}")
    if "game" not in arrays:
        raise RlkitError("positions have no 'game' column to split by")
    games = np.unique(arrays["game"])
    count = round(fraction * len(games))
    if fraction > 0 and len(games) >= 2:
        count = min(max(count, 1), len(games) - 1)
    rng = np.random.default_rng(seed)
    held = rng.choice(games, size=count, replace=False) if count else games[:0]
    out = np.isin(arrays["game"], held)
    return (
        {k: v[~out] for k, v in arrays.items()},
        {k: v[out] for k, v in arrays.items()},
    )


# -- shards ---------------------------------------------------------------------------------------
def save_shards(
    arrays: dict[str, np.ndarray],
    folder: str | Path,
    shard_size: int = 100_000,
    *,
    game: str,
    overwrite: bool = False,
) -> Path:
    """Write ``arrays`` as compressed ``.npz`` shards of ``shard_size`` rows plus a manifest.

    Each file is written atomically; the manifest comes last, so a folder with a manifest is
    complete. Manifest (JSON)::

        {"format": "rlkit-positions", "version": 1, "game": "connect4", "count": 61234,
         "keys": {"x": {"shape": [3, 6, 7], "dtype": "float32"}, ...},
         "shards": [{"file": "shard_00000.npz", "count": 50000, "sha256": "..."}, ...]}

    Args:
        arrays: equal-length arrays (e.g. from :func:`positions`).
        folder: where to write (created).
        shard_size: rows per shard.
        game: the game spec the positions are of (checked when loading).
        overwrite: replace a set already in ``folder``.

    Returns:
        The manifest's path.

    Raises:
        ShardError: unequal lengths, a bad ``shard_size``, or an existing set without
            ``overwrite``.
    """
    from rlkit.checkpoint import write_atomically

    folder = Path(folder)
    if shard_size <= 0:
        raise ShardError(f"shard_size must be positive, got {shard_size}")
    lengths = {len(v) for v in arrays.values()}
    if len(lengths) != 1:
        raise ShardError(f"arrays have different lengths {sorted(lengths)}")
    if (folder / MANIFEST).exists() and not overwrite:
        raise ShardError(f"{folder} already holds a position set ({MANIFEST})")
    count = lengths.pop()
    shards = []
    for number, start in enumerate(range(0, max(count, 1), shard_size)):
        part = {k: np.ascontiguousarray(v[start : start + shard_size]) for k, v in arrays.items()}
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **part)
        data = buffer.getvalue()
        name = f"shard_{number:05d}.npz"
        write_atomically(folder / name, lambda tmp, data=data: Path(tmp).write_bytes(data))
        shards.append(
            {
                "file": name,
                "count": len(next(iter(part.values()))),
                "sha256": hashlib.sha256(data).hexdigest(),
            }
        )
    manifest = {
        "format": MANIFEST_FORMAT,
        "version": MANIFEST_VERSION,
        "game": game,
        "count": count,
        "keys": {k: {"shape": list(v.shape[1:]), "dtype": str(v.dtype)} for k, v in arrays.items()},
        "shards": shards,
    }
    text = json.dumps(manifest, indent=1)
    write_atomically(folder / MANIFEST, lambda tmp: Path(tmp).write_text(text))
    return folder / MANIFEST


def read_manifest(folder: str | Path) -> dict[str, Any]:
    """The manifest of a shard folder.

    Raises:
        ShardError: missing or unreadable manifest.
    """
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise ShardError(f"{str(folder)!r} holds no position set (no {MANIFEST})")
    try:
        manifest = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ShardError(f"{path}: unreadable manifest ({type(exc).__name__})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        raise ShardError(f"{path} is not an rlkit position manifest")
    if manifest.get("version") != MANIFEST_VERSION:
        raise ShardError(
            f"{path} has version {manifest.get('version')}; this rlkit reads {MANIFEST_VERSION}"
        )
    return manifest


def load_shards(folder: str | Path, *, game: str | None = None) -> dict[str, np.ndarray]:
    """Read a set written by :func:`save_shards`, checking every shard against the manifest.

    Args:
        folder: the set's folder.
        game: when given, the game spec the positions must be of: its name, action count and
            observation shape must match the manifest's game.

    Raises:
        ShardError: a missing, corrupt or altered shard (checksum), shapes unlike the
            manifest's, or positions of another game.
    """
    folder = Path(folder)
    manifest = read_manifest(folder)
    try:
        keys = manifest["keys"]
        entries = manifest["shards"]
        stored_game = manifest["game"]
    except KeyError as exc:
        raise ShardError(f"{folder / MANIFEST} lacks {exc}") from None
    if game is not None:
        _check_same_game(stored_game, game, folder)
    parts: dict[str, list[np.ndarray]] = {k: [] for k in keys}
    for entry in entries:
        path = folder / entry["file"]
        try:
            data = path.read_bytes()
        except OSError:
            raise ShardError(f"shard {path} is missing") from None
        if hashlib.sha256(data).hexdigest() != entry.get("sha256"):
            raise ShardError(f"shard {path} is corrupt (its checksum differs from the manifest)")
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as npz:
                loaded = {k: npz[k] for k in keys}
        except (OSError, ValueError, KeyError, EOFError) as exc:
            raise ShardError(f"shard {path} is corrupt ({type(exc).__name__})") from None
        for key, spec in keys.items():
            array = loaded[key]
            if list(array.shape[1:]) != spec["shape"] or str(array.dtype) != spec["dtype"]:
                raise ShardError(
                    f"shard {path}: {key} is {array.dtype}{list(array.shape[1:])}, the manifest "
                    f"says {spec['dtype']}{spec['shape']}"
                )
            if len(array) != entry["count"]:
                raise ShardError(f"shard {path} holds {len(array)} rows, not {entry['count']}")
            parts[key].append(array)
    return {k: np.concatenate(v) for k, v in parts.items()}


def _check_same_game(stored: str, wanted: str, folder: Path) -> None:
    from rlkit.registry import make_game

    if stored == wanted:
        return
    a, b = make_game(stored).info, make_game(wanted).info
    if (a.name, a.num_actions, a.observation_shape) != (b.name, b.num_actions, b.observation_shape):
        raise ShardError(f"{folder} holds positions of {stored!r}, not of {wanted!r}")
