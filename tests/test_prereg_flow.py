"""Pre-registration end to end: HQ issues the QR, the kiosk learns HQ's keys by syncing, checks the household
in from the QR with no network, and HQ counts them; revocations and forgeries are refused, writing nothing."""
import json
import urllib.error
import urllib.request

import pytest

from kiosk import create_app
from kiosk.store import KioskStore
from kiosk.sync import HQClient, sync_once
from tests.conftest import run_evac

FAMILY = {"address": "静岡県焼津市本町5-9-1", "consent": "family", "family_code": "Yaizu2026", "contact": "054-000-0000",
          "members": [
    {"name": "焼津 太郎", "name_kana": "ヤイヅ タロウ", "birth_date": "1948-03-03", "sex": "male", "needs": ["dialysis"]},
    {"name": "焼津 花子", "birth_date": "1950-07-07", "sex": "female"},
    {"name": "焼津 陽菜", "birth_date": "2022-01-15", "sex": "female", "needs": ["infant", "allergy"]}]}


def post_json(url, body):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.fixture
def hq_and_kiosk(hq_server, tmp_path):
    hq = hq_server()
    token = run_evac("hq", "enroll-kiosk", "--db", hq.db_url, "--shelter", "H031").stdout.strip()
    db = tmp_path / "kiosk.sqlite3"
    app = create_app({"KIOSK_DB": str(db), "SHELTER_ID": "H031", "TESTING": True})
    return hq, token, db, app.test_client()


def occupancy(hq_url, shelter):
    with urllib.request.urlopen(f"{hq_url}/api/v1/shelters", timeout=10) as resp:
        return next(f["properties"]["occupancy"] for f in json.loads(resp.read())["features"]
                    if f["properties"]["id"] == shelter)


def test_a_household_checks_in_with_one_scan(hq_and_kiosk):
    hq, token, db, kiosk = hq_and_kiosk
    status, reg = post_json(f"{hq.url}/api/v1/prereg", FAMILY)
    assert status == 201 and reg["qr"].startswith("EV1:") and len(reg["members"]) == 3
    # Before its first sync the kiosk has no keys: the QR cannot be trusted yet.
    early = kiosk.post("/api/qr-checkin", json={"qr": reg["qr"]})
    assert early.status_code == 422 and early.get_json()["error"] == "foreign"
    sync_once(KioskStore(db), HQClient(hq.url, token))
    resp = kiosk.post("/api/qr-checkin", json={"qr": reg["qr"]})
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["names"] == ["焼津 太郎", "焼津 花子", "焼津 陽菜"]
    sync_once(KioskStore(db), HQClient(hq.url, token))
    assert occupancy(hq.url, "H031") == 3
    # The family code chosen at registration came with the QR: the family who give it are answered once staff
    # have confirmed who asks (a QR proves no one: tests/test_qr_consent_after_review.py).
    written = [json.loads(b) for (b,) in KioskStore(db).db.execute("SELECT body FROM events ORDER BY seq")]
    consents = [e for e in written if e["type"] == "consent"]
    assert {e["data"]["family_code"] for e in consents} == {"Yaizu2026"} and len(consents) == 3
    status, answer = post_json(f"{hq.url}/api/v1/safety/inquiries", {
        "inquirer": {"name": "焼津 一郎", "address": "東京都", "contact": "090"}, "relationship": "other",
        "reason": "家族", "sought": {"name": "焼津 花子", "birth_date": "1950-07-07"}, "family_code": "yaizu2026"})
    assert status == 201 and answer["status"] == "pending_review" and answer["whereabouts"] is None


def test_revoked_and_forged_qrs_are_refused_and_write_nothing(hq_and_kiosk):
    hq, token, db, kiosk = hq_and_kiosk
    _, reg = post_json(f"{hq.url}/api/v1/prereg", FAMILY)
    revoked = run_evac("hq", "revoke-prereg", "--db", hq.db_url, reg["household_id"])
    assert revoked.returncode == 0, revoked.stderr
    sync_once(KioskStore(db), HQClient(hq.url, token))
    resp = kiosk.post("/api/qr-checkin", json={"qr": reg["qr"]})
    assert resp.status_code == 422 and resp.get_json()["error"] == "revoked"
    forged = reg["qr"][:-6] + ("A" if reg["qr"][-6] != "A" else "B") + reg["qr"][-5:]
    resp = kiosk.post("/api/qr-checkin", json={"qr": forged})
    assert resp.status_code == 422 and resp.get_json()["error"] in ("forged", "malformed")
    assert KioskStore(db).last_seq == 0


def _kid(qr: str) -> str:
    import base45
    return base45.b45decode(qr[4:])[:4].hex()


def test_a_rotated_key_reaches_the_kiosks_a_day_before_it_signs_and_old_qrs_stay_valid(hq_and_kiosk):
    """Before, a new key signed at once: every QR issued after a rotation was refused as "not the city's"
    at each kiosk that had not synced since (pre-registration review)."""
    import sqlite3
    hq, token, db, kiosk = hq_and_kiosk
    _, old = post_json(f"{hq.url}/api/v1/prereg", FAMILY)
    rotated = run_evac("hq", "rotate-prereg-key", "--db", hq.db_url)
    assert rotated.returncode == 0 and "(JST) から新しい QR に署名します" in rotated.stderr, rotated.stderr
    new_kid = rotated.stdout.strip()
    _, meanwhile = post_json(f"{hq.url}/api/v1/prereg", {**FAMILY, "address": "焼津市小川1"})
    assert _kid(meanwhile["qr"]) == _kid(old["qr"]) != new_kid   # the current key signs for a day yet
    store = KioskStore(db)
    sync_once(store, HQClient(hq.url, token))
    assert new_kid in store.prereg_keys()                       # ...while the kiosks learn the new one
    with sqlite3.connect(hq.db_url.removeprefix("sqlite:///")) as conn:   # a day and a bit later
        conn.execute("UPDATE prereg_keys SET created_at = datetime(created_at, CASE kid WHEN ? THEN '-25 hours'"
                     " ELSE '-30 hours' END)", (new_kid,))
    _, new = post_json(f"{hq.url}/api/v1/prereg", {**FAMILY, "address": "焼津市小川2"})
    assert _kid(new["qr"]) == new_kid
    for qr in (old, meanwhile, new):   # a kiosk that synced before the new key signed takes its QRs
        assert kiosk.post("/api/qr-checkin", json={"qr": qr["qr"]}).status_code == 201


def test_a_key_rotated_now_signs_at_once(hq_and_kiosk):
    hq, token, db, kiosk = hq_and_kiosk
    _, old = post_json(f"{hq.url}/api/v1/prereg", FAMILY)
    rotated = run_evac("hq", "rotate-prereg-key", "--db", hq.db_url, "--now")
    assert rotated.returncode == 0 and "今から新しい QR に署名します" in rotated.stderr
    _, new = post_json(f"{hq.url}/api/v1/prereg", {**FAMILY, "address": "焼津市小川1"})
    assert _kid(new["qr"]) == rotated.stdout.strip() != _kid(old["qr"])


def test_a_retired_key_leaves_the_kiosks_and_its_qrs_are_refused(hq_and_kiosk):
    import base45
    hq, token, db, kiosk = hq_and_kiosk
    _, old = post_json(f"{hq.url}/api/v1/prereg", FAMILY)
    old_kid = base45.b45decode(old["qr"][4:])[:4].hex()
    # the key that signs new QRs is not retired (HQ would hand out QRs no kiosk takes)...
    refused = run_evac("hq", "retire-prereg-key", "--db", hq.db_url, old_kid)
    assert refused.returncode == 2 and "rotate-prereg-key" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1 and "Traceback" not in refused.stderr
    unknown = run_evac("hq", "retire-prereg-key", "--db", hq.db_url, "deadbeef")
    assert unknown.returncode == 2 and unknown.stderr.startswith("evac: 事前登録の鍵 'deadbeef' はありません")
    assert " / no pre-registration key 'deadbeef'" in unknown.stderr
    assert len(unknown.stderr.strip().splitlines()) == 1
    # ...until a newer one signs
    new_kid = run_evac("hq", "rotate-prereg-key", "--db", hq.db_url, "--now").stdout.strip()
    _, new = post_json(f"{hq.url}/api/v1/prereg", {**FAMILY, "address": "焼津市小川1"})
    retired = run_evac("hq", "retire-prereg-key", "--db", hq.db_url, old_kid.upper())
    assert retired.returncode == 0, retired.stderr
    assert run_evac("hq", "retire-prereg-key", "--db", hq.db_url, old_kid).returncode == 0  # once is enough
    import sqlite3
    with sqlite3.connect(hq.db_url.removeprefix("sqlite:///")) as conn:   # its private half is gone
        assert conn.execute("SELECT private_raw FROM prereg_keys WHERE kid = ?", (old_kid,)).fetchone() == ("",)
    store = KioskStore(db)
    sync_once(store, HQClient(hq.url, token))
    assert set(store.prereg_keys()) == {new_kid}
    resp = kiosk.post("/api/qr-checkin", json={"qr": old["qr"]})
    assert resp.status_code == 422 and resp.get_json()["error"] == "foreign"
    assert kiosk.post("/api/qr-checkin", json={"qr": new["qr"]}).status_code == 201


def test_retiring_a_key_in_a_database_that_is_not_there_makes_none(tmp_path):
    typo = tmp_path / "hq-typo.sqlite3"
    result = run_evac("hq", "retire-prereg-key", "--db", str(typo), "a1b2c3d4")
    assert result.returncode != 0 and f"no HQ database at {typo}" in result.stderr and "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("body, field", [
    ({**FAMILY, "address": ""}, "address"),
    ({**FAMILY, "consent": "everyone"}, "consent"),
    ({**FAMILY, "family_code": ""}, "family_code"),
    ({**FAMILY, "consent": "public"}, "family_code"),
    ({**FAMILY, "contact": ["090"]}, "contact"),
    ({**FAMILY, "members": []}, "members"),
    ({**FAMILY, "members": [{"name": "<script>x</script>", "birth_date": "2099-01-01", "sex": "male"}]}, "members.0"),
    ({**FAMILY, "members": [{"name": "山田", "birth_date": "1990-01-01", "sex": "male", "needs": ["wings"]}]},
     "members.0.needs"),
    ({**FAMILY, "members": [{"name": "★★", "birth_date": "1990-01-01", "sex": "male"}]}, "members.0"),
    ({**FAMILY, "members": [{"name": "山田", "name_kana": "やまだ😀", "birth_date": "1990-01-01", "sex": "male"}]},
     "members.0.name_kana"),
])
def test_bad_registrations_name_the_field(hq_server, body, field):
    hq = hq_server()
    status, answer = post_json(f"{hq.url}/api/v1/prereg", body)
    assert status == 422 and answer["field"] == field and answer["message"]


def test_the_old_key_can_be_retired_once_the_new_ones_day_has_come_and_a_key_rotated_now_retires_a_waiting_one(
        hq_and_kiosk):
    """Review of the day's lead: with nobody registering after the new key's day had come, retiring the old key
    was refused ("make a new key first"); a key still waiting when one was rotated --now (a leak) stayed trusted
    by every kiosk, its private half kept."""
    import sqlite3
    hq, token, db, kiosk = hq_and_kiosk
    _, old = post_json(f"{hq.url}/api/v1/prereg", FAMILY)
    new_kid = run_evac("hq", "rotate-prereg-key", "--db", hq.db_url).stdout.strip()
    path = hq.db_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE prereg_keys SET created_at = datetime(created_at, CASE kid WHEN ? THEN '-25 hours'"
                     " ELSE '-30 hours' END)", (new_kid,))
    retired = run_evac("hq", "retire-prereg-key", "--db", hq.db_url, _kid(old["qr"]))
    assert retired.returncode == 0, retired.stderr
    waiting = run_evac("hq", "rotate-prereg-key", "--db", hq.db_url).stdout.strip()
    leaked = run_evac("hq", "rotate-prereg-key", "--db", hq.db_url, "--now").stdout.strip()
    with sqlite3.connect(path) as conn:
        rows = dict(conn.execute("SELECT kid, retired_at IS NOT NULL AND private_raw = '' FROM prereg_keys"))
    assert rows[waiting] == 1 and rows[leaked] == 0 and rows[new_kid] == 0
    store = KioskStore(db)
    sync_once(store, HQClient(hq.url, token))
    assert set(store.prereg_keys()) == {new_kid, leaked}
