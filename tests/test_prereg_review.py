"""Pre-registration review fixes: the page speaks the seven languages of HQ's public pages; a household
whose QR no phone camera could read, more people than the page's rows, or one person listed twice are
refused before anything is saved; the done page shows the registration number staff cancel by."""
from __future__ import annotations

import random
import re
from pathlib import Path

import pytest
import segno
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from hq_dashboard import prereg
from hq_dashboard.i18n import LANGUAGES, html_lang
from tests.test_prereg_page import _errors_by_row, count, token

ROOT = Path(__file__).resolve().parent.parent
CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uff00-\uffef]")
BASE = {"address": "焼津市小川1", "consent": "none", "m0_name": "山田 花子", "m0_birth": "1980-02-17", "m0_sex": "female"}


def post(client, data: dict, lang: str = "ja"):
    resp = client.post(f"/prereg?lang={lang}", data={"csrf_token": token(client), **data})
    return resp, resp.get_data(as_text=True).replace("&#34;", '"').replace("&#39;", "'")


def outside_the_language_bar_and_credit(html: str) -> str:
    html = re.sub(r'<nav class="languages".*?</nav>', "", html, flags=re.S)
    return re.sub(r'<small lang="ja">.*?</small>', "", html, flags=re.S)


# --- 1. the languages of HQ's other public pages ---------------------------------------------------------

@pytest.mark.parametrize("code", list(LANGUAGES))
def test_the_page_and_its_done_page_speak_each_of_the_seven_languages(hq_app, hq_client, code):
    page = hq_client.get(f"/prereg?lang={code}").get_data(as_text=True)
    assert f'<html lang="{html_lang(code)}">' in page
    for other in LANGUAGES:   # the same language bar as /safety/
        assert f'data-testid="lang-{other}"' in page
    resp, done = post(hq_client, BASE, lang=code)
    assert resp.status_code == 200 and f'<html lang="{html_lang(code)}">' in done
    if code in ("en", "pt", "vi", "tl"):   # every text went through the catalog
        for html in (page, done.replace("山田 花子", "")):
            assert not CJK.findall(outside_the_language_bar_and_credit(html)), CJK.findall(html)


def test_japanese_by_default_and_the_browsers_language_otherwise(hq_app):
    assert '<html lang="ja">' in hq_app.test_client().get("/prereg").get_data(as_text=True)
    assert "避難所の事前登録" in hq_app.test_client().get("/prereg").get_data(as_text=True)
    page = hq_app.test_client().get("/prereg", headers={"Accept-Language": "pt-BR,pt;q=0.9"}).get_data(as_text=True)
    assert '<html lang="pt">' in page and "Pré-cadastro" in page


def test_errors_are_said_at_their_row_in_the_chosen_language_and_nothing_is_saved(hq_app, hq_client):
    resp, page = post(hq_client, {**BASE, "m1_kana": "ヤマダ タロウ", "m1_birth": "1979-01-01", "m1_sex": "male"},
                      lang="vi")
    assert resp.status_code == 422 and _errors_by_row(page) == {1: "Hãy nhập họ tên."}
    assert count(hq_app) == 0


def test_every_text_of_the_pre_registration_templates_is_in_every_catalog():
    templates = ["hq_dashboard/templates/prereg.html", "hq_dashboard/templates/prereg_done.html"]
    found = extract_from_dir(str(ROOT), [(t, "jinja2") for t in templates], keywords={"_": None, "gettext": None},
                             options_map={t: {} for t in templates})
    texts = {message for _f, _l, message, _c, _x in found if isinstance(message, str)}
    assert "Registration number" in texts and "Shelter pre-registration" in texts   # the extraction works
    for locale in sorted({loc for _name, loc in LANGUAGES.values()}):
        with (ROOT / "hq_dashboard" / "translations" / locale / "LC_MESSAGES" / "messages.po").open("rb") as f:
            catalog = read_po(f, locale=locale)
        translated = {m.id for m in catalog if m.id and m.string and "fuzzy" not in m.flags}
        assert not sorted(texts - translated), (locale, sorted(texts - translated))


# --- 2. a QR no phone camera could read -------------------------------------------------------------------

_KANJI = "焼津藤守大井川港町本町小川浜当目石津田尻北新屋中港吉永保福島高新田望月鈴木杉山山本渡辺伊藤佐藤松永増田池谷"
_KANA = "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワン"


def _long_household(people: int) -> tuple[str, list[dict]]:
    """Long names and address that do not compress (as the reviewer measured: 5 people fit no QR)."""
    rnd = random.Random(3)
    kanji = lambda n: "".join(rnd.choice(_KANJI) for _ in range(n))   # noqa: E731
    kana = lambda n: "".join(rnd.choice(_KANA) for _ in range(n))     # noqa: E731
    members = [{"name": kanji(49) + " " + kanji(50), "name_kana": kana(49) + " " + kana(50),
                "birth_date": f"19{50 + i}-01-0{i % 9 + 1}", "sex": "male", "needs": ["elderly", "care", "dialysis"]}
               for i in range(people)]
    return "静岡県焼津市" + kanji(190), members


def test_a_household_too_large_for_a_qr_is_refused_on_the_page_and_nothing_is_saved(hq_app, hq_client):
    address, members = _long_household(5)
    form = {"address": address, "consent": "none"}
    for i, m in enumerate(members):
        form.update({f"m{i}_name": m["name"], f"m{i}_kana": m["name_kana"], f"m{i}_birth": m["birth_date"],
                     f"m{i}_sex": m["sex"], f"m{i}_needs": m["needs"]})
    resp, page = post(hq_client, form)
    assert resp.status_code == 422 and "Traceback" not in page
    assert "大きすぎて" in page and "2回に分けて" in page and 'id="form-error"' in page
    assert f'value="{members[0]["name"]}"' in page   # what they typed is kept
    assert count(hq_app) == 0


def test_the_json_api_refuses_a_household_too_large_for_a_qr(hq_app, hq_client):
    address, members = _long_household(10)
    answer = hq_client.post("/api/v1/prereg", json={"address": address, "consent": "none", "members": members})
    body = answer.get_json()
    assert answer.status_code == 422 and body["error"] == "invalid_registration" and body["field"] == "qr_size"
    assert "too large" in body["message"] and "two parts" in body["message"]
    assert count(hq_app) == 0


def test_a_usual_household_of_five_fits_a_readable_qr(hq_app, hq_client):
    members = [{"name": n, "name_kana": k, "birth_date": b, "sex": s, "needs": d} for n, k, b, s, d in [
        ("焼津 太郎", "ヤイヅ タロウ", "1948-03-03", "male", ["elderly", "dialysis"]),
        ("焼津 花子", "ヤイヅ ハナコ", "1950-07-07", "female", ["elderly"]),
        ("焼津 一郎", "ヤイヅ イチロウ", "1978-11-20", "male", []),
        ("焼津 美咲", "ヤイヅ ミサキ", "1980-02-17", "female", ["pregnancy"]),
        ("焼津 陽翔", "ヤイヅ ハルト", "2022-05-05", "male", ["infant", "allergy"])]]
    answer = hq_client.post("/api/v1/prereg", json={"address": "静岡県焼津市本町五丁目9番1号 焼津ハイツ203号室",
                                                    "consent": "family", "family_code": "Yaizu2026",
                                                    "contact": "090-1234-5678", "members": members})
    assert answer.status_code == 201, answer.get_json()
    assert segno.make(answer.get_json()["qr"], error="m").version <= prereg.MAX_QR_VERSION


# --- 3. more people than the page's rows ------------------------------------------------------------------

def test_people_posted_beyond_the_pages_rows_are_refused_not_dropped(hq_app, hq_client):
    form = dict(BASE)
    for i in range(1, 8):
        form.update({f"m{i}_name": f"山田 {'一二三四五六七'[i - 1]}郎", f"m{i}_birth": f"198{i}-01-01", f"m{i}_sex": "male"})
    resp, page = post(hq_client, form)
    assert resp.status_code == 422 and count(hq_app) == 0
    assert "5人まで" in page and "2つ目の世帯" in page and 'id="form-error"' in page


def test_the_page_says_what_a_larger_family_does(hq_client):
    page = hq_client.get("/prereg?lang=en").get_data(as_text=True)
    assert "Up to 5 people register together" in page and "second household with the same address" in page


# --- 4. one person listed twice ---------------------------------------------------------------------------

def test_the_same_person_twice_is_refused_at_the_second_row(hq_app, hq_client):
    form = {**BASE, "m1_name": "山田 一郎", "m1_birth": "1978-01-01", "m1_sex": "male",
            "m3_name": "山田　花子", "m3_birth": "1980-02-17", "m3_sex": "female"}   # full-width space: same name
    resp, page = post(hq_client, form)
    assert resp.status_code == 422 and count(hq_app) == 0
    assert _errors_by_row(page) == {3: "1 人目と同じ人です（氏名と生年月日が同じ）。1人は1回だけ登録してください。"}


def test_the_json_api_refuses_the_same_person_twice(hq_app, hq_client):
    person = {"name": "山田 花子", "birth_date": "1980-02-17", "sex": "female"}
    answer = hq_client.post("/api/v1/prereg", json={"address": "焼津市小川1", "members": [
        person, {"name": "山田 一郎", "birth_date": "1978-01-01", "sex": "male"}, {**person, "name": "山田花子"}]})
    body = answer.get_json()
    assert answer.status_code == 422 and body["field"] == "members.2.same"
    assert "person 3 is the same as person 1" in body["message"]
    assert count(hq_app) == 0


# --- 5. the registration number ---------------------------------------------------------------------------

def test_the_done_page_shows_the_registration_number_staff_cancel_by(hq_app, hq_client):
    resp, page = post(hq_client, BASE)
    household_id = re.search(r'download="yaizu-shelter-qr-(HH-[0-9A-F]+)\.png"', page).group(1)
    shown = re.search(r'登録番号: <span class="number" id="household-id">([^<]+)</span>', page)
    assert shown and shown.group(1) == household_id
    assert "この番号を添えて市に連絡してください" in page
    resp, english = post(hq_client, {**BASE, "m0_name": "Maria Santos"}, lang="en")
    assert "Registration number" in english and "contact the city with this number" in english
