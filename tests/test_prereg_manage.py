"""A family cancels or changes its own pre-registration by the secret link HQ shows once at registration:
a change gives a new QR and revokes the old in one step (a refused change leaves the old valid), a cancel
revokes the QR at the kiosks and erases what HQ kept for it; HQ keeps only the link's hash, and a wrong
link tells nothing."""
from __future__ import annotations

import base64
import hashlib
import io
import re

import pytest
from sqlalchemy import func, select, text

from evac.prereg_qr import QRRejected, keys_from_hex, verify
from hq_dashboard.db import db
from hq_dashboard.i18n import LANGUAGES, html_lang
from hq_dashboard.models import PreregHousehold
from tests.test_prereg_page import token
from tests.test_prereg_review import CJK, ROOT, _long_household, outside_the_language_bar_and_credit

FAMILY = {"address": "静岡県焼津市本町5-9-1", "consent": "family", "family_code": "Yaizu2026", "contact": "054-000-0000",
          "members": [
    {"name": "焼津 太郎", "name_kana": "ヤイヅ タロウ", "birth_date": "1948-03-03", "sex": "male", "needs": ["dialysis"]},
    {"name": "焼津 花子", "birth_date": "1950-07-07", "sex": "female"},
    {"name": "焼津 一郎", "birth_date": "1975-04-01", "sex": "male"}]}
PAGE_FORM = {"address": "焼津市小川1", "consent": "family", "family_code": "Ogawa2026",
             "m0_name": "山田 花子", "m0_birth": "1980-02-17", "m0_sex": "female", "m0_needs": ["allergy"],
             "m1_name": "山田 太郎", "m1_birth": "1979-01-01", "m1_sex": "male"}


def register_by_api(client) -> dict:
    answer = client.post("/api/v1/prereg", json=FAMILY)
    assert answer.status_code == 201
    return answer.get_json()


def register_on_page(client, lang: str = "ja") -> tuple[str, str]:
    """(the done page, the management link's path)"""
    page = client.post(f"/prereg?lang={lang}", data={"csrf_token": token(client), **PAGE_FORM}).get_data(as_text=True)
    link = re.search(r'id="manage-link" href="([^"]+)"', page).group(1)
    return page, re.sub(r"^https?://[^/]+", "", link)


def path_of(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


def kiosk_config(client, enroll) -> dict:
    return client.get("/api/v1/kiosk/config", headers={"Authorization": f"Bearer {enroll()}"}).get_json()


def kiosk_verify(qr: str, config: dict):
    """The QR as a kiosk checks it after a sync: HQ's keys and revocation list, no network."""
    return verify(qr, keys_from_hex(config["prereg_keys"]), frozenset(config["revoked"]))


def rows(app) -> list[PreregHousehold]:
    with app.app_context():
        found = db.session.execute(select(PreregHousehold)).scalars().all()
        db.session.expunge_all()
        return sorted(found, key=lambda r: r.revoked_at is None)   # a replaced row first, the current one last


def qr_on(page: str) -> str:
    """The QR text in the done page's PNG, read back as a phone camera would."""
    import zxingcpp
    from PIL import Image
    png = base64.b64decode(re.search(r'href="data:image/png;base64,([^"]+)"', page).group(1))
    (code,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)), formats=zxingcpp.BarcodeFormat.QRCode)
    return code.text


def change_form(client, path: str) -> dict:
    """The change form as the page prefilled it (every field, as a browser would send it back)."""
    page = client.get(path + "/change?lang=en").get_data(as_text=True)
    form = {"csrf_token": token(client)}
    for name, value in re.findall(r'<input id="[^"]+" name="([^"]+)"(?: type="date")? value="([^"]*)"', page):
        form[name] = value.replace("&#34;", '"').replace("&#39;", "'").replace("&amp;", "&")
    for name, value in re.findall(r'<input type="hidden" name="(drawn_from)" value="([^"]*)">', page):
        form[name] = value   # (the registration the form was drawn from)
    for name, value in re.findall(r'<input type="radio" name="(consent)" value="([^"]+)" checked>', page):
        form[name] = value
    for i, value in re.findall(r'<select id="m(\d+)_sex".*?<option value="([^"]+)" selected', page, re.S):
        form[f"m{i}_sex"] = value
    for name, value in re.findall(r'<input type="checkbox" name="([^"]+)" value="([^"]+)" checked>', page):
        form.setdefault(name, []).append(value)
    return form


# --- the link -----------------------------------------------------------------------------------------------

def test_the_done_page_gives_the_link_once_with_words_to_keep_it_and_the_link_opens_the_registration(
        hq_app, hq_client):
    done, path = register_on_page(hq_client, lang="en")
    assert "Keep this link: it is shown only this once" in done
    assert "Anyone who has this link can see, change or cancel the registration" in done
    assert "Without the link, contact the city with this number" in done   # both ways are said
    page = hq_client.get(path + "?lang=en")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    for shown in ("焼津市小川1", "山田 花子", "1980-02-17", "山田 太郎", "1979-01-01", "Food allergy", "Valid until:",
                  "Family — a family code is registered (not shown)"):
        assert shown in html, shown
    assert "Ogawa2026" not in html   # the family code is never shown in clear
    assert "Ogawa2026" not in hq_client.get(path + "/change").get_data(as_text=True)
    # The registration page itself says nothing of any household's link.
    assert "manage-link" not in hq_client.get("/prereg").get_data(as_text=True)


def test_the_json_api_answer_adds_the_link_and_keeps_its_fields(hq_app, hq_client):
    answer = register_by_api(hq_client)
    assert set(answer) == {"household_id", "qr", "expires", "members", "manage_url"}
    assert [m["name"] for m in answer["members"]] == ["焼津 太郎", "焼津 花子", "焼津 一郎"]
    page = hq_client.get(path_of(answer["manage_url"])).get_data(as_text=True)
    assert "焼津 太郎" in page and "静岡県焼津市本町5-9-1" in page


def test_hq_keeps_only_the_hash_of_the_link(hq_app, hq_client):
    answer = register_by_api(hq_client)
    secret = path_of(answer["manage_url"]).rsplit("/", 1)[1]
    with hq_app.app_context():
        row = db.session.execute(text("SELECT * FROM prereg_households")).mappings().one()
    assert row["manage_hash"] == hashlib.sha256(secret.encode()).hexdigest()
    assert not any(secret in str(value) for value in row.values())


# --- cancel -------------------------------------------------------------------------------------------------

def test_cancel_asks_first_then_revokes_the_qr_at_the_kiosks_and_erases_the_personal_data(
        hq_app, hq_client, enroll):
    answer = register_by_api(hq_client)
    path = path_of(answer["manage_url"])
    assert kiosk_verify(answer["qr"], kiosk_config(hq_client, enroll)).household_id == answer["household_id"]
    asked = hq_client.get(path + "/cancel?lang=en").get_data(as_text=True)
    assert "Cancel the registration?" in asked and 'id="cancel-yes"' in asked
    assert rows(hq_app)[0].revoked_at is None   # the first press changed nothing
    done = hq_client.post(path + "/cancel?lang=en", data={"csrf_token": token(hq_client)})
    assert done.status_code == 200 and "The registration was cancelled." in done.get_data(as_text=True)
    assert "A shelter where someone was already checked in keeps its own record" in done.get_data(as_text=True)
    config = kiosk_config(hq_client, enroll)
    assert answer["household_id"] in config["revoked"]
    with pytest.raises(QRRejected) as refused:
        kiosk_verify(answer["qr"], config)
    assert refused.value.reason == "revoked"
    (row,) = rows(hq_app)
    assert row.revoked_at is not None and row.payload == "{}"   # the id and dates stay, for the kiosks' list
    with hq_app.app_context():
        stored = " ".join(str(v) for v in db.session.execute(text("SELECT * FROM prereg_households")).one())
    for personal in ("焼津", "1948-03-03", "054-000-0000", "Yaizu2026", "dialysis"):
        assert personal not in stored
    # The link now says so, and the registration cannot be used or changed again.
    page = hq_client.get(path + "?lang=en").get_data(as_text=True)
    assert "Cancelled on" in page and 'id="change"' not in page and 'id="cancel"' not in page
    change = hq_client.post(path + "/change", data={"csrf_token": token(hq_client), "address": "焼津市小川1",
                                                    "m0_name": "焼津 太郎", "m0_birth": "1948-03-03", "m0_sex": "male"})
    assert change.status_code == 303 and len(rows(hq_app)) == 1
    assert hq_client.post(path + "/cancel", data={"csrf_token": token(hq_client)}).status_code == 200


def test_a_cancel_or_change_without_the_forms_token_is_refused_and_the_change_form_keeps_what_was_typed(
        hq_app, hq_client):
    hq_app.config["WTF_CSRF_ENABLED"] = True
    path = path_of(register_by_api(hq_client)["manage_url"])
    assert hq_client.post(path + "/cancel", data={}).status_code == 400
    form = {**change_form(hq_client, path), "csrf_token": "stale", "address": "焼津市小川9"}
    resp = hq_client.post(path + "/change?lang=en", data=form)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "Your entry was not sent" in page and 'value="焼津市小川9"' in page
    assert 'action="/prereg/manage/' in page   # the change form again, not the registration form
    (row,) = rows(hq_app)
    assert row.revoked_at is None and "焼津市小川9" not in row.payload


# --- change -------------------------------------------------------------------------------------------------

def test_a_change_gives_a_new_qr_revokes_the_old_and_keeps_each_staying_persons_id(hq_app, hq_client, enroll):
    hq_app.config["WTF_CSRF_ENABLED"] = True
    answer = register_by_api(hq_client)
    path = path_of(answer["manage_url"])
    old = kiosk_verify(answer["qr"], kiosk_config(hq_client, enroll))
    form = change_form(hq_client, path)
    assert form["m0_name"] == "焼津 太郎" and form["m1_birth"] == "1950-07-07" and form["m0_needs"] == ["dialysis"]
    assert form["consent"] == "family" and form["family_code"] == ""   # the code is not written back
    form.update({"address": "静岡県焼津市小川3-2-1",   # they moved
                 "m0_name": "焼津 太朗",                # a typo in his name: the same person
                 "m1_birth": "1950-07-08",             # a typo in her birth date: the same person
                 "m2_name": "焼津 陽菜", "m2_birth": "2026-10-01", "m2_sex": "female",   # his row given to a baby
                 "m3_name": "焼津 美咲", "m3_birth": "1990-05-05", "m3_sex": "female"})   # and someone new
    resp = hq_client.post(path + "/change?lang=en", data=form)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "This new QR code replaces the old one" in page
    config = kiosk_config(hq_client, enroll)
    with pytest.raises(QRRejected):
        kiosk_verify(answer["qr"], config)
    new = kiosk_verify(qr_on(page), config)
    assert new.household_id != old.household_id and old.household_id in config["revoked"]
    assert new.household_id not in config["revoked"]
    assert new.address == "静岡県焼津市小川3-2-1" and new.family_code == "Yaizu2026"   # the code kept
    assert [(m.name, m.birth_date) for m in new.members] == [
        ("焼津 太朗", "1948-03-03"), ("焼津 花子", "1950-07-08"), ("焼津 陽菜", "2026-10-01"), ("焼津 美咲", "1990-05-05")]
    ids = [m.prereg_id for m in new.members]
    assert ids[:2] == [old.members[0].prereg_id, old.members[1].prereg_id]   # one person each at HQ still
    assert old.members[2].prereg_id not in ids and len(set(ids)) == 4   # the baby is not her grandfather
    # The old row keeps only what the kiosks' list needs; the same link opens the new registration.
    replaced, current = rows(hq_app)
    assert replaced.id == old.household_id and replaced.payload == "{}" and replaced.manage_hash is None
    assert current.id == new.household_id and current.revoked_at is None
    shown = hq_client.get(path).get_data(as_text=True)
    assert "静岡県焼津市小川3-2-1" in shown and "焼津 美咲" in shown


def test_a_person_moved_to_another_row_keeps_their_id(hq_app, hq_client, enroll):
    """Person 1 moved out: the family types person 2 into the first row and empties the second."""
    answer = register_by_api(hq_client)
    old = kiosk_verify(answer["qr"], kiosk_config(hq_client, enroll))
    path = path_of(answer["manage_url"])
    form = {**change_form(hq_client, path), "m0_name": "焼津 花子", "m0_birth": "1950-07-07", "m0_sex": "female",
            "m1_name": "", "m1_kana": "", "m1_birth": ""}
    form.pop("m0_needs")
    page = hq_client.post(path + "/change", data=form).get_data(as_text=True)
    new = kiosk_verify(qr_on(page), kiosk_config(hq_client, enroll))
    assert [(m.name, m.prereg_id) for m in new.members] == [("焼津 花子", old.members[1].prereg_id),
                                                            ("焼津 一郎", old.members[2].prereg_id)]


def test_a_refused_change_says_what_is_wrong_at_the_field_and_the_old_qr_stays_valid(hq_app, hq_client, enroll):
    answer = register_by_api(hq_client)
    path = path_of(answer["manage_url"])
    before = rows(hq_app)[0].payload
    form = {**change_form(hq_client, path), "m1_birth": "2999-01-01"}
    resp = hq_client.post(path + "/change?lang=en", data=form)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    person_2 = page.split("<fieldset>")[2]
    assert "Check the birth date" in person_2 and 'value="2999-01-01"' in person_2   # at her fields, as typed
    assert f'name="drawn_from" value="{answer["household_id"]}"' in page   # corrected and sent, it goes through
    (row,) = rows(hq_app)
    assert row.revoked_at is None and row.payload == before
    assert kiosk_verify(answer["qr"], kiosk_config(hq_client, enroll)).household_id == answer["household_id"]
    # One the core refuses (the household's QR would be too large) leaves it valid as well.
    address, members = _long_household(5)
    large = {"csrf_token": form["csrf_token"], "drawn_from": form["drawn_from"], "address": address, "consent": "none"}
    for i, m in enumerate(members):
        large.update({f"m{i}_name": m["name"], f"m{i}_kana": m["name_kana"], f"m{i}_birth": m["birth_date"],
                      f"m{i}_sex": m["sex"], f"m{i}_needs": m["needs"]})
    resp = hq_client.post(path + "/change?lang=en", data=large)
    assert resp.status_code == 422 and 'id="form-error"' in resp.get_data(as_text=True)
    assert len(rows(hq_app)) == 1 and rows(hq_app)[0].revoked_at is None and rows(hq_app)[0].payload == before


# --- wrong links, budget ------------------------------------------------------------------------------------

def test_an_unknown_a_malformed_and_a_guessed_link_get_the_same_page(hq_app, hq_client):
    real = path_of(register_by_api(hq_client)["manage_url"]).rsplit("/", 1)[1]
    guessed = real[:-1] + ("A" if real[-1] != "A" else "B")
    pages = []
    for secret in (guessed, "x" * 43, "short", "a.b", real.upper() if real.upper() != real else real.lower()):
        for suffix in ("", "/change", "/cancel"):
            resp = hq_client.get(f"/prereg/manage/{secret}{suffix}?lang=en")
            assert resp.status_code == 404
            pages.append(resp.get_data(as_text=True).replace(f"/prereg/manage/{secret}{suffix}?", "/LINK?"))
        resp = hq_client.post(f"/prereg/manage/{secret}/cancel", data={"csrf_token": token(hq_client)})
        assert resp.status_code == 404
    assert len(set(pages)) == 1 and "This link does not open a pre-registration" in pages[0]
    assert "Traceback" not in pages[0]
    assert rows(hq_app)[0].revoked_at is None


def test_posts_share_the_registrations_budget_and_the_form_is_kept(hq_app, hq_client):
    hq_app.config["PREREG_RATE"] = "2 per minute"
    path = path_of(register_by_api(hq_client)["manage_url"])
    form = {**change_form(hq_client, path), "m0_name": "焼津 太朗"}
    assert hq_client.post(path + "/change", data={**form, "m0_birth": "2999-01-01"}).status_code == 422
    resp = hq_client.post(path + "/change", data=form)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 429 and "Too many changes from this network" in page   # (English: chosen above)
    assert "Nothing was changed yet" in page and "Too many registrations" not in page
    assert 'value="焼津 太朗"' in page and resp.headers.get("Retry-After")
    refused = hq_client.post(path + "/cancel", data={"csrf_token": token(hq_client)})
    assert refused.status_code == 429 and "The registration was not cancelled" in refused.get_data(as_text=True)
    assert hq_client.get(path).status_code == 200   # reading the page is never limited
    assert len(rows(hq_app)) == 1 and rows(hq_app)[0].revoked_at is None


# --- languages ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("code", list(LANGUAGES))
def test_the_management_pages_speak_each_of_the_seven_languages(hq_app, hq_client, code):
    done, path = register_on_page(hq_client, lang=code)
    names = ("山田 花子", "山田 太郎", "焼津市小川1")
    pages = [done, hq_client.get(f"{path}?lang={code}").get_data(as_text=True),
             hq_client.get(f"{path}/change?lang={code}").get_data(as_text=True),
             hq_client.get(f"{path}/cancel?lang={code}").get_data(as_text=True),
             hq_client.post(f"{path}/cancel?lang={code}", data={"csrf_token": token(hq_client)}).get_data(as_text=True),
             hq_client.get(f"/prereg/manage/{'x' * 43}?lang={code}").get_data(as_text=True)]
    for html in pages:
        assert f'<html lang="{html_lang(code)}">' in html
        if code in ("en", "pt", "vi", "tl"):   # every text went through the catalog
            for name in names:
                html = html.replace(name, "")
            assert not CJK.findall(outside_the_language_bar_and_credit(html)), CJK.findall(html)


def test_every_text_of_the_management_page_is_in_every_catalog():
    from babel.messages.extract import extract_from_dir
    from babel.messages.pofile import read_po
    templates = ["hq_dashboard/templates/prereg_manage.html"]
    found = extract_from_dir(str(ROOT), [(t, "jinja2") for t in templates], keywords={"_": None, "gettext": None},
                             options_map={t: {} for t in templates})
    texts = {message for _f, _l, message, _c, _x in found if isinstance(message, str)}
    assert "Cancel the registration?" in texts   # the extraction works
    for locale in sorted({loc for _name, loc in LANGUAGES.values()}):
        with (ROOT / "hq_dashboard" / "translations" / locale / "LC_MESSAGES" / "messages.po").open("rb") as f:
            catalog = read_po(f, locale=locale)
        translated = {m.id for m in catalog if m.id and m.string and "fuzzy" not in m.flags}
        assert not sorted(texts - translated), (locale, sorted(texts - translated))


# --- the migration ------------------------------------------------------------------------------------------

def test_households_registered_before_0036_keep_their_qr_and_have_no_link(hq_db_url):
    from flask_migrate import downgrade, upgrade

    from hq_dashboard import MIGRATIONS_DIR, create_app
    app = create_app({"SQLALCHEMY_DATABASE_URI": hq_db_url, "TESTING": True})
    with app.app_context():
        upgrade(directory=MIGRATIONS_DIR, revision="0035_kiosk_corrections")
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO prereg_households (id, payload, created_at, expires_at) VALUES "
                              "('HH-1', '{}', '2026-11-01 00:00:00', '2027-11-01 00:00:00')"))
        upgrade(directory=MIGRATIONS_DIR)
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT id, manage_hash FROM prereg_households")).all() == [("HH-1", None)]
        downgrade(directory=MIGRATIONS_DIR, revision="0035_kiosk_corrections")
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM prereg_households")).scalar() == 1
        db.engine.dispose()


def test_households_without_a_link_do_not_collide_and_one_link_opens_one_household(hq_app):
    """NULL is no link: the unique index lets any number of older households (and replaced rows) have none;
    two rows with one link's hash are refused (a change that raced another, prereg.change)."""
    from sqlalchemy.exc import IntegrityError
    with hq_app.app_context():
        made = {"payload": "{}", "created_at": db.func.now(), "expires_at": db.func.now()}
        db.session.add_all([PreregHousehold(id="HH-A", manage_hash=None, **made),
                            PreregHousehold(id="HH-B", manage_hash=None, **made),
                            PreregHousehold(id="HH-C", manage_hash="ab" * 32, **made)])
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(PreregHousehold)) == 3
        db.session.add(PreregHousehold(id="HH-D", manage_hash="ab" * 32, **made))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()


# --- a phone --------------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_on_a_phone_the_link_fits_the_screen_opens_the_registration_and_cancels_it_with_two_presses(
        tmp_path, page_at):
    from tests.browser import hq_over_http
    with hq_over_http(tmp_path) as hq:
        page = page_at(hq.url, viewport=(360, 740))
        page.goto("/prereg?lang=en")
        page.fill("#address", "Yaizu, Ogawa 1")
        page.fill("#m0_name", "Maria Santos")
        page.fill("#m0_birth", "1985-12-31")
        page.select_option("#m0_sex", "female")
        with page.expect_navigation():
            page.click("button[type=submit]")
        fits = "document.documentElement.scrollWidth <= window.innerWidth"
        assert page.evaluate(fits)   # the long link wraps on a narrow phone
        link = page.locator("#manage-link").get_attribute("href")
        page.goto(link)
        assert "Maria Santos" in page.inner_text(".person") and page.evaluate(fits)
        with page.expect_navigation():
            page.click("#cancel")
        assert "Cancel the registration?" in page.inner_text("body")   # the first press only asks
        with page.expect_navigation():
            page.click("#cancel-yes")
        assert "The registration was cancelled." in page.inner_text("#cancelled-now")
        page.goto(link)
        assert "Cancelled on" in page.inner_text("#state") and "Maria Santos" not in page.inner_text("body")


TWINS = {"address": "焼津市大住3-3", "consent": "public", "contact": "", "members": [
    {"name": "大住 一郎", "birth_date": "2016-06-06", "sex": "male"},
    {"name": "大住 二郎", "birth_date": "2016-06-06", "sex": "male"},
    {"name": "大住 母", "birth_date": "1986-01-01", "sex": "female"}]}


def test_a_twin_moved_up_into_the_row_of_the_twin_who_left_keeps_his_own_id(hq_app, hq_client, enroll):
    """Review: 一郎 moved out; the family typed 二郎 into row 1 and their mother into row 2.  二郎 shares a
    birth date with 一郎, and took 一郎's id: HQ made the two boys one person (一郎, still at a shelter, was
    lost).  Exact matches come first: 二郎 keeps his id and 一郎's goes."""
    answer = hq_client.post("/api/v1/prereg", json=TWINS).get_json()
    old = kiosk_verify(answer["qr"], kiosk_config(hq_client, enroll))
    path = path_of(answer["manage_url"])
    form = {**change_form(hq_client, path), "m0_name": "大住 二郎", "m1_name": "大住 母", "m1_birth": "1986-01-01",
            "m1_sex": "female", "m2_name": "", "m2_kana": "", "m2_birth": ""}
    page = hq_client.post(path + "/change", data=form).get_data(as_text=True)
    new = kiosk_verify(qr_on(page), kiosk_config(hq_client, enroll))
    assert [(m.name, m.prereg_id) for m in new.members] == [("大住 二郎", old.members[1].prereg_id),
                                                            ("大住 母", old.members[2].prereg_id)]
    # Swapped rows: each twin keeps his own.
    form = {**change_form(hq_client, path), "m0_name": "大住 母", "m0_birth": "1986-01-01", "m0_sex": "female",
            "m1_name": "大住 二郎", "m1_birth": "2016-06-06", "m1_sex": "male"}
    page = hq_client.post(path + "/change", data=form).get_data(as_text=True)
    again = kiosk_verify(qr_on(page), kiosk_config(hq_client, enroll))
    assert {m.name: m.prereg_id for m in again.members} == {m.name: m.prereg_id for m in new.members}


def test_the_change_sent_again_changes_nothing_and_the_qr_just_saved_stays_valid(hq_app, hq_client, enroll):
    """Review: reloading the "changed" page (or a double press, or a form left open on a second phone) made
    another change and revoked the QR the family had just saved."""
    answer = register_by_api(hq_client)
    path = path_of(answer["manage_url"])
    form = {**change_form(hq_client, path), "contact": "090-1111-2222"}
    saved = qr_on(hq_client.post(path + "/change?lang=en", data=form).get_data(as_text=True))
    again = hq_client.post(path + "/change?lang=en", data=form)
    page = again.get_data(as_text=True)
    assert again.status_code == 409 and "so nothing was changed now" in page and "090-1111-2222" in page
    assert kiosk_verify(saved, kiosk_config(hq_client, enroll)).contact == "090-1111-2222"   # still valid
    assert len(rows(hq_app)) == 2
    # A change drawn from the current registration still goes through; so does one that says nothing of
    # where it was drawn from (a script's post, not the page's).
    form = {**change_form(hq_client, path), "contact": "090-3333-4444"}
    assert hq_client.post(path + "/change", data=form).status_code == 200
    form = {**change_form(hq_client, path), "contact": "090-5555-6666"}
    form.pop("drawn_from")
    assert hq_client.post(path + "/change", data=form).status_code == 200


def test_staff_revoking_the_number_of_a_replaced_registration_revoke_the_one_that_stands(hq_app, hq_client, enroll,
                                                                                          hq_db_url):
    """Review: the family phones the city with the number on their first done page after two changes; staff
    revoked that replaced one (already revoked) and the QR that stood stayed valid, with its data."""
    from tests.conftest import run_evac
    answer = register_by_api(hq_client)
    path = path_of(answer["manage_url"])
    for contact in ("090-1", "090-2"):
        form = {**change_form(hq_client, path), "contact": contact}
        current = qr_on(hq_client.post(path + "/change", data=form).get_data(as_text=True))
    standing = kiosk_verify(current, kiosk_config(hq_client, enroll)).household_id
    done = run_evac("hq", "revoke-prereg", "--db", hq_db_url, answer["household_id"])
    assert done.returncode == 0, done.stderr
    assert f"{answer['household_id']} was replaced by the family's change" in done.stdout and standing in done.stdout
    with pytest.raises(QRRejected):
        kiosk_verify(current, kiosk_config(hq_client, enroll))
    again = run_evac("hq", "revoke-prereg", "--db", hq_db_url, answer["household_id"])
    assert again.returncode == 0 and f"{standing} was already revoked" in again.stdout, again.stdout


def test_the_link_shows_the_qr_again_while_it_works(hq_app, hq_client, enroll):
    """A family that lost the QR's image (or changed phones) gets it from the link: one the kiosks take."""
    answer = register_by_api(hq_client)
    path = path_of(answer["manage_url"])
    page = hq_client.get(path + "?lang=ja").get_data(as_text=True)
    assert "あなたの QR コード" in page and 'id="save-qr"' in page
    again = qr_on(page)
    assert kiosk_verify(again, kiosk_config(hq_client, enroll)).household_id == answer["household_id"]
    assert again == answer["qr"]   # the same text while the signing key is the same
    hq_client.post(path + "/cancel", data={"csrf_token": token(hq_client)})
    assert 'id="save-qr"' not in hq_client.get(path).get_data(as_text=True)


def test_someone_moved_into_another_row_with_a_typo_fixed_keeps_her_id(hq_app, hq_client, enroll):
    """Review: 一郎 left; the family typed 花 into his row, her name corrected to 華.  She got a new id, and HQ
    counted her twice once both QRs had been used.  One person could be her: she keeps her id; a baby typed
    into a row of one who left is still someone new."""
    family = {"address": "焼津市石津1-1", "consent": "none", "contact": "", "members": [
        {"name": "石田 一郎", "birth_date": "1970-03-03", "sex": "male"},
        {"name": "石田 花", "birth_date": "1972-02-02", "sex": "female"}]}
    answer = hq_client.post("/api/v1/prereg", json=family).get_json()
    old = kiosk_verify(answer["qr"], kiosk_config(hq_client, enroll))
    path = path_of(answer["manage_url"])
    form = {**change_form(hq_client, path), "m0_name": "石田 華", "m0_birth": "1972-02-02", "m0_sex": "female",
            "m1_name": "石田 陽", "m1_birth": "2026-11-01", "m1_sex": "male"}
    page = hq_client.post(path + "/change", data=form).get_data(as_text=True)
    new = kiosk_verify(qr_on(page), kiosk_config(hq_client, enroll))
    assert new.members[0].prereg_id == old.members[1].prereg_id
    assert new.members[1].prereg_id not in {m.prereg_id for m in old.members}


@pytest.mark.parametrize("registered,changed", [
    # The father's row given to his son of the same name; a row added for him, the father's emptied.
    ([("Jose Santos", "1960-05-05", "male"), ("Maria Santos", "1962-02-02", "female")],
     [("Jose Santos", "1990-07-07", "male"), ("Maria Santos", "1962-02-02", "female")]),
    ([("Maria Santos", "1962-02-02", "female"), ("Jose Santos", "1960-05-05", "male")],
     [("Maria Santos", "1962-02-02", "female"), ("", "", ""), ("Jose Santos", "1990-07-07", "male")]),
    # A grandmother who left, and someone else born on her (registered-as-1-January) birth date added.
    ([("石田 一郎", "1970-03-03", "male"), ("石田 トメ", "1945-01-01", "female")],
     [("石田 一郎", "1970-03-03", "male"), ("", "", ""), ("山田 キヨ", "1945-01-01", "female")]),
    ([("石田 一郎", "1970-03-03", "male"), ("石田 トメ", "1945-01-01", "female")],
     [("石田 一郎", "1970-03-03", "male"), ("山田 キヨ", "1945-01-01", "female")]),
])
def test_someone_else_given_a_row_or_added_never_takes_the_id_of_one_who_left(hq_app, hq_client, enroll,
                                                                               registered, changed):
    """Review: one field alike (the same name, or the same birth date) was taken for a typo fixed: the son took
    his father's id, キヨ took トメ's, and HQ would have made them one person."""
    family = {"address": "焼津市中港2-2", "consent": "none", "contact": "", "members": [
        {"name": n, "birth_date": b, "sex": x} for n, b, x in registered]}
    answer = hq_client.post("/api/v1/prereg", json=family).get_json()
    old = kiosk_verify(answer["qr"], kiosk_config(hq_client, enroll))
    path = path_of(answer["manage_url"])
    form = change_form(hq_client, path)
    for i, (n, b, x) in enumerate(changed):
        form.update({f"m{i}_name": n, f"m{i}_kana": "", f"m{i}_birth": b, f"m{i}_sex": x})
    page = hq_client.post(path + "/change", data=form).get_data(as_text=True)
    new = kiosk_verify(qr_on(page), kiosk_config(hq_client, enroll))
    kept = {(m.name, m.birth_date) for m in old.members}
    by_id = {m.prereg_id: (m.name, m.birth_date) for m in old.members}
    for m in new.members:
        if (m.name, m.birth_date) in kept:
            assert by_id.get(m.prereg_id) == (m.name, m.birth_date)   # who stays keeps their own
        else:
            assert m.prereg_id not in by_id, (m.name, m.birth_date)     # someone else is someone new


@pytest.mark.parametrize("old,new,same", [
    (("林 一", "1950-01-01", "male"), ("林 壱", "1950-01-01", "male"), True),        # a two-character name's typo
    (("SMITH John", "1980-01-01", "male"), ("John SMITH", "1980-01-01", "male"), True),   # the parts reordered
    (("Maria Silva", "1980-01-01", "female"), ("Maria Aparecida Silva", "1980-01-01", "female"), True),
    (("焼津 太郎", "1948-03-04", "male"), ("焼津 太郎", "1948-04-03", "male"), True),   # day and month swapped
    (("Nguyen Thi Anh", "1990-01-01", "female"), ("Nguyễn Thị Ánh", "1990-01-01", "female"), True),   # accents
    (("Ana Silva", "1980-01-01", "female"), ("Rosa Silva", "1980-01-01", "female"), False),
    (("Kim Min", "1980-01-01", "male"), ("Min Kim Ji Woo Park", "1980-01-01", "male"), False),   # more than a part
    (("石田 トメ", "1945-01-01", "female"), ("山田 キヨ", "1945-01-01", "female"), False),
    (("Jose Santos", "1960-05-05", "male"), ("Jose Santos", "1990-07-07", "male"), False),
    (("焼津 花子", "1950-07-07", "female"), ("焼津 華子", "1950-07-07", "male"), False),   # two things at once
    (("焼津 太郎", "1985-06-01", "male"), ("焼津 太郎", "1986-06-01", "male"), True),   # the year's last digit
    (("焼津 太郎", "1985-06-01", "male"), ("焼津 太郎", "1995-06-01", "male"), True),   # its tens
    (("焼津 太郎", "1960-06-01", "male"), ("焼津 太郎", "1990-06-01", "male"), False),  # his son, same name and day
])
def test_what_a_change_takes_for_the_same_person(old, new, same):
    """Review: a two-character name lost its id on a one-character fix, a Latin name on its parts put in
    the other order (the usual fix for names written family-name first)."""
    from evac.prereg_qr import Member
    from hq_dashboard.prereg import _same_person
    assert _same_person(Member("p", *old), Member("p", *new)) is same
