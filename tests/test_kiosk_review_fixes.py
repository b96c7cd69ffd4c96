"""Kiosk defects a city engineer found running the demo: the printed 避難者名簿's household column,
a birth date out of bounds told as such on the tablet, and the kiosk's start and status pages."""
from __future__ import annotations

import csv
import io
import re

import pytest

from evac.events import Person
from kiosk import staff_store
from kiosk.store import KioskStore
from tests.staff_helpers import HANAKO, ICHIRO, SHELTER, TARO, errors, logged_in, post, snapshot
from tests.staff_helpers import app, db  # noqa: F401 (fixtures)
from tests.test_staff_roster import CARD

MOMO = Person("焼津 桃", "2023-08-01", "female", "焼津市本町1-1", "やいづ もも")


@pytest.fixture
def store(db, app):
    s = KioskStore(db)
    s.check_in(SHELTER, [TARO, HANAKO])          # one household: たろう, はなこ
    s.check_in(SHELTER, [ICHIRO])                # alone: たかはし sorts between them in kana
    s.check_in(SHELTER, [MOMO, Person("焼津 梅", "1990-01-01", "female", "焼津市本町1-1", "あおい うめ")])
    yield s
    s.close()


def printed_rows(page: str) -> list[list[str]]:
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [re.findall(r"<td[^>]*>([^<]*)</td>", tr) for tr in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


def test_the_printed_roster_numbers_households_and_keeps_their_members_together(app, store):
    page = logged_in(app).get("/staff/roster/print").text
    assert "hh-" not in page, "no internal household id on paper"
    rows = [(r[0], r[5]) for r in printed_rows(page)]
    # Households in the kana order of their first member (あおい うめ, then たかはし, then やいづ たろう),
    # each one's members together, numbered on the page.
    assert rows == [("焼津 梅", "世帯1"), ("焼津 桃", "世帯1"), (ICHIRO.name, "世帯2"),
                    (TARO.name, "世帯3"), (HANAKO.name, "世帯3")]
    client = logged_in(app)
    client.get("/staff/lang/en")
    assert [r[5] for r in printed_rows(client.get("/staff/roster/print").text)][:3] == [
        "Household 1", "Household 1", "Household 2"]


def test_the_roster_csv_keeps_the_household_id_to_join_on(app, store):
    text = logged_in(app).get("/staff/roster.csv").data.decode("utf-8-sig")
    rows = {r[0]: r for r in list(csv.reader(io.StringIO(text)))[1:]}
    ids = {name: staff_store.person(store, staff_store.person_key(p.name, p.birth_date, p.address)).entry.household_id
           for name, p in ((TARO.name, TARO), (HANAKO.name, HANAKO), (MOMO.name, MOMO))}
    assert rows[TARO.name][5] == rows[HANAKO.name][5] == ids[TARO.name] and ids[TARO.name]
    assert rows[MOMO.name][5] == ids[MOMO.name] != ids[TARO.name]


@pytest.mark.parametrize("lang, born, message", [
    ("ja", "2030-01-01", "この生年月日は未来の日付です。年を確かめてください。"),
    ("ja", "1800-05-05", "この生年月日は1880年より前です。年を確かめてください。"),
    ("ja", "1948-02-30", "この生年月日は存在しない日付です。年・月・日を確かめてください。"),
    ("ja", "1948-02-3x", "正しい生年月日（年-月-日）を入力してください。"),
    ("en", "2030-01-01", "This date of birth is in the future: check the year."),
    ("en", "1800-05-05", "This date of birth is before 1880: check the year."),
    ("en", "1948-02-30", "This date of birth does not exist: check the year, month and day."),
    ("en", "1948-02-3x", "Enter a real date of birth (year-month-day)."),
])
def test_a_birth_date_out_of_bounds_is_told_as_such_in_the_tablets_language(app, db, lang, born, message):
    client = logged_in(app)
    client.get(f"/staff/lang/{lang}")
    before = snapshot(db)
    resp = post(client, "/staff/register", {**CARD, "birth_date": born, "members-0-birth_date": born},
                "/staff/register")
    assert resp.status_code == 422
    assert errors(resp.text, "birth_date") == [message]
    assert errors(resp.text, "members-0-birth_date") == [message]
    assert snapshot(db) == before


def test_the_tablet_accepts_what_evac_accepts_a_day_ahead(app, db):
    """The bound is evac.events.parse_birth_date's (one day's slack), not a second rule."""
    import datetime as dt
    store = KioskStore(db)
    tomorrow = (store.today() + dt.timedelta(days=1)).isoformat()
    store.close()
    resp = post(logged_in(app), "/staff/register", {**CARD, "members-0-birth_date": tomorrow}, "/staff/register")
    assert resp.status_code == 302


def test_the_status_page_shows_the_last_sync_in_shelter_time_and_the_api_keeps_utc(app, db):
    store = KioskStore(db)
    store.db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('last_sync_at', '2026-11-26T03:51:10+00:00')")
    store.db.commit()
    store.close()
    client = app.test_client()
    assert client.get("/api/status").get_json()["last_sync_at"] == "2026-11-26T03:51:10+00:00"
    page = client.get("/status").text
    assert re.search(r'id="last-sync">([^<]*)<', page).group(1) == "2026-11-26 12:51 JST"


def test_kiosk_pages_name_an_inline_icon_so_no_favicon_request_fails(app):
    assert '<link rel="icon" href="data:,">' in app.test_client().get("/staff/login").text
    client = logged_in(app)
    for url in ("/", "/status", "/staff/", "/staff/register", "/staff/roster/print"):
        resp = client.get(url)
        assert resp.status_code == 200, url
        assert '<link rel="icon" href="data:,">' in resp.text, url
