"""Never-disclose protection (災対法 §86-15) follows a person through a staff correction made at another
shelter's kiosk: the corrected identity of a protected person is protected too, at HQ and on the tablet.

A lead at shelter A marks 西村 愛 never-disclose; she also checks in at shelter B with public consent; B's lead
corrects her birth date on the tablet.  The correction links her old identity and her new one: neither the
safety inquiry, nor the PFIF export, nor B's staff roster may show her under either.  Real processes
throughout: `evac hq serve`, `evac kiosk checkin/sync/add-staff`, `evac kiosk serve` and its tablet pages."""
from __future__ import annotations

import re

import pytest

from evac.events import Person
from evac.identity import person_key
from tests.conftest import Server, evac_cmd, free_port, run_evac
from tests.staff_helpers import PASSWORD
from tests.test_hq_corrections import inquire
from tests.test_kiosk_serve import Browser

ADDRESS = "焼津市本町5-5"
AI = {"name": "西村 愛", "birth": "1991-01-01", "sex": "female", "address": ADDRESS}
AI_FIXED_BIRTH = "1991-01-11"
# Someone B checked in with public consent, nobody protects: the export and the roster still carry him.
ICHIRO = {"name": "山田 一郎", "birth": "1970-03-03", "sex": "male", "address": "焼津市本町6-6"}


def ok(done) -> None:
    assert done.returncode == 0, done.stdout + done.stderr


def check_in(db, shelter: str, who: dict, *more: str) -> None:
    ok(run_evac("kiosk", "checkin", "--db", str(db), "--shelter", shelter, "--name", who["name"],
                "--birth", who["birth"], "--sex", who["sex"], "--address", who["address"], *more))


def staff_account(db, name: str, role: str) -> None:
    ok(run_evac("kiosk", "add-staff", "--db", str(db), "--name", name, "--role", role, input=PASSWORD + "\n"))


def logged_in(url: str, name: str) -> Browser:
    tablet = Browser(url)
    status, _ = tablet.request("/staff/login", {"csrf_token": tablet.csrf("/staff/login"), "name": name,
                                                "password": PASSWORD})
    assert status == 200, "followed the redirect to the roster"
    return tablet


@pytest.fixture
def corrected_at_b(hq_server, tmp_path):
    """HQ, kiosk A (H031) and kiosk B (H039), after B's lead corrected 西村 愛's birth date and B synced."""
    hq = hq_server()
    token = {s: run_evac("hq", "enroll-kiosk", "--db", hq.db_url, "--shelter", s).stdout.strip()
             for s in ("H031", "H039")}
    a, b = tmp_path / "k1.sqlite3", tmp_path / "k2.sqlite3"

    def sync(db, shelter):
        ok(run_evac("kiosk", "sync", "--db", str(db), "--hq", hq.url, "--token", token[shelter]))

    check_in(a, "H031", AI, "--never-disclose", "--new")
    sync(a, "H031")
    staff_account(b, "tanaka", "lead")
    staff_account(b, "sato", "staff")
    check_in(b, "H039", AI, "--consent", "public")
    check_in(b, "H039", ICHIRO, "--consent", "public")
    sync(b, "H039")
    port = free_port()
    kiosk = Server(evac_cmd("kiosk", "serve", "--db", str(b), "--shelter", "H039", "--port", str(port)),
                   f"http://127.0.0.1:{port}", tmp_path / "k2.log", "/api/status")
    try:
        lead = logged_in(kiosk.url, "tanaka")
        page = "/staff/person/" + person_key(AI["name"], AI["birth"], AI["address"])
        form = lead.request(page)[1]
        drawn_from = re.search(r'name="drawn_from"[^>]*value="(\d+)"', form).group(1)
        status, _ = lead.request(page, {
            "csrf_token": lead.csrf(page), "name": AI["name"], "name_kana": "", "birth_date": AI_FIXED_BIRTH,
            "sex": "female", "address": ADDRESS, "stay_type": "in_shelter", "home_damage": "unknown",
            "consent": "public", "contact_phone": "", "household_members": "", "family_code": "",
            "drawn_from": drawn_from})
        assert status == 200
        assert any(AI_FIXED_BIRTH in body for body in _kiosk_events(b)), "the tablet wrote the correction"
        # The kiosk knew HQ protected her old identity: her corrected one is protected there at once.
        kiosk.roster_before_sync = roster_csv(kiosk.url)
        sync(b, "H039")
        yield hq, kiosk
    finally:
        kiosk.stop()


def roster_csv(url: str) -> str:
    """The 避難者名簿 as a staff account (not a lead) downloads it from the tablet."""
    status, text = logged_in(url, "sato").request("/staff/roster.csv")
    assert status == 200
    assert "山田 一郎" in text, "the roster itself is there"
    return text


def _kiosk_events(db) -> list[str]:
    import sqlite3
    with sqlite3.connect(db) as conn:
        return [r[0] for r in conn.execute("SELECT body FROM events WHERE body LIKE '%correction%'")]


def test_an_inquiry_about_her_corrected_identity_is_answered_as_about_someone_unknown(corrected_at_b):
    hq, _ = corrected_at_b
    fixed = Person(AI["name"], AI_FIXED_BIRTH, "female")
    unknown = Person("西村 誰", AI_FIXED_BIRTH, "female")
    assert inquire(hq.url, fixed) == inquire(hq.url, unknown)
    assert "H039" not in repr(inquire(hq.url, fixed))
    # Nor under the identity corrected away.
    assert inquire(hq.url, Person(AI["name"], AI["birth"], "female")) == inquire(
        hq.url, Person("西村 誰", AI["birth"], "female"))


def test_the_pfif_export_has_no_record_of_her(corrected_at_b, tmp_path):
    hq, _ = corrected_at_b
    out = tmp_path / "pfif.xml"
    ok(run_evac("hq", "export-pfif", "--db", hq.db_url, "--out", str(out)))
    document = out.read_text(encoding="utf-8")
    assert "山田" in document, "the export itself works: the unprotected public one is in it"
    assert "西村" not in document and "ニシムラ" not in document and AI_FIXED_BIRTH not in document


def test_the_shelters_staff_roster_leaves_her_out(corrected_at_b):
    _, kiosk = corrected_at_b
    csv_text = roster_csv(kiosk.url)
    assert "西村" not in csv_text and AI_FIXED_BIRTH not in csv_text


def test_the_shelters_staff_roster_leaves_her_out_at_once_before_its_next_sync(corrected_at_b):
    _, kiosk = corrected_at_b
    assert "西村" not in kiosk.roster_before_sync and AI_FIXED_BIRTH not in kiosk.roster_before_sync


# -- the link at HQ, whichever side is protected, and in any order (kiosks' batches through the sync API) --------

from tests.test_hq_corrections import _post  # noqa: E402
from tests.wire import KioskStream  # noqa: E402

OLD = Person(AI["name"], AI["birth"], "female", ADDRESS)
FIXED = Person(AI["name"], AI_FIXED_BIRTH, "female", ADDRESS)
T0 = 1_764_000_000_000


def consent(stream: KioskStream, who: Person, at_ms: int, never_disclose: bool = False) -> None:
    stream.add("consent", who.to_wire(), {"consent": "public", "never_disclose": never_disclose}, at_ms=at_ms)


def checked_in(stream: KioskStream, who: Person, at_ms: int, never_disclose: bool = False) -> None:
    stream.checkin(who.to_wire(), at_ms=at_ms)
    consent(stream, who, at_ms + 1, never_disclose)


def answer(client, who: Person) -> dict:
    body = {"inquirer": {"name": "駿河 太郎", "address": "東京都港区1-1", "contact": "090-0000-0000"},
            "relationship": "other", "reason": "安否確認", "sought": {"name": who.name, "birth_date": who.birth_date}}
    resp = client.post("/api/v1/safety/inquiries", json=body)
    assert resp.status_code in (200, 201, 202), resp.get_json()
    return {k: v for k, v in resp.get_json().items() if k not in ("inquiry_id", "access_key")}


def as_unknown(client, who: Person) -> bool:
    return answer(client, who) == answer(client, Person("西村 誰", who.birth_date, "female"))


def kiosks_protect(client, token: str, who: Person) -> bool:
    """Whether HQ's configuration tells kiosks never to show `who` (the digests of their name forms)."""
    from evac.disclosure import protection_digests, protection_forms
    config = client.get("/api/v1/kiosk/config", headers={"Authorization": f"Bearer {token}"}).get_json()
    digests = protection_digests(bytes.fromhex(config["ic_token_key"]),
                                 protection_forms(who.name, who.name_kana, who.birth_date))
    return bool(digests & set(config["protected"]))


def test_protection_set_at_the_first_shelter_after_the_correction_reaches_the_corrected_identity(hq_client, enroll):
    ta, tb = enroll("H031"), enroll("H039")
    a, b = KioskStream("dev-a", "H031"), KioskStream("dev-b", "H039")
    checked_in(b, OLD, T0)
    b.add("correction", OLD.to_wire(), {"person": FIXED.to_wire()}, at_ms=T0 + 60_000)
    _post(hq_client, tb, b)
    assert answer(hq_client, FIXED)["whereabouts"]["shelter_id"] == "H039", "nobody protects her yet"
    checked_in(a, OLD, T0 + 120_000, never_disclose=True)
    _post(hq_client, ta, a)
    assert as_unknown(hq_client, FIXED) and as_unknown(hq_client, OLD)
    assert kiosks_protect(hq_client, tb, FIXED) and kiosks_protect(hq_client, tb, OLD)


def test_protection_of_the_corrected_identity_reaches_the_one_corrected_away(hq_client, enroll):
    """The lead at the second shelter marks her never-disclose under her corrected identity: the first
    shelter's record under the old one (public consent) is hers too, and as protected."""
    ta, tb = enroll("H031"), enroll("H039")
    a, b = KioskStream("dev-a", "H031"), KioskStream("dev-b", "H039")
    checked_in(a, OLD, T0)
    _post(hq_client, ta, a)
    checked_in(b, OLD, T0 + 60_000)
    b.add("correction", OLD.to_wire(), {"person": FIXED.to_wire()}, at_ms=T0 + 120_000)
    consent(b, FIXED, T0 + 180_000, never_disclose=True)
    _post(hq_client, tb, b)
    assert as_unknown(hq_client, OLD) and as_unknown(hq_client, FIXED)
    assert kiosks_protect(hq_client, ta, OLD)


def test_correcting_back_lifts_no_protection_the_correction_gave(hq_client, enroll):
    """A third shelter holds a record under the corrected identity.  The second shelter's staff correct her
    back: the link stays, and the third shelter's record stays protected (only never-disclose's own way
    lifts protection, never a kiosk's correction)."""
    ta, tb, tc = enroll("H031"), enroll("H039"), enroll("H040")
    a, b, c = KioskStream("dev-a", "H031"), KioskStream("dev-b", "H039"), KioskStream("dev-c", "H040")
    checked_in(a, OLD, T0, never_disclose=True)
    _post(hq_client, ta, a)
    checked_in(b, OLD, T0 + 60_000)
    b.add("correction", OLD.to_wire(), {"person": FIXED.to_wire()}, at_ms=T0 + 120_000)
    _post(hq_client, tb, b)
    checked_in(c, FIXED, T0 + 180_000)
    _post(hq_client, tc, c)
    assert as_unknown(hq_client, FIXED)
    b.add("correction", FIXED.to_wire(), {"person": OLD.to_wire()}, at_ms=T0 + 240_000)
    _post(hq_client, tb, b)
    assert as_unknown(hq_client, FIXED) and as_unknown(hq_client, OLD)
    assert kiosks_protect(hq_client, tc, FIXED)


def test_the_corrections_read_with_every_sync_are_found_by_the_events_key(hq_app):
    """The kiosks' digests (every sync) and every inquiry read the correction records: only each kiosk's
    records since the last look, by the events' key (device, seq), never a scan of every record in the city."""
    from hq_dashboard.safety import corrections_among
    from tests.test_migrations import query_plan
    plan = query_plan(hq_app, corrections_among([("dev-a", 10, 20), ("dev-b", 0, 5)]))
    assert "SCAN events" not in plan and "Seq Scan" not in plan, plan
    assert "sqlite_autoindex_events_1" in plan or "pk_events" in plan, plan
