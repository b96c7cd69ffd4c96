"""Records that may be one person counted at two shelters: a My Number card's kanji at one, a paper form's
kana at another (evac.duplicates, pure; and HQ's page for staff, on the real app and both databases)."""
from __future__ import annotations

import re

from evac.duplicates import (CORRECTED, NO_ADDRESS, READING_UNKNOWN, SAME_NAME, Record, possible_same_people, why_same,
                             with_corrected)
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
    #                                                  (by a reading alone)


def test_a_record_without_an_address_pairs_only_with_the_same_name_birth_date_and_sex():
    """Review: a paper card with its address left blank at one shelter and the same person with an address
    at another were counted twice, and the page never listed them."""
    blank = Record(3, "山田 太郎", "", "1975-05-05", "", "male", "H039")
    assert possible_same_people([CARD, blank]) == [(CARD, blank, NO_ADDRESS)]
    assert possible_same_people([blank, Record(**{**blank.__dict__, "id": 4, "name": "太郎 山田"})]) != []
    for other in (dict(sex="female"), dict(sex=""), dict(birth_date="1975-05-06"), dict(name="山田 次郎"),
                  dict(name="やまだ たろう")):   # (only a reading could join kana to kanji: too weak without a home)
        assert possible_same_people([Record(**{**CARD.__dict__, **other}), blank]) == [], other
    assert possible_same_people([CARD, Record(**{**blank.__dict__, "sex": ""})]) == []
    both = possible_same_people([CARD, PAPER, blank])
    assert [(a.id, b.id, why) for a, b, why in both] == [(1, 2, READING_UNKNOWN), (1, 3, NO_ADDRESS)]
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


def test_corrected_pairs_join_the_list_once_in_record_order():
    a, b, c = (Record(i, f"焼津 {i}", "", "1990-01-01", "本町1", "", "H031") for i in (3, 1, 2))
    assert with_corrected([(b, c, SAME_NAME)], [(a, b), (c, b), (b, b)]) == [(b, c, SAME_NAME), (b, a, CORRECTED)]


def test_a_correction_whose_old_identity_still_names_a_record_elsewhere_is_listed(hq_app, hq_client, enroll):
    """Staff at H031 typed 佐藤 優子 as 「佐藤 優」 and corrected it; H002 has a 「佐藤 優」 too.  HQ keeps them
    apart (they may be twins: tests/test_hq_corrections.py), and no name, kana or birth date pairs them; but
    the same slip made at H002 and never corrected there would be the same woman counted twice: listed,
    with where the correction was made.  A correction whose old identity names nobody else lists nothing."""
    from tests.test_hq_corrections import YU, YUKO, _correction, _post
    from tests.wire import KioskStream
    ta, tb = enroll("H031"), enroll("H002")
    a, b = KioskStream("dev-a", "H031"), KioskStream("dev-b", "H002")
    b.checkin(YU.to_wire())
    a.checkin(YU.to_wire(), at_ms=1_764_000_600_000)
    _correction(a, YU, YUKO, 1_764_000_700_000)
    alone = {"name": "大井 豊", "birth_date": "1961-01-01", "sex": "male", "address": "焼津市大井川1"}
    a.checkin(alone, at_ms=1_764_000_800_000)
    _correction(a, type(YU)(**alone), type(YU)(**{**alone, "name": "大井 豊子", "sex": "female"}), 1_764_000_900_000)
    _post(hq_client, tb, b)
    _post(hq_client, ta, a)
    log_in(hq_app, hq_client, "safety")
    html = hq_client.get("/staff/possible-duplicates").get_data(as_text=True)
    assert len(re.findall(r'<tr class="pair-start"', html)) == 1
    assert "佐藤 優</td>" in html and "佐藤 優子</td>" in html and "大井" not in html
    with hq_app.app_context():
        where = db.session.get(Shelter, "H031").name
    assert re.search(rf'data-testid="corrected">{re.escape(where)}の職員が一方をもう一方に訂正', html)

    # Never named when one of the two is protected: counted.
    b.add("consent", YU.to_wire(), {"consent": "none", "never_disclose": True})
    _post(hq_client, tb, b)
    html = hq_client.get("/staff/possible-duplicates").get_data(as_text=True)
    assert "佐藤" not in html and re.search(r'data-testid="protected-left-out">非開示の人の記録を含む組が1組', html)


def test_the_shelter_named_is_where_the_correction_was_made_not_where_the_kiosk_is_now(hq_app, hq_client, enroll):
    from hq_dashboard import enrollment
    from tests.test_hq_corrections import YU, YUKO, _correction, _post
    from tests.wire import KioskStream
    ta, tb = enroll("H031"), enroll("H002")
    a, b = KioskStream("dev-a", "H031"), KioskStream("dev-b", "H002")
    b.checkin(YU.to_wire())
    a.checkin(YU.to_wire(), at_ms=1_764_000_600_000)
    _correction(a, YU, YUKO, 1_764_000_700_000)
    _post(hq_client, tb, b)
    _post(hq_client, ta, a)
    with hq_app.app_context():
        kiosk_id = ta.split(".")[0]
        enrollment.move_kiosk(db.session, kiosk_id, "H052")
        names = {s: db.session.get(Shelter, s).name for s in ("H031", "H052")}
    log_in(hq_app, hq_client, "safety")
    html = hq_client.get("/staff/possible-duplicates").get_data(as_text=True)
    corrected = html.split('data-testid="corrected">', 1)[1].split("</span>", 1)[0]
    assert names["H031"] in corrected and names["H052"] not in corrected


def test_hq_lists_a_paper_card_without_an_address_beside_the_same_person_elsewhere(hq_app, hq_client, enroll):
    a, b = Kiosk(hq_client, enroll("H031"), "dev-a"), Kiosk(hq_client, enroll("H039"), "dev-b", "H039")
    a.send(("checkin", KANJI, {"stay_type": "in_shelter"}))
    b.send(("checkin", {**KANJI, "address": ""}, {"stay_type": "in_shelter"}))
    log_in(hq_app, hq_client, "safety")
    html = hq_client.get("/staff/possible-duplicates").get_data(as_text=True)
    assert len(re.findall(r'<tr class="pair-start"', html)) == 1 and "一方に住所がない" in html
