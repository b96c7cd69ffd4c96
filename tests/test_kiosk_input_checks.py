"""What the kiosk's input checks say (review): an impossible date of the right shape (2010-02-30) is said
to be no such date, not a wrong format.  Flask's test client on a real SQLite file, the screen's words from
its catalogs in every language, the real `evac` command."""
from __future__ import annotations

import datetime as dt
import time

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from evac.dates import NoSuchDay, NotADate, parse_typed_birth_date
from evac.prereg_qr import Household, Member, key_id, sign
from kiosk import create_app
from kiosk.i18n import LANGUAGES
from kiosk.store import KioskStore
from tests.conftest import run_evac

KEY = Ed25519PrivateKey.generate()
FAMILY = Household("hh-1", "焼津市本町1-1", (Member("p-1", "焼津 太郎", "1948-03-03", "male"),),
                   consent="public", expires=int(time.time()) + 3600)
NO_SUCH_DATE = "There is no such date: check the year, month and day."
WRONG_FORM = "Enter the birth date like 1980-02-17 (year-month-day)."


@pytest.fixture
def kiosk(tmp_path):
    db = tmp_path / "kiosk.sqlite3"
    app = create_app({"KIOSK_DB": str(db), "SHELTER_ID": "H031", "TESTING": True})
    store = KioskStore(db)
    public = KEY.public_key()
    store.apply_config({"shelters": [{"id": s, "name": n, "kind": k} for s, n, k in store.shelter_list()],
                        "prereg_keys": {key_id(public): public.public_bytes(Encoding.Raw, PublicFormat.Raw).hex()}})
    client = app.test_client()
    client.app, client.store, client.db = app, store, db
    yield client
    store.close()


def said(app, lang: str, text: str) -> str:
    from flask_babel import gettext
    with app.test_request_context(f"/?lang={lang}"):
        return gettext(text)


def identify(client) -> str:
    resp = client.post("/screen/qr", json={"qr": sign(FAMILY, KEY)})
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()["token"]


def member_errors(client, lang: str = "en", **typed) -> dict:
    """What the screen says of one household member typed in (it writes nothing)."""
    resp = client.post(f"/screen/member?lang={lang}", json={
        "token": identify(client), "present": [0], "members": [],
        **{"name": "焼津 梅", "birth_date": "1990-04-04", "sex": "female", **typed}})
    assert resp.status_code == 422, resp.get_json()
    return resp.get_json()["errors"]


# -- a date of the right form that does not exist -------------------------------------------

def test_a_day_that_does_not_exist_is_told_apart_from_a_wrong_form():
    today = dt.date(2026, 11, 26)
    for typed in ("2010-02-30", "2011-02-29", "2010/2/30", "2010年13月1日", "昭和65年1月1日", "H31.5.1"):
        with pytest.raises(NoSuchDay) as refused:
            parse_typed_birth_date(typed, today)
        assert isinstance(refused.value, NotADate)   # callers that do not tell them apart refuse it still
    for typed in ("2010-02-3x", "1980-W07-1", "30/02/2010", ""):
        with pytest.raises(NotADate) as wrong_form:
            parse_typed_birth_date(typed, today)
        assert not isinstance(wrong_form.value, NoSuchDay), typed
    assert parse_typed_birth_date("2012-02-29", today) == dt.date(2012, 2, 29)


@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_the_screen_says_there_is_no_such_date_in_every_language(kiosk, lang):
    words = said(kiosk.app, lang, NO_SUCH_DATE)
    assert words != said(kiosk.app, lang, WRONG_FORM)
    assert words == NO_SUCH_DATE or lang != "en"
    assert words != NO_SUCH_DATE or lang == "en", f"{lang}: not translated"
    assert member_errors(kiosk, lang, birth_date="2010-02-30") == {"member.birth_date": words}
    # a wrong form is still said as one
    assert member_errors(kiosk, lang, birth_date="2010-02-3x") == {
        "member.birth_date": said(kiosk.app, lang, WRONG_FORM)}


def test_the_screen_check_in_says_it_of_a_member_too_and_saves_nothing(kiosk):
    seq = kiosk.store.last_seq
    resp = kiosk.post("/screen/checkin?lang=en", json={
        "token": identify(kiosk), "present": [0], "stay_type": "in_shelter", "needs": [[], []],
        "disclosure": "none", "members": [{"name": "焼津 梅", "birth_date": "2011-02-29", "sex": "female"}]})
    assert resp.status_code == 422
    assert resp.get_json()["errors"]["members.0.birth_date"] == NO_SUCH_DATE
    assert kiosk.store.last_seq == seq


def test_the_json_api_and_the_command_line_say_there_is_no_such_day(kiosk, tmp_path):
    seq = kiosk.store.last_seq
    resp = kiosk.post("/api/checkin", json={"persons": [{"name": "焼津 梅", "birth_date": "2010-02-30",
                                                          "sex": "female"}]})
    assert resp.status_code == 422 and "no such day" in resp.get_json()["message"], resp.get_json()
    assert kiosk.store.last_seq == seq
    typed = run_evac("kiosk", "checkin", "--db", str(kiosk.db), "--shelter", "H031", "--name", "焼津 梅",
                     "--birth", "2010-02-30", "--sex", "female")
    assert typed.returncode == 2 and "no such day" in typed.stderr, typed.stderr
    assert kiosk.store.last_seq == seq
