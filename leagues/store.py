"""The league's store: one SQLite file (``RUN/league.sqlite``) that survives ``kill -9``.

Tables:

- ``meta`` (key, value): ``kind`` = ``"rlkit league"``, ``version``, ``config`` (the run's
  config as JSON), ``supervised`` (the supervised start's checkpoint, once made);
- ``players``: every player, learning or frozen: name, role, learner, parent (snapshots),
  checkpoint (a file, or an agent spec for fixed frozen players), ``steps`` (environment steps
  trained, across resets), ``snapshot_steps`` (``steps`` at the last snapshot), ``frozen``,
  the round it joined, and how often it was reset;
- ``rounds``: one row per round with its ``phase`` (``matched`` -> ``trained`` -> ``done``) and,
  once trained, the tournament plan of its payoff matches (JSON) and the plan's agent specs
  mapped to player names;
- ``assignments``: the opponent each learner was given in a round, the rule's branch, and, once
  it has trained, its metrics;
- ``results``: one row per payoff game, keyed ``(round, pairing, game)``; ``a`` and ``b`` are
  player names and ``score`` is ``a``'s (1, 0.5, 0), which is what ``rlkit ratings`` reads.

Creating, opening and checking the file is :mod:`rlkit.sqlite_store`'s, shared with
:mod:`rlkit.tournament_store`. Durability, as there: WAL, ``synchronous=NORMAL``, one transaction
per result (``INSERT OR IGNORE`` on the key, so a replayed game never counts twice), and one
transaction for each other step of a round (its matchmaking; each learner's new checkpoint
together with its step count; the round's snapshots and resets). Checkpoint files are written
atomically under new names *before* the transaction that records them, so the store never
points at a file that is not complete. The payoff is not stored: it is recomputed from the
results, in key order, whenever the store is opened, so it is exact after a resume.
"""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import astuple, dataclass, fields
from pathlib import Path
from typing import Any

from rlkit.errors import RlkitError
from rlkit.sqlite_store import SqliteStore, StoreFormat, create_store, open_store, utc_now

STORE_NAME = "league.sqlite"
STORE_KIND = "rlkit league"
STORE_VERSION = 1

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE players (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,          -- main | main_exploiter | league_exploiter | frozen
    learner TEXT,                -- learner name (learning players and their snapshots)
    parent TEXT,                 -- the learner a snapshot was taken from
    checkpoint TEXT NOT NULL,    -- checkpoint file, or an agent spec (fixed frozen players)
    steps INTEGER NOT NULL,      -- environment steps trained, across resets
    snapshot_steps INTEGER NOT NULL,
    frozen INTEGER NOT NULL,
    joined INTEGER NOT NULL,     -- the round it joined (-1: at the start)
    resets INTEGER NOT NULL
);
CREATE TABLE rounds (
    round INTEGER PRIMARY KEY,
    phase TEXT NOT NULL,         -- matched | trained | done
    plan TEXT,                   -- payoff matches: a tournament plan (JSON)
    names TEXT,                  -- the plan's agent specs -> player names (JSON)
    started TEXT NOT NULL,
    finished TEXT
);
CREATE TABLE assignments (
    round INTEGER NOT NULL,
    player TEXT NOT NULL,
    opponent TEXT NOT NULL,
    opponent_checkpoint TEXT NOT NULL,
    branch TEXT NOT NULL,
    trained INTEGER NOT NULL,
    metrics TEXT,
    PRIMARY KEY (round, player)
);
CREATE TABLE results (
    round INTEGER NOT NULL,
    pairing INTEGER NOT NULL,
    game INTEGER NOT NULL,
    a TEXT NOT NULL,
    b TEXT NOT NULL,
    score REAL NOT NULL,         -- a's score: 1 win, 0.5 draw, 0 loss
    first TEXT NOT NULL,         -- the player that moved first
    plies INTEGER NOT NULL,
    forfeit TEXT,
    reason TEXT,
    moves TEXT NOT NULL,
    seconds REAL NOT NULL,
    finished TEXT NOT NULL,
    PRIMARY KEY (round, pairing, game)
);
"""

RESULT_COLUMNS = (
    "round",
    "pairing",
    "game",
    "a",
    "b",
    "score",
    "first",
    "plies",
    "forfeit",
    "reason",
    "moves",
    "seconds",
    "finished",
)


class LeagueStoreError(RlkitError):
    """A league store that is missing, corrupt, or not an rlkit league's."""


FORMAT = StoreFormat(
    kind=STORE_KIND,
    version=STORE_VERSION,
    schema=_SCHEMA,
    meta_table="meta",
    tables=frozenset({"meta", "players", "rounds", "assignments", "results"}),
    error=LeagueStoreError,
    missing="no league there",
    foreign="an rlkit league store",
    noun="league store",
)
"""The file format, for :mod:`rlkit.sqlite_store`."""


@dataclass(frozen=True)
class PlayerRow:
    """One row of ``players`` (see the module docstring)."""

    name: str
    role: str
    learner: str | None
    parent: str | None
    checkpoint: str
    steps: int = 0
    snapshot_steps: int = 0
    frozen: bool = False
    joined: int = -1
    resets: int = 0


_PLAYER_COLUMNS = tuple(f.name for f in fields(PlayerRow))


class LeagueStore(SqliteStore):
    """An open ``league.sqlite``; build with :meth:`create` or :meth:`open`."""

    store_format = FORMAT

    # -- opening ----------------------------------------------------------------------------------
    @classmethod
    def create(cls, path: str | os.PathLike[str], config: dict[str, Any]) -> LeagueStore:
        """Create a new store holding ``config`` (JSON-able), written under a temporary name.

        Raises:
            LeagueStoreError: ``path`` exists.
        """
        return cls.open(create_store(path, FORMAT, {"config": json.dumps(config, sort_keys=True)}))

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> LeagueStore:
        """Open an existing store, checking it read-only first.

        Raises:
            LeagueStoreError: missing, not SQLite, not a league store, or corrupt.
        """
        path = Path(path)
        connection, _ = open_store(path, FORMAT, _check)
        return cls(path, connection)

    # -- reading ----------------------------------------------------------------------------------
    def meta(self, key: str) -> str | None:
        rows = self._query("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    def config(self) -> dict[str, Any]:
        """The run's config as stored."""
        try:
            return json.loads(self.meta("config") or "")
        except ValueError:
            raise LeagueStoreError(f"{self.path} is corrupt (its config is not JSON)") from None

    def players(self) -> list[PlayerRow]:
        """Every player, in the order they joined."""
        rows = self._query(
            f"SELECT {', '.join(_PLAYER_COLUMNS)} FROM players ORDER BY joined, rowid"
        )
        return [
            PlayerRow(*row[:7], frozen=bool(row[7]), joined=row[8], resets=row[9]) for row in rows
        ]

    def rounds(self) -> list[dict[str, Any]]:
        """Every round: ``round``, ``phase``, ``plan`` and ``names`` (parsed JSON or None)."""
        out = []
        for number, phase, plan, names in self._query(
            "SELECT round, phase, plan, names FROM rounds ORDER BY round"
        ):
            try:
                out.append(
                    {
                        "round": number,
                        "phase": phase,
                        "plan": json.loads(plan) if plan else None,
                        "names": json.loads(names) if names else None,
                    }
                )
            except ValueError:
                raise LeagueStoreError(f"{self.path} is corrupt (round {number})") from None
        return out

    def assignments(self, round_: int) -> list[dict[str, Any]]:
        """A round's assignments, in player order of insertion."""
        rows = self._query(
            "SELECT player, opponent, opponent_checkpoint, branch, trained, metrics "
            "FROM assignments WHERE round = ? ORDER BY rowid",
            (round_,),
        )
        return [
            {
                "player": p,
                "opponent": o,
                "opponent_checkpoint": c,
                "branch": b,
                "trained": bool(t),
                "metrics": json.loads(m) if m else None,
            }
            for p, o, c, b, t, m in rows
        ]

    def results(self, round_: int | None = None) -> list[dict[str, Any]]:
        """Stored games in key order (``round``, ``pairing``, ``game``), optionally of one
        round."""
        where, args = ("WHERE round = ?", (round_,)) if round_ is not None else ("", ())
        rows = self._query(
            f"SELECT {', '.join(RESULT_COLUMNS)} FROM results {where} "
            "ORDER BY round, pairing, game",
            args,
        )
        return [dict(zip(RESULT_COLUMNS, row, strict=True)) for row in rows]

    def finished_keys(self, round_: int) -> set[tuple[int, int]]:
        rows = self._query("SELECT pairing, game FROM results WHERE round = ?", (round_,))
        return {(p, g) for p, g in rows}

    # -- writing: one transaction each ------------------------------------------------------------
    def _transaction(self, statements: list[tuple[str, tuple]]) -> None:
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for sql, args in statements:
                    self._db.execute(sql, args)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            raise LeagueStoreError(f"{self.path} cannot be written ({exc})") from None

    def set_meta(self, key: str, value: str) -> None:
        self._transaction(
            [("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))]
        )

    @staticmethod
    def _insert_player(row: PlayerRow) -> tuple[str, tuple]:
        values = astuple(row)
        values = (*values[:7], int(row.frozen), row.joined, row.resets)
        return (
            f"INSERT INTO players ({', '.join(_PLAYER_COLUMNS)}) "
            f"VALUES ({', '.join('?' * len(_PLAYER_COLUMNS))})",
            values,
        )

    def add_players(self, rows: list[PlayerRow]) -> None:
        """The league's starting players, in one transaction."""
        self._transaction([self._insert_player(row) for row in rows])

    def begin_round(self, round_: int, assignments: list[dict[str, str]]) -> None:
        """Record a round's matchmaking (``player``, ``opponent``, ``opponent_checkpoint``,
        ``branch`` each)."""
        statements = [
            (
                "INSERT INTO rounds (round, phase, started) VALUES (?, 'matched', ?)",
                (round_, utc_now()),
            )
        ]
        statements += [
            (
                "INSERT INTO assignments (round, player, opponent, opponent_checkpoint, branch, "
                "trained) VALUES (?, ?, ?, ?, ?, 0)",
                (round_, a["player"], a["opponent"], a["opponent_checkpoint"], a["branch"]),
            )
            for a in assignments
        ]
        self._transaction(statements)

    def record_training(
        self, round_: int, player: str, checkpoint: str, steps: int, metrics: dict[str, float]
    ) -> None:
        """A learner's new checkpoint (already on disk) and its step count, together."""
        self._transaction(
            [
                (
                    "UPDATE players SET checkpoint = ?, steps = ? WHERE name = ?",
                    (checkpoint, steps, player),
                ),
                (
                    "UPDATE assignments SET trained = 1, metrics = ? "
                    "WHERE round = ? AND player = ?",
                    (json.dumps(metrics, sort_keys=True), round_, player),
                ),
            ]
        )

    def set_round_plan(self, round_: int, plan: dict[str, Any], names: dict[str, str]) -> None:
        """The round's payoff matches, planned once all its learners have trained."""
        self._transaction(
            [
                (
                    "UPDATE rounds SET phase = 'trained', plan = ?, names = ? WHERE round = ?",
                    (json.dumps(plan, sort_keys=True), json.dumps(names), round_),
                )
            ]
        )

    def add_result(self, round_: int, row: dict[str, Any]) -> bool:
        """One payoff game in its own transaction; False when its key was already stored."""
        values = {**row, "round": round_, "finished": utc_now()}
        try:
            cursor = self._db.execute(
                f"INSERT OR IGNORE INTO results ({', '.join(RESULT_COLUMNS)}) "
                f"VALUES ({', '.join('?' * len(RESULT_COLUMNS))})",
                [values[c] for c in RESULT_COLUMNS],
            )
        except sqlite3.DatabaseError as exc:
            raise LeagueStoreError(f"{self.path} cannot be written ({exc})") from None
        return cursor.rowcount == 1

    def finish_round(
        self,
        round_: int,
        snapshots: list[PlayerRow],
        updates: list[tuple[str, str, int, int]],
    ) -> None:
        """Close a round: new snapshot players, and for learners that were snapshotted
        ``(name, checkpoint, snapshot_steps, resets)``, in one transaction."""
        statements = [self._insert_player(row) for row in snapshots]
        statements += [
            (
                "UPDATE players SET checkpoint = ?, snapshot_steps = ?, resets = ? WHERE name = ?",
                (checkpoint, snapshot_steps, resets, name),
            )
            for name, checkpoint, snapshot_steps, resets in updates
        ]
        statements.append(
            (
                "UPDATE rounds SET phase = 'done', finished = ? WHERE round = ?",
                (utc_now(), round_),
            )
        )
        self._transaction(statements)


def _check(connection: sqlite3.Connection, meta: dict[str, str]) -> None:
    """The league's own part of the check (raises ValueError/KeyError if corrupt)."""
    config = json.loads(meta["config"])
    if not isinstance(config, dict):
        raise ValueError("its config is not a JSON object")
    connection.execute("SELECT count(*) FROM results").fetchone()
    connection.execute("SELECT count(*) FROM players").fetchone()


def resolve_league_reference(text: str) -> str | None:
    """The checkpoint a ``LEAGUE_DIR:PLAYER`` agent name means, or None if it is not one.

    ``runs/league:main`` is the current checkpoint of the learner ``main`` (as of the last
    finished round: ``runs/league/main/final.pt``), and ``runs/league:main@2`` its second
    snapshot (``runs/league/snapshots/main@2.pt``). Only names whose folder holds a
    ``league.sqlite`` are league references; nothing is opened but the file system.
    """
    folder, sep, player = text.rpartition(":")
    if not sep or not folder or not player or "=" in player:
        return None
    root = Path(folder)
    if not (root / STORE_NAME).is_file():
        return None
    snapshot = root / "snapshots" / f"{player}.pt"
    if snapshot.is_file():
        return str(snapshot)
    return str(root / player / "final.pt")
