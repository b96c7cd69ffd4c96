"""HQ staff roles (hq_dashboard.roles): a lead opens everything, a safety information officer (安否情報担当)
the inquiry queue and its decisions and what the desk opens, the desk (本部担当) the dashboard, the exports
and carried records.  A page a role does not open answers 403 (Japanese first, then the staff member's
language) and a refused form writes nothing; the menus and the log-in's landing page go by the role;
accounts from before roles are leads after the upgrade; `evac hq set-role` ends the account's log-ins.
Real HTTP through Flask's test client, on SQLite and PostgreSQL; the command line as a real `evac`."""
from __future__ import annotations

import re

import pytest

from evac.hlc import pack
from hq_dashboard.db import db
from hq_dashboard.models import AuditEntry, Inquiry
from tests.conftest import run_evac

PASSWORD = "correct horse battery"
HANAKO = {"name": "髙橋 花子", "birth_date": "1950-04-01", "sex": "female", "address": "静岡県焼津市本町5-9-1"}
INQUIRER = {"name": "高橋 一郎", "address": "東京都港区1-1", "contact": "090-0000-0000"}

HQ_PAGES = ("/dashboard", "/export/shelters.csv", "/export/shelters.geojson",
            "/export/evacuation_space_standard.csv", "/staff/carried", "/staff/alive")
QUEUE, AUDIT = "/staff/inquiries", "/staff/audit"
OPENS = {"lead": {*HQ_PAGES, QUEUE, AUDIT}, "safety": {*HQ_PAGES, QUEUE}, "desk": set(HQ_PAGES)}


def _csrf(client, path: str = "/staff/login") -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


def _login(client, name: str, next_page: str | None = None):
    query = f"?next={next_page}" if next_page else ""
    return client.post("/staff/login" + query, data={"csrf_token": _csrf(client), "username": name,
                                                     "password": PASSWORD})


@pytest.fixture
def hq(hq_app, hq_client, enroll):
    """HQ holding 花子 at 焼津中学校 (sent by a kiosk through the sync API), one account of each role."""
    from hq_dashboard.staff import add_staff
    token = enroll("H031")
    event = {"kiosk_id": "dev-roles", "seq": 1, "hlc": pack(1_764_000_000_000), "type": "checkin",
             "shelter_id": "H031", "person": HANAKO, "data": {"stay_type": "in_shelter"}}
    sent = hq_client.post("/api/v1/sync", json={"device_id": "dev-roles", "events": [event]},
                          headers={"Authorization": f"Bearer {token}"})
    assert sent.status_code == 200, sent.get_json()
    with hq_app.app_context():
        for role in ("lead", "safety", "desk"):
            add_staff(db.session, f"{role}1", PASSWORD, role)
    return hq_app


def _waiting_inquiry(client) -> str:
    """A family's inquiry about 花子, waiting for staff (she gave no consent)."""
    body = {"inquirer": INQUIRER, "relationship": "household_family", "reason": "家族の安否確認",
            "sought": {"name": HANAKO["name"], "birth_date": HANAKO["birth_date"]}, "family_code": ""}
    answer = client.post("/api/v1/safety/inquiries", json=body, environ_base={"REMOTE_ADDR": "10.0.0.1"})
    assert answer.status_code == 201 and answer.get_json()["status"] == "pending_review"
    return answer.get_json()["inquiry_id"]


def _client_of(app, role: str):
    client = app.test_client()
    assert _login(client, f"{role}1").status_code == 302
    return client


def _audit(app) -> list[tuple[str, str]]:
    with app.app_context():
        rows = [(e.actor, e.action) for e in db.session.query(AuditEntry).order_by(AuditEntry.id)]
        db.session.remove()
    return rows


@pytest.mark.parametrize("role", ["lead", "safety", "desk"])
def test_each_role_opens_its_pages_and_is_refused_the_rest_in_japanese_first(hq, role):
    client = _client_of(hq, role)
    for page in sorted(OPENS["lead"]):
        got = client.get(page)
        if page in OPENS[role]:
            assert got.status_code in (200, 204), (role, page, got.status_code)
            continue
        assert got.status_code == 403, (role, page, got.status_code)
        text = got.get_data(as_text=True)
        needed = "safety" if page == QUEUE else "lead"
        # Japanese first: which role opens it, the staff member's own role, and whom to ask for it.
        assert text.index('data-testid="refused-ja"') < text.index('data-testid="refused-en"')
        assert "この役割では開けないページです" in text and f"あなたのアカウント {role}1 の役割は「{role}」" in text
        # The command to ask for is one piece that does not break at its spaces (refused.html: code.command).
        command = f'<code class="command">evac hq set-role {role}1 {needed}</code>'
        assert f"責任者に役割の変更を頼んでください: {command}" in text
        assert "Your role does not open this page" in text
        assert f"ask a lead to give you the role: {command}" in text
        assert re.search(r"code\.command\{[^}]*white-space:nowrap", text)


def test_the_refusal_speaks_the_staff_members_language_after_japanese(hq):
    client = _client_of(hq, "desk")
    client.set_cookie("lang", "pt")
    text = client.get(QUEUE).get_data(as_text=True)
    assert text.index("この役割では開けないページです") < text.index("Sua função não abre esta página")
    assert 'lang="pt"' in text and "Your role does not open this page" not in text


@pytest.mark.parametrize("decision", ["release", "reject"])
def test_a_decision_sent_by_a_desk_account_changes_nothing(hq, decision):
    desk = _client_of(hq, "desk")
    ref = _waiting_inquiry(desk)
    before = _audit(hq)
    # The form token of a page the desk opens: the refusal is the role's, not a missing token.
    sent = desk.post(f"{QUEUE}/{ref}/{decision}", data={"csrf_token": _csrf(desk, "/dashboard"),
                                                        "how": "call_back", "note": "折り返し電話で本人確認"})
    assert sent.status_code == 403
    text = sent.get_data(as_text=True)
    assert "何も変更していません。送信された内容は保存されていません。" in text
    with hq.app_context():
        inquiry = db.session.get(Inquiry, ref)
        assert inquiry.status == "pending_review" and not inquiry.reviewed_by
        db.session.remove()
    assert _audit(hq) == before
    # A lead's queue still has it waiting, and a safety officer's decision goes through, under their name.
    assert f'id="inquiry-{ref}"' in _client_of(hq, "lead").get(QUEUE).get_data(as_text=True)
    safety = _client_of(hq, "safety")
    assert safety.post(f"{QUEUE}/{ref}/{decision}", data={"csrf_token": _csrf(safety, QUEUE),
                                                          "how": "call_back", "note": "折り返し電話で本人確認"}).status_code == 302
    assert _audit(hq)[len(before):][-1][0] == "safety1"
    assert "safety1" in _client_of(hq, "lead").get(AUDIT).get_data(as_text=True)   # who decided, for the lead


def test_a_safety_officers_audit_request_is_refused_and_their_decisions_are_theirs(hq):
    safety = _client_of(hq, "safety")
    ref = _waiting_inquiry(safety)
    assert safety.get(AUDIT).status_code == 403
    assert safety.post(f"{QUEUE}/{ref}/release", data={"csrf_token": _csrf(safety, QUEUE),
                                                       "how": "id_document", "note": "窓口で身分証確認"}).status_code == 302
    with hq.app_context():
        assert db.session.get(Inquiry, ref).reviewed_by == "safety1"
        db.session.remove()


def test_the_menus_show_only_what_the_role_opens(hq):
    desk = _client_of(hq, "desk").get("/dashboard").get_data(as_text=True)
    assert 'id="queue-link"' not in desk and 'id="carried-link"' in desk and "本部担当 / HQ desk" in desk
    safety = _client_of(hq, "safety")
    assert 'id="queue-link"' in safety.get("/dashboard").get_data(as_text=True)
    assert 'id="audit-link"' not in safety.get(QUEUE).get_data(as_text=True)
    assert 'id="audit-link"' in _client_of(hq, "lead").get(QUEUE).get_data(as_text=True)


@pytest.mark.parametrize("role,lands", [("lead", QUEUE), ("safety", QUEUE), ("desk", "/dashboard")])
def test_the_log_in_lands_on_a_page_the_role_opens(hq, role, lands):
    client = hq.test_client()
    assert _login(client, f"{role}1").headers["Location"] == lands
    client = hq.test_client()
    # Sent to the log-in from a page the role does not open (a bookmark, a shared PC): its first page instead.
    assert _login(client, f"{role}1", AUDIT).headers["Location"] == (AUDIT if role == "lead" else lands)
    client = hq.test_client()
    assert _login(client, f"{role}1", "/staff/carried").headers["Location"] == "/staff/carried"


def test_every_staff_page_belongs_to_an_area(hq):
    """A staff page added later without staff_only would be open to every role: none is."""
    public = {"staff.login", "staff.logout", "static"}
    for rule in hq.url_map.iter_rules():
        if rule.rule.startswith(("/staff", "/dashboard", "/export")) and rule.endpoint not in public:
            assert getattr(hq.view_functions[rule.endpoint], "staff_area", None), rule.rule


def test_a_new_role_ends_the_accounts_log_ins_and_the_next_opens_what_it_opens(hq):
    from hq_dashboard.staff import set_role
    safety = _client_of(hq, "safety")
    assert safety.get(QUEUE).status_code == 200
    with hq.app_context():
        user, before = set_role(db.session, "safety1", "desk")
        assert before == "safety" and user.role == "desk"
        db.session.remove()
    gone = safety.get(QUEUE)
    assert gone.status_code == 302 and gone.headers["Location"].startswith("/staff/login")
    assert "役割が変更されたため、ログアウトしました" in safety.get(gone.headers["Location"]).get_data(as_text=True)
    assert _login(safety, "safety1").headers["Location"] == "/dashboard"
    assert safety.get(QUEUE).status_code == 403


def test_add_staff_and_set_role_refuse_an_unknown_role_or_name_and_change_nothing(hq):
    from hq_dashboard.staff import add_staff, set_role
    with hq.app_context():
        with pytest.raises(ValueError, match="'boss' is not an HQ staff role; the roles are lead"):
            add_staff(db.session, "new1", PASSWORD, "boss")
        with pytest.raises(ValueError, match="'boss' is not an HQ staff role"):
            set_role(db.session, "desk1", "boss")
        with pytest.raises(ValueError, match="no staff member called 'nobody'"):
            set_role(db.session, "nobody", "desk")
        rows = db.session.execute(db.text("SELECT username, role FROM staff_users ORDER BY username")).all()
        db.session.remove()
    assert rows == [("desk1", "desk"), ("lead1", "lead"), ("safety1", "safety")]


# --- the command line (a real `evac`) ---------------------------------------------------------------

def test_the_command_line_gives_roles_and_changes_them(hq_app, hq_db_url):
    help_text = run_evac("hq", "add-staff", "--help").stdout
    # The least by default (災対法 §86-15); the desk has one Japanese name, as on the staff pages.
    assert "default: desk, the least" in help_text and "desk (本部担当)" in help_text \
        and "safety (安否情報担当)" in help_text
    added = run_evac("hq", "add-staff", "--db", hq_db_url, "--username", "sato", "--role", "desk",
                     input=PASSWORD + "\n")
    assert added.returncode == 0 and "sato (desk)" in added.stdout, added.stderr
    # Nobody reads the audit log yet: said, Japanese first (a script from before roles made leads).
    assert added.stderr.index("本部にはまだ有効な責任者（lead）がいません") < added.stderr.index("HQ has no enabled lead yet")
    boss = run_evac("hq", "add-staff", "--db", hq_db_url, "--username", "boss", "--role", "lead",
                    input=PASSWORD + "\n")
    assert boss.returncode == 0 and boss.stderr == "", boss.stderr
    default = run_evac("hq", "add-staff", "--db", hq_db_url, "--username", "demo", input=PASSWORD + "\n")
    assert default.returncode == 0 and "demo (desk)" in default.stdout, default.stderr

    client = hq_app.test_client()
    assert _login(client, "sato").headers["Location"] == "/dashboard"
    assert client.get("/dashboard").status_code == 200
    changed = run_evac("hq", "set-role", "--db", hq_db_url, "sato", "safety")
    assert changed.returncode == 0 and "now has the role safety (was desk)" in changed.stdout, changed.stderr
    # Its log-in ended with the change: the next page is the log-in, and the next log-in opens the queue.
    assert client.get("/dashboard").headers["Location"].startswith("/staff/login")
    assert _login(client, "sato").headers["Location"] == QUEUE and client.get(QUEUE).status_code == 200

    same = run_evac("hq", "set-role", "--db", hq_db_url, "sato", "safety")
    assert same.returncode == 0 and "already has the role safety; nothing was changed" in same.stdout
    assert client.get(QUEUE).status_code == 200   # nothing changed: still logged in

    for args, said in ((("sato", "boss"), "'boss' is not an HQ staff role; the roles are lead (責任者)"),
                       (("tanaka", "desk"), "there is no staff member called 'tanaka' (HQ's staff: boss, demo, sato)")):
        refused = run_evac("hq", "set-role", "--db", hq_db_url, *args)
        assert refused.returncode == 2 and said in refused.stderr and "Traceback" not in refused.stderr, \
            refused.stderr
    bad = run_evac("hq", "add-staff", "--db", hq_db_url, "--username", "suzuki", "--role", "boss",
                   input=PASSWORD + "\n")
    assert bad.returncode == 2 and "'boss' is not an HQ staff role" in bad.stderr
    with hq_app.app_context():
        rows = db.session.execute(db.text("SELECT username, role FROM staff_users ORDER BY username")).all()
        db.session.remove()
    assert rows == [("boss", "lead"), ("demo", "desk"), ("sato", "safety")]


def test_an_account_added_without_a_role_is_desk_the_least(hq_app):
    """災対法 §86-15: safety information only for whom the city names; an account nobody gave a role to
    opens neither the inquiries nor the audit log."""
    from hq_dashboard.staff import add_staff
    with hq_app.app_context():
        add_staff(db.session, "new1", PASSWORD)
        db.session.remove()
    client = hq_app.test_client()
    assert _login(client, "new1").headers["Location"] == "/dashboard"
    assert client.get(QUEUE).status_code == 403 and client.get(AUDIT).status_code == 403


def _account_entries(app) -> list[tuple[str, str, str, dict]]:
    import json
    with app.app_context():
        rows = [(e.inquiry_id, e.actor, e.action, json.loads(e.detail))
                for e in db.session.query(AuditEntry).order_by(AuditEntry.id) if e.action.startswith("staff_")]
        db.session.remove()
    return rows


def test_every_change_to_an_account_is_in_the_audit_log_with_who_and_the_role_before(hq_app, hq_db_url):
    import getpass
    os_user = getpass.getuser()
    for args, stdin in ((("add-staff", "--username", "boss", "--role", "lead"), PASSWORD + "\n"),
                        (("add-staff", "--username", "sato"), PASSWORD + "\n"),
                        (("set-role", "sato", "safety"), None),
                        (("set-role", "sato", "safety"), None),          # no change: no entry
                        (("disable-staff", "--username", "sato"), None),
                        (("enable-staff", "--username", "sato"), None),
                        (("set-password", "--username", "sato"), "another long password\n")):
        done = run_evac("hq", args[0], "--db", hq_db_url, *args[1:], input=stdin)
        assert done.returncode == 0, (args, done.stderr)
    by = f"{os_user} (evac hq %s)"
    assert _account_entries(hq_app) == [
        ("", by % "add-staff", "staff_added", {"staff": "boss", "role": "lead"}),
        ("", by % "add-staff", "staff_added", {"staff": "sato", "role": "desk"}),
        ("", by % "set-role", "staff_role_changed", {"staff": "sato", "before": "desk", "role": "safety"}),
        ("", by % "disable-staff", "staff_disabled", {"staff": "sato", "role": "safety"}),
        ("", by % "enable-staff", "staff_enabled", {"staff": "sato", "role": "safety"}),
        ("", by % "set-password", "staff_password_changed", {"staff": "sato"}),
    ]
    # A lead reads them on the audit page, said as changes to accounts, found by the account's name.
    client = hq_app.test_client()
    assert _login(client, "boss").status_code == 302
    page = client.get(AUDIT + "?q=sato").get_data(as_text=True)
    assert page.count('data-testid="account-entry"') == 5 and "職員アカウント / staff account" in page
    assert "役割の変更 / role changed" in page and "&#34;before&#34;: &#34;desk&#34;" in page
    assert f"{os_user} (evac hq set-role)" in page


@pytest.mark.parametrize("decision", ["release", "reject"])
def test_a_decision_in_the_audit_log_says_the_role_its_maker_had_then(hq, decision):
    import json
    safety = _client_of(hq, "safety")
    ref = _waiting_inquiry(safety)
    assert safety.post(f"{QUEUE}/{ref}/{decision}", data={"csrf_token": _csrf(safety, QUEUE),
                                                          "how": "call_back", "note": "折り返し電話で本人確認"}).status_code == 302
    with hq.app_context():
        entry = db.session.query(AuditEntry).filter_by(inquiry_id=ref, action=decision.rstrip("e") + "ed").one()
        db.session.remove()
    assert entry.actor == "safety1" and json.loads(entry.detail)["role"] == "safety"


def test_list_staff_shows_each_account_its_role_and_whether_it_is_disabled_and_nothing_secret(hq_app, hq_db_url):
    from hq_dashboard.staff import add_staff, disable_staff
    empty = run_evac("hq", "list-staff", "--db", hq_db_url)
    assert empty.returncode == 0 and empty.stdout == "" and "no staff accounts yet" in empty.stderr
    with hq_app.app_context():
        add_staff(db.session, "lead1", PASSWORD, "lead")
        add_staff(db.session, "sato", PASSWORD, "safety")
        add_staff(db.session, "tanaka", PASSWORD)
        disable_staff(db.session, "tanaka")
        hashes = [h for (h,) in db.session.execute(db.text("SELECT password_hash FROM staff_users"))]
        db.session.remove()
    listed = run_evac("hq", "list-staff", "--db", hq_db_url)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert [line.split()[:3] for line in lines] == [["lead1", "lead", "(責任者)"], ["sato", "safety", "(安否情報担当)"],
                                                    ["tanaka", "desk", "(本部担当)"]]
    assert "enabled" in lines[0] and "enabled" in lines[1] and "DISABLED since" in lines[2]
    assert all(re.search(r"\(added \d{4}-\d\d-\d\d \d\d:\d\d UTC\)$", line) for line in lines)
    assert not any(h in listed.stdout or h.split("$")[-1] in listed.stdout for h in hashes)


def test_the_last_enabled_lead_cannot_be_demoted_or_disabled(hq_app, hq_db_url):
    from hq_dashboard.staff import add_staff, disable_staff
    with hq_app.app_context():
        add_staff(db.session, "lead1", PASSWORD, "lead")
        add_staff(db.session, "lead2", PASSWORD, "lead")
        disable_staff(db.session, "lead2")   # a disabled lead does not count: nobody can log in as it
        add_staff(db.session, "desk1", PASSWORD)
        db.session.remove()
    client = hq_app.test_client()
    assert _login(client, "lead1").status_code == 302
    before = _account_entries(hq_app)
    for args in (("set-role", "lead1", "safety"), ("disable-staff", "--username", "lead1")):
        refused = run_evac("hq", args[0], "--db", hq_db_url, *args[1:])
        assert refused.returncode == 2 and "Traceback" not in refused.stderr, refused.stderr
        said = refused.stderr
        assert said.startswith("evac: lead1 は最後の有効な責任者（lead）のため"), said
        assert said.index("先に別のアカウントを責任者にしてください") < said.index("lead1 is HQ's last enabled lead")
        assert "nothing was changed" in said
    assert client.get(AUDIT).status_code == 200   # still a lead, still logged in
    assert _account_entries(hq_app) == before
    # With another enabled lead, it goes through.
    assert run_evac("hq", "set-role", "--db", hq_db_url, "desk1", "lead").returncode == 0
    assert run_evac("hq", "set-role", "--db", hq_db_url, "lead1", "safety").returncode == 0
    assert run_evac("hq", "disable-staff", "--db", hq_db_url, "--username", "desk1").returncode == 2
    with hq_app.app_context():
        rows = db.session.execute(db.text("SELECT username, role, disabled_at IS NULL FROM staff_users"
                                          " ORDER BY username")).all()
        db.session.remove()
    assert [tuple(r) for r in rows] == [("desk1", "lead", True), ("lead1", "safety", True), ("lead2", "lead", False)]


def test_a_role_it_does_not_know_is_refused_before_the_password_is_asked_for(hq_app, hq_db_url):
    """Nobody types a password into a command that then refuses: the command ends with stdin still open."""
    import subprocess

    from tests.conftest import ROOT, evac_cmd
    proc = subprocess.Popen(evac_cmd("hq", "add-staff", "--db", hq_db_url, "--username", "suzuki", "--role", "boss"),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=ROOT)
    try:
        code = proc.wait(timeout=120)   # (not a timing check: a command reading the password never ends)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        pytest.fail("add-staff waited for a password before refusing the role")
    finally:
        proc.stdin.close()
    said = proc.stderr.read()
    proc.stdout.close()
    proc.stderr.close()
    assert code == 2 and said.startswith("evac: 「boss」はHQ職員の役割ではありません。何も変更していません / "
                                      "'boss' is not an HQ staff role")
    assert "desk (本部担当)" in said and "nothing was changed" in said


@pytest.mark.parametrize("role,asked,lands", [("desk", QUEUE, "/dashboard"), ("desk", AUDIT, "/dashboard"),
                                              ("safety", AUDIT, QUEUE)])
def test_a_log_in_sent_to_a_page_its_role_does_not_open_says_so_where_it_lands(hq, role, asked, lands):
    client = hq.test_client()
    assert _login(client, f"{role}1", asked).headers["Location"] == lands
    page = client.get(lands).get_data(as_text=True)
    ja = f"開こうとしたページは、あなたの役割「{role}」（{ {'desk': '本部担当', 'safety': '安否情報担当'}[role]}）では開けません"
    en = f"The page you were going to is not open to your role “{role}”"
    assert ja in page and en in page and page.index(ja) < page.index(en)
    assert en not in client.get(lands).get_data(as_text=True)   # said once
    # In the staff member's language after the Japanese.
    client = hq.test_client()
    client.set_cookie("lang", "pt")
    _login(client, f"{role}1", asked)
    page = client.get(lands).get_data(as_text=True)
    assert ja in page and "A página que você ia abrir não está aberta à sua função" in page
    # A page the role opens, or no page asked for: no notice.
    for to in ("/staff/carried", None):
        client = hq.test_client()
        landed = _login(client, f"{role}1", to).headers["Location"]
        assert "開こうとしたページ" not in client.get(landed).get_data(as_text=True)


# --- the upgrade ------------------------------------------------------------------------------------

def test_accounts_from_before_roles_are_leads_after_the_upgrade(hq_db_url):
    """0027: every account made before roles could do everything, and still can."""
    from flask_migrate import upgrade
    from werkzeug.security import generate_password_hash

    from hq_dashboard import MIGRATIONS_DIR, create_app, prepare_database
    app = create_app({"SQLALCHEMY_DATABASE_URI": hq_db_url, "TESTING": True})
    with app.app_context():
        upgrade(directory=MIGRATIONS_DIR, revision="0025_staff_sessions")
        with db.engine.begin() as conn:
            for name in ("old1", "old2"):
                conn.execute(db.text("INSERT INTO staff_users (username, password_hash, created_at)"
                                     " VALUES (:name, :hash, CURRENT_TIMESTAMP)"),
                             {"name": name, "hash": generate_password_hash(PASSWORD)})
        db.engine.dispose()
    prepare_database(app)   # HQ's own start: the migrations, then the shelters
    with app.app_context():
        rows = db.session.execute(db.text("SELECT username, role FROM staff_users ORDER BY username")).all()
        db.session.remove()
    assert rows == [("old1", "lead"), ("old2", "lead")]
    client = app.test_client()
    assert _login(client, "old1").headers["Location"] == QUEUE
    for page in (QUEUE, AUDIT, "/dashboard", "/staff/carried"):
        assert client.get(page).status_code == 200, page
    with app.app_context():
        db.engine.dispose()
