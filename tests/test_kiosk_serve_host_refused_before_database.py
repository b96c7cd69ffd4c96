"""`evac kiosk serve` refuses a --host or --tablet-host it cannot listen on, and a port in use, before it makes a
new kiosk database: a typo must not leave a stray database that a second try starts on as if it were meant.  A
--tablet-host not in ASCII (避難所.local) ended in a traceback from the tablets' certificate.  The real `evac`."""
from __future__ import annotations

import socket

import pytest

from tests.conftest import free_port, run_evac


def serve(db, *args: str):
    return run_evac("kiosk", "serve", "--db", str(db), "--shelter", "H031", *args, timeout=60)


@pytest.mark.parametrize("host", ["避難所.local", "no-such-host.invalid"])
def test_a_tablet_host_that_names_nothing_is_refused_in_words_and_no_database_is_made(tmp_path, host):
    done = serve(tmp_path / "k.sqlite3", "--port", str(free_port()), "--tablet-port", str(free_port()),
                 "--tablet-host", host)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    ja = f"{host} で待ち受けできません。そのようなアドレスやホスト名はありません（--tablet-host を確かめてください）"
    en = f"cannot listen on {host}: no such address or host name (check --tablet-host)"
    assert ja in done.stderr and en in done.stderr and done.stderr.index(ja) < done.stderr.index(en), done.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_host_not_of_this_machine_is_refused_and_no_database_is_made(tmp_path):
    done = serve(tmp_path / "k.sqlite3", "--port", str(free_port()), "--host", "192.0.2.1")
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert "cannot listen on 192.0.2.1: it is not an address of this machine (check --host)" in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_port_in_use_is_refused_and_no_database_is_made(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = serve(tmp_path / "k.sqlite3", "--host", "127.0.0.1", "--port", str(port))
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert f"port {port} on 127.0.0.1 is in use by another program" in done.stderr, done.stderr
    assert list(tmp_path.iterdir()) == []
