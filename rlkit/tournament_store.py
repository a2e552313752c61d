"""The results store of ``rlkit tournament``: one SQLite file that survives ``kill -9``.

``OUT/results.sqlite`` holds two tables:

- ``tournament`` (``key TEXT PRIMARY KEY, value TEXT``): ``kind`` = ``"rlkit tournament"``,
  ``version`` and ``plan``, the JSON of everything needed to play the tournament again
  (agents, game, pairings, games per pairing, seed, ...), so ``--resume DIR`` needs nothing
  else;
- ``games``: one row per finished game, keyed by ``(pairing, game)``. ``a``, ``b`` and ``score``
  (a's score: 1 win, 0.5 draw, 0 loss) are what ``rlkit ratings`` reads; the other columns say
  who had the first move, the points, the moves, and why a game was forfeited.

Creating, opening and checking the file is :mod:`rlkit.sqlite_store`'s, shared with the
league's store. Durability: the file is in WAL mode and every finished game is its own
transaction, inserted with ``INSERT OR IGNORE`` on the primary key, so a replayed game cannot
count twice and a stored result is never rewritten. ``synchronous=NORMAL`` keeps every
committed game through a crash of the process (SQLite's WAL documentation: only an
operating-system crash or power cut can lose the last commits, and never corrupts the file).
Only the tournament's parent process writes; workers send their results to it.

A new store is written under a temporary name and renamed into place, so a kill while it is
being created never leaves a half-made file behind.
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from typing import Any

from rlkit.errors import RlkitError
from rlkit.sqlite_store import SqliteStore, StoreFormat, create_store, open_store, utc_now

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


FORMAT = StoreFormat(
    kind=STORE_KIND,
    version=STORE_VERSION,
    schema=_SCHEMA,
    meta_table="tournament",
    tables=frozenset({"tournament", "games"}),
    error=StoreError,
    missing="no tournament to resume there",
    foreign="an rlkit tournament's results file",
    noun="tournament file",
    corrupt_hint="; it cannot be resumed",
)
"""The file format, for :mod:`rlkit.sqlite_store`."""


class TournamentStore(SqliteStore):
    """An open ``results.sqlite``. Build with :meth:`create` or :meth:`open`."""

    store_format = FORMAT

    def __init__(self, path: Path, connection: sqlite3.Connection, plan: dict[str, Any]) -> None:
        super().__init__(path, connection)
        self.plan = plan
        """The plan as stored (a JSON object)."""

    @classmethod
    def create(cls, path: str | os.PathLike[str], plan: dict[str, Any]) -> TournamentStore:
        """Create a new store holding ``plan`` (a JSON-able dict).

        Raises:
            StoreError: ``path`` already exists.
        """
        return cls.open(create_store(path, FORMAT, {"plan": json.dumps(plan, sort_keys=True)}))

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> TournamentStore:
        """Open an existing store and read its plan.

        Raises:
            StoreError: no such file, not an SQLite file, or not made by ``rlkit tournament``.
        """
        path = Path(path)
        connection, plan = open_store(path, FORMAT, _read_plan)
        return cls(path, connection, plan)

    def finished_keys(self) -> set[tuple[int, int]]:
        """The ``(pairing, game)`` keys of every stored game."""
        return {(p, g) for p, g in self._query("SELECT pairing, game FROM games")}

    def add(self, row: dict[str, Any]) -> bool:
        """Store one finished game in its own transaction; False if its key was already there.

        ``row`` has every column of :data:`GAME_COLUMNS` except ``finished``.
        """
        values = {**row, "finished": utc_now()}
        cursor = self._db.execute(
            f"INSERT OR IGNORE INTO games ({', '.join(GAME_COLUMNS)}) "
            f"VALUES ({', '.join('?' * len(GAME_COLUMNS))})",
            [values[c] for c in GAME_COLUMNS],
        )
        return cursor.rowcount == 1

    def rows(self) -> list[dict[str, Any]]:
        """Every stored game as a dict of :data:`GAME_COLUMNS`, in (pairing, game) order."""
        rows = self._query(f"SELECT {', '.join(GAME_COLUMNS)} FROM games ORDER BY pairing, game")
        return [dict(zip(GAME_COLUMNS, row, strict=True)) for row in rows]


def _read_plan(connection: sqlite3.Connection, meta: dict[str, str]) -> dict[str, Any]:
    """The stored plan, once the games table is checked (raises ValueError/KeyError if
    corrupt)."""
    plan = json.loads(meta["plan"])
    if not isinstance(plan, dict):
        raise ValueError("the plan is not a JSON object")
    columns = {row[1] for row in connection.execute("PRAGMA table_info(games)")}
    missing = set(GAME_COLUMNS) - columns
    if missing:
        raise ValueError(f"the games table lacks {sorted(missing)}")
    return plan
