"""Staff passwords as hashes: the apps' cost by default, and the tests' cheaper one only when asked."""
from evac.passwords import hash_password, password_matches


def test_a_password_is_kept_as_scrypt_at_werkzeugs_cost_unless_the_tests_ask_for_less(monkeypatch):
    monkeypatch.delenv("EVAC_TEST_CHEAP_PASSWORD_HASH", raising=False)
    strong = hash_password("correct horse 9")
    assert strong.startswith("scrypt:32768:8:1$") and "correct horse" not in strong
    monkeypatch.setenv("EVAC_TEST_CHEAP_PASSWORD_HASH", "1")
    cheap = hash_password("correct horse 9")
    assert cheap.startswith("scrypt:1024:8:1$")
    # A hash says its own cost: either is checked whatever the setting now.
    for stored in (strong, cheap):
        assert password_matches(stored, "correct horse 9")
        assert not password_matches(stored, "correct horse 8")
    monkeypatch.setenv("EVAC_TEST_CHEAP_PASSWORD_HASH", "yes")   # only "1" lowers it
    assert hash_password("x").startswith("scrypt:32768:")


def test_no_account_never_matches_even_its_dummy_hashs_password():
    assert not password_matches(None, "")
    assert not password_matches(None, "anything")
    assert not password_matches("", "")


def test_a_serving_hq_and_kiosk_say_at_their_start_that_the_tests_cheap_hashing_is_on(hq_server, tmp_path):
    import os

    from tests.conftest import Server, evac_cmd, free_port
    assert os.environ["EVAC_TEST_CHEAP_PASSWORD_HASH"] == "1"   # (conftest's, inherited by what the tests start)
    hq = hq_server()
    port = free_port()
    kiosk = Server(evac_cmd("kiosk", "serve", "--db", str(tmp_path / "k.sqlite3"), "--shelter", "H031",
                            "--port", str(port)), f"http://127.0.0.1:{port}", tmp_path / "kiosk.log", "/status")
    try:
        for server in (hq, kiosk):
            said = server.log_path.read_text()
            assert "evac: EVAC_TEST_CHEAP_PASSWORD_HASH=1 is set" in said and "for the project's tests only" in said
    finally:
        kiosk.stop()


def test_nothing_is_said_without_it(monkeypatch):
    from evac.passwords import cheap_hashing_warning
    monkeypatch.delenv("EVAC_TEST_CHEAP_PASSWORD_HASH")
    assert cheap_hashing_warning() is None
