"""A kiosk learns from HQ's sync answer which of the people it checked in have since been recorded at
another shelter (or checked out elsewhere): they leave its roster's "here" list and headcount and are
listed as moved on, a projection only (the kiosk writes no record for it).  HQ says nothing of where
they went.  A later check-in at the kiosk wins over HQ's older word."""
from __future__ import annotations

import json

import pytest

from evac.identity import person_key
from tests.staff_helpers import logged_in, make_app
from tests.test_sync_hq_answers import serve  # noqa: F401  (fixture: HQ over real HTTP in a thread)

ADDRESS = "焼津市小川3-3"
HANAKO = {"name": "大石 花子", "name_kana": "オオイシ ハナコ", "birth_date": "1980-04-04", "sex": "female",
          "address": ADDRESS}
JIRO = {"name": "大石 次郎", "name_kana": "オオイシ ジロウ", "birth_date": "1978-02-02", "sex": "male",
        "address": ADDRESS}


class Site:
    """One shelter's kiosk: its evacuee API, its staff tablet, its store and its link to HQ."""

    def __init__(self, tmp_path, hq, token, shelter):
        from kiosk.store import KioskStore
        from kiosk.sync import HQClient
        self.path = tmp_path / f"kiosk-{shelter}.sqlite3"
        self.shelter = shelter
        self.app = make_app(self.path)
        self.app.config["SHELTER_ID"] = shelter
        self.api = self.app.test_client()
        self.store, self.link = KioskStore(self.path), HQClient(hq.url, token)

    def check_in(self, *persons):
        answer = self.api.post("/api/checkin", json={"persons": list(persons)})
        assert answer.status_code == 201, answer.get_json()

    def check_out(self, who):
        answer = self.api.post("/api/checkout", json={k: who[k] for k in ("name", "birth_date", "address")})
        assert answer.status_code in (200, 201), answer.get_json()

    def sync(self):
        from kiosk.sync import sync_once
        sync_once(self.store, self.link)

    def here(self) -> list[str]:
        from kiosk import staff_store
        return [r.person.name for r in staff_store.roster(self.store, self.shelter)]

    def headcount(self) -> int:
        return self.api.get("/api/status").get_json()["checked_in"]

    def left(self) -> dict[str, str]:
        """Who left this shelter, by name: how they left as the roster notes it ("" for a check-out here)."""
        from kiosk import staff_store
        return {r.person.name: r.left_elsewhere for r in staff_store.checked_out(self.store, self.shelter)}


@pytest.fixture
def sites(hq_app, enroll, serve, tmp_path):  # noqa: F811
    hq = serve(hq_app)
    return Site(tmp_path, hq, enroll("H001"), "H001"), Site(tmp_path, hq, enroll("H002"), "H002")


def hanako_moves_on(a, b):
    """Hanako and Jiro checked in at A, both known to HQ; then Hanako checks in at B, which HQ hears."""
    a.check_in(HANAKO, JIRO)
    a.sync()
    b.check_in(HANAKO)
    b.sync()


def test_someone_checked_in_at_another_shelter_since_leaves_this_kiosks_roster_and_headcount(sites):
    a, b = sites
    hanako_moves_on(a, b)
    events_before = a.store.last_seq
    a.sync()
    assert a.here() == ["大石 次郎"]
    assert a.headcount() == 1
    assert a.left() == {"大石 花子": "moved"}
    assert a.store.last_seq == events_before          # a projection: the kiosk wrote nothing of it
    assert b.here() == ["大石 花子"] and b.headcount() == 1
    # The staff tablet says so, in its words, on the shelter's page and the person's.
    tablet = logged_in(a.app)
    page = tablet.get("/staff/summary").text
    assert "大石 花子" in page and "他の避難所へ移動" in page
    # Its explanation says "recorded elsewhere", not "checked out": of a protected person it would be untrue.
    assert "ほかで記録された人です" in page and "退所した人" not in page
    person = tablet.get(f"/staff/?q={HANAKO['name']}").text
    assert "他の避難所へ移動" in person


def test_checked_in_again_at_the_first_shelter_she_is_here_again(sites):
    a, b = sites
    a.check_in(HANAKO)
    a.sync()
    b.check_in(HANAKO)
    b.sync()
    a.sync()
    assert a.here() == [] and a.headcount() == 0
    a.check_in(HANAKO)                                   # she came back: at once, before any sync
    assert a.here() == ["大石 花子"] and a.headcount() == 1 and a.left() == {}
    a.sync()
    b.sync()
    a.sync()
    assert a.here() == ["大石 花子"] and a.headcount() == 1
    assert b.here() == [] and b.left() == {"大石 花子": "moved"}   # and the second shelter learns she left


def test_hqs_older_word_does_not_undo_a_later_check_in_here(sites, hq_client):
    """HQ's answer names the record it found superseded: a check-in written here after it wins, even
    when HQ's word arrives afterwards (a sync of the kiosk's older records)."""
    a, b = sites
    a.check_in(HANAKO)
    a.sync()
    b.check_in(HANAKO)
    b.sync()
    a.check_in(HANAKO)                                   # back before this kiosk heard she had left
    a.store.db.execute("UPDATE meta SET value = '0' WHERE key = 'left_elsewhere_after'")
    seq_of_first = 1
    a.store.note_left_elsewhere([[seq_of_first, "moved"]])   # HQ's word about the first check-in
    assert a.here() == ["大石 花子"] and a.headcount() == 1


def test_someone_checked_out_here_then_in_elsewhere_stays_checked_out(sites):
    a, b = sites
    a.check_in(HANAKO)
    a.sync()
    a.check_out(HANAKO)
    a.sync()
    b.check_in(HANAKO)
    b.sync()
    a.sync()
    assert a.here() == [] and a.headcount() == 0
    assert a.left() == {"大石 花子": ""}                   # checked out here: no note of anywhere else


def test_a_protected_persons_new_shelter_never_reaches_the_kiosk_she_left(sites, hq_app, hq_client):
    a, b = sites
    a.check_in(HANAKO)
    a.store.set_consent("H001", HANAKO["name"], HANAKO["birth_date"], ADDRESS,
                        {"consent": "none", "family_code": "", "never_disclose": True})
    a.sync()
    b.check_in(HANAKO)
    b.sync()
    # HQ's answer to the first kiosk, as it goes over the wire.
    answer = hq_client.post("/api/v1/sync", headers={"Authorization": f"Bearer {a.link.token}"},
                            json={"device_id": a.store.device_id, "events": [], "left_elsewhere_after": 0})
    assert answer.status_code == 200
    text = answer.get_data(as_text=True)
    with hq_app.app_context():
        from hq_dashboard.db import db
        from hq_dashboard.models import Shelter
        name_b = db.session.get(Shelter, "H002").name
    assert "H002" not in text and name_b not in json.loads(text).__repr__() and name_b not in text
    assert answer.get_json()["left_elsewhere"]["people"] == [[1, "left"]]   # not even "at another shelter"
    a.sync()
    assert a.here() == [] and a.headcount() == 0 and a.left() == {"大石 花子": "left"}
    assert "H002" not in json.dumps([list(r) for r in a.store.db.execute("SELECT * FROM left_elsewhere")])


def test_an_hq_answer_without_the_field_leaves_the_kiosk_as_it_was(sites, hq_app, serve, tmp_path):  # noqa: F811
    """An HQ of an older release says nothing of it: the kiosk lists everyone it checked in, as before."""
    a, b = sites

    def older_hq(environ, start_response):
        held = {}

        def keep(status, headers, exc_info=None):
            held.update(status=status, headers=headers)
        body = b"".join(hq_app.wsgi_app(environ, keep))
        if environ["PATH_INFO"] == "/api/v1/sync" and body.startswith(b"{"):
            answer = json.loads(body)
            answer.pop("left_elsewhere", None)
            body = json.dumps(answer).encode()
        headers = [(k, v) for k, v in held["headers"] if k.lower() != "content-length"]
        start_response(held["status"], headers + [("Content-Length", str(len(body)))])
        return [body]

    from kiosk.sync import HQClient
    a.link = HQClient(serve(older_hq).url, a.link.token)
    a.check_in(HANAKO)
    a.sync()
    b.check_in(HANAKO)
    b.sync()
    a.sync()
    assert a.here() == ["大石 花子"] and a.headcount() == 1 and a.left() == {}


def test_an_older_kiosk_that_does_not_ask_gets_the_answer_it_always_got(sites, hq_client):
    a, b = sites
    a.check_in(HANAKO)
    a.sync()
    b.check_in(HANAKO)
    b.sync()
    answer = hq_client.post("/api/v1/sync", headers={"Authorization": f"Bearer {a.link.token}"},
                            json={"device_id": a.store.device_id, "events": []})
    assert answer.status_code == 200 and "left_elsewhere" not in answer.get_json()


def test_a_corrected_identity_is_still_found_by_hqs_word(sites):
    """HQ names this kiosk's own record, not a key: a person whose identity staff corrected since is found
    under the corrected one."""
    a, b = sites
    typo = {**HANAKO, "name": "大石 華子"}
    a.check_in(typo)
    a.sync()
    from kiosk import staff_store
    from evac.events import Person
    row = staff_store.roster(a.store, "H001")[0]
    staff_store.correct(a.store, "H001", row, Person(**{k: HANAKO[k] for k in
                                                        ("name", "birth_date", "sex", "address", "name_kana")}),
                        stay_type="in_shelter", needs=[], contact_phone="", home_damage="unknown",
                        household_members=None, consent="none", family_code="")
    a.sync()
    b.check_in(HANAKO)
    b.sync()
    a.sync()
    assert a.here() == [] and a.headcount() == 0 and a.left() == {"大石 花子": "moved"}


SABURO = {"name": "大石 三郎", "birth_date": "2010-10-10", "sex": "male", "address": ADDRESS}


def test_many_who_left_are_taken_a_bounded_number_per_answer_and_all_in_one_round(sites, monkeypatch):
    from hq_dashboard import left_elsewhere
    monkeypatch.setattr(left_elsewhere, "PER_ANSWER", 1)
    a, b = sites
    a.check_in(HANAKO, JIRO, SABURO)
    a.sync()
    b.check_in(HANAKO, JIRO, SABURO)
    b.sync()
    a.sync()                                             # one round: it asks again while HQ says there is more
    assert a.here() == [] and a.headcount() == 0
    assert a.left() == {"大石 花子": "moved", "大石 次郎": "moved", "大石 三郎": "moved"}


def test_hqs_word_is_kept_when_the_kiosk_folds_its_roster_again_under_a_newer_identity_form(sites):
    """A database keyed under an older identity form is folded again when opened (KioskStore._refold): HQ's
    word names this kiosk's record, and finds the person under the key they have now."""
    from kiosk.store import KioskStore
    a, b = sites
    hanako_moves_on(a, b)
    a.sync()
    with a.store._write():
        a.store.db.execute("DELETE FROM meta WHERE key = 'identity_form'")
    a.store.close()
    a.store = KioskStore(a.path)                         # folded again from its log
    assert a.here() == ["大石 次郎"] and a.headcount() == 1 and a.left() == {"大石 花子": "moved"}


def test_hqs_upgrade_writes_the_moves_it_already_holds(sites, hq_app):
    """Migration 0038: moves HQ held before it are told to the kiosks too, as the merge would have."""
    from flask_migrate import downgrade, upgrade

    from hq_dashboard import MIGRATIONS_DIR
    from hq_dashboard.db import db
    a, b = sites
    hanako_moves_on(a, b)
    with hq_app.app_context():
        before = [tuple(r) for r in db.session.execute(db.text(
            "SELECT device_id, seq, kind FROM left_elsewhere ORDER BY id"))]
        db.session.remove()
        downgrade(directory=MIGRATIONS_DIR, revision="0037_closed_stays_closed")
        upgrade(directory=MIGRATIONS_DIR)
        after = [tuple(r) for r in db.session.execute(db.text(
            "SELECT device_id, seq, kind FROM left_elsewhere ORDER BY id"))]
        db.session.remove()
    assert before == after == [(a.store.device_id, 1, "moved")]
    a.sync()
    assert a.here() == ["大石 次郎"] and a.left() == {"大石 花子": "moved"}


def test_an_idle_rounds_answer_writes_nothing_on_the_kiosk(sites):
    a, _ = sites
    a.check_in(HANAKO)
    a.sync()
    a.sync()
    changes = a.store.db.total_changes
    a.sync()
    assert a.store.db.total_changes == changes


def test_back_at_the_first_shelter_on_its_other_kiosk_she_is_here_again_on_both(hq_app, enroll, serve,  # noqa: F811
                                                                                   tmp_path):
    """HQ takes its word back when the kiosk's record says where she is again: she came back to the shelter
    and checked in at its second kiosk."""
    hq = serve(hq_app)
    a = Site(tmp_path / "a", hq, enroll("H001"), "H001")
    a2 = Site(tmp_path / "a2", hq, enroll("H001"), "H001")
    b = Site(tmp_path / "b", hq, enroll("H002"), "H002")
    a.check_in(HANAKO)
    a.sync()
    b.check_in(HANAKO)
    b.sync()
    a.sync()
    assert a.here() == [] and a.left() == {"大石 花子": "moved"}
    a2.check_in(HANAKO)
    a2.sync()
    a.sync()
    assert a.here() == ["大石 花子"] and a.headcount() == 1 and a.left() == {}
    b.sync()
    assert b.here() == [] and b.left() == {"大石 花子": "moved"}


def test_staff_check_her_in_again_from_her_page_on_the_tablet(sites):
    from kiosk import staff_store
    from tests.staff_helpers import post
    a, b = sites
    a.check_in(HANAKO)
    a.sync()
    b.check_in(HANAKO)
    b.sync()
    a.sync()
    (row,) = [r for r in staff_store.checked_out(a.store, "H001")]
    tablet = logged_in(a.app)
    page = tablet.get(f"/staff/person/{row.key}").text
    assert "他の避難所へ移動" in page and f"/staff/person/{row.key}/checkin" in page
    assert "H002" not in page
    answer = post(tablet, f"/staff/person/{row.key}/checkin", {"stay_type": "in_shelter"},
                  token_from=f"/staff/person/{row.key}")
    assert answer.status_code == 302
    assert a.here() == ["大石 花子"] and a.headcount() == 1 and a.left() == {}


def test_a_cursor_past_every_word_hq_holds_starts_again_from_hqs_words(sites):
    """HQ restored from a backup holds fewer words than the kiosk read: the kiosk takes them afresh, and a
    mark HQ no longer holds goes."""
    a, b = sites
    hanako_moves_on(a, b)
    a.sync()
    with a.store._write():
        a.store.db.execute("UPDATE meta SET value = '999999' WHERE key = 'left_elsewhere_after'")
        jiro = a.store.current_key(person_key(JIRO["name"], JIRO["birth_date"], ADDRESS))
        a.store.db.execute("INSERT INTO left_elsewhere(person_key, seq, kind) VALUES (?, 2, 'moved')", (jiro,))
    assert a.here() == []
    a.sync()
    assert a.here() == ["大石 次郎"] and a.left() == {"大石 花子": "moved"}
    assert a.store.left_elsewhere_after() < 999999


def test_hq_refuses_a_cursor_that_is_not_a_whole_number(sites, hq_client):
    a, _ = sites
    for bad in (-1, "3", 1.5, True):
        answer = hq_client.post("/api/v1/sync", headers={"Authorization": f"Bearer {a.link.token}"},
                                json={"device_id": a.store.device_id, "events": [], "left_elsewhere_after": bad})
        assert answer.status_code == 400 and answer.get_json()["error"] == "malformed_batch", bad


def protected_mothers_child_moves_on(a, b):
    """Hanako (never-disclose) and her son Saburo checked in together at A; he checks in at B, and A syncs."""
    assert a.api.post("/api/checkin", json={"persons": [HANAKO, SABURO]}).status_code == 201
    a.store.set_consent("H001", HANAKO["name"], HANAKO["birth_date"], ADDRESS,
                        {"consent": "none", "family_code": "", "never_disclose": True})
    a.sync()
    b.check_in(SABURO)
    b.sync()
    a.sync()

def test_of_a_protected_mothers_child_nothing_more_is_said_than_that_he_left(sites, hq_client):
    """Protection reaches the household, as inquiries' does: the child checked in with his protected mother
    is "left", never "at another shelter"."""
    a, b = sites
    protected_mothers_child_moves_on(a, b)
    assert a.here() == ["大石 花子"] and a.left() == {"大石 三郎": "left"}


def test_hqs_upgrade_says_of_a_protected_mothers_child_only_that_he_left(sites, hq_app):
    from flask_migrate import downgrade, upgrade

    from hq_dashboard import MIGRATIONS_DIR
    from hq_dashboard.db import db
    a, b = sites
    assert a.api.post("/api/checkin", json={"persons": [HANAKO, SABURO, JIRO]}).status_code == 201
    a.store.set_consent("H001", HANAKO["name"], HANAKO["birth_date"], ADDRESS,
                        {"consent": "none", "family_code": "", "never_disclose": True})
    a.sync()
    b.check_in(SABURO)
    b.sync()
    with hq_app.app_context():
        db.session.remove()
        downgrade(directory=MIGRATIONS_DIR, revision="0037_closed_stays_closed")
        upgrade(directory=MIGRATIONS_DIR)
        after = [tuple(r) for r in db.session.execute(db.text("SELECT seq, kind FROM left_elsewhere ORDER BY id"))]
        db.session.remove()
    assert after == [(2, "left")]


class Backup:
    """A real backup of HQ's database and its restore: a copy of its SQLite file by SQLite's backup API, or a
    PostgreSQL database made from it (as pg_dump and a restore would leave it, sequences included)."""

    def __init__(self, hq_app, url: str, tmp_path):
        from sqlalchemy.engine import make_url
        self.app, self.url = hq_app, url
        self._quiet()
        if url.startswith("sqlite"):
            from tests.conftest import copy_sqlite
            self.file, self.copy = make_url(url).database, tmp_path / "hq-backup.sqlite3"
            copy_sqlite(self.file, self.copy)
        else:
            from tests.postgres import create_database
            self.name = make_url(url).database
            self.base = url[:-len(self.name)]
            create_database(self.base, f"{self.name}_backup", template=self.name)

    def _quiet(self) -> None:
        from hq_dashboard.db import db
        with self.app.app_context():
            db.engine.dispose()   # HQ's idle connections: a PostgreSQL template must have none

    def restore(self) -> None:
        self._quiet()
        if self.url.startswith("sqlite"):
            from tests.conftest import copy_sqlite
            copy_sqlite(self.copy, self.file)
        else:
            from tests.postgres import create_database, drop_database
            create_database(self.base, self.name, template=f"{self.name}_backup")
            drop_database(self.base, f"{self.name}_backup")


def hqs_marks_for(hq_app, kiosk) -> dict[str, str]:
    """The marks HQ's words say for this kiosk, by name: its log for the kiosk's device folded in order
    (a later word on the same record wins; "" takes it back)."""
    from sqlalchemy import select

    from hq_dashboard.db import db
    from hq_dashboard.left_elsewhere import left_elsewhere_t
    with hq_app.app_context():
        rows = db.session.execute(select(left_elsewhere_t.c.seq, left_elsewhere_t.c.kind)
                                  .where(left_elsewhere_t.c.device_id == kiosk.store.device_id)
                                  .order_by(left_elsewhere_t.c.id)).all()
    by_seq = {}
    for seq, kind in rows:
        by_seq[seq] = kind
    names = {}
    for seq, kind in by_seq.items():
        body = json.loads(kiosk.store.db.execute("SELECT body FROM written_events WHERE seq = ?", (seq,)).fetchone()[0])
        if kind:
            names[body["persons"][0]["name"] if "persons" in body else body["person"]["name"]] = kind
    return names


def test_hq_restored_from_a_backup_whose_words_grew_past_the_kiosks_cursor_starts_it_again(
        hq_app, hq_db_url, enroll, serve, tmp_path):  # noqa: F811
    """HQ restored from a backup, its log grown again past where the kiosk stopped before the kiosk syncs:
    the ids the kiosk read up to were given to other words, and the kiosk would never be told those.  The
    word at its cursor is not the one it took there: it starts again, and ends with HQ's words' marks."""
    hq = serve(hq_app)
    (tmp_path / "second").mkdir()
    a = Site(tmp_path, hq, enroll("H001"), "H001")
    b = Site(tmp_path, hq, enroll("H002"), "H002")
    c = Site(tmp_path / "second", hq, enroll("H002"), "H002")   # the second shelter's other kiosk
    a.check_in(HANAKO, JIRO, SABURO)
    a.sync()
    backup = Backup(hq_app, hq_db_url, tmp_path)      # last night's backup: HQ has no word for A yet
    b.check_in(HANAKO)
    b.sync()
    a.sync()
    assert a.left() == {"大石 花子": "moved"} and a.store.left_elsewhere_after() > 0
    backup.restore()                                  # HQ's disk failed this morning: back to last night's
    c.check_in(JIRO)                                  # HQ's first words after it: Jiro's and Saburo's
    c.check_in(SABURO)
    c.sync()
    b.sync()                                          # B sends Hanako's check-in again: her word comes after
    a.sync()
    assert hqs_marks_for(hq_app, a) == {"大石 花子": "moved", "大石 次郎": "moved", "大石 三郎": "moved"}
    assert a.left() == hqs_marks_for(hq_app, a)
    assert a.here() == [] and a.headcount() == 0


def test_a_kiosks_own_word_at_its_cursor_goes_on_from_there(sites, hq_client):
    """The kiosk's last word said back as HQ holds it: HQ goes on from the cursor; a word or count that is
    not what HQ holds there starts it again; one HQ cannot read is as if not sent (the cursor alone)."""
    a, b = sites
    hanako_moves_on(a, b)
    a.sync()
    after, last = a.store.left_elsewhere_after(), a.store.left_elsewhere_last()
    assert last == {"seq": 1, "kind": "moved", "count": 1}

    def answer(last_sent):
        return hq_client.post("/api/v1/sync", headers={"Authorization": f"Bearer {a.link.token}"},
                              json={"device_id": a.store.device_id, "events": [], "left_elsewhere_after": after,
                                    "left_elsewhere_last": last_sent}).get_json()["left_elsewhere"]
    assert answer(last) == {"after": after, "people": [], "more": False}
    assert answer({"seq": 1, "kind": "moved"}) == {"after": after, "people": [], "more": False}
    for other in ({"seq": 2, "kind": "moved"}, {"seq": 1, "kind": "left"}, {"seq": 1, "kind": "moved", "count": 2}):
        assert answer(other) == {"after": after, "people": [[1, "moved"]], "more": False, "from_start": True}, other
    for unreadable in ("1", [1, "moved"], {"seq": "1", "kind": "moved"}, {"seq": 1, "kind": 3},
                       {"seq": 1, "kind": "moved", "count": -1}):
        assert answer(unreadable) == {"after": after, "people": [], "more": False}, unreadable


def test_the_kiosk_keeps_the_last_word_it_took_with_its_cursor(kiosk_store):
    """What it says back to HQ: the last word and how many it has taken since HQ's log began for it; not how
    many for a cursor kept from before it counted (an upgraded kiosk), and nothing once it starts afresh."""
    store = kiosk_store
    assert store.left_elsewhere_last() is None
    store.note_left_elsewhere([[1, "moved"], [2, "left"]], after=7)
    assert store.left_elsewhere_last() == {"seq": 2, "kind": "left", "count": 2}
    store.note_left_elsewhere([], after=7)                              # an idle round
    store.note_left_elsewhere([[3, ""]], after=9)
    assert store.left_elsewhere_last() == {"seq": 3, "kind": "", "count": 3}
    store.note_left_elsewhere([[1, "moved"]], after=4, from_start=True)
    assert store.left_elsewhere_last() == {"seq": 1, "kind": "moved", "count": 1}
    store.note_left_elsewhere([], after=0, from_start=True)
    assert store.left_elsewhere_last() is None and store.left_elsewhere_after() == 0
    with store._write():                                                # a kiosk from before it kept this
        store.db.execute("INSERT INTO meta(key, value) VALUES ('left_elsewhere_after', '5') "
                         "ON CONFLICT(key) DO UPDATE SET value = '5'")
    assert store.left_elsewhere_last() is None
    store.note_left_elsewhere([[4, "moved"]], after=8)
    assert store.left_elsewhere_last() == {"seq": 4, "kind": "moved"}
    store.new_device()
    assert store.left_elsewhere_last() is None and store.left_elsewhere_after() == 0
