"""災対法 §86-15: a consent given with a pre-registration QR widens what an inquirer is told only after city
staff have confirmed who is asking — never at once, in e-mail news before that, or in the Person Finder
export.

HQ's public pre-registration signs whatever identity anyone types.  Someone who pre-registered another
person's name and birth date with "family" and a code, checked in with that QR at any shelter, then asked
HQ with the code, was answered at once when the person was unknown, but sent to review when the person was
protected: the kiosk holds a protected person's check-in back and writes nothing.  That told a stalker that
the city protects the person.  Now both are sent to review, word for word alike, as a self-report's consent
is (evac.disclosure._consented).  Real HQ app and database (SQLite and PostgreSQL), real sync batches, the
real review queue."""
from __future__ import annotations

from tests.test_safety_review_fixes import Kiosk, ask, check, decide, export, log_in

UNKNOWN = {"name": "大井 道子", "birth_date": "1981-07-07", "sex": "female", "address": "焼津市大井川1-1",
           "prereg_id": "pr-00000000000000a1"}
PROTECTED = {"name": "小川 静香", "birth_date": "1983-08-08", "sex": "female", "address": "焼津市小川2-2"}
IGNORED = ("inquiry_id", "access_key")


def _public(answer: dict) -> dict:
    return {k: v for k, v in answer.items() if k not in IGNORED}


def test_a_family_code_from_a_qr_is_answered_as_for_a_protected_person(hq_app, hq_client, enroll):
    # The protected person is checked in elsewhere by staff; the stranger's QR check-in of her was held
    # back at the screen (nothing written), so HQ holds only her own records.
    Kiosk(hq_client, enroll("H031"), "dev-staff").send(
        ("checkin", PROTECTED, {"stay_type": "in_shelter"}),
        ("consent", PROTECTED, {"consent": "none", "never_disclose": True}))
    # The unknown one exists only through the stranger's QR: check-in and the QR's consent.
    Kiosk(hq_client, enroll("H001"), "dev-screen", "H001").send(
        ("checkin", UNKNOWN, {"stay_type": "in_shelter"}),
        ("consent", UNKNOWN, {"consent": "family", "family_code": "Umi2026"}))
    unknown = ask(hq_client, UNKNOWN["name"], UNKNOWN["birth_date"], "other", code="Umi2026", addr="10.8.0.1")
    protected = ask(hq_client, PROTECTED["name"], PROTECTED["birth_date"], "other", code="Umi2026",
                    addr="10.8.0.2")
    assert unknown.status_code == protected.status_code == 201
    assert unknown.get_json()["status"] == "pending_review" and unknown.get_json()["whereabouts"] is None
    assert _public(unknown.get_json()) == _public(protected.get_json())


def test_public_consent_from_a_qr_is_neither_answered_at_once_nor_published(hq_app, hq_client, enroll):
    Kiosk(hq_client, enroll("H001"), "dev-screen", "H001").send(
        ("checkin", UNKNOWN, {"stay_type": "in_shelter"}), ("consent", UNKNOWN, {"consent": "public"}))
    answer = ask(hq_client, UNKNOWN["name"], UNKNOWN["birth_date"], "other", addr="10.8.1.1").get_json()
    assert answer["status"] == "pending_review" and answer["information_exists"] is None
    doc, published = export(hq_app)
    assert published == 0 and UNKNOWN["name"].split()[0].encode() not in doc


def test_after_staff_confirm_the_inquirer_the_qrs_consent_widens_the_answer(hq_app, hq_client, enroll):
    # The family who really pre-registered loses nothing but the wait: staff confirm the inquirer, and the
    # code opens what "family" gives, where the QR's shelter recorded them.
    Kiosk(hq_client, enroll("H001"), "dev-screen", "H001").send(
        ("checkin", UNKNOWN, {"stay_type": "in_shelter"}),
        ("consent", UNKNOWN, {"consent": "family", "family_code": "Umi2026"}))
    log_in(hq_app, hq_client)
    right = ask(hq_client, UNKNOWN["name"], UNKNOWN["birth_date"], "other", code="Umi2026", addr="10.8.2.1")
    none = ask(hq_client, UNKNOWN["name"], UNKNOWN["birth_date"], "other", addr="10.8.2.2")
    # staff are told the consent came with a QR, which identifies no one
    queue = hq_client.get("/staff/inquiries").get_data(as_text=True)
    assert queue.count('data-testid="qr-consent"') == 2 and "QR は本人確認になりません" in queue
    for asked in (right.get_json(), none.get_json()):
        assert asked["status"] == "pending_review"
        assert decide(hq_client, asked["inquiry_id"]).status_code == 302
    released = check(hq_client, right.get_json())
    assert released["information_exists"] is True and released["whereabouts"]["shelter_id"] == "H001"
    without_code = check(hq_client, none.get_json())
    assert without_code["information_exists"] is True and without_code["whereabouts"] is None


def test_a_consent_given_in_person_is_still_answered_at_once(hq_app, hq_client, enroll):
    in_person = {k: v for k, v in UNKNOWN.items() if k != "prereg_id"}   # card or staff: no QR
    Kiosk(hq_client, enroll("H031"), "dev-card").send(
        ("checkin", in_person, {"stay_type": "in_shelter"}),
        ("consent", in_person, {"consent": "family", "family_code": "Umi2026"}))
    answer = ask(hq_client, UNKNOWN["name"], UNKNOWN["birth_date"], "other", code="Umi2026", addr="10.8.3.1")
    assert answer.get_json()["status"] == "answered"
    assert answer.get_json()["whereabouts"]["shelter_id"] == "H031"


def test_the_pre_registration_page_says_answers_wait_for_staff(hq_client):
    for lang, said in [("ja", "市の職員が問い合わせた人を確かめてから伝えます"),
                       ("en", "Answers go out after city staff have confirmed who is asking.")]:
        page = hq_client.get(f"/prereg?lang={lang}").get_data(as_text=True)
        assert said in page and "consent-help" in page
