"""Records that may be one person counted at two shelters: a My Number card's kanji at one, a paper form's
kana at another (evac.duplicates, pure; and HQ's page for staff, on the real app and both databases)."""
from __future__ import annotations

import re

from evac.duplicates import READING_UNKNOWN, SAME_NAME, Record, possible_same_people, why_same
from hq_dashboard.db import db
from hq_dashboard.models import Shelter
from tests.test_safety_review_fixes import Kiosk, csrf

CARD = Record(1, "山田 太郎", "", "1975-05-05", "静岡県焼津市本町1丁目1番1号", "male", "H031")
PAPER = Record(2, "やまだ たろう", "", "1975-05-05", "本町1-1-1", "male", "H039")


def test_a_card_and_a_paper_form_of_one_person_pair_by_birth_date_and_address():
    assert possible_same_people([CARD, PAPER]) == [(CARD, PAPER, READING_UNKNOWN)]


def test_what_keeps_two_records_apart():
    def pair(**other):
        return possible_same_people([CARD, Record(**{**PAPER.__dict__, **other})])
    assert pair(birth_date="1975-05-06") == []                        # another birth date
    assert pair(address="焼津市本町1-1-2") == []                        # another home
    assert pair(sex="female") == []                                   # the other sex
    assert pair(name="佐藤 花子") == []                                 # another name in kanji: two people
    assert pair(name="ヤマダ ハナコ", name_kana="") != []                 # kana against no reading: may be one
    assert why_same(Record(**{**CARD.__dict__, "name_kana": "サトウ ジロウ"}), PAPER) == ""   # the reading differs
    assert possible_same_people([CARD, Record(**{**PAPER.__dict__, "address": ""})]) == [], "no address: no pair"
    assert why_same(CARD, Record(**{**PAPER.__dict__, "name": "太郎 山田"})) == SAME_NAME


KANJI = {"name": "山田 太郎", "birth_date": "1975-05-05", "sex": "male", "address": "静岡県焼津市本町1丁目1番1号"}
KANA = {**KANJI, "name": "やまだ たろう", "address": "本町1-1-1"}
GUARDED = {"name": "藤枝 光", "birth_date": "1988-08-08", "sex": "female", "address": "焼津市大住3"}


def log_in(app, client, role):
    from hq_dashboard.staff import add_staff
    with app.app_context():
        add_staff(db.session, f"{role}1", "correct horse battery", role)
    form = {"csrf_token": csrf(client, "/staff/login"), "username": f"{role}1", "password": "correct horse battery"}
    assert client.post("/staff/login", data=form).status_code == 302


def test_hq_lists_them_for_staff_who_see_safety_records_and_never_a_protected_one(hq_app, hq_client, enroll):
    a, b = Kiosk(hq_client, enroll("H031"), "dev-a"), Kiosk(hq_client, enroll("H039"), "dev-b", "H039")
    a.send(("checkin", KANJI, {"stay_type": "in_shelter"}), ("checkin", GUARDED, {"stay_type": "in_shelter"}),
           ("consent", GUARDED, {"consent": "none", "never_disclose": True}))
    b.send(("checkin", KANA, {"stay_type": "in_shelter"}),
           ("checkin", {**GUARDED, "name": "ふじえだ ひかる"}, {"stay_type": "in_shelter"}))
    with hq_app.app_context():
        assert (db.session.get(Shelter, "H031").occupancy, db.session.get(Shelter, "H039").occupancy) == (2, 2)
    log_in(hq_app, hq_client, "safety")
    assert 'id="duplicates-link"' in hq_client.get("/dashboard").get_data(as_text=True)
    page = hq_client.get("/staff/possible-duplicates")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert len(re.findall(r'<tr class="pair-start"', html)) == 1
    assert "山田 太郎" in html and "やまだ たろう" in html and "読みがわからない" in html
    with hq_app.app_context():
        names = {s: db.session.get(Shelter, s).name for s in ("H031", "H039")}
    assert names["H031"] in html and names["H039"] in html
    # The protected person's two records are neither named nor left unsaid.
    assert "藤枝" not in html and "ふじえだ" not in html and "1988-08-08" not in html
    assert re.search(r'data-testid="protected-left-out">非開示の人の記録を含む組が1組', html)

    # When one shelter checks him out, he is counted once and the pair is gone.
    a.send(("checkout", KANJI, {}))
    html = hq_client.get("/staff/possible-duplicates").get_data(as_text=True)
    assert 'data-testid="no-pairs"' in html


def test_hq_desk_staff_do_not_open_it(hq_app, hq_client):
    log_in(hq_app, hq_client, "desk")
    assert hq_client.get("/staff/possible-duplicates").status_code == 403
    assert 'id="duplicates-link"' not in hq_client.get("/dashboard").get_data(as_text=True)
