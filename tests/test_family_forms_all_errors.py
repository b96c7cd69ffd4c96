"""The family-facing forms (self-report, inquiry) say every wrong field at once, each beside its field, in
the page's language, and keep what was typed: fixing a form on a phone after a disaster takes one go."""
from __future__ import annotations

import re

from sqlalchemy import func, select

from hq_dashboard.db import db
from hq_dashboard.models import AuditEntry, EventRecord, Inquiry


def csrf(client, path):
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


def saved(hq_app):
    with hq_app.app_context():
        return tuple(db.session.scalar(select(func.count()).select_from(m)) for m in (Inquiry, AuditEntry, EventRecord))


def error_beside(html: str, field: str) -> str:
    """The error said between the field's label and the field itself ('' when there is none)."""
    found = re.search(rf'<label for="{field}">[^<]*</label>\s*<p class="error" id="{field}-error">([^<]+)</p>\s*'
                      rf'<(?:input|select|textarea) id="{field}"[^>]* aria-invalid="true"', html)
    return found.group(1) if found else ""


def test_a_self_report_with_three_wrong_fields_says_all_three_at_once_and_keeps_the_rest(hq_app, hq_client):
    token = csrf(hq_client, "/safety/self-report?lang=pt")
    page = hq_client.post("/safety/self-report", data={
        "csrf_token": token, "name": "", "name_kana": "やいづ はなこ", "birth_date": "1950-02-30", "sex": "",
        "address": "静岡県焼津市本町5-9-1", "where": "in_car", "consent": "public", "family_code": ""})
    html = page.get_data(as_text=True)
    assert page.status_code == 422
    assert error_beside(html, "name") == "Escreva o seu nome."
    assert error_beside(html, "birth_date").startswith("Esta data de nascimento não é possível")
    assert error_beside(html, "sex") == "Escolha o seu sexo."
    assert html.count('<p class="error" id=') == 3                     # nothing else is said to be wrong
    summary = re.search(r'<div class="error" id="error-summary" role="alert">(.*?)</div>', html, re.S).group(1)
    assert re.findall(r'<a href="#(\w+)">', summary) == ["name", "birth_date", "sex"]
    # What was typed, chosen and ticked is still there.
    assert 'value="やいづ はなこ"' in html and 'value="静岡県焼津市本町5-9-1"' in html and 'value="1950-02-30"' in html
    assert '<option value="in_car" selected>' in html
    assert re.search(r'<input type="radio" name="consent" value="public" checked>', html)
    assert saved(hq_app) == (0, 0, 0)


def test_a_self_report_with_a_wrong_person_also_says_where_is_missing(hq_app, hq_client):
    """Where they are is checked even when the name is wrong: before, it waited for the name to be fixed."""
    token = csrf(hq_client, "/safety/self-report?lang=vi")
    page = hq_client.post("/safety/self-report", data={
        "csrf_token": token, "name": "", "birth_date": "1990-01-01", "sex": "male", "where": "", "consent": "none"})
    html = page.get_data(as_text=True)
    assert page.status_code == 422
    assert error_beside(html, "name") and error_beside(html, "where")
    assert saved(hq_app) == (0, 0, 0)


def test_the_inquiry_form_with_three_wrong_fields_says_all_three_at_once_and_keeps_the_rest(hq_app, hq_client):
    token = csrf(hq_client, "/safety/?lang=en")
    page = hq_client.post("/safety/", data={
        "csrf_token": token, "inquirer_name": "", "inquirer_address": "Yaizu 1-1", "inquirer_contact": "090-1234-5678",
        "relationship": "", "reason": "My mother", "sought_name": "焼津 花子", "sought_birth_date": "1950-02-30",
        "family_code": "Umi2026"}, environ_base={"REMOTE_ADDR": "10.30.0.1"})
    html = page.get_data(as_text=True)
    assert page.status_code == 422
    assert error_beside(html, "inquirer_name") == "Please write your name."
    assert error_beside(html, "relationship") == "Please choose your relationship to them."
    assert error_beside(html, "sought_birth_date").startswith("This birth date is not possible")
    assert html.count('<p class="error" id=') == 3
    summary = re.search(r'<div class="error" id="error-summary" role="alert">(.*?)</div>', html, re.S).group(1)
    assert re.findall(r'<a href="#(\w+)">', summary) == ["inquirer_name", "relationship", "sought_birth_date"]
    assert 'value="Yaizu 1-1"' in html and ">My mother</textarea>" in html and 'value="Umi2026"' in html
    assert saved(hq_app) == (0, 0, 0)
