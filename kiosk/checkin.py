"""Check-in, check-out and transfer over JSON, and the kiosk's status.

The touch screen and the staff tablet (a later issue) sit on these same
routes.  A response that says "checked in" is only sent after the events are
committed to the kiosk's disk.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import sqlite3
import threading
from contextlib import contextmanager

from flask import Blueprint, current_app, jsonify, redirect, render_template, request

from evac.card.mynumber import CardError, checked_secret, read_basic4
from evac.events import InvalidEvent, Person, parse_event, parse_person
from evac.hlc import COUNTER_BITS
from evac.ictoken import ic_token
from evac.prereg_qr import QRRejected, keys_from_hex, verify
from evac.identity import person_key
from evac.whereabouts import CHECKED_IN

from . import disk_failure
from .clients import ip
from .db import get_store
from .i18n import current_language
from .input_checks import in_letters, reads_as_kana
from .staff import times
from .staff_store import closed_by_staff
from .store import HELD_PROTECTED, SHELTER_CLOSED, HeldBack, KioskError

bp = Blueprint("checkin", __name__)


# The evacuee's screen and the JSON API are for the kiosk machine itself (its screen, its scripts):
# anyone on the shelter's Wi-Fi could otherwise drive the card reader (wrong PINs while someone's
# card lies on it), check people out or call staff.  Staff use the tablet pages under /staff, behind
# their login; the kiosk's status is open for monitoring.
_OPEN_TO_THE_LAN = {"/api/status"}


def _for_this_machine_only(path: str) -> bool:
    return (path == "/" or path.startswith("/screen/")
            or (path.startswith("/api/") and path not in _OPEN_TO_THE_LAN))


def from_this_machine() -> bool:
    """The request came from the kiosk machine itself (127.0.0.1 also as ::ffff:127.0.0.1, on a tablet
    port listening on every IPv6 and IPv4 network)."""
    address = ip(request.remote_addr or "")
    return address is not None and address.is_loopback


@bp.before_app_request
def _only_this_machine():
    local = from_this_machine()
    if not local and _for_this_machine_only(request.path):
        return _error(403, "this kiosk's screen and API answer only the kiosk itself; shelter staff use "
                           "the staff pages (/staff/) with their login")
    tablets = current_app.config.get("TABLETS")
    if tablets and not local and not request.is_secure and request.path.startswith("/staff"):
        # A tablet on an old http:// bookmark (the kiosk also serves --host 0.0.0.0): its password must not
        # cross the Wi-Fi in the clear, so it goes to the tablets' HTTPS port first.
        host = request.host.rsplit(":", 1)[0] if not request.host.endswith("]") else request.host
        return redirect(f"https://{host}:{tablets['port']}{request.full_path.rstrip('?')}", 301)
    return None


def _error(status: int, message: str, error: str = "rejected"):
    return jsonify({"error": error, "message": message}), status


# -- a shelter its own staff closed ---------------------------------------------------------

def closed_here() -> bool:
    return closed_by_staff(get_store(), current_app.config["SHELTER_ID"])


class ClosedHere(Exception):
    """A check-in asked of this API at a shelter its staff closed."""


@bp.errorhandler(ClosedHere)
def _closed(exc):
    return _error(409, "this shelter was closed by its staff, so no one is checked in here; staff are being "
                       "called", error=SHELTER_CLOSED)


def no_check_in_if_closed() -> None:
    """Refuses a check-in here while this shelter is closed, before anything is read or written, and calls
    staff as the screen does (SHELTER_CLOSED); refusals while that call stands unanswered join it, so that a
    script or a card tapped again and again raises one call, not one each."""
    if not closed_here():
        return
    store = get_store()
    standing = next((c["id"] for c in store.open_staff_calls() if c["reason"] == SHELTER_CLOSED), None)
    store.call_staff(current_language(), SHELTER_CLOSED, again=standing)
    raise ClosedHere()


@bp.errorhandler(KioskError)
@bp.errorhandler(InvalidEvent)
def _rejected(exc):
    return _error(422, str(exc))


@bp.errorhandler(sqlite3.Error)
def _not_saved(exc):
    why = disk_failure.log(exc)
    return jsonify({"error": "kiosk_busy" if why == disk_failure.BUSY else "kiosk_storage_failed",
                    "message": disk_failure.EXPLANATIONS[why]}), 503


def _body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise KioskError("the request must be a JSON object")
    return body


def _confirmation(events) -> dict:
    # The kiosk's time as it dates its records (KioskStore.now), in the machine's zone.
    return {"status": "confirmed", "seq": [e.seq for e in events],
            "confirmed_at": get_store().now().astimezone().isoformat(timespec="seconds")}


@bp.post("/api/checkin")
def checkin():
    body = _body()
    no_check_in_if_closed()
    raw = body.get("persons")
    if not isinstance(raw, list) or not raw or len(raw) > 30:
        raise KioskError("'persons' must list the 1 to 30 people checking in together")
    today = get_store().today().toordinal()   # a kiosk clock reset to 2000 refuses no child
    persons = [parse_person(p, today) for p in raw]
    if not all(in_letters(p.name) for p in persons):
        raise KioskError("a name must have letters in it (emoji or symbols alone are no one's name)")
    if not all(reads_as_kana(p.name_kana) for p in persons if p.name_kana):   # (a reading is not asked for)
        raise KioskError("a name_kana must be the name's reading in kana, or in Latin letters for a foreign name "
                         "(not emoji, symbols, digits or kanji)")
    shelter = current_app.config["SHELTER_ID"]
    if body.get("shelter_id") not in (None, shelter):
        raise KioskError(f"this kiosk stands in shelter {shelter}; it checks people in there only")
    events = get_store().check_in(shelter, persons, body.get("stay_type", "in_shelter"))
    return jsonify(_confirmation(events)), 201


# -- check-ins held back for staff (災対法 §86-15) -------------------------------------------------------

# What was held back is kept in the kiosk's database (KioskStore.held_back, kiosk-local, never a record for HQ):
# a power cut must not bring back the difference between a protected person and someone unknown.

def held_back(p: Person) -> HeldBack | None:
    return get_store().held_back(person_key(p.name, p.birth_date, p.address))


def held_back_proves(p: Person) -> bool:
    """KioskStore.qr_proves for a protected QR member, as if what was held back for them had been written."""
    held = held_back(p)
    return held is None or (bool(p.prereg_id) and held.prereg_id == p.prereg_id)


def held_back_here(p: Person) -> bool:
    held = held_back(p)
    return held is not None and held.state == CHECKED_IN and held.shelter_id == current_app.config["SHELTER_ID"] \
        and held_back_proves(p)


def hold_back(store, persons: list[Person], household_id: str) -> None:
    shelter = current_app.config["SHELTER_ID"]
    store.hold_for_staff(current_language(), [f"{p.name} {p.birth_date}" for p in persons],
                         {person_key(p.name, p.birth_date, p.address): HeldBack(p.prereg_id, household_id, CHECKED_IN,
                                                                                shelter) for p in persons})


def held_back_left(store, persons: list[Person], to_shelter_id: str | None) -> None:
    store.held_back_left([person_key(p.name, p.birth_date, p.address) for p in persons], to_shelter_id)


def kiosk_now(store) -> dt.datetime:
    """The kiosk's time as HQ would date it, for a QR's expiry: a kiosk whose clock was reset to 2000
    would take every expired QR, one running years ahead would refuse every good one."""
    return dt.datetime.fromtimestamp(store.now_ms() / 1000, dt.timezone.utc)


@bp.post("/api/qr-checkin")
def qr_checkin():
    """A pre-registration QR, checked offline with HQ's keys as last synced; the household checks in."""
    body = _body()
    no_check_in_if_closed()
    text = body.get("qr")
    if not isinstance(text, str) or len(text) > 4000:
        raise KioskError("no QR code was read")
    store = get_store()
    try:
        household = verify(text, keys_from_hex(store.prereg_keys()), store.prereg_revoked(), now=kiosk_now(store))
    except QRRejected as exc:
        return jsonify({"error": exc.reason, "message": exc.message}), 422
    # 災対法 §86-15: a QR (no PIN) checks no never-disclose member in, and says so no more than for anyone
    # unknown: they are held back for staff (KioskStore.hold_for_staff) and the others checked in, as on the
    # screen.  Anyone else this kiosk knows whom the QR does not prove (KioskStore.qr_proves) is refused, as a
    # case for staff.
    persons = [Person(m.name, m.birth_date, m.sex, household.address, m.name_kana, m.prereg_id)
               for m in household.members]
    held = {i for i, p in enumerate(persons) if store.is_protected(p.name, p.birth_date, p.address, p.name_kana)}
    if any(not (held_back_proves(p) if i in held else store.qr_proves(p)) for i, p in enumerate(persons)):
        raise KioskError("this household cannot be checked in from its QR code; staff check it in")
    shelter, stay = current_app.config["SHELTER_ID"], body.get("stay_type", "in_shelter")
    hlc = store.now_ms() << COUNTER_BITS
    for i in held:   # refused where an unknown person's would be (a record HQ would not take)
        for draft in store.check_in_drafts(shelter, [persons[i]], stay, household.household_id,
                                           [household.members[i].needs], household.consent, household.family_code):
            parse_event({**draft, "kiosk_id": store.device_id, "seq": 1, "hlc": hlc})
    kept = dataclasses.replace(household, members=tuple(m for i, m in enumerate(household.members) if i not in held))
    with store.together():   # a power cut leaves the others checked in with what was held back, or neither
        events = store.check_in_prereg(shelter, kept, stay) if kept.members else []
        if held:
            hold_back(store, [persons[i] for i in sorted(held)], household.household_id)
    # No record numbers (seq): how many were written would tell a member held back
    confirmation = {k: v for k, v in _confirmation(events).items() if k != "seq"}
    return jsonify({**confirmation, "household_id": household.household_id,
                    "names": [m.name for m in household.members]}), 201


@bp.get("/api/card-status")
def card_status():
    """Whether a card lies on the reader, for the screen to show the PIN pad."""
    watcher = current_app.extensions.get("tap_watcher")
    # "reader" only when pcscd answers now: a watcher waiting for a pcscd that stopped knows no card
    status = {"reader": bool(watcher and watcher.known), "card_present": bool(watcher and watcher.card_present)}
    if status["card_present"]:
        status["placed"] = watcher.placings   # a card swapped between two polls is a new card too
    return jsonify(status)


# One card read at a time in this kiosk: two requests at once (a double tap, or someone on the LAN)
# could each read "2 tries left" before either spends one, and together lock the evacuee's card.
_reader_in_use = threading.Lock()


@contextmanager
def one_reader_at_a_time():
    if not _reader_in_use.acquire(blocking=False):
        raise CardError("busy", "the card reader is busy with another card; wait a moment and try again")
    try:
        yield
    finally:
        _reader_in_use.release()


@contextmanager
def card_reader(config, cancelled=None):
    """The card reader, opened for this request alone and closed (the card powered off) after it.
    `cancelled` (a threading.Event) ends an NFC reader's wait for a card: its reader gave up."""
    with one_reader_at_a_time():
        reader = open_reader(config, cancelled)
        try:
            yield reader
        finally:
            reader.close()


def not_left_behind(reader) -> None:
    """Refuses a card that has lain on the reader since the last card read: the person before may have
    left it, and the next person's PIN would spend its tries.  Taking it off and putting a card on
    (the same, or another) is a new placing.  pcscd restarting counts placings from 0 again: a placing is
    compared within the tap watcher's session, and a card that lay on the reader when a later session
    began, after a card was read, is taken as the one left behind."""
    insertion = getattr(reader, "insertion", None)
    last = current_app.extensions.get("card_last_read")
    if insertion is None or last is None:
        return
    watcher = current_app.extensions.get("tap_watcher")
    session = watcher.session if watcher is not None else 0
    if (session, *insertion) == last or (watcher is not None and last[0] < session
                                         and watcher.carried_over(insertion)):
        raise CardError("card_left", "this card has not left the reader since it was last read; "
                                     "take it off, then place your own card")


def card_used(insertion) -> None:
    """This placing of a card was read and used: the next read needs the card taken off and put on."""
    watcher = current_app.extensions.get("tap_watcher")
    current_app.extensions["card_last_read"] = (
        None if insertion is None else ((watcher.session if watcher is not None else 0), *insertion))


def open_reader(config, cancelled=None):
    """The card reader this kiosk is configured with: CARD_READER 'pcsc' or 'nfc' (NFC_DEVICE, e.g. usb)."""
    from .card_readers import NfcReader, PcscReader
    kind = config.get("CARD_READER")
    if kind == "pcsc":
        return PcscReader(config.get("READER_NAME"))
    if kind == "nfc":
        return NfcReader(config.get("NFC_DEVICE", "usb"), config.get("CARD_WAIT", 15.0), cancelled)
    raise CardError("no_reader", "this kiosk has no card reader; scan a QR code or ask staff")


@bp.post("/api/card-checkin")
def card_checkin():
    """Read the 基本4情報 with the PIN or 照合番号B the evacuee typed, and check them in."""
    body = _body()
    secret = {k: body[k] for k in ("pin", "code_b") if isinstance(body.get(k), str)}
    if len(secret) != 1:
        raise KioskError("give the 4-digit PIN, or 照合番号B")
    no_check_in_if_closed()   # before the card is read: no try of it is spent on a check-in refused
    try:
        secret = checked_secret(**secret)   # before the reader is opened: a mistyped number waits for no card
        with card_reader(current_app.config) as reader:
            not_left_behind(reader)
            info = read_basic4(reader.transmit, **secret)
            insertion = getattr(reader, "insertion", None)
    except CardError as exc:
        return jsonify({"error": exc.code, "message": exc.message, "tries_left": exc.tries_left}), 422
    person = parse_person(info.to_json(), get_store().today().toordinal())
    events = get_store().check_in(current_app.config["SHELTER_ID"], [person], body.get("stay_type", "in_shelter"))
    card_used(insertion)
    return jsonify({**_confirmation(events), "name": person.name}), 201


def tapped_ic_token() -> str:
    from .card_readers import read_felica_idm
    key = get_store().ic_token_key()
    if not key:
        raise KioskError("IC cards can be used once this kiosk has synced with HQ")
    with one_reader_at_a_time():
        idm = read_felica_idm(current_app.config.get("NFC_DEVICE", "usb"), current_app.config.get("CARD_WAIT", 15.0))
    return ic_token(idm, key)


@bp.post("/api/ic/link")
def ic_link():
    """Staff: link the next transport IC card tapped to a person on this kiosk's roster."""
    body = _body()
    who = _who(body)
    try:
        token = tapped_ic_token()
    except CardError as exc:
        return jsonify({"error": exc.code, "message": exc.message}), 422
    entry = get_store().link_ic(token, *who, shelter_id=current_app.config["SHELTER_ID"])
    return jsonify({"status": "linked", "name": entry.person.name}), 201


@bp.post("/api/ic/tap")
def ic_tap():
    """An evacuee taps their linked IC card: in if they are not here, out if they are."""
    try:
        token = tapped_ic_token()
    except CardError as exc:
        return jsonify({"error": exc.code, "message": exc.message}), 422
    store, shelter = get_store(), current_app.config["SHELTER_ID"]
    holder = store.ic_holder(token)
    if holder is not None and store.is_protected(holder.person.name, holder.person.birth_date,
                                                 holder.person.address, holder.person.name_kana):
        # 災対法 §86-15: the card may be in the abuser's hands; answered as a card linked to no one
        raise KioskError("this IC card is not linked to anyone yet; please ask staff")
    if holder is None or holder.where.state != CHECKED_IN or holder.where.shelter_id != shelter:
        no_check_in_if_closed()   # a tap that would check them in; leaving goes on
    if store.is_linked(token):
        action, event = store.tap_ic(token, shelter)
    else:
        action, event = _adopt_from_hq(store, token, shelter)
    return jsonify({**_confirmation([event]), "action": action, "name": event.person.name}), 201


def _adopt_from_hq(store, token: str, shelter: str):
    """A card linked at another shelter: HQ knows whose it is, if HQ can be reached."""
    from .sync import HQClient, SyncError
    if not (current_app.config.get("HQ_URL") and current_app.config.get("HQ_TOKEN")):
        raise KioskError("this IC card is not linked to anyone yet; please ask staff")
    try:
        status, answer = HQClient(current_app.config["HQ_URL"], current_app.config["HQ_TOKEN"],
                                  timeout=5.0).request("GET", f"/api/v1/ic/{token}")
    except SyncError:
        raise KioskError("this IC card was not linked at this shelter, and HQ cannot be reached to look it up; "
                         "please ask staff to check you in") from None
    if status == 404:
        raise KioskError("this IC card is not linked to anyone yet; please ask staff")
    if status != 200:
        raise KioskError(f"HQ could not look this IC card up ({answer.get('message', status)}); please ask staff")
    return store.adopt_link(token, parse_person(answer["person"]), answer.get("household_id", ""), shelter)


def _who(body: dict) -> tuple[str, str, str]:
    person = parse_person({**body, "sex": body.get("sex", "other")}, get_store().today().toordinal())
    return person.name, person.birth_date, person.address


@bp.post("/api/checkout")
def checkout():
    event = get_store().check_out(*_who(_body()))
    return jsonify(_confirmation([event])), 201


@bp.post("/api/transfer")
def transfer():
    body = _body()
    event = get_store().transfer(*_who(body), str(body.get("to_shelter_id", "")))
    return jsonify(_confirmation([event])), 201


@bp.post("/api/stay-type")
def stay_type():
    body = _body()
    event = get_store().set_stay_type(*_who(body), str(body.get("stay_type", "")))
    return jsonify(_confirmation([event])), 201


@bp.post("/api/needs")
def needs():
    body = _body()
    event = get_store().set_needs(current_app.config["SHELTER_ID"], *_who(body), body.get("needs"))
    return jsonify(_confirmation([event])), 201


@bp.post("/api/person-status")
def person_status():
    body = _body()
    event = get_store().set_status(current_app.config["SHELTER_ID"], *_who(body), body.get("status"),
                                   body.get("note") or "")
    return jsonify(_confirmation([event])), 201


def _status() -> dict:
    store = get_store()
    syncer = current_app.extensions.get("kiosk_sync")
    shelter = current_app.config["SHELTER_ID"]
    failure = None if syncer is None else syncer.failure_now(store.last_sync_at())
    stored_badly = failure.storage if failure is not None and failure.hq_answered else None
    return {"shelter_id": shelter, "shelter_name": store.shelter_name(shelter),
            "checked_in": store.count_checked_in(shelter), "pending_events": store.pending(),
            "last_sync_at": store.last_sync_at(),
            # True once HQ has answered, False while the last try failed; None: not configured, or HQ has not
            # answered yet since the kiosk started (not known: not "reachable").
            "hq_reachable": None if syncer is None or failure is None and not syncer.heard
            else failure is None or stored_badly is not None,
            "sync_configured": syncer is not None,
            "sync_error": None if failure is None else str(failure),
            # HQ took the records but this kiosk's disk would not take HQ's answer: why (disk_failure:
            # "full", "failed", ...), for programs; sync_error says it in words.
            "kiosk_storage_failed": stored_badly}


@bp.get("/api/staff-calls")
def staff_calls():
    """Calls for staff from the screen ("I have nothing", someone it sent to staff), not yet answered; no personal
    data in them.  It answers anything on the kiosk machine, the evacuee screen's browser too (災対法 §86-15): a
    check-in held back for staff (HELD_PROTECTED) is not listed, and a call is given by the screen's token for it
    (`call`), never by its id, which counts the held-back ones.  Staff see every call on the tablet."""
    return jsonify({"calls": [{k: v for k, v in c.items() if k != "id"}
                              for c in get_store().open_staff_calls(with_token=True) if c["reason"] != HELD_PROTECTED]})


@bp.get("/api/status")
def status():
    return jsonify(_status())


@bp.get("/status")
def index():
    # People read this page in the shelter's time (JST, as the tablet shows it); /api/status keeps UTC for programs.
    status = _status()
    # Where staff point a tablet, and the certificate fingerprint to compare (this page is the kiosk's own
    # screen's alone, so what it shows cannot have been changed on the Wi-Fi).
    # /status answers the LAN too (counts only): the fingerprint is shown on the kiosk machine alone, or a
    # man in the middle would show the fingerprint of his own certificate.
    return render_template("status.html", status=status, last_sync=times.local(status["last_sync_at"]),
                           hq=_hq_words(), tablets=current_app.config.get("TABLETS") if from_this_machine() else None)


def _hq_words() -> tuple[str, bool]:
    """HQ's state as the staff tablet's sync panel says it, in Japanese (this page is read at the shelter),
    and whether it needs someone: (words, alert).  SyncError's own text (for the console) has a count of
    queued records from the moment it failed, which disagreed with the page's count beside it."""
    from flask_babel import force_locale

    from .staff.i18n import gettext as t
    from .staff.shelter import sync_state
    with force_locale("ja"):
        sync = sync_state()
        if not sync["configured"]:
            return t("not configured on this kiosk"), False
        if sync["reachable"] is None:
            return t("not heard from HQ yet (the first sync is under way)"), False
        if sync["reachable"]:
            return (f'{t("reachable")} — {sync["problem"]}', True) if sync["storage"] else (t("reachable"), False)
        if sync["unreachable"]:
            return f'{t("NOT reachable")}: {sync["problem"]}', True
        return sync["problem"] or "", True
