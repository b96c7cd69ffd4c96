"""An inquirer who checks an answer again reads what may be told now, not what was told the first time
(safety review, high): someone protected since, or whose consent was withdrawn, had their shelter shown
again on every check.  A protected person's inquiry is handled as an unknown person's: staff are not
offered a refusal that an unknown person's inquiry would not get."""
from __future__ import annotations

from tests.test_safety_review_fixes import Kiosk, ask, check, decide, log_in

ITO = {"name": "伊藤 翔", "birth_date": "1975-07-07", "sex": "male", "address": "焼津市西小川3"}
SATO = {"name": "佐藤 健", "birth_date": "1970-01-02", "sex": "male", "address": "焼津市本町1"}
TAKA = {"name": "高橋 愛", "birth_date": "1985-05-05", "sex": "female", "address": "焼津市大住2"}


def test_an_answer_read_again_after_protection_or_withdrawn_consent_no_longer_says_where(hq_app, hq_client, enroll):
    kiosk = Kiosk(hq_client, enroll("H031"), "dev-a")
    for p in (ITO, SATO, TAKA):
        kiosk.send(("checkin", p, {"stay_type": "in_shelter"}), ("consent", p, {"consent": "public"}))
    answered = {p["name"]: ask(hq_client, p["name"], p["birth_date"], "other", address=p["address"]).get_json()
                for p in (ITO, SATO)}
    for a in answered.values():
        assert a.get("status") == "answered", a
        assert a["whereabouts"]["shelter_id"] == "H031"
    # released by staff to a household family member, with the shelter (the tier)
    log_in(hq_app, hq_client)
    family = ask(hq_client, TAKA["name"], TAKA["birth_date"], "household_family", address=TAKA["address"]).get_json()
    assert decide(hq_client, family["inquiry_id"]).status_code == 302
    assert check(hq_client, family)["whereabouts"]["shelter_id"] == "H031"
    # waiting for staff (the tier asks more than consent gives) and refused: consent's part shown at once
    waiting = ask(hq_client, ITO["name"], ITO["birth_date"], "household_family", address=ITO["address"],
                  addr="10.0.0.2").get_json()
    refused = ask(hq_client, SATO["name"], SATO["birth_date"], "household_family", address=SATO["address"],
                  addr="10.0.0.3").get_json()
    assert waiting["status"] == refused["status"] == "pending_review"
    assert waiting["whereabouts"]["shelter_id"] == refused["whereabouts"]["shelter_id"] == "H031"
    assert decide(hq_client, refused["inquiry_id"], "reject", "確認できず").status_code == 302
    refused_now = check(hq_client, refused)
    assert refused_now["status"] == "rejected" and refused_now["pending_review"] is False

    kiosk.send(("consent", ITO, {"consent": "none"}),
               ("consent", SATO, {"consent": "public", "never_disclose": True}),
               ("consent", TAKA, {"consent": "public", "never_disclose": True}))
    withdrawn, protected = check(hq_client, answered[ITO["name"]]), check(hq_client, answered[SATO["name"]])
    for again in (withdrawn, protected):
        assert again["whereabouts"] is None and again["injury_or_illness"] is None and again["contact"] is None
        assert again["information_exists"] is True   # told before: what cannot be untold, the same for both
    assert {k: v for k, v in withdrawn.items() if k != "inquiry_id"} == \
        {k: v for k, v in protected.items() if k != "inquiry_id"}
    released = check(hq_client, family)
    assert released["status"] == "released" and released["whereabouts"] is None
    for asked in (waiting, refused):
        again = check(hq_client, asked)
        assert again["whereabouts"] is None and again["information_exists"] is True
    assert check(hq_client, waiting)["pending_review"] is True
    # the public page says the same as the API
    page = hq_client.get(f"/safety/check?id={answered[SATO['name']]['inquiry_id']}"
                         f"&key={answered[SATO['name']]['access_key']}").get_data(as_text=True)
    assert "H031" not in page and "焼津中学校" not in page


def test_a_protected_persons_inquiry_is_handled_as_an_unknown_persons_released_or_refused_alike(
        hq_app, hq_client, enroll):
    """The queue tells staff to handle it as one about someone unknown, with the same buttons: refused, both
    read "refused"; released, both "no information" (a first fix released 'no information' for a refusal, which
    an unknown person's inquiry never reads after a refusal: the review of that fix)."""
    kiosk = Kiosk(hq_client, enroll("H031"), "dev-a")
    kiosk.send(("checkin", SATO, {"stay_type": "in_shelter"}),
               ("consent", SATO, {"consent": "none", "never_disclose": True}))
    log_in(hq_app, hq_client)
    for decision, addr in (("reject", "10.0.0.5"), ("release", "10.0.0.6")):
        asked = ask(hq_client, SATO["name"], SATO["birth_date"], "household_family", address=SATO["address"],
                    addr=addr).get_json()
        unknown = ask(hq_client, "山本 花子", SATO["birth_date"], "household_family", address=SATO["address"],
                      addr=addr).get_json()
        page = hq_client.get("/staff/inquiries").get_data(as_text=True)
        mine = page.split(f'id="inquiry-{asked["inquiry_id"]}"')[1].split("</fieldset>")[0]
        theirs = page.split(f'id="inquiry-{unknown["inquiry_id"]}"')[1].split("</fieldset>")[0]
        assert 'data-testid="flagged"' in mine and "何も知らない人についての照会と同じに扱ってください" in mine
        assert "確認できない・断る" in mine and "確認できない・断る" in theirs
        for ref in (asked, unknown):
            assert decide(hq_client, ref["inquiry_id"], decision, "確認できず" if decision == "reject"
                          else "折り返し電話で確認").status_code == 302
        first, second = check(hq_client, asked), check(hq_client, unknown)
        assert first["status"] == second["status"] == ("rejected" if decision == "reject" else "released")
        assert {k: v for k, v in first.items() if k != "inquiry_id"} == \
            {k: v for k, v in second.items() if k != "inquiry_id"}


def test_a_release_says_how_the_inquirer_was_confirmed_from_a_list_and_a_bare_note_is_refused(
        hq_app, hq_client, enroll):
    """The review: releasing with the note "x" went through.  Staff now choose how they confirmed who is
    asking (施行規則 §8-3: an ID document, a call back, in writing); "other" needs the note; the audit keeps both."""
    import json
    import re

    from hq_dashboard.db import db
    from hq_dashboard.models import AuditEntry
    from tests.test_safety_review_fixes import csrf
    kiosk = Kiosk(hq_client, enroll("H031"), "dev-a")
    kiosk.send(("checkin", TAKA, {"stay_type": "in_shelter"}))
    log_in(hq_app, hq_client)
    asked = ask(hq_client, TAKA["name"], TAKA["birth_date"], "household_family", address=TAKA["address"]).get_json()
    page = hq_client.get("/staff/inquiries").get_data(as_text=True)
    assert re.search(r'<select id="how-[^"]+" name="how"', page) and "窓口で本人確認書類を確認" in page
    url = f"/staff/inquiries/{asked['inquiry_id']}/release"
    for form, said in (({"note": "x"}, "照会者をどう確認したか（窓口での身分証、折り返し電話など）を選んでください。"),
                       ({"how": "other", "note": " "}, "照会者をどう確認したか（窓口での身分証、折り返し電話など）を書いてください。"),
                       ({"how": "by_magic", "note": "x"}, "を選んでください。")):
        refused = hq_client.post(url, data={"csrf_token": csrf(hq_client, "/staff/inquiries"), **form})
        assert refused.status_code == 422 and said in refused.get_data(as_text=True), form
    assert check(hq_client, asked)["status"] == "pending_review"
    done = hq_client.post(url, data={"csrf_token": csrf(hq_client, "/staff/inquiries"), "how": "id_document",
                                     "note": "運転免許証"})
    assert done.status_code == 302 and check(hq_client, asked)["status"] == "released"
    with hq_app.app_context():
        entry = db.session.query(AuditEntry).filter_by(inquiry_id=asked["inquiry_id"], action="released").one()
        assert json.loads(entry.detail)["how_confirmed"] == "窓口で本人確認書類を確認: 運転免許証"
        db.session.remove()
