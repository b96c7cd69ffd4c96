"""A name in its old form (旧字体, as the My Number card prints the register) and in its new form (新字体, as staff
at another shelter type it) is one name (legal audit, 災対法 §86-15): 「淺野 恵」 checked in with never-disclose at
one kiosk and 「浅野 恵」 checked in with consent at another are one protected person.  An inquiry for either form
is answered as for someone unknown, and the PFIF export leaves both records out.

The real `evac kiosk checkin` and `evac kiosk sync` against a real `evac hq serve`, inquiries over real HTTP,
the real `evac hq export-pfif`; and the table itself (evac.kanji_variants), the identity folding it feeds
(evac.identity, IDENTITY_FORM 3) and the re-keying of databases keyed under form 2."""
from __future__ import annotations

import hashlib
import json
import sqlite3
import unicodedata
import urllib.request

import pytest
from sqlalchemy import select, text

from evac.disclosure import PersonFacts, name_forms, protected_forms, protection_digests, protection_forms
from evac.identity import IDENTITY_FORM, normalize_address, normalize_name, person_key
from tests.conftest import run_evac

ADDRESS = "焼津市本町9-9"
# (the card's old form, the new form typed at another shelter, birth date, sex)
PEOPLE = [("淺野 恵", "浅野 恵", "1993-03-04", "female"), ("瀧本 榮", "滝本 栄", "1961-06-06", "male")]
# Pairs the audit found not joined, old form first.
AUDIT_PAIRS = ["關関", "淺浅", "藪薮", "檜桧", "瀧滝", "彌弥", "禮礼", "來来", "榮栄", "圓円", "亞亜", "將将", "條条",
               "靜静", "峯峰", "穗穂", "聰聡", "豐豊", "彥彦", "巖巌", "增増", "寬寛", "賴頼", "渕淵"]
INQUIRER = {"name": "高橋 一郎", "address": "東京都港区1-1", "contact": "090-0000-0000"}


def checkin(db, shelter: str, name: str, birth: str, sex: str, *flags: str):
    done = run_evac("kiosk", "checkin", "--db", str(db), "--shelter", shelter, "--name", name, "--birth", birth,
                    "--sex", sex, "--address", ADDRESS, *flags)
    assert done.returncode == 0, done.stderr


def sync(db, hq, token: str) -> None:
    done = run_evac("kiosk", "sync", "--db", str(db), "--hq", hq.url, "--token", token)
    assert done.returncode == 0, done.stderr


def ask(hq, name: str, birth: str) -> dict:
    body = json.dumps({"inquirer": INQUIRER, "relationship": "other", "reason": "安否確認",
                       "sought": {"name": name, "birth_date": birth, "address": ADDRESS}}).encode()
    request = urllib.request.Request(hq.url + "/api/v1/safety/inquiries", data=body,
                                     headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=30) as resp:
        answer = json.loads(resp.read())
    answer.pop("access_key"), answer.pop("inquiry_id")   # new for every inquiry
    return answer


@pytest.mark.parametrize("old, new, birth, sex", PEOPLE)
def test_the_new_form_of_a_protected_old_form_is_answered_as_unknown_and_not_exported(
        hq_server, tmp_path, old, new, birth, sex):
    hq = hq_server()
    k1, k2 = tmp_path / "k1.sqlite3", tmp_path / "k2.sqlite3"
    token_1 = run_evac("hq", "enroll-kiosk", "--db", hq.db_url, "--shelter", "H031").stdout.strip()
    token_2 = run_evac("hq", "enroll-kiosk", "--db", hq.db_url, "--shelter", "H039").stdout.strip()
    checkin(k1, "H031", old, birth, sex, "--never-disclose")
    checkin(k2, "H039", new, birth, sex, "--consent", "public")
    # Someone else who consented: the export and the answers do work.
    checkin(k2, "H039", "焼津 一郎", "1970-01-01", "male", "--consent", "public")
    sync(k1, hq, token_1)
    sync(k2, hq, token_2)

    unknown = ask(hq, "焼津 誰某", birth)
    assert unknown["information_exists"] is None and unknown["whereabouts"] is None, unknown
    assert ask(hq, new, birth) == unknown
    assert ask(hq, old, birth) == unknown
    known = ask(hq, "焼津 一郎", "1970-01-01")
    assert known["information_exists"] is True and known["whereabouts"]["shelter_id"] == "H039", known

    out = tmp_path / "yaizu.pfif.xml"
    exported = run_evac("hq", "export-pfif", "--db", hq.db_url, "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    feed = out.read_text()
    assert "焼津" in feed and "一郎" in feed, feed[:2000]
    for written in (old, new):
        for part in written.split():
            assert part not in feed
    assert birth not in feed


# --- the table ---------------------------------------------------------------------------------------

def test_the_table_holds_the_joyo_and_jinmei_pairs_kanji_to_kanji_without_chains():
    from evac.kanji_variants import JINMEI_ITAIJI, JOYO_KYUJITAI, OLD_TO_NEW

    def kanji(c: str) -> bool:
        return len(c) == 1 and unicodedata.name(c, "").startswith("CJK ")
    assert all(kanji(o) and kanji(n) and o != n for o, n in OLD_TO_NEW.items())
    assert not set(OLD_TO_NEW) & set(OLD_TO_NEW.values()), "a chain: a new form that is itself folded"
    # NFKC folds before the table: no compatibility ideograph needs (or may have) an entry.
    assert all(unicodedata.normalize("NFKC", c) == c for pair in OLD_TO_NEW.items() for c in pair)
    for o, n in {"國": "国", "學": "学", "體": "体", "藝": "芸", "辯": "弁", "辨": "弁", "瓣": "弁", "龜": "亀",
                 "鬭": "闘", "曾": "曽", "澤": "沢", "濱": "浜", "齋": "斎", "齊": "斉", "廳": "庁", "缺": "欠"}.items():
        assert JOYO_KYUJITAI[o] == n, o
    for o, n in {"堯": "尭", "巖": "巌", "檜": "桧", "禰": "祢", "遙": "遥", "峯": "峰", "薗": "園", "凜": "凛"}.items():
        assert JINMEI_ITAIJI[o] == n, o
    # The 常用漢字表's bracketed forms that are not compatibility ideographs (those NFKC folds) are all there.
    assert len(JOYO_KYUJITAI) >= 300
    # 斎 and 斉 are different registered names: folded apart, never into one.
    assert "斎" not in OLD_TO_NEW and "斉" not in OLD_TO_NEW


@pytest.mark.parametrize("pair", AUDIT_PAIRS)
def test_each_pair_the_audit_found_is_one_name(pair):
    old, new = pair
    assert name_forms(f"{old}田 太郎") & name_forms(f"{new}田 太郎")
    assert normalize_name(old) == normalize_name(new)
    assert person_key(f"{old}田 太郎", "1950-01-01", ADDRESS) == person_key(f"{new}田 太郎", "1950-01-01", ADDRESS)


def test_every_pair_of_the_table_is_one_name_for_protection_and_identity():
    from evac.kanji_variants import OLD_TO_NEW
    for old, new in OLD_TO_NEW.items():
        if old == "龍":
            continue   # 龍/竜: near only (evac.disclosure._NEAR_KANJI), below
        assert normalize_name(old) == normalize_name(new), old
    # Protection reaches 竜 from 龍 as before (alike for protection, staff decide an inquiry).
    assert protection_forms("龍田 太郎", "", "1950-01-01") & protection_forms("竜田 太郎", "", "1950-01-01")


def test_a_kiosk_digest_of_either_form_is_among_hq_s():
    old, new, birth, _ = PEOPLE[0]
    reached = protected_forms([PersonFacts(name=old, name_kana="", birth_date=birth, address=ADDRESS,
                                           never_disclose=True)])
    key = b"k" * 32
    sent = protection_digests(key, reached)
    # What a kiosk of this release digests for whom it is shown, either form.
    for name in (old, new):
        assert protection_digests(key, protection_forms(name, "", birth)) & sent, name
    # A kiosk of the release before (identity form 2) digests the forms 1 and 2 made: still found.
    assert protection_digests(key, {(normalize_name("浅野", 2) + normalize_name("恵", 2), birth)}) & sent


def test_address_folding_follows_the_table_too():
    assert normalize_address("焼津市大字關方1-2") == normalize_address("焼津市関方1-2")


# --- databases keyed under form 2 -----------------------------------------------------------------------

def form_2_key(name: str, birth_date: str, address: str) -> str:
    """person_key as identity form 2 made it, for addresses the table does not touch."""
    assert normalize_address(address) == "本町9-9"
    fields = "\x1f".join((normalize_name(name, 2), birth_date, normalize_address(address)))
    return "nba:" + hashlib.sha256(fields.encode()).hexdigest()[:32]


def test_form_2_key_is_what_form_2_made():
    assert IDENTITY_FORM >= 3
    # Pinned from form 2's own code (evac/identity.py at IDENTITY_FORM 2).
    assert form_2_key("淺野 恵", "1993-03-04", ADDRESS) == PINNED_FORM_2


PINNED_FORM_2 = "nba:" + hashlib.sha256("淺野恵\x1f1993-03-04\x1f本町9-9".encode()).hexdigest()[:32]


def test_hq_keyed_under_form_2_becomes_one_person_at_the_start(hq_app, hq_client, enroll, monkeypatch):
    from hq_dashboard import merge as hq_merge
    from hq_dashboard import prepare_database
    from hq_dashboard.db import db
    from hq_dashboard.models import Person
    from tests.test_hq_sync_api import post
    from tests.wire import KioskStream, person

    card = person("淺野 恵", "1993-03-04", sex="female", address=ADDRESS)
    typed = person("浅野 恵", "1993-03-04", sex="female", address=ADDRESS)
    first, second = KioskStream("kiosk-1", "H001"), KioskStream("kiosk-2", "H002")
    first.checkin(card)
    first.add("consent", card, {"consent": "none", "never_disclose": True})
    second.checkin(typed, at_ms=first.ms + 60_000)
    with monkeypatch.context() as m:
        m.setattr(hq_merge, "_basic_key", form_2_key)
        assert post(hq_client, enroll("H001"), "kiosk-1", first.events).status_code == 200
        assert post(hq_client, enroll("H002"), "kiosk-2", second.events).status_code == 200
    with hq_app.app_context():
        db.session.execute(text("UPDATE hq_meta SET value = '2' WHERE name = 'identity_form'"))
        db.session.commit()
        assert db.session.execute(select(Person.id)).all().__len__() == 2   # form 2: two people

    prepare_database(hq_app)   # HQ's start
    with hq_app.app_context():
        rows = db.session.execute(select(Person.name, Person.shelter_id, Person.never_disclose)).all()
        assert db.session.execute(text("SELECT value FROM hq_meta WHERE name = 'identity_form'")).scalar() \
            == str(IDENTITY_FORM)
    assert [(r[1], bool(r[2])) for r in rows] == [("H002", True)], rows


def test_a_kiosk_keyed_under_form_2_re_keys_when_opened(tmp_path, monkeypatch):
    import evac.events
    import kiosk.store
    from evac.events import Person
    from kiosk.store import KioskStore

    path = tmp_path / "k.sqlite3"
    card = Person("淺野 恵", "1993-03-04", "female", ADDRESS)
    typed = Person("浅野 恵", "1993-03-04", "female", ADDRESS)
    with monkeypatch.context() as m:
        m.setattr(kiosk.store, "person_key", form_2_key)
        m.setattr(evac.events, "person_key", form_2_key)
        store = KioskStore(path)
        store.check_in("H001", [card], never_disclose=True)
        with store._write():
            store.db.execute("UPDATE meta SET value = '2' WHERE key = 'identity_form'")
        store.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT person_key FROM roster").fetchall() == [(form_2_key(*_key_of(card)),)]
    store = KioskStore(path)
    try:
        assert store.db.execute("SELECT person_key FROM roster").fetchall() == [(person_key(*_key_of(typed)),)]
        assert store.is_protected(typed.name, typed.birth_date, typed.address)
    finally:
        store.close()


def _key_of(p) -> tuple[str, str, str]:
    return p.name, p.birth_date, p.address



def test_the_new_form_at_another_address_is_protected_though_another_person():
    # Another address (the one she is hiding at): two persons at HQ, and protection still reaches the new form.
    from evac.disclosure import is_protected
    card = PersonFacts(name="淺野 恵", name_kana="", birth_date="1993-03-04", address=ADDRESS, never_disclose=True)
    typed = PersonFacts(name="浅野 恵", name_kana="", birth_date="1993-03-04", address="焼津市小川1-1",
                        consent="public")
    assert person_key(card.name, card.birth_date, card.address) != person_key(typed.name, typed.birth_date,
                                                                                typed.address)
    assert is_protected(typed, protected_forms([card, typed]))


# Form 3's keys, pinned as tests/test_identity.py pins form 2's: a change to the table changes stored keys,
# and must come with the next IDENTITY_FORM.
@pytest.mark.parametrize(("who", "key"), [
    (("淺野 恵", "1993-03-04", ADDRESS), "nba:2f19e48849c1dce2fcafb9d8cabefae5"),
    (("浅野 恵", "1993-03-04", ADDRESS), "nba:2f19e48849c1dce2fcafb9d8cabefae5"),
    (("瀧本 榮", "1961-06-06", ADDRESS), "nba:071cf18f84e8da0fa5e57236c9e3d1ca"),
    (("滝本 栄", "1961-06-06", ADDRESS), "nba:071cf18f84e8da0fa5e57236c9e3d1ca"),
])
def test_form_3_keys_do_not_change_unnoticed(who, key):
    assert person_key(*who) == key
