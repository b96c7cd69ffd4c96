"""The whole PC/SC path: `evac card read` → pyscard → pcscd → Debian's vpcd driver → the software card."""
from __future__ import annotations

import json
import subprocess

from evac.card.applet import CardIdentity, MyNumberApplet
from tests.conftest import run_evac

NUMBER = "271828182845"  # the card's Individual Number: it must never appear anywhere outside the card
LONG_ADDRESS = "静岡県焼津市本町五丁目九番一号　焼津駅前ハイツ" + "南" * 50 + "𠮷"


def identity(**over) -> CardIdentity:
    base = dict(name="𠮷田　花子", address=LONG_ADDRESS, birth="19800217", sex="2", my_number=NUMBER,
                pin="4321", code_b="55021720301234")
    return CardIdentity(**{**base, **over})


def read(*flags: str, secret: str) -> subprocess.CompletedProcess:
    return run_evac("card", "read", "--reader", "pcsc", "--reader-name", "Virtual PCD", *flags,
                    input=secret + "\n", timeout=60)


def test_reads_the_basic_four_through_pcscd(insert_card):
    applet = insert_card(MyNumberApplet(identity()))
    result = read("--pin-stdin", secret="4321")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"name": "𠮷田　花子", "address": LONG_ADDRESS,
                                         "birth_date": "1980-02-17", "sex": "female"}
    assert result.stdout.count("\n") == 1  # one JSON object and nothing else
    assert 0x7F < len(LONG_ADDRESS.encode()) <= 0xFF  # a two-byte BER length (81 xx); FF20 around it needs three
    assert 0x0001 not in applet.selected and 0x0014 not in applet.selected
    assert not applet._verified, "the card must be powered off after reading"


def test_reads_with_code_b(insert_card):
    insert_card(MyNumberApplet(identity()))
    result = read("--code-b-stdin", secret="55021720301234")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["birth_date"] == "1980-02-17"


def test_wrong_pin_then_last_try_refused_and_card_never_locked(insert_card):
    applet = insert_card(MyNumberApplet(identity()))
    first = read("--pin-stdin", secret="0000")
    assert first.returncode == 2 and "2 tries left" in first.stderr and first.stdout == ""
    second = read("--pin-stdin", secret="1111")
    # said with the wrong PIN that leaves it, not only at the next attempt
    assert second.returncode == 2 and "only one try is left" in second.stderr
    third = read("--pin-stdin", secret="4321")  # even the right PIN is not risked on the last try
    assert third.returncode == 2 and "only one try" in third.stderr
    assert applet.pin_tries == 1


def test_a_locked_card_says_so(insert_card):
    insert_card(MyNumberApplet(identity(), pin_tries=0))
    result = read("--pin-stdin", secret="4321")
    assert result.returncode == 2 and "locked" in result.stderr


def test_a_card_that_is_not_a_my_number_card(insert_card):
    insert_card(MyNumberApplet(identity(), is_my_number_card=False))
    result = read("--pin-stdin", secret="4321")
    assert result.returncode == 2 and "not a My Number card" in result.stderr


def test_corrupt_card_data(insert_card):
    insert_card(MyNumberApplet(identity(), corrupt_basic4=True))
    result = read("--pin-stdin", secret="4321")
    assert result.returncode == 2 and "could not be understood" in result.stderr and result.stdout == ""


def test_no_card_on_the_reader(pcscd):
    result = read("--pin-stdin", secret="4321")
    assert result.returncode == 2 and "no card" in result.stderr


def test_the_individual_number_is_nowhere_after_a_read_checkin_and_sync(insert_card, hq_server, tmp_path):
    applet = insert_card(MyNumberApplet(identity()))
    result = read("--pin-stdin", secret="4321")
    info = json.loads(result.stdout)
    hq = hq_server(f"sqlite:///{tmp_path / 'hq.sqlite3'}")
    token = run_evac("hq", "enroll-kiosk", "--db", hq.db_url, "--shelter", "H001").stdout.strip()
    kiosk_db = tmp_path / "kiosk.sqlite3"
    checkin = run_evac("kiosk", "checkin", "--new", "--db", str(kiosk_db), "--shelter", "H001", "--name", info["name"],
                       "--birth", info["birth_date"], "--sex", info["sex"], "--address", info["address"])
    sync = run_evac("kiosk", "sync", "--db", str(kiosk_db), "--hq", hq.url, "--token", token)
    assert checkin.returncode == 0 and sync.returncode == 0, checkin.stderr + sync.stderr
    hq.stop()
    outputs = result.stdout + result.stderr + checkin.stdout + sync.stdout
    assert NUMBER not in outputs
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert NUMBER.encode() not in path.read_bytes(), f"the Individual Number leaked into {path}"
    assert 0x0001 not in applet.selected


def test_the_kiosk_checks_a_card_holder_in(insert_card, tmp_path):
    from kiosk import create_app
    from kiosk.store import KioskStore
    app = create_app({"KIOSK_DB": str(tmp_path / "k.sqlite3"), "SHELTER_ID": "H031", "TESTING": True,
                      "CARD_READER": "pcsc", "READER_NAME": "Virtual PCD", "WATCH_TAPS": False})
    client = app.test_client()
    applet = insert_card(MyNumberApplet(identity()))
    wrong = client.post("/api/card-checkin", json={"pin": "9999"})
    assert wrong.status_code == 422 and wrong.get_json()["tries_left"] == 2
    ok = client.post("/api/card-checkin", json={"pin": "4321"})
    assert ok.status_code == 201, ok.get_json()
    assert ok.get_json()["name"] == "𠮷田　花子"
    store = KioskStore(tmp_path / "k.sqlite3")
    assert [e.person.address for e in store.checked_in("H031")] == [LONG_ADDRESS]
    assert applet.pin_tries == 3  # a right PIN resets the counter
    for path in tmp_path.rglob("*"):  # the database, its WAL, anything the kiosk wrote
        assert not path.is_file() or NUMBER.encode() not in path.read_bytes()


def test_a_kiosk_without_a_reader_says_so(tmp_path):
    from kiosk import create_app
    client = create_app({"KIOSK_DB": str(tmp_path / "k.sqlite3"), "SHELTER_ID": "H031", "TESTING": True}).test_client()
    resp = client.post("/api/card-checkin", json={"pin": "4321"})
    assert resp.status_code == 422 and resp.get_json()["error"] == "no_reader"


def test_a_tap_is_seen_by_the_kiosk(pcscd, tmp_path):
    import threading
    import time
    import urllib.request

    from kiosk.card_emulator import VpcdCard
    from tests.conftest import Server, evac_cmd, free_port
    port = free_port()
    kiosk = Server(evac_cmd("kiosk", "serve", "--db", str(tmp_path / "k.sqlite3"), "--shelter", "H031",
                            "--port", str(port), "--card-reader", "pcsc", "--reader-name", "Virtual PCD"),
                   f"http://127.0.0.1:{port}", tmp_path / "kiosk.log", "/api/status")

    def present_within(expected: bool, seconds: float = 15) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with urllib.request.urlopen(f"{kiosk.url}/api/card-status", timeout=5) as resp:
                status = json.loads(resp.read())
            assert status["reader"] is True
            if status["card_present"] is expected:
                return True
            time.sleep(0.2)
        return False
    try:
        assert present_within(False)
        card = VpcdCard(MyNumberApplet(identity()))
        card.insert()
        threading.Thread(target=card.serve, daemon=True).start()
        assert present_within(True), "the tap was not noticed"
        card.remove()
        assert present_within(False), "taking the card away was not noticed"
    finally:
        kiosk.stop()


def test_a_card_pulled_away_mid_read_writes_nothing(insert_card, tmp_path):
    from kiosk import create_app
    from kiosk.store import KioskStore
    app = create_app({"KIOSK_DB": str(tmp_path / "k.sqlite3"), "SHELTER_ID": "H031", "TESTING": True,
                      "CARD_READER": "pcsc", "READER_NAME": "Virtual PCD", "WATCH_TAPS": False})
    insert_card(MyNumberApplet(identity(), vanish_on_read=2))
    resp = app.test_client().post("/api/card-checkin", json={"pin": "4321"})
    assert resp.status_code == 422 and resp.get_json()["error"] == "card_removed"
    assert "hold it still" in resp.get_json()["message"]
    assert KioskStore(tmp_path / "k.sqlite3").last_seq == 0


def test_an_unplugged_reader_is_named(pcscd):
    result = run_evac("card", "read", "--reader", "pcsc", "--reader-name", "RC-S300", "--pin-stdin",
                      input="4321\n", timeout=60)
    assert result.returncode == 2 and "no card reader is connected" in result.stderr


def _in_second_slot(applet: MyNumberApplet):
    """The card in vpcd's second reader ("Virtual PCD 00 01", port 8C7C): the kiosk has two readers."""
    import threading
    import time

    from kiosk.card_emulator import VPCD_PORT, VpcdCard
    card = VpcdCard(applet, port=VPCD_PORT + 1)
    card.insert()
    threading.Thread(target=card.serve, daemon=True).start()
    time.sleep(0.5)  # pcscd notices the card
    return card


def test_the_card_is_read_on_whichever_reader_holds_it(pcscd):
    """Two readers match --reader-name; the card lies on the second.  The tap watcher sees it there,
    so the read must find it there too (it used to look only at the first and say 'no card')."""
    applet = MyNumberApplet(identity())
    card = _in_second_slot(applet)
    try:
        result = read("--pin-stdin", secret="4321")
    finally:
        card.remove()
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["name"] == "𠮷田　花子"
    assert 0x0001 not in applet.selected and applet.pin_tries == 3


def test_cards_on_two_readers_are_not_guessed_between(insert_card):
    """Whose PIN is it?  Sent to the wrong card it would spend a stranger's try: neither is touched."""
    first = insert_card(MyNumberApplet(identity()))
    second = MyNumberApplet(identity(pin="8642"))
    card = _in_second_slot(second)
    try:
        result = read("--pin-stdin", secret="8642")
    finally:
        card.remove()
    assert result.returncode == 2 and "take away all but" in result.stderr, result.stderr
    assert first.selected == [] and second.selected == []
    assert first.pin_tries == 3 and second.pin_tries == 3
