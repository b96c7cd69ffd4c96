"""The public pre-registration page: CSRF-protected, errors next to their field, a QR to save."""
import re

from sqlalchemy import func, select

from hq_dashboard.db import db
from hq_dashboard.models import PreregHousehold


def token(client) -> str:
    page = client.get("/prereg").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(PreregHousehold))


def test_a_household_registers_and_gets_a_qr_to_save(hq_app, hq_client):
    hq_app.config["WTF_CSRF_ENABLED"] = True
    form = {"csrf_token": token(hq_client), "address": "静岡県焼津市本町5-9-1", "consent": "family",
            "family_code": "Yaizu2026", "m0_name": "焼津 太郎", "m0_birth": "1948-03-03", "m0_sex": "male", "m0_needs": ["dialysis"],
            "m1_name": "<b>花子</b>", "m1_birth": "1950-07-07", "m1_sex": "female"}
    resp = hq_client.post("/prereg", data=form)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "<svg" in page and 'download="yaizu-shelter-qr-HH-' in page
    assert "&lt;b&gt;花子&lt;/b&gt;" in page and "<b>花子</b>" not in page  # names are escaped
    assert count(hq_app) == 1


def test_errors_stand_next_to_their_field_and_nothing_is_saved(hq_app, hq_client):
    hq_app.config["WTF_CSRF_ENABLED"] = True
    form = {"csrf_token": token(hq_client), "address": "焼津市小川1", "m0_name": "山田 花子",
            "m0_birth": "2999-01-01", "m0_sex": "female"}
    resp = hq_client.post("/prereg", data=form)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "生年月日を確かめてください" in page
    assert "not plausible" not in page  # not the validator's words
    assert page.index("生年月日を確かめてください") < page.index('id="m0_name"')  # shown at that person's fields
    assert 'value="山田 花子"' in page  # what they typed is kept
    english = hq_client.post("/prereg?lang=en", data=form).get_data(as_text=True)
    assert "Check the birth date" in english and "生年月日を確かめてください" not in english
    assert count(hq_app) == 0


def _errors_by_row(page: str) -> dict[int, str]:
    """The error shown in each person's fieldset, by row number (0-based)."""
    found = {}
    for i, part in enumerate(page.split("<fieldset>")[1:]):
        m = re.search(r'<p class="error">([^<]*)</p>', part)
        if m:
            found[i] = m.group(1)
    return found


def test_each_error_stands_at_its_own_row_in_the_pages_language(hq_app, hq_client):
    form = {"csrf_token": token(hq_client), "address": "焼津市小川1", "consent": "none",
            "m0_name": "山田 花子", "m0_birth": "1980-02-17", "m0_sex": "female",
            # row 2 (index 1) left empty; row 3 has a bad birth date; row 4 a birth date and kana but no name
            "m1_sex": "female",
            "m2_name": "山田 次郎", "m2_birth": "", "m2_sex": "male",
            "m3_kana": "ヤマダ ハナ", "m3_birth": "2015-05-05", "m3_sex": "female"}
    resp = hq_client.post("/prereg", data=form)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert _errors_by_row(page) == {2: "生年月日を入力してください。", 3: "氏名を入力してください。"}
    assert "is not a date" not in page and "person 3" not in page
    english = hq_client.post("/prereg?lang=en", data=form).get_data(as_text=True)
    assert _errors_by_row(english) == {2: "Enter the birth date.", 3: "Enter the name."}
    assert count(hq_app) == 0


def test_a_row_typed_with_no_name_is_not_dropped(hq_app, hq_client):
    form = {"csrf_token": token(hq_client), "address": "焼津市小川1", "consent": "none", "m0_name": "山田 花子", "m0_birth": "1980-02-17",
            "m0_sex": "female", "m1_kana": "ヤマダ タロウ", "m1_birth": "1979-01-01", "m1_sex": "male"}
    resp = hq_client.post("/prereg", data=form)
    assert resp.status_code == 422 and count(hq_app) == 0
    assert _errors_by_row(resp.get_data(as_text=True)) == {1: "氏名を入力してください。"}


def test_the_cores_refusals_are_said_in_the_pages_language(hq_app, hq_client):
    base = {"address": "焼津市小川1", "m0_name": "山田 花子", "m0_birth": "1980-02-17", "m0_sex": "female"}
    for extra, words, english in [
            ({"consent": "family", "family_code": "ab"}, "家族コードを決めてください", "choose a family code"),
            ({"consent": "none", "family_code": "sakura88"}, "「家族」を選んだときだけ", 'goes only with "Family"'),
            ({"consent": "none", "contact": "1234 5678 9018"}, "マイナンバー", "My Number"),
            ({"consent": "none", "address": " "}, "住所を入力してください", "Enter the address"),
            ({"consent": "none", "address": "焼津市本町 123456789018"}, "マイナンバー", "My Number")]:
        field = "address" if "address" in extra else "family_code" if "family_code" in extra else "contact"
        for lang, said in (("?lang=ja", words), ("?lang=en", english)):   # ?lang= is remembered
            page = hq_client.post("/prereg" + lang, data={"csrf_token": token(hq_client), **base, **extra})
            page = page.get_data(as_text=True).replace("&#34;", '"')
            assert said in page, (extra, lang)
            assert page.index(f'for="{field}"') < page.index(said) < page.index(f'id="{field}"'), extra   # at its field
    assert count(hq_app) == 0


def test_needs_are_labelled_in_words(hq_client):
    page = hq_client.get("/prereg").get_data(as_text=True)
    assert "> 人工透析</label>" in page and "> 要介護</label>" in page
    assert "> dialysis</label>" not in page
    english = hq_client.get("/prereg?lang=en").get_data(as_text=True)
    assert "> Dialysis</label>" in english and "> Needs care</label>" in english


def test_a_post_without_the_csrf_token_is_refused(hq_app, hq_client):
    hq_app.config["WTF_CSRF_ENABLED"] = True
    resp = hq_client.post("/prereg", data={"address": "x", "m0_name": "y", "m0_birth": "1990-01-01", "m0_sex": "male"})
    assert resp.status_code == 400 and count(hq_app) == 0


def test_the_saved_qr_image_scans_back_to_a_code_the_kiosk_accepts(hq_app, hq_client):
    """What a phone shows is a picture: decode the PNG the page offers and verify it as a kiosk would."""
    import base64
    import io

    import zxingcpp
    from PIL import Image

    from evac.prereg_qr import keys_from_hex, verify
    from hq_dashboard import prereg
    hq_app.config["WTF_CSRF_ENABLED"] = True
    form = {"csrf_token": token(hq_client), "address": "焼津市中港5-463", "consent": "none",
            "m0_name": "Maria Santos", "m0_birth": "1985-12-31", "m0_sex": "female", "m0_needs": ["interpreter"]}
    page = hq_client.post("/prereg", data=form).get_data(as_text=True)
    png = base64.b64decode(re.search(r'href="data:image/png;base64,([^"]+)"', page).group(1))
    # QR codes only: with every format on, a reader sometimes also found a 1-D barcode in the modules.
    (code,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)), formats=zxingcpp.BarcodeFormat.QRCode)
    with hq_app.app_context():
        keys = keys_from_hex(prereg.public_keys(db.session))
    household = verify(code.text, keys)
    assert [(m.name, m.needs) for m in household.members] == [("Maria Santos", ("interpreter",))]


def test_registrations_from_one_address_are_limited_and_the_form_is_kept(hq_app, hq_client):
    hq_app.config["PREREG_RATE"] = "3 per minute"
    form = {"csrf_token": token(hq_client), "address": "焼津市小川1", "consent": "none", "m0_name": "山田 花子",
            "m0_birth": "1980-02-17", "m0_sex": "female"}
    answers = [hq_client.post("/prereg", data={**form, "m0_name": f"山田 花子{n}"}).status_code for n in "一二三四"]
    assert answers == [200, 200, 200, 429]
    resp = hq_client.post("/prereg", data=form)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 429 and resp.headers.get("Retry-After")
    assert "短時間に多くの登録がありました" in page
    assert 'value="山田 花子"' in page   # what they typed is kept
    assert hq_client.get("/prereg").status_code == 200   # reading the page is never limited
    assert count(hq_app) == 3


def test_the_json_api_shares_the_pages_budget_of_registrations(hq_app, hq_client):
    hq_app.config["PREREG_RATE"] = "2 per minute"
    body = {"address": "焼津市小川1", "consent": "none",
            "members": [{"name": "山田 花子", "birth_date": "1980-02-17", "sex": "female"}]}
    form = {"csrf_token": token(hq_client), "address": "焼津市小川1", "consent": "none", "m0_name": "山田 一郎",
            "m0_birth": "1980-02-17", "m0_sex": "male"}
    assert hq_client.post("/prereg", data=form).status_code == 200
    assert hq_client.post("/api/v1/prereg", json=body).status_code == 201
    refused = hq_client.post("/api/v1/prereg", json=body)
    assert refused.status_code == 429 and refused.get_json()["error"] == "rate_limited"
    assert count(hq_app) == 2


def test_a_name_of_symbols_alone_or_a_reading_that_is_no_kana_is_refused_at_its_row(hq_app, hq_client):
    """The page says names and readings have no symbols or numbers, and now holds to it: the QR carries them
    to every kiosk's roster, sorted and searched by the reading (kiosk.input_checks refuses the same)."""
    base = {"address": "焼津市小川1", "consent": "none", "m0_name": "山田 花子", "m0_birth": "1980-02-17",
            "m0_sex": "female"}
    for extra in ({"m1_name": "😀😀", "m1_birth": "1979-01-01", "m1_sex": "male"},
                  {"m1_name": "山田 太郎", "m1_kana": "やまだ🌸", "m1_birth": "1979-01-01", "m1_sex": "male"},
                  {"m1_name": "山田 太郎", "m1_kana": "山田", "m1_birth": "1979-01-01", "m1_sex": "male"},
                  {"m1_name": "山田 太郎", "m1_kana": "★★", "m1_birth": "1979-01-01", "m1_sex": "male"}):
        resp = hq_client.post("/prereg?lang=ja", data={"csrf_token": token(hq_client), **base, **extra})
        assert resp.status_code == 422, extra
        assert _errors_by_row(resp.get_data(as_text=True)) == {1: "氏名・ふりがなを確かめてください（100文字まで、記号や番号は使えません）。"}, extra
        english = hq_client.post("/prereg?lang=en", data={"csrf_token": token(hq_client), **base, **extra})
        assert _errors_by_row(english.get_data(as_text=True)) == {
            1: "Check the name and the name in kana (up to 100 characters, no symbols or numbers)."}, extra
    assert count(hq_app) == 0
    # Kana (full- or half-width), a foreign name's Latin letters, or no reading at all are readings.
    for kana in ("ヤマダ タロウ", "やまだ・たろう", "ﾔﾏﾀﾞ ﾀﾛｳ", "José Martínez", ""):
        resp = hq_client.post("/prereg", data={"csrf_token": token(hq_client), **base, "m1_name": "山田 太郎",
                                               "m1_kana": kana, "m1_birth": "1979-01-01", "m1_sex": "male"})
        assert resp.status_code == 200 and "<svg" in resp.get_data(as_text=True), kana
    assert count(hq_app) == 5
