"""Review: a household checked in here from its QR, scanned again; before it presses "leave", one member becomes
protected (a lead marks her, or HQ's digests arrive).  The leave crashed (KeyError, a 500) after the holder's
check-out was already saved, and she was silently not checked out.  Now a protected member is "not here" to a QR
unless the screen held her check-in back: the family is sent to staff, and nothing is written.  Real processes
(the `city` of the oracle tests: `evac hq serve` and `evac kiosk serve`)."""
from __future__ import annotations

from evac.identity import person_key
from tests.test_kiosk_screen_no_protection_oracle import ADDRESS, CHECKIN, city, post, prereg, scan  # noqa: F401

MEMBER = {"name": "小林 冬子", "birth_date": "1985-09-09", "sex": "female"}


def test_a_member_protected_since_the_scan_sends_the_family_to_staff_and_writes_nothing(city):  # noqa: F811
    qr = prereg(city.hq, "加藤 一郎", MEMBER)
    scanned = scan(city, qr)
    done = post(f"{city.url}/screen/checkin?lang=en",
                {"token": scanned[1]["token"], "present": [0, 1], "needs": [[], []], **CHECKIN})
    assert done[0] == 201, done
    back = scan(city, qr)
    store = city.store
    store.db.execute("INSERT INTO protected (person_key) VALUES (?)",
                     (store.current_key(person_key(MEMBER["name"], MEMBER["birth_date"], ADDRESS)),))
    written = store.last_seq
    left = post(f"{city.url}/screen/leave?lang=en", {"token": back[1]["token"], "present": [0, 1]})
    assert left[0] == 422 and left[1]["errors"]["present"] == "This cannot be done here. Please ask staff.", left
    assert store.last_seq == written, "nothing written: the holder was not checked out without her"
    assert "Traceback" not in city.log_path.read_text()
