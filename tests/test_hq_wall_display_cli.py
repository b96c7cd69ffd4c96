"""`evac hq add-display`, `list-displays` and `revoke-display` as a lead runs them: real `evac` processes on
HQ's database (SQLite and PostgreSQL); the link they print opened through Flask's test client."""
from __future__ import annotations

import getpass
import json
import re
from urllib.parse import urlsplit

from hq_dashboard import wall_display
from hq_dashboard.db import db
from hq_dashboard.models import AuditEntry, WallDisplay
from tests.conftest import run_evac

LINK = re.compile(r"^http://10\.20\.0\.5:5000/display/([A-Za-z0-9_-]{40,})$")


def _open(client, link: str):
    path = urlsplit(link).path
    page = client.get(path)
    assert page.status_code == 200, page.status_code
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    return client.post(path, data={"csrf_token": csrf})


def _entries(app) -> list[tuple[str, str, dict]]:
    with app.app_context():
        rows = [(e.actor, e.action, json.loads(e.detail)) for e in db.session.query(AuditEntry).order_by(AuditEntry.id)]
        db.session.remove()
    return rows


def test_a_lead_adds_lists_and_revokes_a_display_from_the_command_line(hq_app, hq_db_url):
    by = f"{getpass.getuser()} (evac hq %s)"
    empty = run_evac("hq", "list-displays", "--db", hq_db_url)
    assert empty.returncode == 0 and empty.stdout == "" and "no wall displays" in empty.stderr
    assert "壁面表示はまだありません" in empty.stderr
    added = run_evac("hq", "add-display", "--db", hq_db_url, "--name", "hq-wall", "--base-url", "http://10.20.0.5:5000/")
    assert added.returncode == 0, added.stderr
    # stdout is the link and nothing else (a script may pass it on); what it is, on stderr.
    (link,) = added.stdout.splitlines()
    token = LINK.match(link).group(1)
    assert "一度だけ" in added.stderr and "once" in added.stderr and "HQ's own machine" not in added.stderr
    with hq_app.app_context():   # only its hash is kept
        (row,) = db.session.query(WallDisplay).all()
        assert row.link_hash != token and token not in json.dumps(
            [str(getattr(row, c.name)) for c in WallDisplay.__table__.columns])
        db.session.remove()
    # The default address is HQ's own on this machine, and the lead is told where that link opens.
    default = run_evac("hq", "add-display", "--db", hq_db_url, "--name", "map-wall")
    assert default.returncode == 0 and default.stdout.startswith("http://127.0.0.1:5000/display/")
    assert "HQのこのPCのブラウザでしか開けません" in default.stderr and "HQ's own machine" in default.stderr
    listed = run_evac("hq", "list-displays", "--db", hq_db_url)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["hq-wall", "map-wall"]
    assert all("未使用 link not opened yet" in line and by % "add-display" in line for line in lines)
    assert token not in listed.stdout
    # The wall opens the link; the list says so.
    wall = hq_app.test_client()
    assert _open(wall, link).status_code == 302
    assert wall.get("/dashboard").status_code == 200
    listed = run_evac("hq", "list-displays", "--db", hq_db_url).stdout.splitlines()
    assert re.search(r"^hq-wall +表示中 open since \d{4}-\d\d-\d\d \d\d:\d\d UTC .*last seen", listed[0])
    # Not a staff account: list-staff knows nothing of it.
    staff = run_evac("hq", "list-staff", "--db", hq_db_url)
    assert staff.stdout == "" and "no staff accounts yet" in staff.stderr
    # Revoked: the wall says so at its next request.
    revoked = run_evac("hq", "revoke-display", "--db", hq_db_url, "--name", "hq-wall")
    assert revoked.returncode == 0 and "hq-wall is revoked" in revoked.stdout, revoked.stderr
    assert "壁面表示「hq-wall」を取り消しました" in revoked.stdout
    assert "表示用リンクは取り消されました" in wall.get("/dashboard?auto=1").get_data(as_text=True)
    assert "取消済 REVOKED since" in run_evac("hq", "list-displays", "--db", hq_db_url).stdout.splitlines()[0]
    # Asked again (a second lead): it is ended, which is what was wanted; said so, nothing written.
    again = run_evac("hq", "revoke-display", "--db", hq_db_url, "--name", "hq-wall")
    assert again.returncode == 0 and "was already revoked at" in again.stdout and "すでに取り消されています" in again.stdout
    # Every change in the audit log, with who ran it.
    assert _entries(hq_app) == [
        (by % "add-display", "display_added", {"display": "hq-wall"}),
        (by % "add-display", "display_added", {"display": "map-wall"}),
        ("wall display hq-wall", "display_opened", {"display": "hq-wall", "address": "127.0.0.1"}),
        (by % "revoke-display", "display_revoked", {"display": "hq-wall"}),
    ]


def test_the_commands_refuse_in_words_and_change_nothing(hq_app, hq_db_url):
    with hq_app.app_context():
        wall_display.add_display(db.session, "hq-wall", by="test")
        db.session.remove()
    for args, said in ((("add-display", "--name", "hq-wall"), "already a display called 'hq-wall'"),
                       (("add-display", "--name", "  "), "1 to 64 characters"),
                       (("add-display", "--name", "x", "--base-url", "10.20.0.5:5000"), "--base-url is HQ's address"),
                       (("add-display", "--name", "x", "--base-url", "ftp://hq"), "--base-url is HQ's address"),
                       (("revoke-display", "--name", "nope"), "no display called 'nope' (HQ's displays: hq-wall)")):
        refused = run_evac("hq", args[0], "--db", hq_db_url, *args[1:])
        assert refused.returncode == 2 and said in refused.stderr, (args, refused.stderr)
        assert refused.stdout == "" and "Traceback" not in refused.stderr
    with hq_app.app_context():
        assert [(d.name, d.revoked_at) for d in db.session.query(WallDisplay)] == [("hq-wall", None)]
        db.session.remove()
    assert [action for _, action, _ in _entries(hq_app)] == ["display_added"]
