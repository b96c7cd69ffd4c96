"""HQ's PostgreSQL password kept out of `ps` and shell history: EVAC_SQLALCHEMY_DATABASE_URI in place of
--db works for every `evac hq` command (README, step 1); and a password with "@" written as it is in the URL
(the part after it taken for the host: "failed to resolve host 'ss'") is refused with a hint to write it
URL-encoded (%40 for @, %2F for /), Japanese first.  A real `evac`, the tests' real PostgreSQL."""
from __future__ import annotations

import os
import subprocess
import uuid

import pytest
from sqlalchemy.engine import make_url

from tests.conftest import ROOT, evac_cmd, run_evac


@pytest.fixture
def pg_url(pg_base):
    from tests.postgres import create_database, drop_database
    name = f"evac_{uuid.uuid4().hex[:12]}"
    yield create_database(pg_base, name)
    drop_database(pg_base, name)


def _evac_with_env(env: dict[str, str], *args: str, input: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(evac_cmd(*args), capture_output=True, text=True, cwd=ROOT, timeout=120, input=input,
                          env={**os.environ, **env})


def test_the_database_url_can_come_from_the_environment_instead_of_db(pg_url, tmp_path):
    env = {"EVAC_SQLALCHEMY_DATABASE_URI": pg_url, "EVAC_VAR_DIR": str(tmp_path / "var")}
    init = _evac_with_env(env, "hq", "init")
    assert init.returncode == 0 and "(212 sites)" in init.stdout, init.stderr
    added = _evac_with_env(env, "hq", "add-staff", "--username", "sato", "--role", "lead",
                           input="correct horse battery\n")
    assert added.returncode == 0, added.stderr
    listed = _evac_with_env(env, "hq", "list-staff")
    assert listed.returncode == 0 and "sato" in listed.stdout, listed.stderr
    assert not (tmp_path / "var" / "hq.sqlite3").exists() and not (ROOT / "var" / "hq.sqlite3").exists()


@pytest.mark.parametrize("password", ["pa@ss", "p@ss/word"])
def test_a_password_with_an_at_sign_left_as_it_is_gets_the_hint_to_encode_it(pg_url, password):
    url = make_url(pg_url)
    given = f"postgresql+psycopg://{url.username}:{password}@{url.host}:{url.port}/{url.database}"
    refused = run_evac("hq", "list-staff", "--db", given)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr, refused.stderr
    line = next(line for line in refused.stderr.splitlines() if "本部のデータベース" in line)
    japanese, _, english = line.partition(" / ")
    assert "%40" in japanese and "%2F" in japanese and "URL" in japanese and "PGPASSWORD" in japanese, line
    assert "URL-encode" in english and "%40 for @" in english and "%2F for /" in english, line
    assert password not in refused.stderr   # the password is never shown


def test_a_host_that_does_not_resolve_without_an_at_sign_gets_no_such_hint(pg_url):
    refused = run_evac("hq", "list-staff", "--db", "postgresql+psycopg://evac:pw@no-such-host.invalid:5432/evac")
    assert refused.returncode == 2 and "本部のデータベース" in refused.stderr, refused.stderr
    assert "%40" not in refused.stderr
