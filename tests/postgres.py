"""A real PostgreSQL for the tests, started from Debian's package when none is given.

Set EVAC_TEST_PG_URL (e.g. postgresql+psycopg://user@host:5432/) to use a
running server instead.  Otherwise a private throwaway cluster is created in
a temporary folder on a free port, tuned for speed (fsync off: it is thrown
away), and stopped when the test session ends.
"""
from __future__ import annotations

import atexit
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time

_server: dict[str, str] = {}


def _bin_dir() -> str | None:
    dirs = glob.glob("/usr/lib/postgresql/*/bin")
    dirs = [d for d in dirs if os.path.exists(os.path.join(d, "pg_ctl"))]
    return max(dirs, key=lambda d: int(d.split("/")[-2])) if dirs else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_owner(cmd: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root: run it as Debian's postgres user then.
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def postgres_server() -> str | None:
    """Base URL (ending in '/') of a server the tests may create databases on, or None."""
    if os.environ.get("EVAC_TEST_PG_URL"):
        return os.environ["EVAC_TEST_PG_URL"].rstrip("/") + "/"
    if "url" in _server:
        return _server["url"]
    bins = _bin_dir()
    if bins is None:
        return None
    data = tempfile.mkdtemp(prefix="evac-pg-")
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        os.chown(data, pw.pw_uid, pw.pw_gid)
    subprocess.run(_as_owner([f"{bins}/initdb", "-D", data, "-U", "evac", "--auth=trust", "-E", "UTF8",
                              "--locale=C", "--no-sync"]), check=True, capture_output=True)
    port = _free_port()
    options = (f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off"
               " -c full_page_writes=off -c max_connections=200")
    subprocess.run(_as_owner([f"{bins}/pg_ctl", "-D", data, "-o", options, "-l", f"{data}/server.log",
                              "-w", "-t", "60", "start"]), check=True, capture_output=True)

    def stop() -> None:
        subprocess.run(_as_owner([f"{bins}/pg_ctl", "-D", data, "-m", "immediate", "stop"]), capture_output=True)
        shutil.rmtree(data, ignore_errors=True)
    atexit.register(stop)
    _server["url"] = f"postgresql+psycopg://evac@127.0.0.1:{port}/"
    return _server["url"]


def _admin(base_url: str):
    import psycopg
    from sqlalchemy.engine import make_url
    url = make_url(base_url + "postgres")
    return psycopg.connect(host=url.host, port=url.port, user=url.username, password=url.password,
                           dbname="postgres", autocommit=True)


def create_database(base_url: str, name: str) -> str:
    drop_database(base_url, name)
    with _admin(base_url) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return base_url + name


def drop_database(base_url: str, name: str) -> None:
    with _admin(base_url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def wait_ready(base_url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            _admin(base_url).close()
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
