"""HQ's refusals of a kiosk's records reach shelter staff in Japanese, with what to do, worded at the kiosk
from HQ's stable refusal code; HQ's own (English) words follow as the detail to give HQ.  Against a real
HQ process: the tablet's sync panel, the record HQ refuses, and the console of `evac kiosk sync`."""
from __future__ import annotations

import html
import re

from babel.support import Translations

from evac.events import CHECKIN, Person
from kiosk.staff import hq_refusals
from kiosk.staff.i18n import TRANSLATIONS
from kiosk.store import KioskStore
from kiosk.sync import HQClient, SyncError, sync_once
from tests.conftest import ROOT, run_evac
from tests.staff_helpers import logged_in, make_app, wait_for
from tests.test_sync_http import enroll

WHO = Person("焼津 太郎", "1960-01-01", "male", "焼津市本町1-1")
JA = Translations.load(str(TRANSLATIONS), ["ja"], domain="staff")


def ja(code: str) -> str:
    return JA.gettext(hq_refusals.ADVICE[code])


def refusal(store: KioskStore, client: HQClient) -> SyncError:
    try:
        sync_once(store, client)
    except SyncError as exc:
        assert exc.kind == SyncError.REFUSED, exc
        return exc
    raise AssertionError("HQ took the records")


def sync_cell(page: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", page.split('id="sync-hq">', 1)[1].split("</dd>", 1)[0]))


def test_every_refusal_hq_can_send_a_kiosk_has_words_for_staff():
    # The codes HQ's sync answers with (the token, the merge, a request HQ cannot read or take).
    sources = {name: (ROOT / "hq_dashboard" / name).read_text() for name in ("enrollment.py", "merge.py")}
    codes = set(re.findall(r'AuthError\("(\w+)"', sources["enrollment.py"]))
    codes |= set(re.findall(r'BatchRejected\(\d+, "(\w+)"', sources["merge.py"]))
    codes |= {"malformed_batch", "batch_too_large", "bad_request", "too_large"}   # api.py, errors.py
    assert {"wrong_token", "unknown_kiosk", "unauthenticated", "wrong_device", "device_taken", "sequence_gap",
            "conflicting_event", "invalid_event", "unknown_shelter", "reserved_device_id"} <= codes
    assert codes <= set(hq_refusals.ADVICE), codes - set(hq_refusals.ADVICE)
    for text in {*hq_refusals.ADVICE.values(), hq_refusals.GENERAL, hq_refusals.REFUSED,
                 *hq_refusals.RECORD_REASONS.values()}:
        words = JA.gettext(text)
        assert words != text and re.search(r"[ぁ-んァ-ン一-龥]", words), text   # translated into Japanese


def test_the_tablet_says_a_wrong_token_in_japanese_with_what_to_do_and_hqs_words_after(hq_server, tmp_path):
    hq = hq_server()
    kiosk_id = enroll(hq.db_url, "H001").split(".")[0]
    app = make_app(tmp_path / "tablet.sqlite3", HQ_URL=hq.url, HQ_TOKEN=f"{kiosk_id}.wrong", SYNC_INTERVAL=0.2)
    syncer = app.extensions["kiosk_sync"]
    try:
        wait_for(lambda: syncer.failure is not None, "a refused sync round")
        assert syncer.failure.code == "wrong_token"
        staff = logged_in(app)
        cell = sync_cell(staff.get("/staff/summary").text)
        hq_words = f"the token for kiosk {kiosk_id} is wrong"
        assert cell.startswith("本部がこの端末の記録を受け付けません: " + ja("wrong_token"))
        assert "本部に電話してください" in cell and "記録は失われず、この端末に残っています。" in cell
        assert cell.endswith(f"（本部の説明: {hq_words}）")          # HQ's words after, as the detail to give
        # The tablet in English says the same in English.
        staff.set_cookie("lang", "en")
        cell = sync_cell(staff.get("/staff/summary").text)
        assert cell.startswith("HQ refuses this kiosk's records: HQ does not accept this kiosk's token")
        assert cell.endswith(f"(HQ: {hq_words})")
    finally:
        syncer.stop()
        syncer.join(10)


def test_each_refusal_is_told_by_its_code_on_the_tablet_and_the_console(hq_server, tmp_path):
    hq = hq_server()
    token = enroll(hq.db_url, "H001")
    app = make_app(tmp_path / "tablet.sqlite3")

    def tablet_words(exc: SyncError) -> str:
        from kiosk.staff.shelter import _problem
        with app.test_request_context("/staff/summary"):
            return _problem(exc)

    # No kiosk enrolled under the token (HQ withdrew the enrollment, or a token from another HQ).
    store = KioskStore(tmp_path / "other.sqlite3")
    store.check_in("H001", [WHO])
    unknown = refusal(store, HQClient(hq.url, "KFFFFFFFF.nosuchkiosk"))
    assert unknown.code == "unknown_kiosk" and store.pending() == 1
    assert tablet_words(unknown).startswith("本部がこの端末の記録を受け付けません: " + ja("unknown_kiosk"))

    # The token of another kiosk database: the command line says what to do in Japanese, then HQ's English.
    first = KioskStore(tmp_path / "first.sqlite3")
    first.check_in("H001", [WHO])
    sync_once(first, HQClient(hq.url, token))
    second = str(tmp_path / "second.sqlite3")
    assert run_evac("kiosk", "checkin", "--db", second, "--shelter", "H001", "--name", "焼津 花子", "--birth",
                    "1980-02-02", "--sex", "female", "--address", "焼津市本町1-1").returncode == 0
    said = run_evac("kiosk", "sync", "--db", second, "--hq", hq.url, "--token", token)
    assert said.returncode == 1
    line = next(x for x in said.stderr.splitlines() if x.startswith("evac: 同期できませんでした: "))
    assert line.startswith("evac: 同期できませんでした: 本部がこの端末の記録を受け付けません: " + ja("wrong_device"))
    assert " / sync failed: HQ refuses this kiosk's records: this token belongs to another kiosk database" in line
    assert "Traceback" not in said.stderr

    # A record naming a shelter HQ does not know: the sync panel and the record's own reason.
    (odd,) = first.append([{"type": CHECKIN, "shelter_id": "Z999", "person": WHO.to_wire(),
                            "data": {"stay_type": "in_shelter"}}])
    shelter = refusal(first, HQClient(hq.url, token))
    assert shelter.code == "unknown_shelter" and first.refusal().code == "unknown_shelter"
    assert tablet_words(shelter).startswith("本部がこの端末の記録を受け付けません: " + ja("unknown_shelter"))
    first.close()
    tablet = make_app(tmp_path / "first.sqlite3")
    page = logged_in(tablet).get("/staff/summary").text
    reason = html.unescape(page.split('id="refused-reason">', 1)[1].split("</dd>", 1)[0])
    assert odd.seq == 2 and reason == ("この記録には本部が知らない避難所が書かれています。（本部の説明: event 1 of the "
                                       "batch: unknown shelter id(s): Z999）")
    # A code this kiosk does not know yet (a newer HQ): general words, HQ's detail kept.
    newer = SyncError(SyncError.REFUSED, "a rule of tomorrow", hq.url, code="rule_of_tomorrow")
    assert tablet_words(newer) == "本部がこの端末の記録を受け付けません: 本部に電話してください。 記録は失われず、この端末に残っています。" \
                                  "（本部の説明: a rule of tomorrow）"
