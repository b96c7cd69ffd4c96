"""The staff tablet in a real browser (Debian's Chromium through Playwright) against a running
`evac kiosk serve`: log in, search, register by hand, correct, check out, transfer, never-disclose
as the lead, export; screenshots in test-artifacts/staff/; no request leaves the app's origin."""
from __future__ import annotations

import json
import time

import pytest

from evac.events import Person
from evac.identity import person_key
from kiosk.store import KioskStore
from tests.staff_browser import PASSWORD, staff_kiosk  # noqa: F401 (fixtures)
from tests.staff_helpers import HANAKO, ICHIRO, SHELTER, TARO

pytestmark = pytest.mark.slow

# Short idle limits (KIOSK_STAFF_IDLE_MINUTES), kept as short as each test allows.  A page left unused
# reloads itself ceil(limit) + 3 s after its last use (kiosk.staff.auth.IDLE_REFRESH_MARGIN), so every
# idle log-out waited for costs that long.  The guard counts whole seconds: it surely finds a tablet
# idle once limit + 1 s have passed, and never before the limit itself.
# 1.2 s, reloads after 5 s: only for a test whose steps before the limit are a log-in's redirects.  (1 s left
# a loaded machine too little room between the log-in and the roster's first look: seen in CI.)
IDLE_1S = "0.02"
# Reloads after 5 s; leaves the steps before the limit (fields filled) 2x room and more under a loaded
# machine, for the page's own check and the guard's alike.
IDLE_2S = str(2 / 60)


def seed(store: KioskStore) -> None:
    store.check_in(SHELTER, [TARO, HANAKO])
    store.check_in(SHELTER, [ICHIRO], stay_type="in_car")
    store.set_needs(SHELTER, HANAKO.name, HANAKO.birth_date, HANAKO.address, ["infant"])


def events(db) -> list[dict]:
    store = KioskStore(db)
    try:
        return [json.loads(b) for (b,) in store.db.execute("SELECT body FROM events ORDER BY seq")]
    finally:
        store.close()


def log_in(page, url: str, name: str, password: str = PASSWORD) -> None:
    page.goto(url + "/staff/")
    page.fill("#name", name)
    page.fill("#password", password)
    submit(page, "button.primary")


def submit(page, selector: str) -> None:
    """Press what sends a form or follows a link, and wait for the next page to load.  Playwright's
    click returns once the navigation commits, before the new page is parsed: a read that does not wait
    (the roster's rows) could find it half built (seen once in CI: an empty search result)."""
    with page.expect_navigation():
        page.click(selector)


def roster_names(page) -> list[str]:
    return page.locator("table.roster tbody td:first-child a").all_inner_texts()


def test_staff_walk_through_every_flow(chromium, staff_kiosk, tmp_path):
    kiosk = staff_kiosk(seed)
    url = kiosk.url
    page = kiosk.page(chromium)

    # -- log in: a wrong password first, then the right one
    page.goto(url + "/staff/")
    assert page.url.startswith(url + "/staff/login")
    kiosk.screenshot(page, "01-login")
    log_in(page, url, "sato", "wrong password")
    assert "職員名またはパスワードが違います" in page.inner_text("#login-error")
    log_in(page, url, "sato")
    assert page.url == url + "/staff/"
    assert "sato (職員)" in page.inner_text("header")

    # -- roster search, kana in the other order, and a filter
    assert sorted(roster_names(page)) == sorted([TARO.name, HANAKO.name, ICHIRO.name])
    page.fill("input[name=q]", "たろう やいづ")
    submit(page, "form.search button")
    assert roster_names(page) == [TARO.name]
    kiosk.screenshot(page, "02-roster-search")
    page.fill("input[name=q]", "")
    page.select_option("select[name=need]", "infant")
    submit(page, "form.search button")
    assert roster_names(page) == [HANAKO.name]

    # -- register by hand: a mistake is shown next to its field and nothing is saved
    submit(page, "text=手入力で受付")
    before = len(events(kiosk.db))
    page.fill("#name", "焼津 次郎")
    page.fill("#name_kana", "やいづ じろう")
    page.fill("#birth_date", "2999-01-01")
    page.select_option("#sex", "male")
    page.fill("#address", "焼津市本町2-2")
    page.fill("#contact_phone", "電話ください")
    page.check("input[name=needs][value=dialysis]")
    page.select_option("#home_damage", "half")
    page.select_option("#consent", "family")
    page.fill("#family_code", "sakura7")
    page.fill("#members-0-name", "焼津 桃")
    page.fill("#members-0-birth_date", "2023-08-01")
    page.select_option("#members-0-sex", "female")
    submit(page, "button.primary")
    assert page.inner_text("#birth_date-error") == "この生年月日は未来の日付です。年を確かめてください。"
    assert "電話番号を入力してください" in page.inner_text("#contact_phone-error")
    assert page.input_value("#name") == "焼津 次郎", "what was typed stays in the form"
    kiosk.screenshot(page, "03-register-errors")
    assert len(events(kiosk.db)) == before
    page.fill("#birth_date", "1948-03-04")
    page.fill("#contact_phone", "054-626-1111")
    page.fill("#household_members", "4")
    submit(page, "button.primary")
    assert "受付しました：焼津 次郎、焼津 桃" in page.inner_text("main")
    kiosk.screenshot(page, "04-registered")
    jiro_url = page.url
    written = events(kiosk.db)[before:]
    assert [e["type"] for e in written] == ["checkin", "needs", "details", "consent", "checkin", "details", "consent"]

    # -- correct the record: a new kana and a new phone are new events
    before = len(events(kiosk.db))
    page.fill("#name_kana", "ヤイヅ ジロウ")
    page.fill("#contact_phone", "090-1234-5678")
    submit(page, "#save-correction")
    assert "焼津 次郎さんの訂正を保存しました" in page.inner_text("main")
    assert page.input_value("#name_kana") == "ヤイヅ ジロウ"
    assert [e["type"] for e in events(kiosk.db)[before:]] == ["register", "details"]

    # -- correct a typo in the birth date: the same person under a new key, the page follows
    before = len(events(kiosk.db))
    page.fill("#birth_date", "1948-04-03")
    submit(page, "#save-correction")
    assert "焼津 次郎さんの氏名・生年月日・住所を訂正しました" in page.inner_text("main")
    assert page.url == f"{url}/staff/person/{person_key('焼津 次郎', '1948-04-03', '焼津市本町2-2')}"
    assert page.input_value("#birth_date") == "1948-04-03" and page.input_value("#contact_phone") == "090-1234-5678"
    assert [e["type"] for e in events(kiosk.db)[before:]] == ["correction"]
    jiro_url = page.url
    page.goto(url + "/staff/")
    jiro_row = page.locator("table.roster tbody tr", has_text="焼津 次郎")
    assert "1948-04-03" in jiro_row.inner_text() and "1948-03-04" not in page.inner_text("table.roster")
    kiosk.screenshot(page, "04b-birth-date-corrected")
    page.goto(jiro_url)

    # -- staff cannot set never-disclose: the page says so and the form is not there
    assert page.locator("#never-save").count() == 0
    assert "避難所責任者だけが変更できます" in page.inner_text("section.never")

    # -- check out Taro, transfer Ichiro
    page.goto(f"{url}/staff/person/{person_key(TARO.name, TARO.birth_date, TARO.address)}")
    submit(page, "#checkout")
    assert "焼津 太郎さんを退所にしますか" in page.inner_text("main"), "a check-out is asked first"
    submit(page, "#checkout-confirm")
    assert "退所しました：焼津 太郎" in page.inner_text("main")
    assert page.locator("#check-in-again").count() == 1, "a check-out by mistake can be undone from here"
    page.goto(url + "/staff/")
    assert TARO.name not in roster_names(page)
    page.goto(f"{url}/staff/person/{person_key(ICHIRO.name, ICHIRO.birth_date, ICHIRO.address)}")
    submit(page, "#transfer")
    assert page.inner_text("#to_shelter-error") == "避難所を選んでください。"
    page.select_option("#to_shelter", "H002")
    kiosk.screenshot(page, "05-person")
    submit(page, "#transfer")
    assert "へ移動します" in page.inner_text("main") and ICHIRO.name not in roster_names(page)

    # -- the lead marks Jiro never-disclose
    submit(page, "header button:has-text('ログアウト')")
    assert "ログアウトしました" in page.inner_text("main")
    log_in(page, url, "tanaka")
    page.goto(jiro_url)
    page.check("#never_disclose")
    submit(page, "#never-save")
    assert "非開示にしました" in page.inner_text("main")
    assert page.locator("h1 .badge.never").count() == 1
    last = events(kiosk.db)[-1]
    assert last["type"] == "consent" and last["data"]["never_disclose"] is True
    assert last["data"]["family_code"] == "sakura7", "the family's own consent stays"

    # -- headcount, status and export
    submit(page, "text=人数・同期")
    assert page.inner_text("#headcount") == "入所者 3人"
    assert page.inner_text("#need-dialysis") == "1" and page.inner_text("#never-count") == "1"
    page.select_option("#status", "full")
    submit(page, "#status-save")
    assert page.inner_text("#shelter-status") == "満員"
    kiosk.screenshot(page, "06-summary")
    with page.expect_download() as download:
        page.click("text=名簿CSV")
    saved = tmp_path / "roster.csv"
    download.value.save_as(saved)
    data = saved.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    assert "焼津 次郎" in text and "焼津 桃" in text and "非開示" in text and TARO.name not in text
    submit(page, "text=名簿を印刷")
    assert "避難者名簿" in page.inner_text("h1") and "焼津 次郎" in page.inner_text("table")
    kiosk.screenshot(page, "07-print")

    # -- one tap to English
    page.goto(url + "/staff/")
    submit(page, "header a[lang=en]")
    assert "Roster" in page.inner_text("header nav") and page.locator("html").get_attribute("lang") == "en"
    kiosk.screenshot(page, "08-roster-english")

    page.context.close()
    assert kiosk.requests, "the request watch saw the pages load"
    assert kiosk.foreign_requests() == []


def test_an_expired_form_is_refused_in_the_browser(chromium, staff_kiosk):
    """A form left open across a log-out and log-in (a new session) saves nothing and says why."""
    kiosk = staff_kiosk(seed)
    page = kiosk.page(chromium)
    log_in(page, kiosk.url, "sato")
    page.goto(kiosk.url + "/staff/summary")
    other = page.context.new_page()
    other.goto(kiosk.url + "/staff/")
    submit(other, "header button:has-text('ログアウト')")
    log_in(other, kiosk.url, "sato")
    before = len(events(kiosk.db))
    page.select_option("#status", "closed")
    submit(page, "#status-save")
    assert "有効期限が切れた" in page.inner_text("main")
    assert len(events(kiosk.db)) == before
    page.context.close()
    assert kiosk.foreign_requests() == []


def test_an_idle_tablet_logs_itself_out(chromium, staff_kiosk, monkeypatch):
    monkeypatch.setenv("KIOSK_STAFF_IDLE_MINUTES", IDLE_1S)
    kiosk = staff_kiosk(seed)
    page = kiosk.page(chromium)
    log_in(page, kiosk.url, "sato")
    assert page.url == kiosk.url + "/staff/"
    assert TARO.name in page.inner_text("table.roster")

    # Left alone on the roster: the page reloads itself after the idle time and lands on the log-in
    # page, without anyone touching it; the log-in page stays (it does not reload itself).
    page.wait_for_url(kiosk.url + "/staff/login", timeout=30_000)
    assert "操作がなかったため、ログアウトしました" in page.inner_text("main")
    assert TARO.name not in page.content()
    assert page.locator("meta[http-equiv=refresh]").count() == 0

    # Touched after the idle time: the guard sends it to the log-in page too.  The page's own timer is
    # held still (Playwright's clock, paused: installed, it would run on in real time), so that on a slow
    # machine its reload cannot log the tablet out while the click is on its way.
    page.clock.install()
    page.clock.pause_at(time.time() + 1)
    log_in(page, kiosk.url, "sato")
    assert page.url == kiosk.url + "/staff/"
    page.wait_for_timeout(2500)  # the tablet lies unused, past the server's idle limit (1.2 s, +1 s: whole seconds)
    submit(page, "text=人数・同期")
    assert page.url == kiosk.url + "/staff/login"
    assert "操作がなかったため、ログアウトしました" in page.inner_text("main")
    kiosk.screenshot(page, "09-timed-out")
    page.goto(kiosk.url + "/staff/summary")
    assert page.url.startswith(kiosk.url + "/staff/login"), "the old session stays logged out"
    page.context.close()
    assert kiosk.foreign_requests() == []


def test_typing_a_long_card_is_use_and_the_card_is_saved(chromium, staff_kiosk, monkeypatch):
    """A 避難者カード typed for longer than the idle limit is not wiped by the idle reload, and is saved
    when sent; a page then left alone still logs itself out."""
    # 3 s: the page reloads itself after 6 s unused.  (2 s left too little room: the session cookie is the
    # last ping's whose answer came back, which a loaded machine may hold up for most of a second.)
    monkeypatch.setenv("KIOSK_STAFF_IDLE_MINUTES", "0.05")
    kiosk = staff_kiosk(seed)
    page = kiosk.page(chromium)
    log_in(page, kiosk.url, "sato")
    page.goto(kiosk.url + "/staff/register")
    page.fill("#name", "焼津 三郎")
    page.fill("#birth_date", "1960-02-03")
    page.select_option("#sex", "male")
    # 24 keys, one every 300 ms: over 7 s of typing, past the 6 s reload.  The page tells the server every
    # third of the limit (1 s), each key after its pause, so that the card is sent right after the last one:
    # the server hears from the page about every second, the limit is 3 s.
    for ch in "焼津市本町三丁目四番五号の角の青い屋根の二階の家":
        page.wait_for_timeout(300)
        page.locator("#address").press_sequentially(ch)
    assert page.url == kiosk.url + "/staff/register", "the idle reload did not wipe the card"
    submit(page, "button.primary")
    assert "受付しました：焼津 三郎" in page.inner_text("main")
    assert "焼津市本町三丁目四番五号の角の青い屋根の二階の家" in [e["person"]["address"] for e in events(kiosk.db)][-1]
    # Left alone: still logged out after the idle time.
    page.wait_for_url(kiosk.url + "/staff/login", timeout=30_000)
    assert "焼津 三郎" not in page.content()

    # A card half typed and then left: off the screen at the log-out, back after logging in again.
    log_in(page, kiosk.url, "sato")
    page.goto(kiosk.url + "/staff/register")
    page.fill("#name", "焼津 四郎")
    page.fill("#address", "焼津市本町4-4")
    page.wait_for_url(kiosk.url + "/staff/login", timeout=30_000)
    assert "焼津 四郎" not in page.content() and "satoさんのためだけに保持" in page.inner_text("main")
    written = len(events(kiosk.db))
    page.fill("#name", "sato")
    page.fill("#password", PASSWORD)
    submit(page, "button.primary")
    assert page.url == kiosk.url + "/staff/register"
    assert page.input_value("#name") == "焼津 四郎" and page.input_value("#address") == "焼津市本町4-4"
    assert page.locator("#card-kept").count() == 1 and len(events(kiosk.db)) == written
    page.context.close()
    assert kiosk.foreign_requests() == []


def test_the_log_out_button_keeps_the_card_for_its_staff_member_only(chromium, staff_kiosk):
    """Logging out with a half-typed card on screen keeps it (not saved) for the one who typed it:
    the next person logging in on the tablet gets an empty card and never sees it."""
    kiosk = staff_kiosk(seed)
    page = kiosk.page(chromium)
    log_in(page, kiosk.url, "sato")
    page.goto(kiosk.url + "/staff/register")
    page.fill("#name", "焼津 六郎")
    page.fill("#address", "焼津市本町6-6")
    written = len(events(kiosk.db))
    submit(page, "header button:has-text('ログアウト')")
    assert page.url == kiosk.url + "/staff/login"
    words = page.inner_text("main")
    assert "ログアウトしました" in words and "satoさんのためだけに保持" in words and "再起動すると失われます" in words
    assert "焼津 六郎" not in page.content()
    log_in(page, kiosk.url, "tanaka")
    assert page.url == kiosk.url + "/staff/"
    page.goto(kiosk.url + "/staff/register")
    assert page.input_value("#name") == "" and "焼津 六郎" not in page.content()
    submit(page, "header button:has-text('ログアウト')")   # an empty card: nothing kept, just logged out
    assert page.url == kiosk.url + "/staff/login" and "保持" not in page.inner_text("main")
    log_in(page, kiosk.url, "sato")
    assert page.url == kiosk.url + "/staff/register"
    assert page.input_value("#name") == "焼津 六郎" and page.input_value("#address") == "焼津市本町6-6"
    assert page.locator("#card-kept").count() == 1 and len(events(kiosk.db)) == written
    page.context.close()
    assert kiosk.foreign_requests() == []


def test_a_refused_card_left_untouched_is_kept_across_the_idle_log_out(chromium, staff_kiosk, monkeypatch):
    """A card shown again with its errors (staff went to ask the evacuee the missing birth date) holds
    what was typed: left untouched past the idle limit it is kept for the next log-in, not wiped."""
    monkeypatch.setenv("KIOSK_STAFF_IDLE_MINUTES", IDLE_2S)
    kiosk = staff_kiosk(seed)
    page = kiosk.page(chromium)
    log_in(page, kiosk.url, "sato")
    page.goto(kiosk.url + "/staff/register")
    page.fill("#name", "焼津 五郎")
    page.fill("#address", "焼津市本町5-5")
    submit(page, "button.primary")             # no birth date: shown again with the error
    assert page.input_value("#name") == "焼津 五郎"
    page.wait_for_url(kiosk.url + "/staff/login", timeout=30_000)
    assert "satoさんのためだけに保持" in page.inner_text("main")
    page.fill("#name", "sato")
    page.fill("#password", PASSWORD)
    submit(page, "button.primary")
    assert page.input_value("#name") == "焼津 五郎" and page.input_value("#address") == "焼津市本町5-5"
    page.context.close()
    assert kiosk.foreign_requests() == []


def test_link_an_ic_card_from_the_tablet(chromium, staff_kiosk, in_background):
    """Staff press the button on the person's page; the next card held to the kiosk's reader is theirs."""
    pytest.importorskip("nfc")
    import urllib.request

    from kiosk.card_emulator import NfcUdpFelica
    from tests.conftest import free_udp_port

    def seed_with_key(store):
        store.apply_config({"shelters": [{"id": SHELTER, "name": "二区コミュニティ防災センター", "kind": "shelter"},
                                         {"id": "H002", "name": "三区", "kind": "shelter"}],
                            "ic_token_key": "33" * 32})
        seed(store)

    device = f"udp:127.0.0.1:{free_udp_port()}"
    kiosk = staff_kiosk(seed_with_key, SHELTER, "--nfc-device", device)
    in_background(NfcUdpFelica(bytes.fromhex("0114B3A1C2D3E4F5"), device))
    page = kiosk.page(chromium)
    log_in(page, kiosk.url, "sato")
    page.goto(f"{kiosk.url}/staff/person/{person_key(TARO.name, TARO.birth_date, TARO.address)}")
    submit(page, "#ic-link")
    assert "ICカードを焼津 太郎さんに登録しました" in page.inner_text("main")
    kiosk.screenshot(page, "10-ic-linked")
    tap = urllib.request.urlopen(urllib.request.Request(kiosk.url + "/api/ic/tap", data=b"", method="POST"),
                                 timeout=30)
    assert json.loads(tap.read())["action"] == "checked_out"
    page.context.close()
    assert kiosk.foreign_requests() == []


def test_sync_panel_stay_filter_and_the_call_from_the_screen(chromium, staff_kiosk, hq_server):
    """The sync panel while HQ answers and after it goes away, the stay-type filter, and an evacuee
    with nothing to show pressing the screen's button: every staff page says so until someone helps."""
    from tests.conftest import run_evac
    hq = hq_server()
    token = run_evac("hq", "enroll-kiosk", "--db", hq.db_url, "--shelter", SHELTER).stdout.strip()
    kiosk = staff_kiosk(seed, SHELTER, "--hq", hq.url, "--token", token)
    page = kiosk.page(chromium)
    log_in(page, kiosk.url, "sato")

    # Staying in a car: only Ichiro.
    page.select_option("select[name=stay]", "in_car")
    submit(page, "form.search button")
    assert roster_names(page) == [ICHIRO.name]

    # HQ answers: nothing waits, the last sync has a time, HQ is reachable.
    def panel() -> tuple[str, str, str]:
        page.goto(kiosk.url + "/staff/summary")
        return page.inner_text("#sync-pending"), page.inner_text("#sync-last"), page.inner_text("#sync-hq")
    for _ in range(100):
        pending, last, reachable = panel()
        if pending == "0":
            break
        page.wait_for_timeout(100)
    assert (pending, reachable) == ("0", "接続できます") and last not in ("", "まだありません")
    kiosk.screenshot(page, "11-sync-ok")

    # HQ goes away; a check-in made now waits, and the panel says HQ cannot be reached.
    hq.stop()
    store = KioskStore(kiosk.db)
    try:
        store.check_in(SHELTER, [Person("焼津 五郎", "1990-05-05", "male", "焼津市本町9-9")])
    finally:
        store.close()
    for _ in range(100):
        pending, last_after, reachable = panel()
        if reachable.startswith("接続できません"):
            break
        page.wait_for_timeout(100)
    assert pending == "1" and reachable.startswith("接続できません") and last_after >= last  # the last one that worked
    kiosk.screenshot(page, "12-sync-hq-down")

    # Someone at the screen has no card and no QR: the tablet shows it on every page until helped.
    screen = kiosk.page(chromium)
    screen.goto(kiosk.url + "/")
    screen.click("[data-testid=checkin]")
    screen.click("[data-testid=method-nothing]")
    screen.wait_for_selector("[data-testid=called]:visible")
    for where in ("/staff/", "/staff/summary", "/staff/register"):
        page.goto(kiosk.url + where)
        assert "受付画面で 1 人が職員を待っています" in page.inner_text("#staff-call-banner"), where
    kiosk.screenshot(page, "13-staff-called")
    page.goto(kiosk.url + "/staff/summary")
    assert "画面の言語: 日本語" in page.inner_text("#calls")  # the language the person chose on the screen, by name
    submit(page, "#calls button[id^=answer-]")
    page.goto(kiosk.url + "/staff/")
    assert page.locator("#staff-call-banner").count() == 0
    screen.context.close()
    page.context.close()
    assert kiosk.foreign_requests() == []
