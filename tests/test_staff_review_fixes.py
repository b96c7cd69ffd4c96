"""Fixes from the review of the staff tablet: what failed staff on a real shift."""
from __future__ import annotations

import re

import pytest

from tests.staff_helpers import PASSWORD, csrf, logged_in, login
from tests.staff_helpers import app, db  # noqa: F401 (fixtures)


# -- 1. a `lang` cookie from another app on the same host -------------------------

@pytest.mark.parametrize("cookie", ["easy", "xx", "pt", "ja@easy", ""])
def test_a_lang_cookie_the_staff_catalogs_do_not_have_gives_japanese(app, cookie):
    """HQ's public pages set lang=easy for the whole host: staff must still be able to log in."""
    client = app.test_client()
    client.set_cookie("lang", cookie)
    page = client.get("/staff/login")
    assert page.status_code == 200 and '<html lang="ja">' in page.text and "ログイン" in page.text
    assert login(client).status_code == 302
    roster = client.get("/staff/")
    assert roster.status_code == 200 and "避難者名簿" in roster.text


def test_a_lang_cookie_the_staff_catalogs_have_is_used(app):
    client = app.test_client()
    client.set_cookie("lang", "en")
    assert '<html lang="en">' in client.get("/staff/login").text
