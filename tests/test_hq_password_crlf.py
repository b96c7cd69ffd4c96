"""A password piped to an HQ command with a Windows line ending ("\r\n", as a file saved by Notepad or a
PowerShell pipe gives it) is the password without it, as the kiosk's commands take it: `evac hq add-staff`
and `evac hq set-password` both, and the staff member logs in with what they typed.  A real `evac`, a real
log-in through HQ's pages, on SQLite and PostgreSQL."""
from __future__ import annotations

import re

from tests.conftest import run_evac

FIRST, SECOND = "Passw0rd-crlf-1", "Passw0rd-crlf-2"


def _logs_in(app, name: str, password: str) -> bool:
    client = app.test_client()
    page = client.get("/staff/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    answer = client.post("/staff/login", data={"csrf_token": token, "username": name, "password": password})
    return answer.status_code == 302


def test_a_password_piped_with_a_windows_line_ending_logs_in(hq_app, hq_db_url):
    added = run_evac("hq", "add-staff", "--db", hq_db_url, "--username", "crlf", "--role", "desk",
                     input=FIRST + "\r\n")
    assert added.returncode == 0, added.stderr
    assert _logs_in(hq_app, "crlf", FIRST)
    assert not _logs_in(hq_app, "crlf", FIRST + "\r")

    changed = run_evac("hq", "set-password", "--db", hq_db_url, "--username", "crlf", input=SECOND + "\r\n")
    assert changed.returncode == 0, changed.stderr
    assert _logs_in(hq_app, "crlf", SECOND) and not _logs_in(hq_app, "crlf", FIRST)
