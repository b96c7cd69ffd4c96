"""The family forms (inquiry /safety/, self-report): a field refused for an Individual Number is not sent back,
the self-report's consent error says what really happens, and its consent fields are marked and reachable."""
from __future__ import annotations

import re

import pytest

from tests.browser import hq_over_http, page_at  # noqa: F401  (fixtures)
from tests.test_family_forms_all_errors import csrf, error_beside, saved

NUMBER = "123456789018"             # passes the Individual Number's check digit
GROUPED = "1234 5678 9018"

CONSENT_NEEDS_CODE = {
    "en": "To answer whoever gives your family code (after the city has confirmed who is asking), choose a family "
          "code and write it here.",
    "ja": "家族コードを言った人に（市が照会者を確認してから）答えるには、家族コードを決めてここに書いてください。",
    "easy": "かぞくコードを いった ひとに こたえる ときは（しが きいた ひとを たしかめてから）、かぞくコードを きめて ここに かいて ください。",
    "zh": "如要在市政府确认查询人身份后答复说出家庭代码的人，请设定一个家庭代码并填写在这里。",
    "pt": "Para responder a quem disser o código da sua família (depois que a prefeitura confirmar quem pergunta), "
          "escolha um código da família e escreva-o aqui.",
    "vi": "Để trả lời người nói đúng mã gia đình của bạn (sau khi thành phố xác nhận người hỏi), hãy chọn một mã gia "
          "đình và ghi vào đây.",
    "tl": "Para masagot ang sinumang magbigay ng inyong family code (pagkatapos kumpirmahin ng lungsod kung sino ang "
          "nagtatanong), pumili ng family code at isulat ito rito.",
}
# The old words: the family told "at once", which a self-report's consent never is (staff confirm first).
AT_ONCE = ("know at once", "すぐ知らせる", "すぐ しらせる", "立即告知", "na hora", "báo ngay", "agad malaman")


def _value(html: str, field: str) -> str:
    found = re.search(rf'<input id="{field}" name="{field}"[^>]*?value="([^"]*)"', html)
    assert found, field
    return found.group(1)


def test_the_inquiry_page_does_not_send_an_individual_number_back(hq_app, hq_client):
    hq_app.config["SMTP_HOST"] = "127.0.0.1"   # the e-mail field is on the page (nothing is sent: it is refused)
    token = csrf(hq_client, "/safety/?lang=en")
    page = hq_client.post("/safety/", data={
        "csrf_token": token, "inquirer_name": "Oigawa Hana", "inquirer_address": f"Yaizu 1-1 {GROUPED}",
        "inquirer_contact": "090-1234-5678", "relationship": "relative", "reason": "My mother",
        "sought_name": "焼津 花子", "sought_birth_date": "1950-02-03", "sought_address": f"本町 {NUMBER}",
        "family_code": NUMBER, "notify_email": f"{NUMBER}@example.jp"}, environ_base={"REMOTE_ADDR": "10.31.0.1"})
    html = page.get_data(as_text=True)
    assert page.status_code == 422
    assert NUMBER not in html and GROUPED not in html
    for field in ("inquirer_address", "sought_address", "notify_email"):
        assert _value(html, field) == "", field
        assert error_beside(html, field) == ("Do not write an Individual Number (マイナンバー) here: it must not be "
                                             "recorded. What you wrote in this field has been cleared."), field
    assert _value(html, "family_code") == ""
    assert error_beside(html, "family_code") == ("Do not use an Individual Number (マイナンバー) as the family code: it "
                                                 "must not be recorded. The family code you wrote has been cleared.")
    # The rest stays as typed.
    assert _value(html, "inquirer_name") == "Oigawa Hana" and _value(html, "sought_name") == "焼津 花子"
    assert _value(html, "inquirer_contact") == "090-1234-5678" and ">My mother</textarea>" in html
    assert saved(hq_app) == (0, 0, 0)


def test_the_self_report_page_does_not_send_an_individual_number_back(hq_app, hq_client):
    token = csrf(hq_client, "/safety/self-report?lang=ja")
    page = hq_client.post("/safety/self-report", data={
        "csrf_token": token, "name": "焼津 花子", "name_kana": "やいづ はなこ", "birth_date": "1950-02-03",
        "sex": "female", "address": f"焼津市本町5-9-1 {GROUPED}", "where": "at_home", "consent": "family",
        "family_code": NUMBER})
    html = page.get_data(as_text=True)
    assert page.status_code == 422
    assert NUMBER not in html and GROUPED not in html
    assert _value(html, "address") == ""
    assert error_beside(html, "address") == "ここにマイナンバー（個人番号）を書かないでください。記録できません。この欄に書いた内容は消しました。"
    assert _value(html, "family_code") == ""
    assert re.search(r'<p class="error" id="consent-error">マイナンバー（個人番号）を家族コードにしないでください。'
                     r'記録できません。書いた家族コードは消しました。</p>', html)
    assert _value(html, "name") == "焼津 花子" and _value(html, "name_kana") == "やいづ はなこ"
    assert re.search(r'<input type="radio" name="consent" value="family" checked', html)
    assert saved(hq_app) == (0, 0, 0)


@pytest.mark.parametrize("lang", list(CONSENT_NEEDS_CODE))
def test_a_self_reports_missing_family_code_is_not_said_to_tell_the_family_at_once(hq_app, hq_client, lang):
    token = csrf(hq_client, f"/safety/self-report?lang={lang}")
    page = hq_client.post("/safety/self-report", data={
        "csrf_token": token, "name": "焼津 花子", "birth_date": "1950-02-03", "sex": "female", "where": "at_home",
        "consent": "family", "family_code": ""})
    html = page.get_data(as_text=True)
    assert page.status_code == 422
    said = re.search(r'<p class="error" id="consent-error">([^<]*)</p>', html).group(1)
    assert said == CONSENT_NEEDS_CODE[lang]
    assert not any(words in said for words in AT_ONCE)
    # The consent in error is marked for a screen reader, and its summary link can take the focus.
    radios = re.findall(r'<input type="radio" name="consent"[^>]*>', html)
    assert len(radios) == 3 and all('aria-invalid="true" aria-describedby="consent-error"' in r for r in radios)
    assert re.search(r'<input id="family_code"[^>]* aria-invalid="true" aria-describedby="consent-error"', html)
    assert re.search(r'<fieldset id="consent" tabindex="-1">', html)
    assert saved(hq_app) == (0, 0, 0)


@pytest.mark.slow
def test_the_error_summary_link_to_the_consent_takes_the_focus_there(tmp_path, page_at):
    with hq_over_http(tmp_path) as hq:
        page = page_at(hq.url, viewport=(390, 844))
        page.goto("/safety/self-report?lang=en")
        page.fill("#name", "Yaizu Hanako")
        page.fill("#birth_date", "1950-02-03")
        page.select_option("#sex", "female")
        page.select_option("#where", "at_home")
        page.check("input[name=consent][value=family]")
        with page.expect_navigation():
            page.click("button[type=submit]")
        page.click("#error-summary a[href='#consent']")
        assert page.evaluate("document.activeElement.id") == "consent"
        # And a field's own link still does what it did.
        assert page.locator("#family_code").get_attribute("aria-invalid") == "true"


def test_the_too_many_page_does_not_send_an_individual_number_back_either(hq_app, hq_client):
    # The rate limit answers before the form is checked; it keeps what was typed, but never the number.
    hq_app.config["SAFETY_RATE_PER_CLIENT"] = "1 per minute"
    typed = {"inquirer_name": "Oigawa Hana", "inquirer_address": "Yaizu 1-1", "inquirer_contact": "090-1234-5678",
             "relationship": "relative", "reason": f"My mother {GROUPED}", "sought_name": "焼津 花子",
             "sought_birth_date": "1950-02-03", "family_code": ""}
    first = hq_client.post("/safety/", data={"csrf_token": csrf(hq_client, "/safety/"), **typed},
                           environ_base={"REMOTE_ADDR": "10.31.1.1"})
    assert first.status_code == 422
    refused = hq_client.post("/safety/?lang=en", data={"csrf_token": csrf(hq_client, "/safety/"), **typed},
                             environ_base={"REMOTE_ADDR": "10.31.1.1"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 429 and "Many inquiries came from your network" in html
    assert GROUPED not in html and re.search(r'<textarea id="reason"[^>]*></textarea>', html)
    assert re.search(r'<p class="error" id="reason-error">Do not write an Individual Number \(マイナンバー\) here: it '
                     r'must not be recorded\. What you wrote in this field has been cleared\.</p>', html)
    assert _value(html, "inquirer_name") == "Oigawa Hana" and _value(html, "sought_name") == "焼津 花子"
    assert saved(hq_app) == (0, 0, 0)
