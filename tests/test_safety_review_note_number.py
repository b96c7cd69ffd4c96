"""番号法 §20: HQ staff's note on how an inquirer was confirmed (or why an inquiry is refused) is kept in the
inquiry and the audit, so a note holding an Individual Number is refused in the staff's language and nothing
is written; the page keeps the record staff chose.  Real HQ app and database (SQLite and PostgreSQL)."""
from __future__ import annotations

import re

from sqlalchemy import select

from hq_dashboard.db import db
from hq_dashboard.models import AuditEntry
from tests.test_safety_release_choice import radios, record_ids, release, two_records, written
from tests.test_safety_review_fixes import ask, check, decide, log_in

NUMBER = "1234 5678 9018"          # a valid check digit (not anyone's), written as on the card


def _checked(html: str, ref: str) -> list[str]:
    block = re.search(rf'id="inquiry-{ref}".*?</form>', html, re.DOTALL).group(0)
    return re.findall(r'<input type="radio" name="record" value="(\d+)"[^>]*checked', block)


def _audit_details(hq_app) -> str:
    with hq_app.app_context():
        return " ".join(e.detail or "" for e in db.session.execute(select(AuditEntry)).scalars())


def test_a_release_note_with_the_number_is_refused_and_nothing_is_written(hq_app, hq_client, enroll):
    two_records(hq_client, enroll)
    ids = record_ids(hq_app)
    log_in(hq_app, hq_client)
    asked = ask(hq_client, "駿河 太郎", "1960-06-06", "household_family").get_json()
    ref = asked["inquiry_id"]
    assert sorted(radios(hq_client.get("/staff/inquiries").get_data(as_text=True), ref))
    before = written(hq_app, ref)
    for note, lang, words in ((f"マイナンバーカードで本人確認 {NUMBER}", None, "メモにマイナンバー（個人番号）らしい番号があります"),
                              ("card seen, number ١٢٣٤٥٦٧٨٩٠١٨", "en", "The note seems to hold an Individual Number"),
                              (f"〒425-0000 {NUMBER}", "pt", "A nota parece conter um Número Individual")):
        refused = release(hq_client, ref, ids["card"], note=note, lang=lang)
        html = refused.get_data(as_text=True)
        assert refused.status_code == 422 and words in html
        assert "9018" not in html and "٩٠١٨" not in html        # the page does not show the number back
        assert _checked(html, ref) == [str(ids["card"])]          # what else staff chose is kept
        assert written(hq_app, ref) == before                     # no status, answer, note or audit entry
    assert check(hq_client, asked)["status"] == "pending_review"
    assert "9018" not in _audit_details(hq_app)
    # Written without the number, the same release goes through.
    assert release(hq_client, ref, ids["card"], note="窓口でマイナンバーカードを確認").status_code == 302
    assert written(hq_app, ref)[4] == "その他: 窓口でマイナンバーカードを確認"
    assert check(hq_client, asked)["status"] == "released"


def test_a_refusal_note_with_the_number_is_refused_and_nothing_is_written(hq_app, hq_client, enroll):
    two_records(hq_client, enroll)
    log_in(hq_app, hq_client)
    asked = ask(hq_client, "駿河 太郎", "1960-06-06", "other").get_json()
    ref = asked["inquiry_id"]
    before = written(hq_app, ref)
    refused = decide(hq_client, ref, "reject", f"番号 {NUMBER} を名乗ったが本人確認できず")
    assert refused.status_code == 422
    assert "メモにマイナンバー（個人番号）らしい番号があります" in refused.get_data(as_text=True)
    assert written(hq_app, ref) == before and "9018" not in _audit_details(hq_app)
    assert decide(hq_client, ref, "reject", "本人確認できず").status_code == 302
    assert check(hq_client, asked)["status"] == "rejected"


def test_an_inquiry_whose_news_address_holds_the_number_is_refused_and_nothing_kept(hq_app, hq_client):
    from sqlalchemy import func

    from hq_dashboard.models import Inquiry
    from tests.test_safety_review_fixes import INQUIRER
    hq_app.config.update(SMTP_HOST="127.0.0.1")    # the page offers news by e-mail only when it can send it
    body = {"inquirer": INQUIRER, "relationship": "relative", "reason": "安否確認",
            "sought": {"name": "駿河 太郎", "birth_date": "1960-06-06"}, "notify_email": "123456789018@example.jp"}
    refused = hq_client.post("/api/v1/safety/inquiries", json=body)
    assert refused.status_code == 422 and "Individual Number" in refused.get_json()["fields"]["notify_email"]
    from tests.test_safety_review_fixes import csrf
    page = hq_client.post("/safety/", data={"csrf_token": csrf(hq_client, "/safety/"),
                                            "inquirer_name": INQUIRER["name"], "inquirer_address": INQUIRER["address"],
                                            "inquirer_contact": INQUIRER["contact"], "relationship": "relative",
                                            "reason": "安否確認", "sought_name": "駿河 太郎",
                                            "sought_birth_date": "1960-06-06",
                                            "notify_email": "1234.5678.9018@example.jp"},
                          headers={"Accept-Language": "ja"})
    assert page.status_code == 422
    assert re.search(r'id="notify_email-error">ここにマイナンバー（個人番号）を書かないでください', page.get_data(as_text=True))
    with hq_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Inquiry)) == 0
    body["notify_email"] = "hana@example.jp"
    assert hq_client.post("/api/v1/safety/inquiries", json=body).status_code == 201
