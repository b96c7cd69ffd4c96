"""The evacuee's screen, review of its members and moving-on screens: a household member typed in but not
added with 「この人を追加」 is added by "Next" (or kept there, with the form's errors, if the kiosk refuses
them), never silently dropped; the moving-to-another-shelter screen has Back and "Ask staff" and says when
the search finds no shelter; Enter in the family-code field checks in; the language bar is named in
Japanese and English.  Real HTTP, real SQLite, real Chromium."""
from __future__ import annotations

import dataclasses

from evac.prereg_qr import Member, keys_from_hex, sign, verify
from kiosk.store import KioskStore
from tests.browser import screenshot, wait_js
from tests.test_kiosk_screen import (  # noqa: F401  (hq_key: fixture)
    FAMILY, events, hq_key, qr_on_screen, said, shown, tid, trust)

ALONE = dataclasses.replace(FAMILY, household_id="hh-yaizu-0031", members=(
    Member("p-0031", "大井 一人", "1960-04-04", "male"),))


def _on_members(page, kiosk, hq_key) -> None:
    trust(kiosk, hq_key)
    qr_on_screen(page, sign(ALONE, hq_key), lang="pt")
    tid(page, "confirm-yes").click()
    shown(page, "members")


def _type_member(page, name: str, birth: str, sex: str | None) -> None:
    tid(page, "member-name").fill(name)
    tid(page, "member-birth").fill(birth)
    if sex:
        page.locator(f'input[name="sex"][value="{sex}"]').check()


def _screen(page) -> str:
    return page.evaluate("document.querySelector('.screen:not([hidden])').dataset.screen")


def _checkins(kiosk) -> list[str]:
    return [e["person"]["name"] for e in events(kiosk) if e["type"] == "checkin"]


def test_a_member_typed_in_and_next_pressed_is_added_not_dropped(kiosk_server, page_at, hq_key):
    kiosk = kiosk_server()
    page = page_at(kiosk.url)
    _on_members(page, kiosk, hq_key)
    _type_member(page, "Silva Pedro", "2015-04-01", "male")
    # Back keeps what was typed: coming forward again still has it
    tid(page, "back-confirm").click()
    shown(page, "confirm")
    tid(page, "confirm-yes").click()
    shown(page, "members")
    assert tid(page, "member-name").input_value() == "Silva Pedro"
    assert tid(page, "member-birth").input_value() == "2015-04-01"
    assert page.locator('input[name="sex"][value="male"]').is_checked()
    # "Next" instead of "Add this person": the person is added first, as that button does
    tid(page, "members-next").click()
    shown(page, "stay")
    tid(page, "stay-in_shelter").click()
    shown(page, "needs")
    assert page.locator('[data-list="needs"] legend').all_text_contents() == ["大井 一人", "Silva Pedro"]
    tid(page, "back-stay").click()
    tid(page, "back-members").click()
    shown(page, "members")   # listed once, the form empty again
    assert tid(page, "members").inner_text().count("Silva Pedro") == 1
    assert tid(page, "member-name").input_value() == ""
    tid(page, "members-next").click()
    tid(page, "stay-in_shelter").click()
    tid(page, "needs-next").click()
    tid(page, "consent-family").click()
    tid(page, "submit").click()
    shown(page, "done")
    assert _checkins(kiosk) == ["大井 一人", "Silva Pedro"]


def test_a_member_the_kiosk_refuses_keeps_the_person_on_the_members_screen(kiosk_server, page_at, hq_key):
    kiosk = kiosk_server()
    page = page_at(kiosk.url)
    _on_members(page, kiosk, hq_key)
    _type_member(page, "Silva Pedro", "", "male")   # no birth date
    tid(page, "members-next").click()
    page.wait_for_selector('[data-testid="error-member.birth_date"]:not(:empty)')
    assert _screen(page) == "members"
    assert tid(page, "error-member.birth_date").inner_text() == said(
        kiosk, "pt", "Enter the birth date like 1980-02-17 (year-month-day).")
    assert "Silva Pedro" not in tid(page, "members").inner_text()
    screenshot(page, "member-not-dropped-refused-pt")
    # "Add this person" refused it too, errors shown: "Next" still does not go on without them
    tid(page, "member-add").click()
    page.wait_for_selector('[data-testid="error-member.birth_date"]:not(:empty)')
    page.locator('input[name="sex"][value="female"]').check()
    tid(page, "members-next").click()
    page.wait_for_selector('[data-testid="error-member.birth_date"]:not(:empty)')
    assert _screen(page) == "members"
    assert events(kiosk) == []
    # corrected: "Next" adds them and goes on
    tid(page, "member-birth").fill("2015-04-01")
    tid(page, "members-next").click()
    shown(page, "stay")
    tid(page, "stay-in_car").click()
    tid(page, "needs-next").click()
    tid(page, "consent-none").click()
    tid(page, "submit").click()
    shown(page, "done")
    assert _checkins(kiosk) == ["大井 一人", "Silva Pedro"]


def test_a_double_tap_on_next_with_a_member_typed_in_lists_them_once(kiosk_server, page_at, hq_key):
    kiosk = kiosk_server()
    page = page_at(kiosk.url)
    _on_members(page, kiosk, hq_key)
    _type_member(page, "Silva Pedro", "2015-04-01", "male")
    held = []   # the kiosk's answer is held back until both taps have landed
    page.route("**/screen/member*", lambda route: held.append(route))
    tid(page, "members-next").dblclick()
    wait_js(page, "document.querySelector('[data-testid=member-add]').disabled", timeout=10_000)
    page.evaluate("() => new Promise((ok) => setTimeout(ok, 0))")
    assert len(held) == 1
    held[0].continue_()
    shown(page, "stay")
    tid(page, "back-members").click()
    shown(page, "members")
    assert tid(page, "members").inner_text().count("Silva Pedro") == 1


def test_an_empty_member_form_and_next_goes_on_as_before(kiosk_server, page_at, hq_key):
    kiosk = kiosk_server()
    page = page_at(kiosk.url)
    _on_members(page, kiosk, hq_key)
    tid(page, "members-next").click()
    shown(page, "stay")
    assert not [url for url in page.requests if "/screen/member" in url]
    tid(page, "stay-in_shelter").click()
    assert page.locator('[data-list="needs"] legend').all_text_contents() == ["大井 一人"]


def test_the_moving_screen_has_back_ask_staff_and_says_when_no_shelter_is_found(kiosk_server, page_at, hq_key):
    kiosk = kiosk_server()
    trust(kiosk, hq_key)
    store = KioskStore(kiosk.db)
    store.check_in_prereg("H031", verify(sign(ALONE, hq_key), keys_from_hex(store.prereg_keys())))
    store.close()
    page = page_at(kiosk.url)
    qr_on_screen(page, sign(ALONE, hq_key), purpose="leave", lang="pt")
    tid(page, "moving").click()
    shown(page, "transfer")
    none_found = tid(page, "no-destination")
    assert none_found.is_hidden()
    tid(page, "dest-filter").fill("zzzz")
    none_found.wait_for(state="visible")
    assert none_found.inner_text() == said(kiosk, "pt", "No shelter found. Try another name, or ask staff.")
    assert none_found.inner_text().startswith("Nenhum")   # Portuguese indeed
    screenshot(page, "moving-nothing-found-pt")
    tid(page, "dest-filter").fill("H001")
    none_found.wait_for(state="hidden")
    assert page.locator('[data-testid="destinations"] button:visible').count() == 1
    tid(page, "dest-filter").fill("")
    assert none_found.is_hidden()
    # Back: to the screen before, the identification kept (leaving still works from there)
    tid(page, "back-transfer").click()
    shown(page, "confirm")
    assert tid(page, "checkout").is_visible()
    tid(page, "moving").click()
    shown(page, "transfer")
    # Ask staff, as on the other screens
    ask = tid(page, "transfer-ask-staff")
    assert ask.inner_text() == said(kiosk, "pt", "Ask staff")
    ask.click()
    shown(page, "called")
    store = KioskStore(kiosk.db)
    try:
        assert len(store.open_staff_calls()) == 1
    finally:
        store.close()
    assert "transfer" not in {e["type"] for e in events(kiosk)}


def test_enter_in_the_family_code_field_checks_in(kiosk_server, page_at, hq_key):
    kiosk = kiosk_server()
    page = page_at(kiosk.url)
    _on_members(page, kiosk, hq_key)
    tid(page, "members-next").click()
    tid(page, "stay-in_shelter").click()
    tid(page, "needs-next").click()
    tid(page, "consent-family").click()
    tid(page, "family-code").fill("ab")   # too short: said next to it, nothing written
    tid(page, "family-code").press("Enter")
    page.wait_for_selector('[data-testid="error-family_code"]:not(:empty)')
    assert events(kiosk) == []
    tid(page, "family-code").fill("oigawa2026")
    tid(page, "family-code").press("Enter")
    shown(page, "done")
    assert _checkins(kiosk) == ["大井 一人"]


def test_the_language_bar_is_named_in_japanese_and_english(kiosk_server, page_at):
    kiosk = kiosk_server()
    page = page_at(kiosk.url)
    for lang in ("", "pt", "vi"):
        page.goto(f"/?lang={lang}" if lang else "/")
        assert page.locator("nav.languages").get_attribute("aria-label") == "言語 / Language"
