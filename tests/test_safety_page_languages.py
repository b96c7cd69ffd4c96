"""HQ's public safety pages in the kiosk's seven languages: every text in every catalog, the choice
remembered from the language bar to the answer, errors said next to the field in the chosen language,
nothing saved from a refused form, and names with markup shown as text."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from sqlalchemy import func, select

from hq_dashboard.db import db
from hq_dashboard.i18n import LANGUAGES
from hq_dashboard.models import AuditEntry, EventRecord, Inquiry
from kiosk import i18n as kiosk_i18n

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "hq_dashboard" / "translations"
PUBLIC_PAGES = ("/safety/", "/safety/self-report", "/safety/check")
CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uff00-\uffef]")

FORM = {"inquirer_name": "Nguyễn Văn An", "inquirer_address": "静岡県焼津市本町1-1",
        "inquirer_contact": "090-1234-5678", "relationship": "other", "reason": "Đồng nghiệp",
        "sought_name": "焼津 太郎", "sought_birth_date": "1980-02-17"}


def csrf(client, path: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


def without_language_bar(html: str) -> str:
    return re.sub(r'<nav class="languages".*?</nav>', "", html, flags=re.S)


def saved(hq_app) -> tuple[int, int, int]:
    with hq_app.app_context():
        return tuple(db.session.scalar(select(func.count()).select_from(model))
                     for model in (Inquiry, AuditEntry, EventRecord))


def test_both_apps_offer_the_same_languages():
    assert LANGUAGES is kiosk_i18n.LANGUAGES and len(LANGUAGES) == 7


def texts_in_the_code() -> set[str]:
    methods = [("hq_dashboard/**.py", "python"), ("hq_dashboard/templates/safety/**.html", "jinja2")]
    found = extract_from_dir(str(ROOT), methods, keywords={"_": None, "gettext": None, "_l": None},
                             options_map={"hq_dashboard/templates/safety/**.html": {}})
    return {message for _file, _line, message, _comments, _ctx in found if isinstance(message, str)}


@pytest.mark.parametrize("locale", sorted({loc for _name, loc in LANGUAGES.values()}))
def test_every_public_text_is_in_every_languages_catalog(locale):
    code_texts = texts_in_the_code()
    assert "Please write the name of the person you are looking for." in code_texts   # the extraction works
    po = TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as f:
        catalog = read_po(f, locale=locale)
    translated = {m.id for m in catalog if m.id and m.string and "fuzzy" not in m.flags}
    missing = sorted(code_texts - translated)
    assert not missing, f"{po.relative_to(ROOT)} lacks: {missing}"
    problems = [(m.id, err) for m, errors in catalog.check() for err in errors]
    assert not problems, problems   # placeholders such as %(name)s kept
    assert (po.parent / "messages.mo").exists(), "run make setup: it compiles the catalogs"


@pytest.mark.parametrize("code", ["en", "pt", "vi", "tl"])
def test_public_pages_in_a_latin_script_language_carry_no_japanese(hq_client, code):
    """Every text of the pages went through the catalogs: nothing Japanese is left outside the language bar."""
    for path in PUBLIC_PAGES:
        page = hq_client.get(f"{path}?lang={code}")
        html = page.get_data(as_text=True)
        assert page.status_code == 200 and f'<html lang="{code}">' in html, path
        assert not CJK.findall(without_language_bar(html)), (path, CJK.findall(without_language_bar(html)))
        for other in LANGUAGES:   # the bar offers all seven, from every page
            assert f'data-testid="lang-{other}"' in html
    wrong = hq_client.get("/safety/check?id=ABC&key=nope")
    assert wrong.status_code == 404 and not CJK.findall(without_language_bar(wrong.get_data(as_text=True)))


def test_vietnamese_missing_field_is_said_in_vietnamese_next_to_the_field_and_nothing_is_saved(hq_app, hq_client):
    token = csrf(hq_client, "/safety/?lang=vi")      # one tap on Tiếng Việt
    page = hq_client.post("/safety/", data={**FORM, "sought_name": "", "csrf_token": token},
                          environ_base={"REMOTE_ADDR": "10.20.0.1"})
    html = page.get_data(as_text=True)
    assert page.status_code == 422 and '<html lang="vi">' in html
    # the error stands between the field's label and the field itself
    assert re.search(r'<label for="sought_name">Họ tên[^<]*</label>\s*'
                     r'<p class="error" id="sought_name-error">Vui lòng ghi tên của người bạn đang tìm\.</p>\s*'
                     r'<input id="sought_name"', html), html
    assert "is missing" not in html            # not the validator's English
    assert 'value="Nguyễn Văn An"' in html     # what was typed is kept
    assert saved(hq_app) == (0, 0, 0)
    # the JSON API keeps its English message for the same mistake
    api = hq_client.post("/api/v1/safety/inquiries", json={
        "inquirer": {"name": "A", "address": "B", "contact": "C"}, "relationship": "other", "reason": "R",
        "sought": {"name": "", "birth_date": "1980-02-17"}}, environ_base={"REMOTE_ADDR": "10.20.0.2"})
    assert api.status_code == 422 and api.get_json()["fields"]["sought.name"].endswith("is missing")


def test_the_language_choice_sticks_from_the_form_to_the_answer(hq_app, hq_client):
    token = csrf(hq_client, "/safety/?lang=vi")
    # the form is posted with no ?lang=: the cookie the language bar set carries the choice
    answer = hq_client.post("/safety/", data={**FORM, "csrf_token": token}, environ_base={"REMOTE_ADDR": "10.20.1.1"},
                            follow_redirects=True)   # on to the inquiry's answer page
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200 and '<html lang="vi">' in html and "Mã tham chiếu:" in html, html
    ref = re.search(r'id="reference">([0-9A-F]+)<', html).group(1)
    key = re.search(r'id="key">([^<]+)<', html).group(1)
    again = hq_client.get(f"/safety/check?id={ref}&key={key}").get_data(as_text=True)
    assert '<html lang="vi">' in again and "Xem câu trả lời" in again
    assert 'aria-current="true">Tiếng Việt<' in again
    # another tap changes it, and the new choice is what is remembered
    assert '<html lang="pt">' in hq_client.get(f"/safety/check?id={ref}&key={key}&lang=pt").get_data(as_text=True)
    assert '<html lang="pt">' in hq_client.get("/safety/check").get_data(as_text=True)
    assert saved(hq_app)[0] == 1


def test_without_a_choice_the_browsers_language_then_japanese(hq_app):
    browser = hq_app.test_client()
    html = browser.get("/safety/", headers={"Accept-Language": "pt-BR,pt;q=0.9,en;q=0.5"}).get_data(as_text=True)
    assert '<html lang="pt">' in html and "Perguntar se alguém está bem" in html
    html = browser.get("/safety/", headers={"Accept-Language": "tl-PH"}).get_data(as_text=True)
    assert '<html lang="tl">' in html and "Itanong kung ligtas ang isang tao" in html
    html = browser.get("/safety/", headers={"Accept-Language": "de-DE"}).get_data(as_text=True)
    assert '<html lang="ja">' in html and "安否の問い合わせ" in html
    easy = browser.get("/safety/self-report?lang=easy").get_data(as_text=True)
    assert '<html lang="ja">' in easy and "ぶじだと しらせる" in easy


def test_markup_in_a_name_is_shown_as_text(hq_app, hq_client):
    token = csrf(hq_client, "/safety/?lang=zh")
    page = hq_client.post("/safety/", data={**FORM, "inquirer_name": "<script>alert(1)</script>", "csrf_token": token},
                          environ_base={"REMOTE_ADDR": "10.20.2.1"})
    html = page.get_data(as_text=True)
    assert page.status_code == 422 and "<script>alert(1)</script>" not in html
    assert 'value="&lt;script&gt;alert(1)&lt;/script&gt;"' in html
    assert '<p class="error" id="inquirer_name-error">姓名中不能含有 &lt; 或 &gt;。</p>' in html
    assert saved(hq_app) == (0, 0, 0)
    # a name the validators accept is still text on the page that repeats it back
    token = csrf(hq_client, "/safety/self-report?lang=en")
    done = hq_client.post("/safety/self-report", data={
        "csrf_token": token, "name": "Tom & \"Jerry\"", "birth_date": "1970-01-01", "sex": "male",
        "address": "焼津市", "where": "at_home", "consent": "none"}, environ_base={"REMOTE_ADDR": "10.20.2.2"})
    html = done.get_data(as_text=True)
    assert done.status_code == 201 and "Tom &amp; &#34;Jerry&#34; is safe was recorded" in html, html


def test_too_many_requests_are_told_in_the_chosen_language(hq_app, hq_client):
    hq_app.config["SAFETY_RATE_PER_CLIENT"] = "1 per minute"
    token = csrf(hq_client, "/safety/?lang=vi")
    codes = [hq_client.post("/safety/", data={**FORM, "csrf_token": token},
                            environ_base={"REMOTE_ADDR": "10.20.3.1"}) for _ in range(2)]
    assert [c.status_code for c in codes] == [303, 429]
    html = codes[1].get_data(as_text=True)
    assert "Có nhiều yêu cầu được gửi từ mạng của bạn trong thời gian ngắn" in html and '<html lang="vi">' in html
    assert "Bạn có thể gửi lại sau khoảng 1 phút." in html   # (the limit is per minute)


@pytest.mark.parametrize("field", ["reason", "inquirer_contact", "sought_name"])
def test_an_individual_number_typed_into_an_inquiry_is_refused_in_the_chosen_language(hq_app, hq_client, field):
    """番号法 §20: an inquirer who writes someone's My Number (to be helpful) gets it refused next to the
    field, in their language, and nothing of the inquiry is stored, audited or logged."""
    token = csrf(hq_client, "/safety/?lang=pt")
    page = hq_client.post("/safety/", data={**FORM, field: "マイナンバー 1234 5678 9018", "csrf_token": token},
                          environ_base={"REMOTE_ADDR": "10.20.4.1"})
    html = page.get_data(as_text=True)
    assert page.status_code == 422
    assert re.search(rf'<p class="error" id="{field}-error">Não escreva aqui o número individual', html), html
    assert saved(hq_app) == (0, 0, 0)


def test_an_individual_number_in_a_self_report_note_is_refused_in_the_chosen_language(hq_app, hq_client):
    token = csrf(hq_client, "/safety/self-report?lang=vi")
    page = hq_client.post("/safety/self-report", data={
        "csrf_token": token, "name": "Nguyễn An", "birth_date": "1990-01-01", "sex": "male", "address": "焼津市",
        "where": "at_home", "consent": "none", "note": "số 123456789018"}, environ_base={"REMOTE_ADDR": "10.20.4.2"})
    html = page.get_data(as_text=True)
    assert page.status_code == 422 and "Đừng ghi số cá nhân (マイナンバー) ở đây" in html
    assert saved(hq_app) == (0, 0, 0)
