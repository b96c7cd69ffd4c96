"""An inquiry gone back to staff settles back quietly once its record is protected (safety.settle_back), however
far the protection came from.  A batch that protects a mother used to have only the inquiries about people
born on her birth date, or in a household with someone born that day, looked at again; protection now reaches
the households of every record it reaches, in turn: her child, and through the child's other household (or the
child's other record, in kana at another shelter) his grandmother.  The inquiry about the grandmother, back
with staff since she checked in, stayed on the queue, its note asking staff to confirm the relationship with
the inquirer: a call back to a stalker about a record that has turned up (災対法 §86-15).  Real sync batches
into a real HQ app and database."""
from __future__ import annotations

import pytest

from evac.disclosure import protection_forms
from hq_dashboard.db import db
from hq_dashboard.safety import protected_identities
from tests.test_safety_put_back import released_nobody, went_back
from tests.test_safety_review_fixes import Kiosk, at_hq, check, log_in

MOTHER = {"name": "保護 母子", "name_kana": "ホゴ ボシ", "birth_date": "1986-04-04", "sex": "female",
          "address": "焼津市保護町1-1"}
CHILD = {"name": "保護 陽向", "name_kana": "ホゴ ヒナタ", "birth_date": "2017-07-07", "sex": "male",
         "address": "焼津市保護町1-1"}
CHILD_IN_KANA = {"name": "ホゴ ヒナタ", "birth_date": CHILD["birth_date"], "sex": "male", "address": "焼津市祖母町5-5"}
GRANDMOTHER = {"name": "祖母 静江", "birth_date": "1950-05-05", "sex": "female", "address": "焼津市祖母町5-5"}
CHECKIN, PUBLIC = {"stay_type": "in_shelter"}, {"consent": "public"}


@pytest.mark.parametrize("child_there", ["the same record", "another record in kana"])
def test_the_grandmothers_inquiry_back_with_staff_settles_once_the_mother_two_households_away_is_protected(
        hq_app, hq_client, enroll, child_there):
    log_in(hq_app, hq_client)
    asked = released_nobody(hq_client, GRANDMOTHER)
    answered = check(hq_client, asked)
    a = Kiosk(hq_client, enroll("H031"), "dev-a", "H031")
    c = Kiosk(hq_client, enroll("H040"), "dev-c", "H040")
    a.send(("checkin", MOTHER, CHECKIN), ("consent", MOTHER, PUBLIC), ("checkin", CHILD, CHECKIN),
           ("consent", CHILD, PUBLIC), household="hh-a0a0a0a0a0a0a0a0")
    child = CHILD if child_there == "the same record" else CHILD_IN_KANA
    c.send(("checkin", child, CHECKIN), ("consent", child, PUBLIC), ("checkin", GRANDMOTHER, CHECKIN),
           ("consent", GRANDMOTHER, PUBLIC), household="hh-c0c0c0c0c0c0c0c0")
    assert at_hq(hq_app, asked) == "pending_review", "she checked in: back to staff"

    a.send(("consent", MOTHER, {"consent": "none", "never_disclose": True}))
    with hq_app.app_context():
        grandmother = protection_forms(GRANDMOTHER["name"], "", GRANDMOTHER["birth_date"])
        assert grandmother <= protected_identities(db.session, GRANDMOTHER["birth_date"]), "protection reaches her"
        db.session.remove()
    assert at_hq(hq_app, asked) == "released", "nothing left for staff to judge: no call back"
    assert check(hq_client, asked) == answered
    assert f'id="inquiry-{asked["inquiry_id"]}"' not in hq_client.get("/staff/inquiries").get_data(as_text=True)
    with hq_app.app_context():
        assert went_back(asked) == 1
