"""`evac hq serve` that cannot listen leaves no half-made database behind: the SQLite file (and its key)
it seeded in this run is removed, and a database that was there before is kept as it was."""
from __future__ import annotations

import socket

from tests.conftest import run_evac


def test_serve_on_a_busy_port_removes_only_the_database_it_made(tmp_path, monkeypatch):
    monkeypatch.delenv("EVAC_SECRET_KEY", raising=False)
    new = tmp_path / "new.sqlite3"
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        result = run_evac("hq", "serve", "--db", f"sqlite:///{new}", "--port", port)
        assert result.returncode == 1, result.stderr
        assert "Traceback" not in result.stderr
        assert f"port {port} on 127.0.0.1 is in use by another program" in result.stderr
        assert f"the new database {new} was not kept" in result.stderr
        assert list(tmp_path.iterdir()) == [], list(tmp_path.iterdir())   # no database, WAL or key

        # A database that was there before the run stays, with its key.
        assert run_evac("hq", "init", "--db", str(new)).returncode == 0
        before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
        assert {"new.sqlite3", "new.sqlite3.secret-key"} <= set(before)
        result = run_evac("hq", "serve", "--db", str(new), "--port", port)
        assert result.returncode == 1 and "is in use by another program" in result.stderr, result.stderr
        assert "was not kept" not in result.stderr
    assert new.exists() and new.stat().st_size > 0
    assert (tmp_path / "new.sqlite3.secret-key").read_bytes() == before["new.sqlite3.secret-key"]
