"""With a staff correction on record, whom protection reaches is decided over the days corrections link to
the birth dates asked about (safety.protected_identities), never over the whole city; the staff queue shows a
matched record's household, member by member, and must not decide it over the whole city for any of them
(83 ms each on 50k persons).  Its answer is the same.  Real sync API,
real queue page (SQLite and PostgreSQL)."""
from __future__ import annotations

from hq_dashboard import safety
from tests.test_safety_queue_found_later import AYA, HOUSEHOLD, queued
from tests.test_safety_review_fixes import Kiosk, ask, log_in

# Aya's household: four children and her mother; the mother's sister is protected at another kiosk's
# shelter, born another day (one sharing the mother's birth date and kana would protect the mother, and so her
# whole household: the inquiry about Aya would be held, no household shown).
CHILDREN = [{"name": f"藤田 子{i}", "birth_date": f"201{i}-0{i}-0{i}", "sex": "male", "address": AYA["address"]}
            for i in range(1, 5)]
MOTHER = {"name": "藤田 節子", "name_kana": "フジタ セツコ", "birth_date": "1960-06-06", "sex": "female",
          "address": AYA["address"]}
NAMESAKE = {"name": "富士田 節子", "name_kana": "フジタ セツコ", "birth_date": "1962-06-06", "sex": "female",
            "address": "焼津市本町1-1"}
# A correction elsewhere in the city: with one on record protection once was decided over the whole city.
TYPO = {"name": "駿河 花子", "birth_date": "1984-05-06", "sex": "female", "address": "焼津市藤守1243-5"}
FIXED = {**TYPO, "birth_date": "1948-05-06"}


def test_the_queue_never_decides_protection_over_the_whole_city_however_large_the_household(
        hq_app, hq_client, enroll, monkeypatch):
    log_in(hq_app, hq_client)
    asked = ask(hq_client, AYA["name"], AYA["birth_date"], "household_family").get_json()
    home = Kiosk(hq_client, enroll("H031"), "dev-home")
    home.send(("checkin", AYA, {"stay_type": "in_shelter"}), *(("checkin", c, {"stay_type": "in_shelter"})
                                                               for c in CHILDREN + [MOTHER]), household=HOUSEHOLD)
    away = Kiosk(hq_client, enroll("H039"), "dev-away", shelter="H039")
    away.send(("checkin", NAMESAKE, {"stay_type": "in_shelter"}),
              ("consent", NAMESAKE, {"consent": "none", "never_disclose": True}),
              ("checkin", TYPO, {"stay_type": "in_shelter"}), ("correction", TYPO, {"person": FIXED}))

    decided = []
    of_days, of_city = safety._households_born, safety._households_city

    def counted(session, links, birth_dates):
        decided.append(frozenset(birth_dates))
        return of_days(session, links, birth_dates)

    def city(session, links):
        decided.append(None)
        return of_city(session, links)

    monkeypatch.setattr(safety, "_households_born", counted)
    monkeypatch.setattr(safety, "_households_city", city)
    mine = queued(hq_client, asked["inquiry_id"])
    record = mine.split('data-testid="matched-record"')[1].split("</td>")[0]
    # The same answer: the children and the mother are shown to check 同居 against.
    assert all(c["name"] in record for c in CHILDREN + [MOTHER])
    assert None not in decided, "never decided over the whole city"
    shown = {p["birth_date"] for p in [AYA, MOTHER] + CHILDREN}
    assert decided and set().union(*decided) <= shown, "decided over the days of those shown, linked by no correction"
