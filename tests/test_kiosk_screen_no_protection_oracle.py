"""災対法 §86-15: to anyone not authorised, a never-disclose person is indistinguishable from someone unknown.
A legal audit found the kiosk screen told whether a name and birth date were protected anywhere in the city:
with any QR from HQ's public pre-registration, a name typed in beside it (or on a pre-registration of one's
own) was refused when protected (422, "ask staff") and checked in when unknown (201).  Now both are answered
alike, on the screen and over the kiosk's JSON API; the protected person's check-in is held back for staff
(a call on the tablet naming her) and written nowhere, so HQ still says she is where she was; and what the
screen says about her afterwards (the QR scanned again, a check-out, her name typed in again or on another
pre-registration) is what it says about someone unknown checked in then.

Real processes: `evac hq serve` (the public pre-registration, the protection digests), kiosks synced with it,
and the screen's kiosk as `evac kiosk serve`."""
from __future__ import annotations

import json
import re
import sqlite3
import urllib.error
import urllib.request

import pytest

from evac.events import Person
from kiosk.store import KioskStore
from kiosk.sync import HQClient, sync_once
from tests.conftest import Server, evac_cmd, free_port, run_evac
from tests.staff_helpers import logged_in, make_app

ADDRESS = "静岡県焼津市本町7-7-7"
VICTIM = {"name": "小林 秋子", "birth_date": "1985-09-09", "sex": "female"}     # protected at another shelter
UNKNOWN = {"name": "小林 夏子", "birth_date": "1985-09-09", "sex": "female"}    # nobody the city knows
CHECKIN = {"stay_type": "in_shelter", "disclosure": "public"}


def post(url: str, body: dict) -> tuple[int, dict]:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def get(url: str) -> tuple[int, dict]:
    with urllib.request.urlopen(url, timeout=30) as resp:
        return resp.status, json.loads(resp.read())


def prereg(hq, holder: str, *others: dict) -> str:
    members = [{"name": holder, "birth_date": "1980-01-01", "sex": "male"}, *others]
    status, reg = post(f"{hq.url}/api/v1/prereg", {"address": ADDRESS, "consent": "none", "members": members})
    assert status == 201, reg
    return reg["qr"]


def alike(answer: tuple[int, dict], names: dict[str, str]) -> tuple[int, str]:
    """The answer with the names asked about and the time of day put as placeholders: what is left must be
    the same, word for word, for a protected and for an unknown person."""
    status, body = answer
    text = json.dumps(body, ensure_ascii=False, sort_keys=True)
    for name, placeholder in names.items():
        text = text.replace(name, placeholder)
    text = re.sub(r'"confirmed_at": "[^"]*"', '"confirmed_at": "<time>"', text)
    text = re.sub(r'"time_text": "[^"]*"', '"time_text": "<time>"', text)
    text = re.sub(r'"token": "[^"]*"', '"token": "<token>"', text)
    text = re.sub(r'"household_id": "HH-[0-9A-F]{16}"', '"household_id": "<the QR\'s>"', text)
    return status, text


@pytest.fixture
def city(hq_server, tmp_path):
    """HQ; 小林 秋子 checked in with never-disclose at H001's kiosk and synced; the screen's kiosk (H031)
    synced with HQ (its keys for QRs and the protection digests) and serving as its own process."""
    hq = hq_server()
    elsewhere = tmp_path / "h001.sqlite3"
    token = run_evac("hq", "enroll-kiosk", "--db", hq.db_url, "--shelter", "H001").stdout.strip()
    store = KioskStore(elsewhere)
    store.check_in("H001", [Person(VICTIM["name"], VICTIM["birth_date"], "female", "静岡県焼津市本町1-1")],
                   disclosure="none", never_disclose=True)
    sync_once(store, HQClient(hq.url, token))
    store.close()
    prereg(hq, "焼津 一番")   # HQ makes its QR signing key with its first pre-registration
    db = tmp_path / "h031.sqlite3"
    token = run_evac("hq", "enroll-kiosk", "--db", hq.db_url, "--shelter", "H031").stdout.strip()
    store = KioskStore(db)
    sync_once(store, HQClient(hq.url, token))
    assert store.is_protected(VICTIM["name"], VICTIM["birth_date"], ADDRESS)
    assert not store.is_protected(UNKNOWN["name"], UNKNOWN["birth_date"], ADDRESS)
    port = free_port()
    kiosk = Server(evac_cmd("kiosk", "serve", "--db", str(db), "--shelter", "H031", "--port", str(port)),
                   f"http://127.0.0.1:{port}", tmp_path / "kiosk.log", "/api/status")
    kiosk.hq, kiosk.hq_token, kiosk.store, kiosk.db = hq, token, store, db
    try:
        yield kiosk
    finally:
        kiosk.stop()
        store.close()


def where_hq_says(hq, person: dict) -> list[tuple[str, str | None]]:
    with sqlite3.connect(hq.db_url.removeprefix("sqlite:///")) as db:
        return db.execute("SELECT state, shelter_id FROM persons WHERE birth_date = ? AND replace(name, ' ', '')"
                          " = replace(?, ' ', '')", (person["birth_date"], person["name"])).fetchall()


def scan(kiosk, qr: str) -> tuple[int, dict]:
    scanned = post(f"{kiosk.url}/screen/qr?lang=en", {"qr": qr})
    assert scanned[0] == 200, scanned
    return scanned


def typed_beside_a_qr(kiosk, holders: tuple[str, str], person: dict) -> list[tuple[int, dict]]:
    """Someone with a QR of their own types `person` in as a member of their household; then again beside
    another QR; then checks out with the first QR (leaving the one typed in behind)."""
    qr = prereg(kiosk.hq, holders[0])
    scanned = scan(kiosk, qr)
    done = post(f"{kiosk.url}/screen/checkin?lang=en",
                {"token": scanned[1]["token"], "present": [0], "members": [person], "needs": [[], []], **CHECKIN})
    again = scan(kiosk, prereg(kiosk.hq, holders[1]))
    refused = post(f"{kiosk.url}/screen/checkin?lang=en",
                   {"token": again[1]["token"], "present": [0], "members": [person], "needs": [[], []], **CHECKIN})
    back = scan(kiosk, qr)
    left = post(f"{kiosk.url}/screen/leave?lang=en", {"token": back[1]["token"], "present": [0]})
    return [scanned, done, again, refused, back, left]


def on_a_qr_of_their_own(kiosk, holders: tuple[str, str], person: dict) -> list[tuple[int, dict]]:
    """A pre-registration made with `person` as a member, scanned at the screen and both ticked; scanned again,
    both checked out, and in again; then another pre-registration naming `person` too."""
    qr = prereg(kiosk.hq, holders[0], person)
    answers = []
    for step in ("checkin", "leave", "checkin"):
        scanned = scan(kiosk, qr)
        answers += [scanned, post(f"{kiosk.url}/screen/{step}?lang=en", {
            "token": scanned[1]["token"], "present": [0, 1],
            **({"needs": [[], []], **CHECKIN} if step == "checkin" else {})})]
    answers.append(scan(kiosk, qr))
    other = scan(kiosk, prereg(kiosk.hq, holders[1], person))
    return answers + [other, post(f"{kiosk.url}/screen/checkin?lang=en",
                                  {"token": other[1]["token"], "present": [1], "needs": [[]], **CHECKIN})]


def through_the_api(kiosk, holders: tuple[str, str], person: dict) -> list[tuple[int, dict]]:
    qr = prereg(kiosk.hq, holders[0], person)
    return [post(f"{kiosk.url}/api/qr-checkin", {"qr": qr}), post(f"{kiosk.url}/api/qr-checkin", {"qr": qr}),
            post(f"{kiosk.url}/api/qr-checkin", {"qr": prereg(kiosk.hq, holders[1], person)})]


@pytest.mark.parametrize("way", [typed_beside_a_qr, on_a_qr_of_their_own, through_the_api])
def test_a_protected_name_is_answered_as_an_unknown_one_and_moves_no_one(city, way):
    before = where_hq_says(city.hq, VICTIM)
    assert before == [("checked_in", "H001")]
    # one QR holder each: a holder checked in here is someone a second QR cannot speak for
    unknown = way(city, ("加藤 善男", "加藤 善次"), UNKNOWN)
    protected = way(city, ("加藤 悪男", "加藤 悪次"), VICTIM)
    # in, then (now someone this kiosk knows) refused by another QR
    assert unknown[1][0] == 201 and 422 in [status for status, _body in unknown], unknown
    assert len(unknown) == len(protected)
    for (u, p) in zip(unknown, protected):
        assert alike(p, {VICTIM["name"]: "<name>", "加藤 悪男": "<holder>", "加藤 悪次": "<holder 2>"}) == \
            alike(u, {UNKNOWN["name"]: "<name>", "加藤 善男": "<holder>", "加藤 善次": "<holder 2>"})
    # Nothing was written under her identity here: HQ, synced, still says where she was.
    store = city.store
    assert not [e for e in store.events_after(0) if (e.get("person") or {}).get("name") == VICTIM["name"]]
    sync_once(store, HQClient(city.hq.url, city.hq_token))
    assert where_hq_says(city.hq, VICTIM) == before
    assert where_hq_says(city.hq, UNKNOWN) == [("checked_in", "H031")]
    # The tablet's staff (authorised) are told whom the screen held back, to see her in person.
    held = [c for c in store.open_staff_calls(with_who=True) if c["reason"] == "held_protected"]
    assert held and all(c["who"] == [f"{VICTIM['name']} {VICTIM['birth_date']}"] for c in held)
    assert get(f"{city.url}/screen/calls/{held[0]['id']}")[1] == {"open": False}, "as a call nobody raised"
    # On the tablet, a lead sees whom; a plain staff account (whose roster leaves protected people out) does not.
    tablet = make_app(city.db)
    page = logged_in(tablet, "tanaka").get("/staff/summary").text
    assert 'data-reason="held_protected"' in page and "画面からの受付を保留し、記録していません" in page
    assert f'<span class="call-who">{VICTIM["name"]} {VICTIM["birth_date"]}</span>' in page
    page = logged_in(tablet).get("/staff/summary").text
    assert 'data-reason="held_protected"' in page and VICTIM["name"] not in page and "誰かはリーダーに表示されます" in page
