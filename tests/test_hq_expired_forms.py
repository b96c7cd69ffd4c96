"""A public form sent with an old or invalid CSRF token (left open, HQ restarted, an old tab on a phone)
comes back with everything typed and a sentence in the person's language; nothing is saved, and the
form then goes through.  A token does not expire by the clock: the session bounds it."""
from __future__ import annotations

import time

import itsdangerous.timed

from tests.test_prereg_page import count as prereg_count
from tests.test_safety_page_languages import FORM, csrf, saved

SAID = {"zh": "未能发送：页面打开时间过长", "ja": "送信できませんでした",
        "en": "Your entry was not sent: the page was open too long"}


def test_the_inquiry_form_comes_back_with_what_was_typed_in_two_languages(hq_app, hq_client):
    for lang in ("zh", "ja"):
        hq_client.get(f"/safety/?lang={lang}")       # the language bar sets the cookie
        page = hq_client.post("/safety/", data={**FORM, "csrf_token": "stale-or-from-before-a-restart"})
        html = page.get_data(as_text=True)
        assert page.status_code == 400 and SAID[lang] in html, html
        assert 'id="form-error" role="alert"' in html and html.index("form-error") < html.index("<form")
        assert 'value="Nguyễn Văn An"' in html and "Đồng nghiệp" in html and 'value="1980-02-17"' in html
        assert saved(hq_app) == (0, 0, 0)
    # The page it came back on carries a fresh token: sending again goes through.
    again = hq_client.post("/safety/", data={**FORM, "csrf_token": csrf(hq_client, "/safety/")})
    assert again.status_code == 303   # received: on to its answer page


def test_a_token_from_hours_ago_still_works(hq_app, hq_client, monkeypatch):
    real = itsdangerous.timed.TimestampSigner.get_timestamp
    monkeypatch.setattr(itsdangerous.timed.TimestampSigner, "get_timestamp",
                        lambda self: int(time.time()) - 3 * 3600)   # the form was opened three hours ago
    token = csrf(hq_client, "/safety/")
    monkeypatch.setattr(itsdangerous.timed.TimestampSigner, "get_timestamp", real)
    assert hq_client.post("/safety/", data={**FORM, "csrf_token": token}).status_code == 303


def test_the_self_report_and_pre_registration_forms_come_back_too(hq_app, hq_client):
    form = {"name": "焼津 花子", "birth_date": "1950-04-01", "sex": "female", "address": "焼津市本町5-9-1",
            "where": "at_home", "consent": "none", "csrf_token": "stale"}
    page = hq_client.post("/safety/self-report?lang=en", data=form)
    html = page.get_data(as_text=True)
    assert page.status_code == 400 and SAID["en"] in html and 'value="焼津 花子"' in html
    prereg = {"address": "焼津市小川1", "m0_name": "山田 花子", "m0_birth": "1990-01-01", "m0_sex": "female",
              "csrf_token": "stale"}
    page = hq_client.post("/prereg?lang=ja", data=prereg)
    html = page.get_data(as_text=True)
    assert page.status_code == 400 and SAID["ja"] in html and 'value="山田 花子"' in html
    assert saved(hq_app) == (0, 0, 0) and prereg_count(hq_app) == 0


def test_a_staff_form_with_an_old_token_is_said_in_words(hq_app, hq_client):
    """HQ staff's log-in (and every staff form) with a stale token: a sentence in the page's language,
    not the framework's English 400; nothing changes."""
    page = hq_client.post("/staff/login?lang=ja", data={"name": "x", "password": "y", "csrf_token": "stale"})
    html = page.get_data(as_text=True)
    assert page.status_code == 400 and "何も保存されていません。前の画面に戻って再読み込みし" in html
    assert "CSRF" not in html
