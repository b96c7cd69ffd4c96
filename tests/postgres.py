"""A real PostgreSQL for the tests, started from Debian's package when none is given.

Set EVAC_TEST_PG_URL (e.g. postgresql+psycopg://user:pw@host:5432/) to use a running
server instead; the tests create and drop their own databases on it.

Otherwise the first call of postgres_server() creates a private throwaway cluster
under /dev/shm/evac-pg-<uid>/ (tests.ram_disk; else /tmp/evac-pg-<uid>/) with Debian's binaries
(/usr/lib/postgresql/<newest>/bin), on a free port of 127.0.0.1, user `evac` with trust auth, tuned for speed (fsync off:
it is thrown away), and stops and removes it when the Python process exits.  As root
the cluster runs as Debian's `postgres` user, since PostgreSQL refuses to run as root.
Clusters left behind by a killed test run are cleaned up by the next one.

If the binaries are absent postgres_server() returns None and why_unavailable() says
why, so that tests can skip with a reason.
"""
from __future__ import annotations

import atexit
import glob
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time

_lock = threading.Lock()
_server: dict[str, str] = {}
_reason: list[str] = []


def why_unavailable() -> str:
    """Why postgres_server() returned None (empty if it did not)."""
    return _reason[0] if _reason else ""


def _bin_dir() -> str | None:
    found = []
    for d in glob.glob("/usr/lib/postgresql/*/bin"):
        version = d.split("/")[-2]
        if re.fullmatch(r"\d+(\.\d+)?", version) and all(
                os.access(os.path.join(d, b), os.X_OK) for b in ("initdb", "pg_ctl", "postgres")):
            found.append((float(version), d))
    return max(found)[1] if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _owner() -> pwd.struct_passwd | None:
    """The user the cluster runs as when we are root: Debian's postgres user."""
    if os.geteuid() != 0:
        return None
    return pwd.getpwnam("postgres")


def _as_owner(cmd: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return cmd
    if shutil.which("runuser"):
        return ["runuser", "-u", "postgres", "--", *cmd]
    return ["su", "postgres", "-s", "/bin/sh", "-c", " ".join(f"'{c}'" for c in cmd)]


def _run(cmd: list[str], what: str, log: str | None = None, timeout: float = 120) -> None:
    proc = subprocess.run(_as_owner(cmd), capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, cwd="/")
    if proc.returncode != 0:
        detail = (proc.stdout + proc.stderr).strip()
        if log and os.path.exists(log):
            with open(log, errors="replace") as f:
                detail += "\n--- server log ---\n" + f.read()[-4000:]
        raise RuntimeError(f"test PostgreSQL: {what} failed (exit {proc.returncode}): {' '.join(cmd)}\n{detail}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _clean_stale(parent: str, bins: str) -> None:
    """Stop and remove clusters whose test process is gone (killed runs leave them)."""
    for data in glob.glob(os.path.join(parent, "session-*")):
        try:
            with open(os.path.join(data, "owner.pid")) as f:
                pid = int(f.read().strip())
        except (OSError, ValueError):
            # Not yet written by a starting session, or broken: only old ones are ours to remove.
            try:
                if time.time() - os.path.getmtime(data) < 600:
                    continue
            except OSError:
                continue
            pid = 0
        if pid and _alive(pid):
            continue
        pgdata = os.path.join(data, "data")
        if os.path.exists(os.path.join(pgdata, "postmaster.pid")):
            subprocess.run(_as_owner([f"{bins}/pg_ctl", "-D", pgdata, "-m", "immediate", "stop"]),
                           capture_output=True, stdin=subprocess.DEVNULL, cwd="/", timeout=60)
        shutil.rmtree(data, ignore_errors=True)


def _collation(bins: str) -> list[str]:
    """A Japanese city's database sorts text as Japanese (ICU ja-JP), not by byte: HQ's ordering must
    not depend on the database's collation (hq_dashboard.merge says COLLATE "C" where it compares
    order keys), and the tests would not see it if they ran on "C".  ICU as a database's default
    collation needs PostgreSQL 15; older ones get C."""
    if float(bins.split("/")[-2]) >= 15:
        return ["--locale=C.UTF-8", "--locale-provider=icu", "--icu-locale=ja-JP"]
    return ["--locale=C"]


def _start(bins: str) -> str:
    from tests.ram_disk import scratch_root
    parent = os.path.join(scratch_root(), f"evac-pg-{os.getuid()}")
    os.makedirs(parent, mode=0o755, exist_ok=True)
    os.chmod(parent, 0o755)  # the postgres user must reach its data dir inside
    _clean_stale(parent, bins)
    data = tempfile.mkdtemp(prefix="session-", dir=parent)
    with open(os.path.join(data, "owner.pid"), "w") as f:
        f.write(str(os.getpid()))
    owner = _owner()
    if owner is not None:
        os.chown(data, owner.pw_uid, owner.pw_gid)
    pgdata = os.path.join(data, "data")
    me = os.getpid()

    def stop() -> None:
        if os.getpid() != me:  # a forked child exiting must not stop the parent's server
            return
        if os.path.exists(os.path.join(pgdata, "postmaster.pid")):
            subprocess.run(_as_owner([f"{bins}/pg_ctl", "-D", pgdata, "-m", "immediate", "stop"]),
                           capture_output=True, stdin=subprocess.DEVNULL, cwd="/", timeout=60)
        shutil.rmtree(data, ignore_errors=True)
    atexit.register(stop)

    _run([f"{bins}/initdb", "-D", pgdata, "-U", "evac", "--auth=trust", "-E", "UTF8", *_collation(bins),
          "--no-sync", "--no-instructions"], "initdb")
    log = os.path.join(data, "server.log")
    for attempt in range(3):
        port = _free_port()
        options = (f"-p {port} -k {data} -c listen_addresses=127.0.0.1"
                   " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
                   " -c max_connections=200 -c log_min_messages=warning")
        try:
            _run([f"{bins}/pg_ctl", "-D", pgdata, "-o", options, "-l", log, "-w", "-t", "60", "start"],
                 "pg_ctl start", log=log)
            break
        except RuntimeError:
            if attempt == 2:  # another process may have taken the port in between: try another
                raise
            subprocess.run(_as_owner([f"{bins}/pg_ctl", "-D", pgdata, "-m", "immediate", "stop"]),
                           capture_output=True, stdin=subprocess.DEVNULL, cwd="/", timeout=60)
    url = f"postgresql+psycopg://evac@127.0.0.1:{port}/"
    wait_ready(url)
    return url


def postgres_server() -> str | None:
    """Base URL (ending in '/') of a server the tests may create databases on, or None.

    The private cluster is started once per process and shared by all callers.
    """
    given = os.environ.get("EVAC_TEST_PG_URL")
    if given:
        from sqlalchemy.engine import make_url
        return make_url(given)._replace(database=None).render_as_string(hide_password=False).rstrip("/") + "/"
    with _lock:
        if "url" in _server:
            return _server["url"]
        if _reason:
            return None
        bins = _bin_dir()
        if bins is None:
            _reason.append("PostgreSQL server binaries not found in /usr/lib/postgresql/*/bin "
                           "(Debian package `postgresql`; scripts/setup.sh installs it as root, "
                           "or set EVAC_TEST_PG_URL)")
            return None
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                _reason.append("running as root and there is no `postgres` user to run PostgreSQL as")
                return None
        _server["url"] = _start(bins)
        return _server["url"]


def _connect(base_url: str, dbname: str, autocommit: bool = True):
    import psycopg
    from sqlalchemy.engine import make_url
    url = make_url(base_url)
    kwargs = {k: v for k, v in dict(host=url.host, port=url.port, user=url.username,
                                    password=url.password).items() if v is not None}
    return psycopg.connect(dbname=dbname, autocommit=autocommit, connect_timeout=10, **kwargs)


def create_database(base_url: str, name: str, template: str = "template0") -> str:
    """Create database `name` (dropping any old one), empty or as a copy of `template`, and return its
    full URL.  A template must have no open connection while it is copied."""
    from psycopg import sql
    drop_database(base_url, name)
    with _connect(base_url, "postgres") as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} ENCODING 'UTF8' TEMPLATE {}").format(
            sql.Identifier(name), sql.Identifier(template)))
    return base_url + name


def drop_database(base_url: str, name: str) -> None:
    from psycopg import sql
    with _connect(base_url, "postgres") as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def wait_ready(base_url: str, seconds: float = 30) -> None:
    """Wait until the server accepts connections."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            _connect(base_url, "postgres").close()
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
