"""The skeleton every rlkit run store shares: one SQLite file that survives ``kill -9``.

``rlkit tournament`` (:mod:`rlkit.tournament_store`) and ``rlkit league``
(:mod:`rlkit.leagues.store`) each keep their run in one SQLite file with a key/value meta
table (``kind``, ``version``, ``created`` and the run's own JSON) next to their result tables.
This module holds what they do alike, so there is one way to do it:

- :func:`create_store` writes a new file under a temporary name and renames it into place
  (:func:`rlkit.checkpoint.write_atomically`), so a kill while it is being created never leaves
  a half-made file behind;
- :func:`open_store` checks an existing file *read-only* first (switching a foreign file to WAL
  would rewrite its header) -- that it is SQLite, has the format's tables, the right ``kind``
  and ``version`` -- then hands the caller's own check the meta rows, and only then opens it
  for writing in WAL mode with ``synchronous=NORMAL``. SQLite's WAL documentation
  (https://www.sqlite.org/wal.html): with ``synchronous=NORMAL`` every committed transaction
  survives a crash of the process; only an operating-system crash or power cut can lose the
  last commits, and never corrupts the file;
- :class:`SqliteStore` is the open store both classes extend (path, connection, queries
  that turn a damaged file into one line, closing);
- :func:`lock_folder` takes an exclusive ``flock`` on ``FOLDER/.lock``, so two processes never
  write one run.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, ClassVar, Self, TypeVar

from rlkit.errors import RlkitError

T = TypeVar("T")


@dataclass(frozen=True)
class StoreFormat:
    """What tells one kind of store from another, and how its errors read.

    Attributes:
        kind: the ``kind`` meta value (``"rlkit tournament"``).
        version: the ``version`` meta value this rlkit reads and writes.
        schema: the SQL script creating every table (the meta table included).
        meta_table: the key/value table (``key TEXT PRIMARY KEY, value TEXT``).
        tables: tables an intact file must have.
        error: the :class:`~rlkit.errors.RlkitError` subclass raised for a bad file.
        missing: why a missing file is a problem (``"no league there"``).
        foreign: what a file of another kind is not (``"an rlkit league store"``).
        noun: what a file of another version is a version of (``"league store"``).
        corrupt_hint: appended to "is corrupt (...)" when the check fails (``""`` or
            ``"; it cannot be resumed"``).
    """

    kind: str
    version: int
    schema: str
    meta_table: str
    tables: frozenset[str]
    error: type[RlkitError]
    missing: str
    foreign: str
    noun: str
    corrupt_hint: str = ""


def utc_now() -> str:
    """The current UTC time as stored in rows (``2026-01-31T12:00:00Z``)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def create_store(path: str | os.PathLike[str], fmt: StoreFormat, rows: dict[str, str]) -> Path:
    """Create a new store at ``path`` with ``fmt``'s schema and its meta rows, atomically.

    The meta table gets ``kind``, ``version``, then ``rows`` (each value a string, e.g. JSON),
    then ``created``.

    Raises:
        fmt.error: ``path`` already exists.
    """
    from rlkit.checkpoint import write_atomically

    path = Path(path)
    if path.exists():
        raise fmt.error(f"{path} already exists")
    meta = [("kind", fmt.kind), ("version", str(fmt.version)), *rows.items()]
    meta.append(("created", utc_now()))

    def build(tmp: str) -> None:
        # An empty file (as write_atomically hands it over) is an empty SQLite database.
        connection = sqlite3.connect(tmp, isolation_level=None)
        try:
            connection.executescript(fmt.schema)
            connection.execute("BEGIN")
            connection.executemany(f"INSERT INTO {fmt.meta_table} (key, value) VALUES (?, ?)", meta)
            connection.execute("COMMIT")
        finally:
            connection.close()

    write_atomically(path, build)
    return path


def open_store(
    path: str | os.PathLike[str],
    fmt: StoreFormat,
    check: Callable[[sqlite3.Connection, dict[str, str]], T],
) -> tuple[sqlite3.Connection, T]:
    """Check ``path`` read-only, then open it for writing (WAL, ``synchronous=NORMAL``).

    Args:
        path: the store file.
        fmt: its format.
        check: the store's own check, called with the read-only connection and the meta rows
            once tables, ``kind`` and ``version`` are right; it returns what the store needs
            (e.g. its parsed plan) and raises ``KeyError``/``ValueError`` (or lets an
            ``sqlite3.DatabaseError`` through) for a corrupt file.

    Returns:
        ``(connection, check's result)``; the connection is in autocommit mode
        (``isolation_level=None``: callers open their own transactions).

    Raises:
        fmt.error: missing, not an SQLite file, of another kind or version, or corrupt.
    """
    path = Path(path)
    if not path.is_file():
        raise fmt.error(f"{path} does not exist ({fmt.missing})")
    try:
        reader = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.DatabaseError as exc:
        raise fmt.error(f"{path} is not a readable SQLite file ({exc})") from None
    try:
        result = _check(reader, path, fmt, check)
    finally:
        reader.close()
    connection = sqlite3.connect(path, isolation_level=None, timeout=30.0)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    return connection, result


def _check(
    connection: sqlite3.Connection,
    path: Path,
    fmt: StoreFormat,
    check: Callable[[sqlite3.Connection, dict[str, str]], T],
) -> T:
    """Refuse, in one line, a file that is not an intact store of ``fmt``."""
    try:
        tables = {
            row[0]
            for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
        if not fmt.tables <= tables:
            raise fmt.error(f"{path} is not {fmt.foreign}")
        meta = dict(connection.execute(f"SELECT key, value FROM {fmt.meta_table}").fetchall())
        if meta.get("kind") != fmt.kind:
            raise fmt.error(f"{path} is not {fmt.foreign}")
        if meta.get("version") != str(fmt.version):
            raise fmt.error(
                f"{path} is a version {meta.get('version')} {fmt.noun}; this rlkit reads "
                f"version {fmt.version}"
            )
        return check(connection, meta)
    except sqlite3.DatabaseError as exc:
        if "not a database" in str(exc):
            raise fmt.error(f"{path} is not a readable SQLite file ({exc})") from None
        raise fmt.error(f"{path} is corrupt ({exc}){fmt.corrupt_hint}") from None
    except (KeyError, ValueError) as exc:
        raise fmt.error(f"{path} is corrupt ({exc}){fmt.corrupt_hint}") from None


class SqliteStore:
    """An open store: its ``path`` and autocommit ``connection``; a context manager.

    Subclasses set :attr:`store_format` and are built by their own ``create``/``open``
    (from :func:`create_store` and :func:`open_store`).
    """

    store_format: ClassVar[StoreFormat]

    def __init__(self, path: Path, connection: sqlite3.Connection) -> None:
        self.path = path
        self._db = connection

    def _query(self, sql: str, args: tuple = ()) -> list[tuple]:
        """All rows of one statement; a damaged file raises the format's error, in one line."""
        try:
            return self._db.execute(sql, args).fetchall()
        except sqlite3.DatabaseError as exc:
            raise self.store_format.error(f"{self.path} is corrupt ({exc})") from None

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def lock_folder(out: Path, what: str, error: type[RlkitError]) -> IO[Any]:
    """Make ``out`` and hold an exclusive lock on it (``out/.lock``) until the handle closes.

    Args:
        out: the run folder.
        what: the kind of run, for messages (``"tournament"``, ``"league"``).
        error: the error class to raise.

    Returns:
        The open lock file; close it to release the lock (the OS releases it if the process
        dies, so a killed run never leaves the folder locked).

    Raises:
        error: the folder cannot be made or written, or another process holds the lock.
    """
    import fcntl

    try:
        out.mkdir(parents=True, exist_ok=True)
        handle = open(out / ".lock", "w")  # noqa: SIM115 (held until the caller closes it)
    except OSError as exc:
        raise error(f"cannot use {out} as a {what} folder: {exc.strerror}") from None
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise error(f"another rlkit {what} is using {out} right now") from None
    return handle
