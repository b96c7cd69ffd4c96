"""A PIN or 照合番号B that cannot be one is refused before the card reader is opened, at /api/card-checkin and at
`evac card read` as at the screen: no wait for a card, no card powered and taken for nothing.  The NFC reader
here is nfcpy's udp device with no card in its field: had the reader been opened, the answer would be "no card"."""
from __future__ import annotations

import pytest

from tests.conftest import free_udp_port, run_evac

pytest.importorskip("nfc")

SECRETS = [  # (field, typed, the words of the refusal)
    ("pin", "123", "the PIN is 4 digits"),
    ("pin", "12345", "the PIN is 4 digits"),
    ("pin", "12a4", "the PIN is 4 digits"),
    ("code_b", "0407042032135", "照合番号B is 14 digits"),
    ("code_b", "04133020321357", "these are not a date"),          # month 13
    ("code_b", "04070499991357", "is not one a card can have"),    # expiry year 9999
]


@pytest.mark.parametrize("field,typed,said", SECRETS)
def test_the_api_refuses_a_malformed_secret_without_opening_the_reader(tmp_path, field, typed, said):
    from kiosk import create_app
    app = create_app({"KIOSK_DB": str(tmp_path / "k.sqlite3"), "SHELTER_ID": "H031", "TESTING": True,
                      "CARD_READER": "nfc", "NFC_DEVICE": f"udp:127.0.0.1:{free_udp_port()}", "CARD_WAIT": 3})
    resp = app.test_client().post("/api/card-checkin", json={field: typed})
    assert resp.status_code == 422
    body = resp.get_json()
    assert said in body["message"] and "card" not in body["error"], body
    assert body["error"] == ("bad_code_b" if said.startswith(("these", "is not")) else "bad_input")


@pytest.mark.parametrize("field,typed,said", SECRETS)
def test_evac_card_read_refuses_a_malformed_secret_without_opening_the_reader(field, typed, said):
    flag = "--pin-stdin" if field == "pin" else "--code-b-stdin"
    result = run_evac("card", "read", "--reader", "nfc", "--device", f"udp:127.0.0.1:{free_udp_port()}",
                      "--wait", "3", flag, input=typed + "\n", timeout=60)
    assert result.returncode == 2 and said in result.stderr, result.stderr
    assert "no card" not in result.stderr
