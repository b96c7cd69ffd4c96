"""Review of the evacuee's screen: a household QR at a second shelter ticks nobody for the person
(Chromium), leaving refused in words that send people to staff, one family-code rule at HQ and at the
kiosk, the destination search by reading, the status page's HQ line in Japanese, and a great age asked
about once.  Real HTTP, real SQLite, real Chromium; no card reader."""
from __future__ import annotations

import dataclasses
import json
import re
import sqlite3

import pytest

from evac.events import FAMILY_CODE_LEN, Person
from evac.prereg_qr import Member, keys_from_hex, sign, verify
from kiosk import create_app
from kiosk.store import KioskStore
from tests.browser import screenshot
from tests.conftest import free_port
from tests.staff_helpers import wait_for
from tests.test_kiosk_screen import (  # noqa: F401
    FAMILY, events, hq_key, qr_on_screen, said, shown, tid, trust, walk_to_consent)
from tests.test_kiosk_screen_api import KEY, kiosk  # noqa: F401  (fixture)
from tests.test_kiosk_screen_api import FAMILY as API_FAMILY

ALONE = dataclasses.replace(FAMILY, household_id="hh-yaizu-0002", members=(
    Member("p-0009", "大井 一人", "1960-04-04", "male"),))


def trust_as_hq(server, private_key) -> None:
    """The kiosk learns HQ's QR key and shelter list, readings (名称_カナ) included, as a sync brings them."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    from evac.prereg_qr import key_id
    store = KioskStore(server.db)
    kana = store.shelter_kana()
    public = private_key.public_key()
    store.apply_config({"shelters": [{"id": sid, "name": name, "name_kana": kana.get(sid, ""), "kind": kind}
                                     for sid, name, kind in store.shelter_list()],
                        "prereg_keys": {key_id(public): public.public_bytes(Encoding.Raw, PublicFormat.Raw).hex()}})
    store.close()


def _boxes(page) -> list[bool]:
    return [tid(page, f"present-{i}").is_checked() for i in range(len(FAMILY.members))]


# -- 1. a household QR at a second shelter ----------------------------------------------------------

def test_a_household_qr_at_a_second_shelter_ticks_nobody_and_asks_who_is_here(kiosk_server, page_at, hq_key):
    # The household checked in at H031 with its QR; 花子 moved on to H039.  At H039's kiosk the QR is
    # scanned again (for 花子): 太郎 and 陽菜 are still at H031 and must not be moved here.
    first = kiosk_server()
    trust(first, hq_key)
    store = KioskStore(first.db)
    store.check_in_prereg("H031", verify(sign(FAMILY, hq_key), keys_from_hex(store.prereg_keys())))
    store.leave([(FAMILY.members[1].name, FAMILY.members[1].birth_date, FAMILY.address)], "H039")
    store.close()
    second = kiosk_server(SHELTER_ID="H039")
    trust(second, hq_key)
    page = page_at(second.url)
    qr_on_screen(page, sign(FAMILY, hq_key))
    assert _boxes(page) == [False, False, False]
    assert tid(page, "choose-who").is_visible()
    assert tid(page, "choose-who").inner_text() == said(second, "ja",
                                                         "Who is here now? Tap each person who is here with you.")
    assert tid(page, "everyone").is_visible()
    screenshot(page, "21-confirm-choose-who")
    # nobody chosen: said, and the screen stays
    tid(page, "confirm-yes").click()
    assert tid(page, "error-present").inner_text() == said(second, "ja", "Choose at least one person.")
    shown(page, "confirm")
    tid(page, "present-1").check()
    walk_to_consent(page)
    tid(page, "submit").click()
    shown(page, "done")
    assert [e["person"]["name"] for e in events(second) if e["type"] == "checkin"] == ["焼津 花子"]

    # "everyone" is one tap, and leaves out whoever is already checked in here
    qr_on_screen(page, sign(FAMILY, hq_key), lang="en")
    assert _boxes(page) == [False, False, False]
    tid(page, "everyone").click()
    assert _boxes(page) == [True, False, True]
    assert tid(page, "everyone").inner_text() == "Everyone on this list is here"


def test_a_one_person_household_comes_ticked_and_leaving_asks_nothing(kiosk_server, page_at, hq_key):
    kiosk = kiosk_server()
    trust(kiosk, hq_key)
    page = page_at(kiosk.url)
    qr_on_screen(page, sign(ALONE, hq_key))
    assert tid(page, "present-0").is_checked()
    assert not tid(page, "choose-who").is_visible() and not tid(page, "everyone").is_visible()
    tid(page, "confirm-yes").click()
    shown(page, "members")


# -- 3. the family code: one rule at HQ and at the kiosk -----------------------------------------------

def test_the_family_code_rule_is_hqs_and_the_kiosk_takes_what_hq_signed(kiosk):  # noqa: F811
    from evac.events import clean_family_code, family_code_fits   # the rule HQ and the kiosk share
    assert FAMILY_CODE_LEN == (4, 32)
    assert family_code_fits(clean_family_code(" ｙａｉｚｕ－ｆａｍｉｌｙ－ｃｏｄｅ ")) and not family_code_fits("abc")
    from hq_dashboard.prereg import PreregError, parse_registration   # what HQ accepts, unchanged
    long_code = "yaizu-honmachi-family-2026"   # 26 characters, accepted by HQ's pre-registration
    form = {"address": "焼津市本町1-1", "consent": "family", "family_code": long_code,
            "members": [{"name": "焼津 太郎", "birth_date": "1948-03-03", "sex": "male"}]}
    parse_registration(form)
    with pytest.raises(PreregError):
        parse_registration({**form, "family_code": "x" * 33})

    # a QR made with it: the page is told the code is kept (never the code), and it is kept
    household = dataclasses.replace(API_FAMILY, consent="family", family_code=long_code)
    body = kiosk.post("/screen/qr", json={"qr": sign(household, KEY)}).get_json()
    assert body["family_code_kept"] is True and long_code not in json.dumps(body)
    # typed again at the kiosk (as the family remembers it): accepted
    resp = kiosk.post("/screen/checkin?lang=ja", json={
        "token": body["token"], "present": [0], "stay_type": "in_shelter", "needs": [[]], "disclosure": "family",
        "family_code": long_code})
    assert resp.status_code == 201, resp.get_json()
    consent = [json.loads(r[0]) for r in kiosk.store.db.execute("SELECT body FROM events ORDER BY seq")
               if json.loads(r[0])["type"] == "consent"]
    assert [c["data"]["family_code"] for c in consent] == [long_code]
    # too long: said in Japanese with HQ's numbers
    body = kiosk.post("/screen/qr", json={"qr": sign(household, KEY)}).get_json()
    resp = kiosk.post("/screen/checkin?lang=ja", json={
        "token": body["token"], "present": [1], "stay_type": "in_shelter", "needs": [[]], "disclosure": "family",
        "family_code": "x" * 33})
    assert resp.get_json()["errors"] == {"family_code": "家族コードは4〜32文字です（英数字・かななど）。"}


def test_the_consent_screen_says_the_pre_registered_code_is_kept(kiosk_server, page_at, hq_key):
    kiosk = kiosk_server()
    trust(kiosk, hq_key)
    page = page_at(kiosk.url)
    qr_on_screen(page, sign(dataclasses.replace(ALONE, family_code="yaizu-honmachi-family-2026"), hq_key))
    walk_to_consent(page)
    shown(page, "consent")
    assert tid(page, "code-kept").inner_text() == said(
        kiosk, "ja", "The family code from your pre-registration is kept. Leave this empty to keep it.")
    assert "4〜32文字" in page.locator('label[for="family-code"]').inner_text()
    # Said only with "my family": the code is not kept with "anyone" or "no one" (the review of this fix).
    for choice, kept in (("public", False), ("none", False), ("family", True)):
        tid(page, f"consent-{choice}").click()
        assert tid(page, "code-kept").is_visible() is kept, choice


def test_a_family_code_drops_characters_nobody_sees():
    from evac.events import clean_family_code
    assert clean_family_code("ＡＢ\u200bＣＤ\u00ad") == "ABCD"
    assert clean_family_code(" yaizu\x07 umi ") == "yaizu umi"


# -- 4. the destination search by reading ---------------------------------------------------------------

def test_moving_on_finds_shelters_by_kana_and_romaji(kiosk_server, page_at, hq_key):
    kiosk = kiosk_server()
    trust_as_hq(kiosk, hq_key)
    store = KioskStore(kiosk.db)
    store.check_in_prereg("H031", verify(sign(ALONE, hq_key), keys_from_hex(store.prereg_keys())))
    by_name = sum(1 for sid, name, kind in store.shelter_list()
                  if kind == "shelter" and sid != "H031" and "大井川" in name)
    store.close()
    assert by_name > 0
    page = page_at(kiosk.url)
    qr_on_screen(page, sign(ALONE, hq_key), "leave")
    tid(page, "moving").click()
    # One screen, each way of typing the place in turn (a kiosk and a browser for each took 4 s apiece).
    for typed in ["大井川", "おおいがわ", "オオイガワ", "ｵｵｲｶﾞﾜ", "Oigawa", "ooigawa", "Ōigawa"]:
        tid(page, "dest-filter").fill(typed)
        assert page.locator('[data-testid="destinations"] button:visible').count() >= by_name, typed
        found = page.locator('[data-testid="destinations"] button:visible').all_inner_texts()
        assert sum("大井川" in name for name in found) == by_name, typed
        tid(page, "dest-filter").fill("H001")   # an id is still an id, not the romaji "h"
        assert page.locator('[data-testid="destinations"] button:visible').count() == 1, typed


def test_a_kiosk_database_from_before_readings_gets_them(tmp_path):
    db = tmp_path / "kiosk.sqlite3"
    KioskStore(db).close()
    raw = sqlite3.connect(db)
    raw.execute("DROP TABLE shelter_kana")
    raw.commit()
    raw.close()
    store = KioskStore(db)
    try:
        assert store.shelter_kana()["H001"]
    finally:
        store.close()


def test_hqs_readings_come_down_with_its_shelter_list(tmp_path):
    store = KioskStore(tmp_path / "kiosk.sqlite3")
    try:
        store.apply_config({"shelters": [{"id": "H001", "name": "本町小学校", "name_kana": "ホンマチショウガッコウ",
                                          "kind": "shelter"}, {"id": "H002", "name": "名無し", "kind": "shelter"}]})
        assert store.shelter_kana() == {"H001": "ホンマチショウガッコウ"}
    finally:
        store.close()


# -- 5. the status page's HQ line ------------------------------------------------------------------------

def test_the_status_page_says_hq_is_down_in_japanese_with_the_pages_count(tmp_path):
    db = tmp_path / "kiosk.sqlite3"
    store = KioskStore(db)
    store.check_in("H031", [Person("鍵 一", "1970-01-01", "female", "焼津市本町1-1")])
    app = create_app({"KIOSK_DB": str(db), "SHELTER_ID": "H031", "TESTING": True,
                      "HQ_URL": f"http://127.0.0.1:{free_port()}", "HQ_TOKEN": "t", "SYNC_INTERVAL": 0.2})
    syncer = app.extensions["kiosk_sync"]
    try:
        wait_for(lambda: syncer.last_error is not None, "the first failed sync round")
        store.check_in("H031", [Person("鍵 二", "1971-01-01", "male", "焼津市本町1-1")])   # one more since
        page = app.test_client().get("/status").text
    finally:
        syncer.stop()
        store.close()
    hq = re.search(r'<dd id="hq">(.*?)</dd>', page, re.S).group(1)
    assert "接続できません: 本部に接続できません（" in hq and "記録は失われません" in hq
    assert "cannot be reached" not in hq and "event(s)" not in hq
    pending = re.search(r"<dt>未送信 / Waiting to send to HQ</dt><dd>(\d+)</dd>", page).group(1)
    assert pending == "2"


# -- 6. a great age, asked about once ---------------------------------------------------------------------

def test_a_great_age_is_asked_about_once_then_added(kiosk):  # noqa: F811
    body = kiosk.post("/screen/qr", json={"qr": sign(API_FAMILY, KEY)}).get_json()
    typed = {"token": body["token"], "present": [0], "members": [], "name": "焼津 一郎", "birth_date": "1890-02-17",
             "sex": "male"}
    first = kiosk.post("/screen/member?lang=ja", json=typed)
    assert first.status_code == 422
    message = first.get_json()["errors"]["member.birth_date"]
    assert message.startswith("この生年月日だと") and "「この人を追加」" in message
    again = kiosk.post("/screen/member?lang=ja", json={**typed, "age_confirmed": first.get_json()["confirm_age"]})
    assert again.status_code == 200 and again.get_json()["age_confirmed"] == "1890-02-17"
    # an ordinary age is not asked about
    assert kiosk.post("/screen/member", json={**typed, "birth_date": "1980-02-17"}).status_code == 200
    # the check-in asks again for one not said to be right
    member = {"name": "焼津 一郎", "birth_date": "1890-02-17", "sex": "male"}
    checkin = {"token": body["token"], "present": [0], "stay_type": "in_shelter", "needs": [[], []],
               "disclosure": "none"}
    resp = kiosk.post("/screen/checkin", json={**checkin, "members": [member]})
    assert resp.status_code == 422 and "members.0.birth_date" in resp.get_json()["errors"]
    resp = kiosk.post("/screen/checkin", json={**checkin, "members": [{**member, "age_confirmed": "1890-02-17"}]})
    assert resp.status_code == 201, resp.get_json()


def test_the_screen_asks_about_a_great_age_and_adds_it_on_the_second_tap(kiosk_server, page_at, hq_key):
    kiosk = kiosk_server()
    trust(kiosk, hq_key)
    page = page_at(kiosk.url)
    qr_on_screen(page, sign(ALONE, hq_key), lang="pt")
    tid(page, "confirm-yes").click()
    tid(page, "member-name").fill("大井 二人")
    tid(page, "member-birth").fill("1890-05-05")
    page.locator('input[name="sex"][value="female"]').check()
    tid(page, "member-add").click()
    page.wait_for_selector('[data-testid="error-member.birth_date"]:not(:empty)')
    assert "Adicionar esta pessoa" in tid(page, "error-member.birth_date").inner_text()
    assert "大井 二人" not in tid(page, "members").inner_text()
    tid(page, "member-add").click()
    page.wait_for_selector('[data-testid="members"]:has-text("大井 二人")')
    tid(page, "members-next").click()
    tid(page, "stay-in_shelter").click()
    tid(page, "needs-next").click()
    tid(page, "consent-none").click()
    tid(page, "submit").click()
    shown(page, "done")
    assert [e["person"]["birth_date"] for e in events(kiosk) if e["type"] == "checkin"] == ["1960-04-04", "1890-05-05"]
