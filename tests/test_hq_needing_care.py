"""HQ's list of people their shelters recorded as injured, ill or in hospital, with the note the tablet's
staff wrote for HQ (it reached HQ and no page showed it).  Real HQ app and database (SQLite and
PostgreSQL), records sent by kiosk syncs; never a protected person; only for staff who see safety records."""
from __future__ import annotations

import re

from tests.test_possible_duplicates import log_in
from tests.test_safety_review_fixes import Kiosk

HURT = {"name": "大石 健", "birth_date": "1950-06-06", "sex": "male", "address": "焼津市小川5-6"}
FEVER = {"name": "大石 花", "birth_date": "2019-01-01", "sex": "female", "address": "焼津市小川5-6"}
WELL = {"name": "大石 一", "birth_date": "1980-06-06", "sex": "male", "address": "焼津市小川5-6"}
TAKEN = {"name": "増田 誠", "birth_date": "1940-02-02", "sex": "male", "address": "焼津市中港1-1"}
GUARDED = {"name": "藤枝 光", "birth_date": "1988-08-08", "sex": "female", "address": "焼津市大住3"}


def test_hq_lists_who_needs_care_with_the_shelters_note_most_urgent_first(hq_app, hq_client, enroll):
    a, b = Kiosk(hq_client, enroll("H031"), "dev-a"), Kiosk(hq_client, enroll("H039"), "dev-b", "H039")
    a.send(("checkin", HURT, {"stay_type": "in_shelter"}), ("checkin", FEVER, {"stay_type": "at_home"}),
           ("checkin", WELL, {"stay_type": "in_shelter"}), ("checkin", GUARDED, {"stay_type": "in_shelter"}),
           ("consent", GUARDED, {"consent": "none", "never_disclose": True}),
           ("status", HURT, {"status": "injured", "note": "左足を骨折の疑い。歩けない"}),
           ("status", FEVER, {"status": "ill", "note": "発熱 39度"}),
           ("status", WELL, {"status": "injured", "note": "擦り傷"}), ("status", WELL, {"status": "safe", "note": ""}),
           ("status", GUARDED, {"status": "injured", "note": "腕にけが"}))
    b.send(("checkin", TAKEN, {"stay_type": "in_shelter"}),
           ("status", TAKEN, {"status": "hospitalised", "note": "焼津市立総合病院へ救急搬送"}))
    log_in(hq_app, hq_client, "safety")
    assert 'id="needing-care-link"' in hq_client.get("/dashboard").get_data(as_text=True)
    page = hq_client.get("/staff/needing-care")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    rows = re.findall(r'<tr data-person="\d+" data-state="\w+">\s*<td>([^<]*)</td><td>[^<]*</td><td>([^<(]*)', html)
    assert [(state.split(" /")[0], name.strip()) for state, name in rows] == [
        ("入院", TAKEN["name"]), ("負傷", HURT["name"]), ("疾病", FEVER["name"])]
    assert "左足を骨折の疑い。歩けない" in html and "焼津市立総合病院へ救急搬送" in html and "在宅" in html
    # Safe again: not listed; protected: counted, never named, nor its note.
    assert WELL["name"] not in html and "擦り傷" not in html
    assert GUARDED["name"] not in html and "腕にけが" not in html
    assert "非開示の人が1人いて" in html


def test_only_staff_who_see_safety_records_open_it(hq_app, hq_client):
    assert hq_client.get("/staff/needing-care").status_code == 302   # to the log-in page
    log_in(hq_app, hq_client, "desk")
    refused = hq_client.get("/staff/needing-care")
    assert refused.status_code == 403
    assert "氏名と健康や本人確認にかかわる記録" in refused.get_data(as_text=True)   # why, for this page too
    assert 'id="needing-care-link"' not in hq_client.get("/dashboard").get_data(as_text=True)


def test_those_checked_out_or_on_the_way_elsewhere_stay_listed_with_when(hq_app, hq_client, enroll):
    """A shelter checks out whom an ambulance took to hospital: then most of all HQ asks the hospitals about
    them (review: they vanished from the list).  Someone sent on to another shelter is listed as on the way
    there.  Each row says when the shelter recorded the state, Japan's time."""
    a = Kiosk(hq_client, enroll("H031"), "dev-a")
    a.send(("checkin", TAKEN, {"stay_type": "in_shelter"}), ("checkin", FEVER, {"stay_type": "in_shelter"}),
           ("status", TAKEN, {"status": "hospitalised", "note": "救急搬送"}), ("checkout", TAKEN, {}),
           ("status", FEVER, {"status": "ill", "note": "発熱"}), ("transfer", FEVER, {"to_shelter_id": "H039"}))
    log_in(hq_app, hq_client, "safety")
    html = hq_client.get("/staff/needing-care").get_data(as_text=True)
    taken = html.split(f'{TAKEN["name"]}', 1)[1].split("</tr>", 1)[0]
    moving = html.split(f'{FEVER["name"]}', 1)[1].split("</tr>", 1)[0]
    with hq_app.app_context():
        from hq_dashboard.db import db
        from hq_dashboard.models import Shelter
        names = {s: db.session.get(Shelter, s).name for s in ("H031", "H039")}
    assert 'data-testid="left">退所済み' in taken and names["H031"] in taken and "救急搬送" in taken
    assert 'data-testid="moving">移動中' in moving and names["H039"] in moving and "発熱" in moving
    assert re.search(r'data-state="checked_out">\s*<td>入院 / in hospital</td><td>\d\d-\d\d \d\d:\d\d JST</td>', html)
