"""番号法 §20, from a legal audit: the Individual Number typed where it does not belong was repeated on the
operator's console (`--birth 123456789018`, `--shelter 1234-5678-9018`, argparse's own "invalid choice"),
written to the kiosk's access log as the path asked for (`GET /staff/person/1234-5678-9018`), and HQ's
lost-connection warning wrote the path, which may be a household's secret /prereg/manage/<secret> link.
Now the refusals say the value is not shown, the access log stars the number's digits out, and HQ names
the page's route.  Real `evac` processes, a real `evac kiosk serve`, HQ on a real PostgreSQL."""
from __future__ import annotations

import logging
import urllib.error
import urllib.request

import pytest

from tests.conftest import Server, evac_cmd, free_port, run_evac

NUMBER = "1234-5678-9018"    # a valid check digit (no one's)
NOT_SHOWN = ("（個人番号と思われる数字は表示しません）", "(a number that looks like an Individual Number is not shown)")


@pytest.fixture
def kiosk_db(tmp_path):
    db = tmp_path / "kiosk.sqlite3"
    made = run_evac("kiosk", "checkin", "--new", "--db", str(db), "--shelter", "H001", "--name", "山田 花子",
                    "--birth", "1970-01-01", "--sex", "female", "--address", "焼津市本町1-1")
    assert made.returncode == 0, made.stderr
    return db


def _checkin(db, **given: str) -> list[str]:
    options = {"shelter": "H001", "name": "山田 太郎", "birth": "1970-01-01", "sex": "male", **given}
    typed = [x for k, v in options.items() for x in (f"--{k.replace('_', '-')}", v)]
    return ["kiosk", "checkin", "--db", str(db), *typed]


@pytest.mark.parametrize("value", ["123456789018", NUMBER, "１２３４ ５６７８ ９０１８"])
@pytest.mark.parametrize("option", ["birth", "shelter", "sex", "stay_type"])
def test_a_checkin_refusal_does_not_repeat_the_number(kiosk_db, option, value):
    refused = run_evac(*_checkin(kiosk_db, **{option: value}))
    said = refused.stdout + refused.stderr
    assert refused.returncode != 0 and "Traceback" not in said, said
    assert "5678" not in said and "５６７８" not in said, said
    assert NOT_SHOWN[0] in said and NOT_SHOWN[1] in said, said
    assert f"--{option.replace('_', '-')}" in said, said   # it still says which option to correct


@pytest.mark.parametrize("args", [
    ["transfer", "--name", "山田 花子", "--birth", "1970-01-01", "--address", "焼津市本町1-1", "--to", NUMBER],
    ["checkout", "--name", "山田 花子", "--birth", NUMBER],
    ["withdraw", "--seq", NUMBER],
    ["sync", "--hq", NUMBER, "--token", "x"],
    ["serve", "--shelter", "H001", "--port", NUMBER],
    ["serve", "--shelter", "H001", "--screen-timeout", NUMBER],
    ["add-staff", "--name", "sato", "--role", NUMBER],
])
def test_other_kiosk_commands_do_not_repeat_the_number(kiosk_db, args):
    refused = run_evac("kiosk", args[0], "--db", str(kiosk_db), *args[1:], input="")
    said = refused.stdout + refused.stderr
    assert refused.returncode != 0 and "Traceback" not in said, said
    assert "5678" not in said and NOT_SHOWN[1] in said, said


def test_a_value_without_the_number_is_still_quoted(kiosk_db):
    refused = run_evac(*_checkin(kiosk_db, birth="1970-13-45x"))
    assert "'1970-13-45x'" in refused.stderr and NOT_SHOWN[1] not in refused.stderr, refused.stderr
    refused = run_evac(*_checkin(kiosk_db, shelter="H999"))
    assert "'H999'" in refused.stderr, refused.stderr


def test_the_kiosk_access_log_stars_out_a_number_in_a_path(kiosk_db, tmp_path):
    port = free_port()
    server = Server(evac_cmd("kiosk", "serve", "--db", str(kiosk_db), "--shelter", "H001", "--port", str(port)),
                    f"http://127.0.0.1:{port}", tmp_path / "kiosk.log", "/api/status")
    try:
        for path in (f"/staff/person/{NUMBER}", "/staff/person/%EF%BC%91%EF%BC%92%EF%BC%93%EF%BC%94"
                     "%EF%BC%95%EF%BC%96%EF%BC%97%EF%BC%98%EF%BC%99%EF%BC%90%EF%BC%91%EF%BC%98",
                     "/staff/person/42"):
            try:
                urllib.request.urlopen(server.url + path, timeout=30).close()
            except urllib.error.HTTPError:
                pass
    finally:
        server.stop()
    log = server.log_path.read_text()
    assert "5678" not in log and "９０１８" not in log and "%EF%BC%99" not in log, log
    assert '"GET /staff/person/****-****-****"' in log, log
    assert '"GET /staff/person/************"' in log, log
    assert '"GET /staff/person/42"' in log, log   # other paths as they were


@pytest.mark.parametrize("hq_db_url", ["postgresql"], indirect=True)
def test_hqs_lost_connection_warning_names_the_route_not_the_secret_link(hq_db_url, hq_app, hq_client, caplog):
    from sqlalchemy import text

    from hq_dashboard.db import db
    from tests.test_hq_postgres_reconnect import cut_connections

    @hq_app.before_request
    def cut_this_requests_connection():
        pid = db.session.execute(text("SELECT pg_backend_pid()")).scalar()
        cut_connections(hq_app.config["SQLALCHEMY_DATABASE_URI"], pid)

    secret = "Zq7secretLinkOfAHousehold_made-by-secrets_x"   # the shape of a real one (43 characters)
    with caplog.at_level(logging.WARNING):
        answer = hq_client.get(f"/prereg/manage/{secret}")
    assert answer.status_code == 503
    said = "\n".join(r.getMessage() for r in caplog.records)
    assert "connection to its database was lost" in said, said
    assert secret not in said and "GET /prereg/manage/<secret>" in said, said
