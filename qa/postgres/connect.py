"""Connections to the index database: clear errors, the `vector` extension checked, and a small pool
of connections per list of URLs (replicas in turn) that drops a broken connection, so that the next
question reconnects, to the same server or, after a failover, to the one that answers now."""

from __future__ import annotations

import contextlib
import itertools
import re
import threading
from types import ModuleType
from typing import TYPE_CHECKING

from qa.errors import DatabaseError, DependencyError

if TYPE_CHECKING:
    import numpy as np
    import psycopg

MIN_PGVECTOR = (0, 8)  # iterative index scans
CONNECT_TIMEOUT_S = 5


def psycopg_module() -> ModuleType:
    """psycopg, imported on first use."""
    try:
        import psycopg
    except ImportError as exc:
        raise DependencyError("the PostgreSQL index needs psycopg and pgvector: "
                              "pip install -e '.[postgres]'") from exc
    return psycopg


def redact(url: str) -> str:
    """The URL without its password."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


def reason(exc: Exception) -> str:
    """The server's or libpq's reason, on one line, without the address (the message names it)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    first = re.sub(r'^(connection failed: )?(connection to server at "[^"]+" \([^)]*\), port \d+ failed: |'
                   r'connection to server at "[^"]+", port \d+ failed: )?(FATAL: +)?', "",
                   lines[0] if lines else "")
    rest = " ".join(lines[1:])
    return f"{first} ({rest})" if rest else first


def connect(url: str, *, autocommit: bool = True, create_extension: bool = False) -> psycopg.Connection:
    """A connection with pgvector's types registered. A wrong address or login, and a database
    without the `vector` extension, are one clear `DatabaseError`."""
    psycopg = psycopg_module()
    try:
        conn = psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S)
    except psycopg.Error as exc:
        raise DatabaseError(f"cannot connect to the index database {redact(url)}: {reason(exc)}") from exc
    try:
        _check_vector(conn, url, create_extension)
        from pgvector.psycopg import register_vector

        register_vector(conn)
        _load_vectors_as_arrays(conn)
    except BaseException:
        conn.close()
        raise
    conn.autocommit = autocommit
    return conn


def _load_vectors_as_arrays(conn: psycopg.Connection) -> None:
    """Vectors read in binary become float32 numpy arrays (not pgvector's `Vector`)."""
    import numpy as np
    from psycopg.adapt import Loader

    class ArrayLoader(Loader):
        format = psycopg_module().pq.Format.BINARY

        def load(self, data: bytes | bytearray | memoryview) -> np.ndarray:
            # pgvector's binary form: dimension and a reserved word (uint16 each), big-endian float32s
            return np.frombuffer(data, dtype=">f4", offset=4).astype(np.float32)

    conn.adapters.register_loader(conn.adapters.types["vector"].oid, ArrayLoader)  # set by register_vector


def _check_vector(conn: psycopg.Connection, url: str, create: bool) -> None:
    psycopg = psycopg_module()
    row = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone()
    if row is None and create:
        with contextlib.suppress(psycopg.Error):  # not allowed: said below
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        row = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone()
    if row is None:
        raise DatabaseError(f"the database {redact(url)} has no `vector` extension: run `CREATE EXTENSION "
                            "vector;` in it as a superuser (the server needs pgvector 0.8 or later)")
    version = tuple(int(p) for p in re.findall(r"\d+", row[0])[:2])
    if version < MIN_PGVECTOR:
        raise DatabaseError(f"the database {redact(url)} has pgvector {row[0]}; 0.8 or later is needed: "
                            "ALTER EXTENSION vector UPDATE;")


class Pool:
    """Connections to any of `urls` (taken in turn for each new connection; the next is tried when
    one cannot be reached). A connection comes back with `give`, or is dropped with `drop`."""

    def __init__(self, urls: list[str], *, setup: str = "SELECT 1", keep: int = 8):
        """`setup`: SQL run on each new connection (session settings)."""
        if not urls:
            raise DatabaseError("no database URL is configured (QA_DATABASE_URL)")
        self.urls, self._setup = urls, setup
        self._turn = itertools.cycle(range(len(urls)))
        self._idle: list[psycopg.Connection] = []
        self._keep = keep
        self._lock = threading.Lock()

    def take(self) -> psycopg.Connection:
        with self._lock:
            if self._idle:
                return self._idle.pop()
            start = next(self._turn)
        errors = []
        for i in range(len(self.urls)):
            url = self.urls[(start + i) % len(self.urls)]
            try:
                conn = connect(url)
                conn.execute(self._setup)
                conn.autocommit = False
                return conn
            except DatabaseError as exc:
                errors.append(str(exc))
        raise DatabaseError("; ".join(errors))

    def give(self, conn: psycopg.Connection) -> None:
        with self._lock:
            if not conn.closed and len(self._idle) < self._keep:
                self._idle.append(conn)
                return
        conn.close()

    @staticmethod
    def drop(conn: psycopg.Connection) -> None:
        with contextlib.suppress(Exception):  # a broken connection may fail to close; it is gone either way
            conn.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            self.drop(conn)
