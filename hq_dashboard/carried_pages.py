"""HQ staff apply a kiosk's records carried by hand (evac.carried) from the browser: one file upload.

The file is a sync the network could not carry; it is applied by hq_dashboard.carried as the kiosk's
own sync.  It may be larger than any one request HQ otherwise takes (days of a shelter's records)."""
from __future__ import annotations

import re
import threading

from flask import Blueprint, current_app, render_template, request
from flask_babel import force_locale, gettext as _, ngettext
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import StringField
from wtforms.validators import Length, Optional

from evac.carried import MAX_FILE_BYTES

from . import notify
from .carried import CarriedRefused, apply_carried
from .db import db
from .i18n import current_language
from .roles import HQ, staff_only

bp = Blueprint("carried", __name__, url_prefix="/staff")
# One file at a time: days of a shelter's records take hundreds of MB of HQ's memory while read and applied,
# and staff at several desks may send theirs at once.  The others wait (CARRIED_WAIT_SECONDS), then are told.
_ONE_FILE = threading.Lock()


class CarriedForm(FlaskForm):
    file = FileField(validators=[FileRequired("ファイルを選んでください。 / Choose the file the shelter sent.")])
    token = StringField(validators=[Optional(), Length(max=200)])


@bp.route("/carried", methods=["GET", "POST"])
@staff_only(HQ)
def upload():
    # Before the form is read: the file may be larger than HQ's limit for other requests.  CSRF is
    # checked by the form itself (this view is exempt from the app-wide check, which reads the body first).
    request.max_content_length = MAX_FILE_BYTES
    form = CarriedForm()
    result = error = None
    status = None
    if form.validate_on_submit():
        if not _ONE_FILE.acquire(timeout=current_app.config["CARRIED_WAIT_SECONDS"]):
            error, status = ("別のファイルを取り込んでいます。このファイルは取り込んでいません。数分してからもう一度送ってください。"
                             " / Another file is being applied: nothing of this one was; send it again in a few "
                             "minutes."), 503
        else:
            try:
                data = form.file.data.read()
                try:
                    result = apply_carried(db.session, data, (form.token.data or "").strip() or None)
                    applied, last_hlc = result.applied, result.last_hlc
                except CarriedRefused as exc:
                    error, applied, last_hlc = refusal(exc), exc.applied, exc.last_hlc
            finally:
                _ONE_FILE.release()
            if last_hlc:
                current_app.extensions["hlc"].receive(last_hlc)
            if applied:
                notify.after_records(current_app._get_current_object())   # inquiries to staff again, news
    elif request.method == "POST":
        error = " ".join(_form_error(field, ms) for field, ms in form.errors.items())
    status = status or (422 if error else 200)
    return render_template("carried.html", form=form, result=result, error=error), status


# --- the refusal in the page's language ------------------------------------------------------------
# HQ's merge (shared with the sync API and the command line) says why in English; the page says it again
# from the refusal's stable code and details.  A code with no sentence here keeps HQ's English.

def _staff_locale() -> str:
    """The staff pages are Japanese, or English when that is the language chosen."""
    return "en" if current_language() == "en" else "ja"


def refusal(exc: CarriedRefused) -> str:
    """Why the file (or the rest of it) was not applied, and what to do, in the page's language."""
    locale = _staff_locale()
    sep = "" if locale == "ja" else " "   # Japanese sentences follow each other without a space
    with force_locale(locale):
        say = _REASONS.get(exc.code)
        d = exc.details
        why = say(d) if say else None
        if not why:
            return exc.message
        if "seq" not in d and "first" not in d:   # the file refused as a whole
            return sep.join((why, _("Nothing was applied.")))
        where = (_("HQ refuses record %(seq)s of the kiosk.", seq=d["seq"]) if "seq" in d and "first" not in d
                 else _("HQ refuses records %(first)s–%(last)s of the file.", first=d["first"], last=d["last"]))
        before = (ngettext("The %(num)d new record before it is applied.",
                           "The %(num)d new records before it are applied.", exc.applied) if exc.applied
                  else _("Nothing of the file was applied."))
        return sep.join((where, why, before, _("Applying the file again is safe.")))


_BATCH_PLACE = re.compile(r"^event \d+ of the batch: ")   # the page names the record itself


def _other_kiosk(d: dict) -> str:
    return _("This token belongs to another kiosk: use the token of the kiosk that wrote the file.")


def _sequence_gap(d: dict) -> str:
    if "acked_seq" in d:
        return _("HQ holds this kiosk's records only up to %(acked)s, and the file starts later: write the file "
                 "again with every record (`evac kiosk carry --all`).", acked=d["acked_seq"])
    return _("The file's records are not consecutive (record %(seq)s is missing): write the file again with "
             "every record (`evac kiosk carry --all`).", seq=d.get("expected_seq", "?"))


def _unknown_kiosk(d: dict) -> str:
    return _("No kiosk is enrolled at HQ under this token: enroll the kiosk at HQ first (evac hq enroll-kiosk "
             "--shelter ID) and use its token.")


_REASONS = {
    # refusals of the file as a whole (nothing applied)
    "unreadable_file": lambda d: _("This is not a kiosk's records file HQ can read (%(reason)s).",
                                   reason=d.get("reason", "")),
    "no_token": lambda d: _("The file holds no kiosk token (it was written without one): type the kiosk's token "
                            "below, or, for a kiosk never enrolled at HQ, enroll it (evac hq enroll-kiosk --shelter "
                            "ID) and use that token."),
    "unauthenticated": _unknown_kiosk,
    "unknown_kiosk": _unknown_kiosk,
    "wrong_token": lambda d: _("The token for kiosk %(kiosk)s is wrong: check it and type it again.",
                               kiosk=d.get("kiosk", "?")),
    "kiosk_retired": lambda d: _("HQ retired kiosk %(kiosk)s, and its token no longer works: enroll the kiosk "
                                 "again at HQ (evac hq enroll-kiosk --shelter ID) and use its new token.",
                                 kiosk=d.get("kiosk", "?")),
    "other_shelters_token": lambda d: _(
        "The token is for kiosk %(kiosk)s, enrolled at %(enrolled)s and never heard from, but the file's check-ins "
        "are at %(shelters)s: use the token of the kiosk that wrote the file (or enroll one at its shelter).",
        kiosk=d.get("kiosk", "?"), enrolled=d.get("enrolled_at", "?"), shelters=", ".join(d.get("shelters", ()))),
    # refusals of one batch (merge.BatchRejected codes), after the records before it
    "invalid_event": lambda d: _("The record is not one HQ can take (%(reason)s).",
                                 reason=_BATCH_PLACE.sub("", d.get("reason", ""))),
    "unknown_shelter": lambda d: _("It names a shelter HQ does not know (%(shelters)s): is HQ's shelter list "
                                   "up to date?", shelters=", ".join(d.get("shelters", ())) or "?"),
    "conflicting_event": lambda d: _(
        "Record %(seq)s differs from the record %(seq)s HQ already holds for this kiosk, and a kiosk's records "
        "never change. Was the kiosk's database restored from a backup? Then run `evac kiosk new-device` there, "
        "enroll it again and carry a new file.", seq=d.get("seq", "?")),
    "sequence_gap": _sequence_gap,
    # (HQ's merge checks a batch as a sync's; a file's batches are lists of at most MAX_BATCH_EVENTS)
    "malformed_batch": lambda d: _("HQ cannot read these records (%(reason)s): write the file again on the kiosk "
                                   "(evac kiosk carry).", reason=d.get("reason", "")),
    "batch_too_large": lambda d: _("These records are more than HQ takes at once (%(reason)s): call whoever runs "
                                   "HQ's software.", reason=d.get("reason", "")),
    "device_taken": _other_kiosk,
    "wrong_device": _other_kiosk,
    "reserved_device_id": lambda d: _("The file's kiosk database has an id that is HQ's own: give the kiosk a "
                                      "new database (`evac kiosk new-device`) and enroll it again."),
}


def _form_error(field: str, messages: list[str]) -> str:
    if field == "csrf_token":   # the form's own token: Flask-WTF's English otherwise
        with force_locale(_staff_locale()):
            return _("This form was open too long or the server restarted, so nothing was saved. "
                     "Go back, reload the page and try again.")
    return " ".join(messages)
