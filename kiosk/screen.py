"""The evacuee's touch screen at `/`: identify (My Number card, QR, IC card, or call staff), confirm,
household, stay type, needs, disclosure consent, confirmation; and leaving or moving on.

The page holds the flow in the browser's memory; identification is held here, in memory only
(`Identifications`), under a short-lived token, so the check-in at the end is made from what was read
off the card or the verified QR and not from what a browser sends back.  Nothing is written before
the last step, and then everything in one transaction.  Every refusal names its field and is in the
chosen language.
"""
from __future__ import annotations

import sqlite3
import threading
import unicodedata
from contextlib import contextmanager

from flask import Blueprint, current_app, jsonify, render_template, request
from flask_babel import format_datetime, gettext as _, lazy_gettext as _l

from evac.card.mynumber import CardError, check_code_b, read_basic4, tries_left
from evac.dates import InTheFuture, NoSuchDay, NotADate, TooLongAgo, parse_typed_birth_date
from evac.events import (DISCLOSURES, FAMILY_CODE_LEN, NEEDS_CODES, STAY_TYPES, InvalidEvent, Person,
                         clean_family_code, family_code_fits, parse_event, parse_person)
from evac.hlc import COUNTER_BITS
from evac.identity import normalize_name, person_key
from evac.individual_number import contains_individual_number
from evac.prereg_qr import QRRejected, keys_from_hex, verify
from evac.whereabouts import CHECKED_IN

from . import disk_failure
from .checkin import (card_reader, card_used, closed_here, held_back, held_back_here, held_back_left,
                      held_back_proves, hold_back, kiosk_now, not_left_behind, tapped_ic_token)
from .db import get_store
from .i18n import LANGUAGES, current_language
from .identifications import Identifications, Identified
from .input_checks import in_letters
from .staff_store import NOT_RECEIVING
from .store import (HOUSEHOLD_LEFT_BEHIND, PREREG_CHANGED, SENT_TO_STAFF, SHELTER_CLOSED, KioskError,
                    KioskStore)

bp = Blueprint("screen", __name__)

# The screen offers these needs (要配慮); "care" stays for staff entry.
SCREEN_NEEDS = ("elderly", "disability", "pregnancy", "infant", "allergy", "medication", "dialysis", "pets",
                "interpreter")
MAX_MEMBERS = 15
OLDEST_LIKELY_AGE = 110   # older than this, a birth date typed in is asked about once

CARD_MESSAGES = {
    # (%(n)s: the tries this kiosk will still make, one fewer than the card's: it never spends the last)
    "wrong_secret": _l("That number is not right. Please enter it again: this kiosk will try it %(n)s more time(s) (never the card's last try, so that it does not lock)."),
    # the card did not say how many tries are left (SW 6300): the next try reads the count first
    "wrong_secret_unknown": _l("That number is not right."),
    "two_cards": _l("There are cards on more than one reader. Take away all but your own card and try again."),
    "last_try": _l("Only one try is left. So that your card does not lock, use 照合番号B or ask staff."),
    # already on 照合番号B: there is no other number to turn to
    "last_try_code_b": _l("Only one try is left. So that your card does not lock, please ask staff."),
    # a wrong number that leaves one try: the kiosk will not spend it, so no "try again"
    "wrong_last_try": _l("That number is not right. Only one try is left. So that your card does not lock, "
                         "this kiosk will not try it. Use 照合番号B or ask staff."),
    "wrong_last_try_code_b": _l("That number is not right. Only one try is left. So that your card does not lock, "
                                "this kiosk will not try it. Please ask staff."),
    "locked": _l("The PIN of this card is locked. Press “Use 照合番号B instead”, or ask staff. The city office (市役所の窓口) can unlock it."),
    "locked_code_b": _l("照合番号B is locked on this card. Use the PIN, or ask staff."),
    # both numbers locked: only the city office resets them, and staff need neither to check anyone in
    "locked_both": _l("This card is locked for the PIN and for 照合番号B. The city office (市役所の窓口) can unlock "
                      "it. Staff can check you in now: please ask staff."),
    # neither number has a try the kiosk would spend (it never spends the last): each way pointed to the other
    "no_way_left": _l("This card cannot be read at this kiosk now: neither the PIN nor 照合番号B has enough tries "
                      "left (the kiosk never uses the last one, so that your card does not lock). Staff can check "
                      "you in now: please ask staff."),
    "bad_code_b": _l("This is not a 照合番号B. It is your birth date as printed on the card (6 digits: year, month, "
                     "day; the year is the Japanese era year, or for foreign residents the last 2 digits of the "
                     "year), the card's expiry year (4 digits, e.g. 2031), then the security code (4 digits). Check "
                     "the card and enter it again."),
    "not_my_number_card": _l("This is not a My Number card."),
    "no_card": _l("No card is on the reader. Place your card and try again."),
    "card_removed": _l("The card moved before it was read. Hold it still and try again."),
    "corrupt": _l("The card could not be read. Please ask staff."),
    "no_reader": _l("This kiosk has no card reader. Scan a QR code or ask staff."),
    "busy": _l("The card reader is busy. Please wait a moment and try again."),
    # the card on the reader has not left it since it was last read: the last person's, most likely
    # (the same person's own card too, after "start again": it reads as someone else's otherwise)
    "card_left": _l("This card has already been read. Take it off the reader once, then put your card on (if it is "
                    "your own card, put it back on)."),
    "card_error": _l("The card could not be read. Please ask staff."),
    # a read whose screen started over (nobody waits for its answer)
    "cancelled": _l("No card is on the reader. Place your card and try again."),
}


def card_message(exc: CardError, field: str) -> str:
    """What the evacuee reads when their card could not be read, in the screen's language."""
    code = f"{exc.code}_code_b" if exc.code in ("last_try", "locked") and field == "code_b" else exc.code
    if code == "wrong_secret" and exc.tries_left is None:
        code = "wrong_secret_unknown"
    elif code == "wrong_secret" and exc.tries_left == 1:
        code = "wrong_last_try_code_b" if field == "code_b" else "wrong_last_try"
    kiosk_tries = None if exc.tries_left is None else max(exc.tries_left - 1, 0)
    return str(CARD_MESSAGES.get(code, CARD_MESSAGES["card_error"])) % {"n": kiosk_tries}


QR_MESSAGES = {
    # verify() says "malformed" only for an "EV1:" code: a shelter QR, damaged or badly printed
    "malformed": _l("This QR code is damaged and cannot be read. Please ask staff."),
    "foreign": _l("This QR code is not from the city's pre-registration, or cannot be checked here yet. "
                  "Please ask staff."),
    "forged": _l("This QR code is not genuine. Please ask staff."),
    "expired": _l("This QR code has expired. Please ask staff."),
    "revoked": _l("This QR code was cancelled. Please ask staff."),
}

NEED_LABELS = {
    "elderly": _l("Elderly"), "disability": _l("Disability"), "pregnancy": _l("Pregnant"),
    "infant": _l("Baby or infant"), "allergy": _l("Food allergy"), "medication": _l("Needs medicine"),
    "dialysis": _l("Dialysis"), "pets": _l("With pets"), "interpreter": _l("Needs an interpreter"),
}


def _ids() -> Identifications:
    return current_app.extensions["screen_ids"]


class FormErrors(Exception):
    def __init__(self, errors: dict[str, str], **more):
        super().__init__(errors)
        self.errors, self.more = errors, more


@bp.errorhandler(FormErrors)
def _form_errors(exc: FormErrors):
    return jsonify({"errors": exc.errors, **exc.more}), 422


@bp.errorhandler(sqlite3.Error)
def _not_saved(exc):
    if disk_failure.log(exc) == disk_failure.BUSY:
        message = _("The kiosk is busy. Nothing was saved. Please try again.")
    else:
        message = _("This kiosk cannot save right now, so nothing was saved. Please go to the staff desk.")
    if request.method == "GET":
        # The evacuee opened the screen itself (nothing was being saved): a page they can read, not the
        # script's JSON.  It tries again by itself.
        return render_template("screen_unavailable.html", lang=current_language(),
                               message=_("This kiosk cannot check anyone in right now. Please go to the staff desk.")), 503
    return jsonify({"errors": {"form": message}}), 503


@bp.before_request
def _json_only():
    # The screen's script sends JSON; a form posted from some other page cannot (without the kiosk's
    # leave), so it cannot check anyone in or call staff.
    if request.method == "POST" and request.endpoint not in ("screen.forget", "screen.still_here", "screen.card_cancel") \
            and not request.is_json:
        return jsonify({"errors": {"form": _("Something went wrong. Please start again.")}}), 415
    return None


@bp.after_request
def _no_store(resp):
    # What one person saw is not kept for the next (the Content-Security-Policy is app-wide: __init__).
    resp.headers.setdefault("Cache-Control", "no-store")
    return resp


def _body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise FormErrors({"form": _("Something went wrong. Please start again.")})
    return body


def _strings() -> dict[str, str]:
    """Texts the page's script shows, in the chosen language."""
    return {
        "digits_pin": _("Enter the 4-digit PIN."),
        "digits_code_b": _("Enter the 14 digits of 照合番号B."),
        "offline": _("The kiosk did not answer. Please try again or ask staff."),
        "no_camera": _("The camera cannot be used. Use the scanner or ask staff."),
        "nobody": _("Choose at least one person."),
        "here": _("already checked in here"),
        "remove": _("Remove"),
    }




# Card reads waiting for a card (an NFC reader waits up to CARD_WAIT seconds after OK): each one's Event
# is set when the screen starts over, so a PIN someone gave up on never reaches the next person's card.
_waiting_reads: set[threading.Event] = set()
_waiting_lock = threading.Lock()


def _give_up_waiting_reads() -> None:
    with _waiting_lock:
        for cancelled in _waiting_reads:
            cancelled.set()


@bp.get("/")
def screen():
    _give_up_waiting_reads()   # the screen drawn afresh: whoever pressed OK before has gone
    store = get_store()
    shelter = current_app.config["SHELTER_ID"]
    # people move on to places where they can stay: the designated shelters (指定避難所)
    # with its reading (名称_カナ), so that the search finds おおいがわ and Oigawa as well as 大井川
    kana = store.shelter_kana()
    # a shelter HQ says is closed or not opened yet is not offered (a family would set off for it); a full
    # one says so.
    # A kiosk that heard no status (an older HQ) offers every one, as before.
    status = store.shelter_statuses()
    destinations = [(sid, name, kana.get(sid, ""), status.get(sid) == "full")
                    for sid, name, kind in store.shelter_list()
                    if kind == "shelter" and sid != shelter and status.get(sid) not in NOT_RECEIVING]
    watcher = current_app.extensions.get("tap_watcher")
    return render_template(
        "screen.html", lang=current_language(), languages=LANGUAGES, shelter_name=store.shelter_name(shelter) or shelter,
        timeout=current_app.config["SCREEN_TIMEOUT"], done_timeout=current_app.config["SCREEN_DONE_TIMEOUT"],
        called_timeout=current_app.config["SCREEN_CALLED_TIMEOUT"],
        call_poll=current_app.config["SCREEN_CALL_POLL_SECONDS"],
        needs=SCREEN_NEEDS, need_labels=NEED_LABELS, destinations=destinations, strings=_strings(),
        closed=closed_here(),
        family_code_len=FAMILY_CODE_LEN,
        watch_card=watcher is not None, card_reader=current_app.config.get("CARD_READER") or "",
        has_ic=bool(current_app.config.get("IC_READER")))


# -- identification --------------------------------------------------------------------

def _where(persons: list[Person], protected: tuple[bool, ...] = ()) -> list[bool]:
    """Whether each person is checked in at this kiosk's shelter now; a protected person never is."""
    store, shelter = get_store(), current_app.config["SHELTER_ID"]
    here = []
    for i, p in enumerate(persons):
        entry = None if i < len(protected) and protected[i] else store.find(p.name, p.birth_date, p.address)
        here.append(bool(entry and entry.where.state == CHECKED_IN and entry.where.shelter_id == shelter))
    return here


def _shielded(p: Person) -> bool:
    """Whether the screen answers about `p` (a QR's or IC card's member, or someone typed in) as about someone
    unknown, holding back for staff what it does for them (store.HeldBack): never-disclose, here or anywhere
    in the city (災対法 §86-15)."""
    return get_store().is_protected(p.name, p.birth_date, p.address, p.name_kana)


def _identified(ident: Identified):
    if ident.source in ("qr", "ic"):
        # 災対法 §86-15: a household's QR (no PIN) or an IC card may be in anyone's hands, in DV often the
        # abuser's.  For someone staff marked never-disclose it neither shows that they are here nor
        # lets them be checked in, out or moved on from it; only a My Number card read with its PIN
        # (the person themself) or staff can.
        store = get_store()
        ident.protected = tuple(store.is_protected(p.name, p.birth_date, p.address, p.name_kana)
                                or (ident.source == "qr" and not store.qr_proves(p))
                                for p in ident.persons)
        if ident.source == "qr":
            for i, p in enumerate(ident.persons):
                if ident.protected[i] and not store.is_protected(p.name, p.birth_date, p.address, p.name_kana) \
                        and (was := store.prereg_renamed(p)) is not None:
                    ident.renamed[i] = f"{p.name} {p.birth_date}（{was.person.name} {was.person.birth_date}）"
    token = _ids().put(ident)
    here = _where(ident.persons, ident.protected)
    if ident.source == "qr":
        # a protected member is here to a QR as someone unknown is once checked in: after a check-in held back
        here = [h or (_shielded(p) and held_back_here(p)) for p, h in zip(ident.persons, here)]
    return jsonify({"token": token, "source": ident.source, "disclosure": ident.disclosure,
                    # the code itself stays here (a shared secret on a screen in a crowded hall): the page
                    # only says it is kept, so that nobody thinks it lost and types it again
                    "family_code_kept": bool(ident.family_code and ident.disclosure == "family"),
                    "persons": [{"name": p.name, "birth_date": p.birth_date, "here": h, "needs": list(n)}
                                for p, h, n in zip(ident.persons, here, ident.needs)]})


@contextmanager
def _waiting_read():
    cancelled = threading.Event()
    with _waiting_lock:
        _waiting_reads.add(cancelled)
    try:
        yield cancelled
    finally:
        with _waiting_lock:
            _waiting_reads.discard(cancelled)


@bp.post("/screen/card-cancel")
def card_cancel():
    """The screen started over while a card read waited for the card (a beacon from the page)."""
    _give_up_waiting_reads()
    return "", 204


def _other_tries(reader, field: str) -> int | None:
    """The tries left of the other number (照合番号B for the PIN, and back); spends none.  None: unknown."""
    try:
        return tries_left(reader.transmit, code_b=field != "code_b")
    except CardError:
        return None


def _no_other_way(exc: CardError, reader, field: str) -> CardError:
    """`exc` as the person must hear it when the other number cannot be used either: locked for both, or
    no try left the kiosk would spend (it never spends the last)."""
    this_left = 0 if exc.code == "locked" else 1 if exc.code == "last_try" or (
        exc.code == "wrong_secret" and exc.tries_left == 1) else None
    if this_left is None:
        return exc
    other = _other_tries(reader, field)
    if other == 0 and this_left == 0:
        return CardError("locked_both", "the PIN and 照合番号B are both locked", 0)
    if other is not None and other <= 1:
        return CardError("no_way_left", "neither the PIN nor 照合番号B has a try the kiosk would spend", this_left)
    return exc


@bp.post("/screen/card")
def card():
    body = _body()
    field = "code_b" if "code_b" in body else "pin"
    secret = body.get(field)
    if isinstance(secret, str):
        secret = unicodedata.normalize("NFKC", secret)   # １２３４ from a Japanese IME is the PIN
    digits = 14 if field == "code_b" else 4
    if not isinstance(secret, str) or len(secret) != digits or not secret.isdigit() or not secret.isascii():
        raise FormErrors({field: _("Enter the 4-digit PIN.") if field == "pin"
                          else _("Enter the 14 digits of 照合番号B.")})
    try:
        if field == "code_b":
            check_code_b(secret)   # before the reader is even opened: a slip costs no try
        with _waiting_read() as cancelled, card_reader(current_app.config, cancelled) as reader:
            not_left_behind(reader)
            try:
                info = read_basic4(reader.transmit, **{field: secret})
            except CardError as exc:
                said = _no_other_way(exc, reader, field)
                if said is exc:
                    raise
                raise said from None
            insertion = getattr(reader, "insertion", None)
    except CardError as exc:
        return jsonify({"errors": {field: card_message(exc, field)}, "code": exc.code,
                        "tries_left": exc.tries_left,
                        "tries_text": "" if exc.tries_left is None else _("Tries left: %(n)s", n=exc.tries_left)}), 422
    try:
        person = parse_person(info.to_json(), get_store().today().toordinal())
    except InvalidEvent:  # a name or address longer than a record holds, say
        return jsonify({"errors": {field: _("This card's details cannot be used here. Please ask staff.")},
                        "code": "unusable"}), 422
    card_used(insertion)   # identified: this placing of the card is used up
    return _identified(Identified("card", [person], [()]))


@bp.post("/screen/card-tries")
def card_tries():
    """How many tries the PIN (or 照合番号B) of the card on the reader has left; reads nothing else."""
    field = "code_b" if _body().get("code_b") else "pin"
    try:
        with card_reader(current_app.config) as reader:
            not_left_behind(reader)
            left = tries_left(reader.transmit, code_b=field == "code_b")
            other = _other_tries(reader, field) if left is not None and left <= 1 else None
    except CardError as exc:
        return jsonify({"errors": {field: str(CARD_MESSAGES.get(exc.code, CARD_MESSAGES["card_error"]))},
                        "code": exc.code}), 422
    message = ""
    if left == 0 and other == 0:
        message = str(CARD_MESSAGES["locked_both"])
    elif left is not None and left <= 1 and other is not None and other <= 1:
        message = str(CARD_MESSAGES["no_way_left"])
    elif left == 0:
        message = str(CARD_MESSAGES["locked_code_b" if field == "code_b" else "locked"])
    elif left == 1:
        message = str(CARD_MESSAGES["last_try_code_b" if field == "code_b" else "last_try"])
    return jsonify({"tries_left": left, "text": "" if left is None else _("Tries left: %(n)s", n=left),
                    "warning": message})


@bp.post("/screen/qr")
def qr():
    text = _body().get("qr")
    if not isinstance(text, str) or not text.strip() or len(text) > 4000:
        raise FormErrors({"qr": _("No QR code was read. Please scan again.")})
    store = get_store()
    try:
        household = verify(text.strip(), keys_from_hex(store.prereg_keys()), store.prereg_revoked(),
                           now=kiosk_now(store))
    except QRRejected as exc:
        return jsonify({"errors": {"qr": str(QR_MESSAGES.get(exc.reason, QR_MESSAGES["malformed"]))},
                        "code": exc.reason}), 422
    persons = [Person(m.name, m.birth_date, m.sex, household.address, m.name_kana, m.prereg_id)
               for m in household.members]
    # 番号法 §20: a code that is an Individual Number (QRs issued before HQ refused them) is not kept
    code = "" if contains_individual_number(household.family_code or "") else household.family_code or ""
    return _identified(Identified("qr", persons, [tuple(m.needs) for m in household.members],
                                  household.household_id, household.consent, code))


@bp.post("/screen/ic")
def ic():
    try:
        token = tapped_ic_token()
    except CardError as exc:
        return jsonify({"errors": {"ic": str(CARD_MESSAGES.get(exc.code, CARD_MESSAGES["card_error"]))},
                        "code": exc.code}), 422
    except KioskError:
        raise FormErrors({"ic": _("IC cards cannot be used at this kiosk yet. Please ask staff.")})
    store = get_store()
    entry = store.ic_holder(token)
    # A card may be in anyone's hands: a never-disclose holder's card is answered as no one's (災対法 §86-15),
    # as HQ and every other kiosk answer it.
    if entry is None or store.is_protected(entry.person.name, entry.person.birth_date, entry.person.address,
                                           entry.person.name_kana):
        raise FormErrors({"ic": _("This IC card is not linked to anyone yet. Please ask staff.")})
    return _identified(Identified("ic", [entry.person], [()], entry.household_id))


@bp.post("/screen/forget")
def forget():
    """The screen started over: what it identified is dropped now rather than when it expires."""
    _ids().drop(request.get_data(as_text=True)[:100])
    return "", 204


@bp.post("/screen/still-here")
def still_here():
    """The person is still touching the screen (the page says so now and then): their identification
    lives on while they type, up to its cap."""
    _ids().get(request.get_data(as_text=True)[:100])
    return "", 204


def _closed_words() -> str:
    return _("This shelter is closed, so no one can check in here. Staff are being called: please wait.")


@bp.post("/screen/call-staff")
def call_staff():
    # pressed again while the call stands (within a couple of minutes): the same call (KioskStore.call_staff)
    # "Check in" at a shelter its staff closed calls them too, saying why
    closed = request.get_json(silent=True) == {"reason": SHELTER_CLOSED} and closed_here()
    store = get_store()
    call = store.call_staff(current_language(), SHELTER_CLOSED if closed else "no_id")
    # a token, not the call's id: ids count the check-ins held back for staff (HELD_PROTECTED), so two presses'
    # ids would tell whether a name typed in between them is protected (災対法 §86-15)
    return jsonify({"status": "called", "call": store.staff_call_token(call)}), 201


@bp.get("/screen/calls/<token>")
def staff_call(token: str):
    """Whether staff have yet to answer the call (the page keeps 「係員が来ます」 up while they have).
    Asked by the token /screen/call-staff gave; an id, or anything else, is a call nobody raised."""
    return jsonify({"open": get_store().screen_call_open(token[:100])})


@bp.post("/screen/member")
def member():
    """Check one household member typed in on the screen against who is already listed (the people
    identified and ticked, and the members added so far, which the page sends); writes nothing.
    So a person listed twice, or one too many, is said here, next to the form, not at the end."""
    body = _body()
    ident, persons, _present = _held(body)
    listed = body.get("members") or []
    if not isinstance(listed, list) or len(persons) + len(listed) >= MAX_MEMBERS:
        raise FormErrors({"members": _("Too many people for one check-in. Please ask staff.")})
    new = _member(body, "member")
    address = ident.persons[0].address
    keys = {person_key(p.name, p.birth_date, p.address) for p in persons}
    for raw in listed:
        try:
            m = _member(raw, "members")
        except FormErrors:
            continue  # the check-in itself says what is wrong with it
        keys.add(person_key(m["name"], m["birth_date"], address))
    if person_key(new["name"], new["birth_date"], address) in keys:
        raise FormErrors({"member.name": _("This person is already on the list.")})
    return jsonify(new)


def _member(raw, prefix: str) -> dict:
    if not isinstance(raw, dict):
        raise FormErrors({prefix: _("Something went wrong. Please start again.")})
    errors, more = {}, {}
    name = raw.get("name")
    if not isinstance(name, str) or not normalize_name(name):
        # (only spaces or separators, 「・」: no person can be recorded by it: evac.identity.person_key)
        errors[f"{prefix}.name"] = _("Enter the name.")
    elif not in_letters(name):   # 😀😀 or ★★: no one's name (records kept with one are still acted on)
        errors[f"{prefix}.name"] = _("Enter the name in letters.")
    elif len(name.strip()) > 100:
        errors[f"{prefix}.name"] = _("The name is too long.")
    birth = raw.get("birth_date")
    confirmed = ""
    try:
        today = get_store().today()
        born = parse_typed_birth_date(birth, today)
        birth = born.isoformat()
        age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
        # 1890 typed for 1980 makes someone 136 and another person: asked once, not refused (some are 111)
        if age > OLDEST_LIKELY_AGE and raw.get("age_confirmed") != birth:
            errors[f"{prefix}.birth_date"] = _(
                "This makes the person %(age)d years old. If that is right, tap “Add this person” again. "
                "If not, correct the year.", age=age)
            more["confirm_age"] = birth
        elif age > OLDEST_LIKELY_AGE:
            confirmed = birth
    except TooLongAgo as exc:   # in the right form: the year is what to look at (as the staff tablet says)
        errors[f"{prefix}.birth_date"] = _("This date of birth is before %(year)d: check the year.",
                                          year=exc.oldest.year)
    except NoSuchDay:   # 2010-02-30: the form is right, so "type it like 1980-02-17" would not help
        errors[f"{prefix}.birth_date"] = _("There is no such date: check the year, month and day.")
    except NotADate:
        errors[f"{prefix}.birth_date"] = _("Enter the birth date like 1980-02-17 (year-month-day).")
    except InTheFuture:
        errors[f"{prefix}.birth_date"] = _("The birth date cannot be in the future.")
    if raw.get("sex") not in ("female", "male", "other"):
        errors[f"{prefix}.sex"] = _("Choose one.")
    if errors:
        raise FormErrors(errors, **more)
    try:
        person = parse_person({"name": name, "birth_date": birth, "sex": raw["sex"]},
                              get_store().today().toordinal())
    except InvalidEvent:
        raise FormErrors({f"{prefix}.name": _("The name has characters that cannot be used.")}) from None
    # a great age said to be right travels with the person to the check-in, which checks it again
    return {"name": person.name, "birth_date": person.birth_date, "sex": person.sex,
            **({"age_confirmed": confirmed} if confirmed else {})}


def _held(body: dict) -> tuple[Identified, list[Person], list[int]]:
    ident = _ids().get(body.get("token"))
    if ident is None or ident.done:
        raise FormErrors({"form": _("This took too long. Please start again.")})
    present = body.get("present")
    if (not isinstance(present, list) or any(type(i) is not int or not 0 <= i < len(ident.persons) for i in present)
            or len(set(present)) != len(present)):
        raise FormErrors({"present": _("Choose at least one person.")})
    return ident, [ident.persons[i] for i in present], present


# -- check-in, leaving, moving on ----------------------------------------------------------

def _once(kind: str, save):
    """Save at most once per identification: a retry (the answer to the first was lost, or a double
    tap) waits for the first and gets its confirmation; nothing is written twice."""
    body = _body()
    ident = _ids().get(body.get("token"))
    if ident is None:
        raise FormErrors({"form": _("This took too long. Please start again.")})
    with ident.lock:
        if ident.done is None:
            return save(body)
        if ident.done[0] != kind:
            raise FormErrors({"form": _("This took too long. Please start again.")})
        return jsonify(ident.done[1]), 201


@bp.post("/screen/checkin")
def checkin():
    return _once("checkin", _checkin)


def _checkin(body: dict):
    ident, persons, present = _held(body)
    if closed_here():
        # closed by its own staff (on the tablet) since the page was drawn: nobody is checked in here
        ident.staff_call = get_store().call_staff(current_language(), SHELTER_CLOSED, again=ident.staff_call)
        raise FormErrors({"form": _closed_words()})
    errors: dict[str, str] = {}
    extra = body.get("members") or []
    if not isinstance(extra, list) or len(extra) + len(persons) > MAX_MEMBERS:
        raise FormErrors({"members": _("Too many people for one check-in. Please ask staff.")})
    if not persons and not extra:
        errors["present"] = _("Choose at least one person.")
    address = ident.persons[0].address
    for i, raw in enumerate(extra):
        try:
            m = _member(raw, f"members.{i}")
            persons.append(Person(m["name"], m["birth_date"], m["sex"], address))
        except FormErrors as exc:
            errors.update(exc.errors)
    stay = body.get("stay_type")
    if stay not in STAY_TYPES:
        errors["stay_type"] = _("Choose where you will stay.")
    needs = body.get("needs")
    if (not isinstance(needs, list) or len(needs) != len(persons)
            or any(not isinstance(n, list) or any(c not in NEEDS_CODES for c in n) for n in needs)):
        errors["needs"] = _("Please choose the needs again.")
    disclosure = body.get("disclosure")
    if disclosure not in DISCLOSURES:
        errors["disclosure"] = _("Choose who may be told that you are here.")
    code = body.get("family_code") or ""
    if isinstance(code, str):
        code = clean_family_code(code)   # ｙａｉｚｕ７ from an IME is yaizu7
    if not code and disclosure == "family" and ident.disclosure == "family" and ident.family_code:
        # the pre-registration's code (checked by HQ and signed), kept here: the page never had it
        code = ident.family_code
    elif code and (not isinstance(code, str) or not family_code_fits(code)
                   or not in_letters(code) and code != ident.family_code):
        # HQ's rule (evac.events): a code chosen at pre-registration is accepted when typed again here (also
        # one of symbols alone, which this kiosk does not take from anyone typing a new one)
        errors["family_code"] = _("The family code is %(min)d to %(max)d characters (letters, numbers or kana).",
                                  min=FAMILY_CODE_LEN[0], max=FAMILY_CODE_LEN[1])
    elif code and contains_individual_number(code):
        errors["family_code"] = _("Do not use your My Number (マイナンバー) as the family code.")
    elif code and disclosure == "none":
        errors["family_code"] = _("A family code is only needed when your family may be told.")
    keys = [person_key(p.name, p.birth_date, p.address) for p in persons]
    if len(set(keys)) != len(keys):
        errors["members"] = _("The same person is listed twice.")
    if errors:
        raise FormErrors(errors)
    store = get_store()
    # 災対法 §86-15: someone under never-disclose protection, behind a QR or IC card or typed in beside anything,
    # is held back for staff (KioskStore.hold_for_staff) and the screen answers as it would for someone unknown
    # (a refusal told whoever holds any QR that a name and birth date are protected somewhere in the city).
    # Nothing is written for them: a QR proves no one, and a record under their identity would move them at HQ.
    held = {j for j, p in enumerate(persons)
            if (j >= len(present) or ident.source in ("qr", "ic")) and _shielded(p)}
    # After every other check, so that the answer tells nothing more than any refusal staff must handle.
    # The held are refused where someone unknown would be once checked in as they were held back (by
    # another pre-registration, typed in again).
    refused = [i for j, i in enumerate(present)
               if (j in held and ident.source == "qr" and not held_back_proves(persons[j]))
               or (j not in held and i < len(ident.protected) and ident.protected[i])]
    if refused or any(ident.source in ("qr", "ic")
                      and (held_back(p) if j in held else store.find(p.name, p.birth_date, p.address)) is not None
                      for j, p in enumerate(persons) if j >= len(present)):
        # a QR member it does not prove (KioskStore.qr_proves), or someone this kiosk knows typed in by hand by
        # whoever holds a QR or IC card (proof of no one typed).  The tablet is told someone waits (the
        # screen's words stay those of any refusal).
        _to_staff(ident, refused if len(persons) == len(present) else None)
        raise FormErrors({"form": _("This could not be saved. Please ask staff.")})
    household = ident.household_id if len(persons) > 1 or ident.household_id else ""
    kept = [j for j in range(len(persons)) if j not in held]
    try:
        # Whom the holder typed in, beside a card, an IC card or a QR, gets no consent from the holder's choice:
        # nothing proves they are who they are typed as, nor that they chose it, and HQ would count it as given
        # in person (hq_dashboard.merge.consent_rank) over their own, answered at once (災対法 §86-15); and a
        # typed-in protected name (held back) would be told from an unknown one.  Staff record theirs in person.
        unvouched = [j >= len(present) for j in range(len(persons))]
        shelter, hlc = current_app.config["SHELTER_ID"], store.now_ms() << COUNTER_BITS
        for j in held:   # refused where an unknown person's would be (a record HQ would not take)
            for draft in KioskStore.check_in_drafts(shelter, [persons[j]], stay, household, [sorted(set(needs[j]))],
                                                    disclosure, code, unvouched=[unvouched[j]]):
                parse_event({**draft, "kiosk_id": store.device_id, "seq": 1, "hlc": hlc})
        with store.together():   # a power cut leaves the others checked in with what was held back, or neither
            events = store.check_in(shelter, [persons[j] for j in kept], stay, household,
                                    [sorted(set(needs[j])) for j in kept], disclosure, code,
                                    unvouched=[unvouched[j] for j in kept]) if kept else []
            if held:
                hold_back(store, [persons[j] for j in sorted(held)], household)
    except (KioskError, InvalidEvent):
        _to_staff(ident)
        raise FormErrors({"form": _("This could not be saved. Please ask staff.")}) from None
    return _done(ident, "checkin", events, [p.name for p in persons])


def _to_staff(ident: Identified, refused: list[int] | None = None) -> None:
    """The screen sends this person to staff: the tablet is called, once for them however often they press
    or whichever language they switch to, until staff answer.  `refused`: the identification's members it
    could not act on; when they are all members the family renamed at HQ, the tablet is told whom and why."""
    renamed = [ident.renamed[i] for i in refused or () if i in ident.renamed]
    if refused and len(renamed) == len(refused):
        reason, who = PREREG_CHANGED, renamed
    else:
        reason, who = SENT_TO_STAFF, []
    ident.staff_call = get_store().call_staff(current_language(), reason, again=ident.staff_call, who=who)


def _done(ident: Identified, kind: str, events, names: list[str]):
    at = kiosk_now(get_store()).astimezone()   # as HQ dates it: a kiosk clock reset to 2000 shows no 2000
    # No record numbers: how many were written would tell a check-in held back for staff (_checkin)
    confirmation = {"status": "confirmed", "names": names,
                    "confirmed_at": at.isoformat(timespec="seconds"), "time_text": format_datetime(at, "short")}
    ident.done = (kind, confirmation)   # for a retry, while the identification lives
    return jsonify(confirmation), 201


@bp.post("/screen/leave")
def leave():
    """Check out, or move on to another shelter (to_shelter_id), the people chosen."""
    return _once("leave", _leave)


def _leave(body: dict):
    ident, persons, present = _held(body)
    if not persons:
        raise FormErrors({"present": _("Choose at least one person.")})
    # a protected person is "not here" to a QR or IC card, so the same words as for anyone not here; unless a
    # check-in from the QR was held back for them, as someone unknown would be here once checked in from it
    here = _where(persons, tuple(ident.protected[i] for i in present if i < len(ident.protected)))
    shielded = [ident.source == "qr" and _shielded(p) for p in persons]
    # (protected now, here only as held back: protection that came since the scan makes them not here to a QR)
    here = [held_back_here(p) if s else h for p, h, s in zip(persons, here, shielded)]
    if not all(here):
        # One sentence for every reason (not here, here from a paper card the QR does not prove, protected:
        # KioskStore.qr_proves), so that it tells nothing; staff can look and do it, called to the screen
        # (told whom and why when it is only members the family renamed at HQ).
        _to_staff(ident, [i for i, ok in zip(present, here) if not ok])
        raise FormErrors({"present": _("This cannot be done here. Please ask staff.")})
    to = body.get("to_shelter_id")
    store = get_store()
    if to is not None and (not isinstance(to, str) or to not in store.shelter_ids()
                           or to == current_app.config["SHELTER_ID"]):
        raise FormErrors({"to_shelter_id": _("Choose the shelter you are moving to.")})
    if to is not None and store.shelter_statuses().get(to) in NOT_RECEIVING:
        # closed (or not opened) at HQ since the page was drawn (the page leaves those out): "closed" to the
        # family either way
        raise FormErrors({"to_shelter_id": _("That shelter is closed. Choose another shelter, or ask staff.")})
    try:
        with store.together():   # (as the check-in: a power cut keeps both or neither)
            events = store.leave([(p.name, p.birth_date, p.address) for p, s in zip(persons, shielded) if not s],
                                 to) if not all(shielded) else []
            held_back_left(store, [p for p, s in zip(persons, shielded) if s], to)
    except (KioskError, InvalidEvent):
        _to_staff(ident)
        raise FormErrors({"form": _("This could not be saved. Please ask staff.")}) from None
    resp = _done(ident, "leave", events, [p.name for p in persons])
    left, sayable = _left_behind(ident) if ident.source == "qr" else (0, False)
    if left:
        # household members typed in at check-in, whom a QR cannot act on (KioskStore.qr_proves): staff are
        # called to check them out, and the family is told they are still recorded here, naming nobody
        get_store().call_staff(current_language(), HOUSEHOLD_LEFT_BEHIND)
    if left and sayable:
        ident.done[1]["left_behind"] = _(
            "%(n)d other person(s) of your household are still recorded as staying here. If they are leaving "
            "too, staff will check them out: staff are being called.", n=left)
        resp = jsonify(ident.done[1]), 201
    return resp


def _left_behind(ident: Identified) -> tuple[int, bool]:
    """How many of the QR's household are still checked in here besides the QR's own members (those the
    family typed in at check-in), and whether the screen may say so: not when any of them is protected (a
    QR may be in anyone's hands, and a count would tell its holder that a protected person is here:
    災対法 §86-15); staff are called all the same."""
    store, shelter = get_store(), current_app.config["SHELTER_ID"]
    if not ident.household_id:
        return 0, False
    qr_keys = {store.current_key(person_key(p.name, p.birth_date, p.address)) for p in ident.persons}
    rows = store.db.execute(
        "SELECT person_key, name, birth_date, address, name_kana FROM roster_seen WHERE household_id = ? AND state = ?"
        " AND shelter_id = ?", (ident.household_id, CHECKED_IN, shelter)).fetchall()
    others = [r for r in rows if r[0] not in qr_keys]
    # and the protected typed in with it whose check-in was held back, counted as someone unknown would be
    qr_own = {person_key(p.name, p.birth_date, p.address) for p in ident.persons}
    held = [k for k in store.held_back_in(ident.household_id, shelter) if k not in qr_own]
    return len(others) + len(held), not any(store.is_protected(name, birth, address, kana)
                                            for _key, name, birth, address, kana in others)
