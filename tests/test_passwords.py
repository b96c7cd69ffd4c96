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
