"""What shelter staff are to do when HQ refuses this kiosk's records, by HQ's refusal code.

HQ answers a refusal on its sync API with a stable code (`error`: hq_dashboard/enrollment.py's AuthError,
hq_dashboard/api.py, merge.py's BatchRejected) and a `message` in English.  The kiosk words each code
here, in the staff's language, with what to do, and keeps HQ's message after it as the detail to give
HQ.  Worded at the kiosk from the code, so that it works with any HQ, older ones too; a code not known
here is said in general words."""
from __future__ import annotations

from .i18n import TRANSLATIONS, gettext as _translate


def _l(text: str) -> str:
    """Marks a text for the staff catalog (kiosk/staff/babel.cfg: -k _l); translated when it is said."""
    return text


_UNREADABLE = _l("HQ could not read what this kiosk sent (the kiosk's and HQ's software may not match). Call HQ.")
_TOO_LARGE = _l("A record is larger than HQ accepts. Call HQ and give them HQ's words below.")
# What to do, by code.  That nothing is lost (the records stay on this kiosk) REFUSED says after it.
ADVICE = {
    # 401: the token (hq_dashboard/enrollment.py)
    "unauthenticated": _l("HQ did not receive this kiosk's token. Check that the kiosk is started with its "
                          "token (--token-file), or call HQ for it."),
    "wrong_token": _l("HQ does not accept this kiosk's token (it is wrong, or HQ has issued a new one). Call "
                      "HQ for this kiosk's current token and restart the kiosk with it."),
    "kiosk_retired": _l("HQ has retired this kiosk (its database was replaced, or the machine was reported gone). "
                        "Call HQ: HQ enrolls the kiosk again and gives a new token to restart the kiosk with."),
    "unknown_kiosk": _l("HQ has no kiosk enrolled under this token (the enrollment may have been removed). Call "
                        "HQ: HQ enrolls the kiosk again and gives a new token to restart the kiosk with."),
    # 409: which kiosk database, and which records (hq_dashboard/merge.py)
    "wrong_device": _l("This token belongs to another kiosk database. Call HQ for a token for this kiosk, or "
                       "start this kiosk with its own database."),
    "device_taken": _l("This kiosk's database is already enrolled at HQ under another token. Start the kiosk "
                       "with that token, or call HQ."),
    "sequence_gap": _l("HQ and this kiosk disagree on which records HQ holds (HQ's database may have been "
                       "restored from a backup). Call HQ. If HQ lost records, the shelter lead can save every "
                       "record to a file for HQ (below: HQ lost records)."),
    "conflicting_event": _l("A record of this kiosk differs from the one HQ holds under its number: this "
                            "kiosk's database was restored from a backup or copied. Call HQ: the kiosk needs a "
                            "new database id (evac kiosk new-device) and a new enrollment."),
    "reserved_device_id": _l("This kiosk's database has an id that is HQ's own. Run evac kiosk new-device on "
                             "this kiosk, then call HQ to enroll it again."),
    # 422: one record (the panel below names it; kiosk/sync.py notes it)
    "invalid_event": _l("HQ cannot take one record of this kiosk (below: the record HQ refuses); the records "
                        "after it wait. The shelter lead can withdraw it so that the others are sent, or call "
                        "HQ."),
    "unknown_shelter": _l("A record names a shelter HQ does not know (below: the record HQ refuses); the records "
                          "after it wait. Call HQ to check its shelter list, or the shelter lead can withdraw "
                          "the record so that the others are sent."),
    # The kiosk's own code (kiosk.store.HQ_OUTDATED): HQ refused a record as invalid_event because it does
    # not know its type, one this kiosk writes.  Withdrawn, HQ would never learn it even once updated.
    "hq_outdated": _l("HQ's software is older than this kiosk's: HQ does not know a kind of record this kiosk "
                      "writes (below: the record HQ refuses). Ask HQ to update its software. Do NOT withdraw the "
                      "record: the records stay queued on this kiosk and are all sent once HQ is updated."),
    # 400 / 413: what was sent
    "malformed_batch": _UNREADABLE, "bad_request": _UNREADABLE,
    "batch_too_large": _TOO_LARGE, "too_large": _TOO_LARGE,
}
GENERAL = _l("Call HQ.")
REFUSED = _l("HQ refuses this kiosk's records: %(advice)s Nothing is lost: the records stay on this kiosk. "
             "(HQ: %(message)s)")
# The record HQ refuses, in the sync panel: why, before HQ's own words.
RECORD_REASONS = {
    "invalid_event": _l("HQ cannot take this record as it is (HQ checks it by a rule this kiosk does not "
                        "have)."),
    "unknown_shelter": _l("The record names a shelter HQ does not know."),
    "hq_outdated": _l("HQ's software is older than this kiosk's and does not know this kind of record. Do not "
                      "withdraw it: it is sent once HQ is updated."),
}
RECORD_REASON = _l("%(reason)s (HQ: %(message)s)")


def refused(code: str, message: str) -> str:
    """HQ's refusal in the tablet's language: what to do, then HQ's own words."""
    return _translate(REFUSED, advice=_translate(ADVICE.get(code, GENERAL)), message=message)


def record_reason(code: str, message: str) -> str:
    """Why HQ refuses one record, in the tablet's language (HQ's own words alone for a code not known)."""
    if code not in RECORD_REASONS:
        return message
    return _translate(RECORD_REASON, reason=_translate(RECORD_REASONS[code]), message=message)


def in_japanese(text: str) -> str:
    """A text of the staff catalog in Japanese, for the operator's console (outside any request)."""
    from babel.support import Translations
    return Translations.load(str(TRANSLATIONS), ["ja"], domain="staff").gettext(text)
