"""The results store of ``rlkit tournament``: one SQLite file that survives ``kill -9``.

``OUT/results.sqlite`` holds two tables:

- ``tournament`` (``key TEXT PRIMARY KEY, value TEXT``): ``kind`` = ``"rlkit tournament"``,
  ``version`` and ``plan``, the JSON of everything needed to play the tournament again
  (agents, game, pairings, games per pairing, seed, ...), so ``--resume DIR`` needs nothing
  else;
- ``games``: one row per finished game, keyed by ``(pairing, game)``. ``a``, ``b`` and ``score``
  (a's score: 1 win, 0.5 draw, 0 loss) are what ``rlkit ratings`` reads; the other columns say
  who had the first move, the points, the moves, and why a game was forfeited.

Durability: the file is in WAL mode and every finished game is its own transaction, inserted
with ``INSERT OR IGNORE`` on the primary key, so a replayed game cannot count twice and a
stored result is never rewritten. ``synchronous=NORMAL`` keeps every committed game through
a crash of the process (SQLite's WAL documentation: only an operating-system crash or power
cut can lose the last commits, and never corrupts the file). Only the tournament's parent
process writes; workers send their results to it.

A new store is written under a temporary name and renamed into place
(:func:`rlkit.checkpoint.write_atomically`), so a kill while it is being created never leaves a
half-made file behind.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

from rlkit.errors import RlkitError

STORE_NAME = "results.sqlite"
STORE_KIND = "rlkit tournament"
STORE_VERSION = 1

GAME_COLUMNS = (
    "pairing",
    "game",
    "a",
    "b",
    "score",
    "first",
    "points_a",
    "points_b",
    "plies",
    "truncated",
    "forfeit",
    "reason",
    "moves",
    "seconds",
    "finished",
)
"""Columns of the ``games`` table, in order (also the columns of ``results.csv``)."""

_SCHEMA = """
CREATE TABLE tournament (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE games (
    pairing INTEGER NOT NULL,   -- index into the plan's pairings
    game INTEGER NOT NULL,      -- index of the game within its pairing
    a TEXT NOT NULL,            -- the pairing's first agent
    b TEXT NOT NULL,            -- the pairing's second agent
    score REAL NOT NULL,        -- a's score: 1 win, 0.5 draw, 0 loss
    first TEXT NOT NULL,        -- the agent that played player 0 (moved first)
    points_a REAL,              -- a's return from the game (NULL when forfeited)
    points_b REAL,
    plies INTEGER NOT NULL,     -- moves played, chance events included
    truncated INTEGER NOT NULL, -- 1 when the game hit its maximum length (a draw)
    forfeit TEXT,               -- the agent that lost by crashing or timing out, else NULL
    reason TEXT,                -- why it forfeited
    moves TEXT NOT NULL,        -- the moves in the game's notation, space separated
    seconds REAL NOT NULL,      -- wall time of the game (the only column that varies by run)
    finished TEXT NOT NULL,     -- UTC time the row was stored
    PRIMARY KEY (pairing, game)
);
"""


class StoreError(RlkitError):
    """A results file that is missing, corrupt, or not an rlkit tournament's."""


def _connect(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level=None, timeout=30.0)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    return connection


class TournamentStore:
    """An open ``results.sqlite``. Build with :meth:`create` or :meth:`open`."""

    def __init__(self, path: Path, connection: sqlite3.Connection, plan: dict[str, Any]) -> None:
        self.path = path
        self._db = connection
        self.plan = plan
        """The plan as stored (a JSON object)."""

    @classmethod
    def create(cls, path: str | os.PathLike[str], plan: dict[str, Any]) -> TournamentStore:
        """Create a new store holding ``plan`` (a JSON-able dict).

        Raises:
            StoreError: ``path`` already exists.
        """
        from rlkit.checkpoint import write_atomically

        path = Path(path)
        if path.exists():
            raise StoreError(f"{path} already exists")

        def build(tmp: str) -> None:
            # An empty file (as write_atomically hands it over) is an empty SQLite database.
            connection = sqlite3.connect(tmp, isolation_level=None)
            try:
                connection.executescript(_SCHEMA)
                connection.execute("BEGIN")
                connection.executemany(
                    "INSERT INTO tournament (key, value) VALUES (?, ?)",
                    [
                        ("kind", STORE_KIND),
                        ("version", str(STORE_VERSION)),
                        ("plan", json.dumps(plan, sort_keys=True)),
                        ("created", _utc_now()),
                    ],
                )
                connection.execute("COMMIT")
            finally:
                connection.close()

        write_atomically(path, build)
        return cls.open(path)

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> TournamentStore:
        """Open an existing store and read its plan.

        Raises:
            StoreError: no such file, not an SQLite file, or not made by ``rlkit tournament``.
        """
        path = Path(path)
        if not path.is_file():
            raise StoreError(f"{path} does not exist (no tournament to resume there)")
        # Check read-only first: switching a foreign file to WAL would rewrite its header.
        try:
            reader = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{path} is not a readable SQLite file ({exc})") from None
        try:
            plan = _read_plan(reader, path)
        finally:
            reader.close()
        return cls(path, _connect(path), plan)

    def finished_keys(self) -> set[tuple[int, int]]:
        """The ``(pairing, game)`` keys of every stored game."""
        try:
            return {(p, g) for p, g in self._db.execute("SELECT pairing, game FROM games")}
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path} is corrupt ({exc})") from None

    def add(self, row: dict[str, Any]) -> bool:
        """Store one finished game in its own transaction; False if its key was already there.

        ``row`` has every column of :data:`GAME_COLUMNS` except ``finished``.
        """
        values = {**row, "finished": _utc_now()}
        cursor = self._db.execute(
            f"INSERT OR IGNORE INTO games ({', '.join(GAME_COLUMNS)}) "
            f"VALUES ({', '.join('?' * len(GAME_COLUMNS))})",
            [values[c] for c in GAME_COLUMNS],
        )
        return cursor.rowcount == 1

    def rows(self) -> list[dict[str, Any]]:
        """Every stored game as a dict of :data:`GAME_COLUMNS`, in (pairing, game) order."""
        try:
            cursor = self._db.execute(
                f"SELECT {', '.join(GAME_COLUMNS)} FROM games ORDER BY pairing, game"
            )
            return [dict(zip(GAME_COLUMNS, row, strict=True)) for row in cursor]
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path} is corrupt ({exc})") from None

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> TournamentStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _read_plan(connection: sqlite3.Connection, path: Path) -> dict[str, Any]:
    """Check that ``connection`` is an rlkit tournament store; return its plan."""
    try:
        tables = {
            row[0]
            for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
        if not {"tournament", "games"} <= tables:
            raise StoreError(f"{path} is not an rlkit tournament's results file")
        meta = dict(connection.execute("SELECT key, value FROM tournament").fetchall())
        if meta.get("kind") != STORE_KIND:
            raise StoreError(f"{path} is not an rlkit tournament's results file")
        if meta.get("version") != str(STORE_VERSION):
            raise StoreError(
                f"{path} is a version {meta.get('version')} tournament file; this rlkit reads "
                f"version {STORE_VERSION}"
            )
        plan = json.loads(meta["plan"])
        if not isinstance(plan, dict):
            raise ValueError("the plan is not a JSON object")
        columns = {row[1] for row in connection.execute("PRAGMA table_info(games)")}
        missing = set(GAME_COLUMNS) - columns
        if missing:
            raise ValueError(f"the games table lacks {sorted(missing)}")
    except sqlite3.DatabaseError as exc:
        if "not a database" in str(exc):
            raise StoreError(f"{path} is not a readable SQLite file ({exc})") from None
        raise StoreError(f"{path} is corrupt ({exc}); it cannot be resumed") from None
    except (KeyError, ValueError) as exc:
        raise StoreError(f"{path} is corrupt ({exc}); it cannot be resumed") from None
    return plan


def _utc_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
