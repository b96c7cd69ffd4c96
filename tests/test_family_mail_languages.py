"""A family's e-mail news speaks the language they asked in (then Japanese), through a real SMTP server
(aiosmtpd) on loopback; an inquiry from before the language was kept gets Japanese and English."""
from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from evac.disclosure import Answer
from hq_dashboard.db import db
from hq_dashboard.models import Inquiry
from tests.test_notifications import _csrf, hq  # noqa: F401  (HQ logged in as a lead, with conftest's SMTP sink)

TARO = {"name": "大井川 太郎", "birth_date": "1980-05-05", "sex": "male", "address": "焼津市大井川1"}
PAGE_FORM = {"inquirer_name": "Ana Souza", "inquirer_address": "静岡県焼津市本町1-1",
             "inquirer_contact": "090-1234-5678", "relationship": "household_family", "reason": "Minha família",
             "sought_name": TARO["name"], "sought_birth_date": TARO["birth_date"], "notify_email": "ana@example.com"}


@pytest.fixture
def hq_taro(hq):
    """HQ logged in as a lead with e-mail news on (test_notifications.hq); the kiosk finds 太郎, injured."""
    client, kiosk = hq

    def kiosk_finds_taro_injured():
        kiosk({"type": "checkin", "person": TARO, "data": {"stay_type": "in_shelter"}},
              {"type": "status", "person": TARO, "data": {"status": "injured"}})
    return client, kiosk_finds_taro_injured


def ask_on_the_page(client, lang: str) -> str:
    token = _csrf(client, f"/safety/?lang={lang}")   # one tap on the language bar
    resp = client.post("/safety/", data={**PAGE_FORM, "csrf_token": token})
    assert resp.status_code == 303, resp.get_data(as_text=True)
    return parse_qs(urlsplit(resp.headers["Location"]).query)["id"][0]


def release(client, ref):
    form = {"csrf_token": _csrf(client, "/staff/inquiries"), "how": "call_back", "note": "折り返し電話で確認"}
    assert client.post(f"/staff/inquiries/{ref}/release", data=form).status_code == 302


def the_mail(inbox):
    (mail,) = inbox.messages
    return str(mail["Subject"]), mail.get_content().replace("\r\n", "\n")


def test_a_portuguese_family_reads_the_news_in_portuguese_then_japanese(hq_taro, smtp):
    client, kiosk_finds_taro_injured = hq_taro
    ref = ask_on_the_page(client, "pt")
    kiosk_finds_taro_injured()
    # Staff calling her back see which language she asked in.
    queue = client.get("/staff/inquiries").get_data(as_text=True)
    assert re.search(rf'id="inquiry-{ref}".*?data-testid="inquirer-language">[^<]*Português</span>', queue, re.S)
    release(client, ref)
    subject, body = the_mail(smtp[1])
    assert subject == f"Informações de segurança ({ref}) / 安否確認 ({ref})"
    portuguese, japanese = body.split("\n----------\n")
    assert f"Consulta de segurança da Cidade de Yaizu {ref}" in portuguese
    assert "Paradeiro: no abrigo 焼津中学校" in portuguese            # the shelter's name as it is
    assert "Ferimento ou doença: Ferido" in portuguese               # words, not the code
    assert f"焼津市 安否照会 {ref}" in japanese and "居場所：避難所 焼津中学校" in japanese
    assert "負傷・疾病：けが" in japanese
    assert "injured" not in body and "Whereabouts" not in body and "Injury" not in body


def test_a_vietnamese_family_reads_it_in_vietnamese(hq_taro, smtp):
    client, kiosk_finds_taro_injured = hq_taro
    ref = ask_on_the_page(client, "vi")
    kiosk_finds_taro_injured()
    release(client, ref)
    subject, body = the_mail(smtp[1])
    assert subject.startswith(f"Thông tin an toàn ({ref}) / ")
    assert body.index("Nơi ở: ở nơi sơ tán 焼津中学校") < body.index("居場所：避難所 焼津中学校")
    assert "Bị thương hoặc bệnh: Bị thương" in body and "injured" not in body


def test_an_easy_japanese_family_reads_easy_japanese_then_english(hq_taro, smtp):
    client, kiosk_finds_taro_injured = hq_taro
    ref = ask_on_the_page(client, "easy")
    kiosk_finds_taro_injured()
    release(client, ref)
    subject, body = the_mail(smtp[1])
    assert subject == f"あんぴ（ぶじか どうか） ({ref}) / Safety information ({ref})"
    easy, english = body.split("\n----------\n")
    assert "いる ところ：ひなんじょ 焼津中学校" in easy and "けが・びょうき：けがを して います" in easy
    assert "居場所" not in body                                     # not the kanji Japanese
    assert "Whereabouts: in the shelter 焼津中学校" in english and "Injury or illness: Injured" in english


def test_an_inquiry_without_a_language_gets_japanese_and_english_as_before(hq_taro, smtp):
    """The JSON API has no page language; neither have inquiries made before it was kept."""
    client, kiosk_finds_taro_injured = hq_taro
    body = {"inquirer": {"name": "大井川 花", "address": "静岡市葵区1-1", "contact": "090-1111-2222"},
            "relationship": "household_family", "reason": "家族を探しています",
            "sought": {"name": TARO["name"], "birth_date": TARO["birth_date"]}, "notify_email": "hana@example.jp"}
    asked = client.post("/api/v1/safety/inquiries", json=body, headers={"Accept-Language": "pt"})
    assert asked.status_code == 201
    ref = asked.get_json()["inquiry_id"]
    kiosk_finds_taro_injured()
    release(client, ref)
    subject, mail = the_mail(smtp[1])
    assert subject == f"安否確認 ({ref}) / Safety information ({ref})"
    japanese, english = mail.split("\n----------\n")
    assert "居場所：避難所 焼津中学校" in japanese and "負傷・疾病：けが" in japanese
    assert "Whereabouts: in the shelter 焼津中学校" in english and "Injury or illness: Injured" in english


def test_an_inquiry_kept_before_the_upgrade_has_no_language_and_its_news_is_japanese_and_english(hq_db_url):
    from flask_migrate import downgrade, upgrade

    from hq_dashboard import MIGRATIONS_DIR, create_app
    from hq_dashboard.notify import _body, _subject
    app = create_app({"SQLALCHEMY_DATABASE_URI": hq_db_url, "TESTING": True})
    with app.app_context():
        upgrade(directory=MIGRATIONS_DIR, revision="0025_staff_sessions")
        with db.engine.begin() as conn:
            conn.execute(db.text(
                "INSERT INTO inquiries (id, access_hash, created_at, client, inquirer_name, inquirer_address, "
                "inquirer_contact, relationship, reason, sought_name, sought_birth_date, sought_address, "
                "family_code_given, flagged, status, answer, review_note, notify_email) VALUES ('OLD1', 'h', "
                "CURRENT_TIMESTAMP, '', '大井川 花', '静岡市', '090', 'household_family', '家族', '大井川 太郎', "
                "'1980-05-05', '', false, false, 'pending_review', '{}', '', 'hana@example.jp')"))
        upgrade(directory=MIGRATIONS_DIR)
        row = db.session.get(Inquiry, "OLD1")
        assert row.language == ""
        answer = Answer(information_exists=True, injury_or_illness="hospitalised",
                        whereabouts={"state": "in_shelter", "shelter_id": "H031", "shelter_name": "焼津中学校"})
        subject, body = _subject(row), _body(row, answer)
        db.session.rollback()
        downgrade(directory=MIGRATIONS_DIR, revision="0025_staff_sessions")   # and back again
        with db.engine.connect() as conn:
            assert conn.execute(db.text("SELECT id FROM inquiries")).scalars().all() == ["OLD1"]
        db.engine.dispose()
    assert subject == "安否確認 (OLD1) / Safety information (OLD1)"
    assert body.index("負傷・疾病：入院中") < body.index("Injury or illness: In hospital")
    assert "hospitalised" not in body
