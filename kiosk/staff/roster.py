"""The shelter's roster on the tablet, and what staff do to one person: register by hand from a
paper 避難者カード, correct, check out, transfer, link an IC card, mark never-disclose (lead)."""
from __future__ import annotations

import secrets
import sqlite3

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.datastructures import MultiDict
from wtforms.fields.choices import SelectChoice

from evac.card.mynumber import CardError
from evac.events import NEEDS_CODES, STAY_TYPES, Person
from evac.whereabouts import CHECKED_IN, CHECKED_OUT, IN_TRANSIT

from .. import staff_store
from ..db import get_store
from ..input_checks import no_such_day
from ..staff_store import NOT_RECEIVING, closed_by_staff
from ..store import KioskError
from . import refusals
from .auth import guard, lead_required, not_saved_message
from .forms import (
    MEMBER_ROWS_OPEN, ActionForm, AddMemberForm, CheckInAgainForm, CheckOutForm, CorrectForm, NeverDiscloseForm,
    PersonStatusForm, RegisterForm, TransferForm,
)
from .i18n import (NEED_LABELS, PERSON_STATUS_LABELS, SHELTER_STATUS_LABELS, SITE_KIND_LABELS, STAY_LABELS, _l,
                   gettext as t)
from .who import PERSON_HISTORY, person_history

bp = Blueprint("staff_roster", __name__, url_prefix="/staff")
guard(bp)


def _shelter() -> str:
    return current_app.config["SHELTER_ID"]


@bp.get("/")
def roster():
    store = get_store()
    query = request.args.get("q", "").strip()[:100]
    need = request.args.get("need", "")
    stay = request.args.get("stay", "")
    need = need if need in NEEDS_CODES else ""
    stay = stay if stay in STAY_TYPES else ""
    everyone = staff_store.roster(store, _shelter())
    rows = staff_store.search(everyone, query, need, stay)
    # A name searched for may be someone checked out from here: shown apart, to check in again.
    left = staff_store.search(staff_store.checked_out(store, _shelter()), query) if query else []
    return render_template("staff/roster.html", rows=rows, total=len(everyone), query=query, need=need, stay=stay,
                           # 2010-02-30 searched for: said to be no day, not only "nobody matches" (a name)
                           no_such_date=bool(query) and no_such_day(query), left=left, need_labels=NEED_LABELS, stay_labels=STAY_LABELS,
                           shelter_name=store.shelter_name(_shelter()))


def _person_or_404(key: str) -> staff_store.RosterRow:
    row = staff_store.person(get_store(), key)
    if row is None:
        abort(404)
    return row


def _member_form(**kw) -> AddMemberForm:
    # Its own field names (prefix) beside the correction form; the blueprint's guard checks the CSRF token.
    return AddMemberForm(prefix="member", meta={"csrf": False}, **kw)


def _person_page(row, form=None, transfer=None, status=200, not_saved="", member=None, member_not_saved="",
                 injury=None, confirm_closed=""):
    store = get_store()
    invalid = form is not None  # the correction form came back with errors
    if form is None:
        form = CorrectForm(formdata=None, data=_form_data(row))
    if transfer is None:
        transfer = TransferForm(formdata=None)
    _transfer_choices(transfer, row)
    return render_template("staff/person.html", row=row, form=form, transfer=transfer, action=ActionForm(),
                           never=NeverDiscloseForm(formdata=None, never_disclose=row.profile.never_disclose),
                           here=_here(row), left_here=_left_here(row),
                           check_in_again=CheckInAgainForm(formdata=None),
                           member=member or _member_form(formdata=None), member_not_saved=member_not_saved,
                           injury=injury or PersonStatusForm(formdata=None, status=row.profile.status),
                           status_labels=PERSON_STATUS_LABELS,
                           household=staff_store.household(get_store(), row),
                           shelter_name=store.shelter_name, stay_labels=STAY_LABELS,
                           need_labels=NEED_LABELS, invalid=invalid, not_saved=not_saved,
                           history=person_history(row.key), history_limit=PERSON_HISTORY,
                           confirm_closed=confirm_closed,
                           confirm_not_opened=bool(confirm_closed)
                           and store.shelter_statuses().get(confirm_closed) == "not_opened",
                           shelter_closed=_left_here(row) and closed_by_staff(store, _shelter()),
                           refresh_to=url_for(".person", key=row.key)), status


def _here(row) -> bool:
    return row.entry.where.state == CHECKED_IN and row.entry.where.shelter_id == _shelter()


def _left_here(row) -> bool:
    return row.entry.where.state == CHECKED_OUT and row.entry.where.shelter_id == _shelter()


def _form_data(row) -> dict:
    p, pr = row.person, row.profile
    return {"name": p.name, "name_kana": p.name_kana, "birth_date": p.birth_date, "sex": p.sex,
            "address": p.address, "stay_type": row.entry.where.stay_type or "in_shelter", "needs": list(pr.needs),
            "contact_phone": pr.contact_phone, "home_damage": pr.home_damage,
            "household_members": "" if pr.household_members is None else str(pr.household_members),
            "consent": pr.consent, "family_code": pr.family_code, "drawn_from": row.version}


# HQ's statuses a transfer destination is marked with (【閉鎖】 and so on); "not_opened" is HQ's alone (staff
# set open, full or closed on the tablet), so it is not one of SHELTER_STATUS_LABELS' choices.
DESTINATION_MARKS = {"closed": SHELTER_STATUS_LABELS["closed"], "full": SHELTER_STATUS_LABELS["full"],
                     "not_opened": _l("Not opened yet")}


def _transfer_choices(form: TransferForm, row) -> None:
    here = _shelter()
    order = list(SITE_KIND_LABELS)
    rows = sorted((sid, name, kind) for sid, name, kind in get_store().shelter_list() if sid != here)
    # Designated shelters (where people stay) first, then tsunami buildings and emergency places.
    rows.sort(key=lambda r: order.index(r[2]) if r[2] in order else len(order))
    # each one's status as HQ last said it: 閉鎖, 未開設 or 満員 in the option itself, so nobody sends a family
    # to a closed (or not yet opened) shelter unawares (no status heard, from an older HQ: the options as before)
    status = get_store().shelter_statuses()

    def label(sid: str, name: str, kind: str) -> str:
        text = f"{sid} {name}（{SITE_KIND_LABELS[kind]}）" if kind in SITE_KIND_LABELS else f"{sid} {name}"
        mark = status.get(sid)
        return f"{text} 【{DESTINATION_MARKS[mark]}】" if mark in DESTINATION_MARKS else text
    form.to_shelter.choices = [SelectChoice("", t("Choose a shelter"))] + [
        SelectChoice(sid, label(sid, name, kind)) for sid, name, kind in rows]


def _closed_destination(form: TransferForm) -> bool:
    """A transfer to a shelter HQ says is closed or not opened yet, not confirmed on the form: said next to the field, with a
    box to tick to send them there all the same (staff may know it reopens)."""
    to = form.to_shelter.data
    status = get_store().shelter_statuses().get(to)
    if status not in NOT_RECEIVING or request.form.get("confirm_closed") == to:
        return False
    shelter = get_store().shelter_name(to) or to
    form.to_shelter.errors = [*form.to_shelter.errors, t(
        "%(shelter)s is closed, as HQ last said. Choose another shelter, or tick “Send them to the closed "
        "shelter all the same” and press Transfer again.", shelter=shelter) if status == "closed" else t(
        "%(shelter)s has not opened yet, as HQ last said. Choose another shelter, or tick “Send them there "
        "all the same” and press Transfer again.", shelter=shelter)]
    return True


@bp.get("/alive")
def alive():
    """Someone is typing on a staff page (static/staff/idle.js): the guard has noted the use."""
    return "", 204


@bp.get("/person/<key>")
def person(key: str):
    row = _person_or_404(key)
    if row.key != key:  # an old link to someone whose identity was corrected since
        return redirect(url_for(".person", key=row.key))
    return _person_page(row)


@bp.post("/person/<key>")
def correct(key: str):
    row = _person_or_404(key)
    form = CorrectForm()
    form.kept_name, form.kept_kana = row.person.name, row.person.name_kana
    form.kept_family_code = row.profile.family_code
    if not form.validate():
        return _person_page(row, form=form, status=422)
    corrected = Person(form.name.data, form.birth_date.data, form.sex.data, form.address.data or "",
                       form.name_kana.data or "", row.person.prereg_id)
    try:
        new_key = staff_store.correct(get_store(), _shelter(), row, corrected, stay_type=form.stay_type.data,
                                      needs=form.needs.data, contact_phone=form.contact_phone.data or "",
                                      home_damage=form.home_damage.data,
                                      household_members=form.household_members.data, consent=form.consent.data,
                                      family_code=form.family_code.data or "",
                                      # a page without it cannot say what it was drawn from: never current
                                      drawn_from=-1 if form.drawn_from.data is None else form.drawn_from.data)
    except staff_store.ChangedSince:
        # Said at the top of the page, which shows the record as it is now (and its version): staff see
        # the other save and redo theirs.
        flash(t("The record of this person was changed on another device after this page was opened. Nothing was "
                "saved. The page now shows the record as it is: check it, then make your correction again."), "error")
        return _person_page(_person_or_404(key), status=409)
    except KioskError as exc:
        if isinstance(exc, staff_store.IdentityTaken):
            message = t("Someone with this name, date of birth and address is already in this shelter's "
                        "records. Nothing was saved.")
        else:
            message = t("This could not be saved: %(reason)s", reason=refusals.why(exc))
        for field in (form.name, form.birth_date, form.address):
            field.errors = [*field.errors, message]
        return _person_page(row, form=form, status=422)
    except sqlite3.Error as exc:
        return _person_page(row, form=form, status=503, not_saved=not_saved_message(exc))
    if new_key != key:
        flash(t("Corrected the name, date of birth or address of %(name)s: still the same person, with "
                "everything recorded about them.", name=corrected.name), "ok")
    else:
        flash(t("Saved the correction for %(name)s.", name=corrected.name), "ok")
    return redirect(url_for(".person", key=new_key))


def _card_page(form: RegisterForm, **words):
    # card_page: the log-out button sends the card along, to be kept for this staff member (held.py).
    # closed by this shelter's staff: said on top, so nobody checks a family in at a shelter that is closing
    closed = closed_by_staff(get_store(), _shelter())
    return render_template("staff/register.html", rows_open=MEMBER_ROWS_OPEN, form=form, card_page=True,
                           shelter_closed=closed, **words)


@bp.route("/register", methods=["GET", "POST"])
def register():
    form = RegisterForm()
    if request.method == "GET":
        card = current_app.extensions["staff_held_forms"].take(current_user.name)
        if card:  # the card this staff member was typing when their session ended, as it was: they check it
            form = RegisterForm(formdata=MultiDict(card.pairs))  # and send it; nothing is saved until then
            return _card_page(form, kept=card.why)
        form.once.data = secrets.token_urlsafe(16)
        return _card_page(form)
    if not form.once.data:  # a page from before the one-time id, or a tampered one: a new id
        form.once.data = secrets.token_urlsafe(16)
    if not form.validate():
        return _card_page(form, invalid=True), 422
    address = form.address.data or ""
    persons = [Person(form.name.data, form.birth_date.data, form.sex.data, address, form.name_kana.data or "")]
    members = [m.form for m in form.members if not m.form.is_blank()]
    persons += [Person(m.name.data, m.birth_date.data, m.sex.data, address, m.name_kana.data or "") for m in members]
    try:
        keys = staff_store.register_household(
            get_store(), _shelter(), persons, stay_type=form.stay_type.data, needs=form.needs.data,
            contact_phone=form.contact_phone.data or "", home_damage=form.home_damage.data,
            household_members=form.household_members.data, consent=form.consent.data,
            family_code=form.family_code.data or "", member_needs=[m.needs.data or [] for m in members],
            once=form.once.data)
    except staff_store.SentTwice as done:
        flash(t("This card was sent twice: it was saved once, the first time. Nothing was saved again."), "ok")
        return redirect(url_for(".person", key=done.keys[0]))
    except staff_store.AlreadyHere as found:
        # Registered again, the card's blank fields would wipe their consent, family code and phone.
        here = []
        for i, key in found.here:
            known = staff_store.person(get_store(), key)
            name = known.person.name if known else persons[i].name   # as recorded: the name their page has
            field = form.name if i == 0 else members[i - 1].name
            field.errors = [*field.errors, t("%(name)s is already checked in at this shelter. Nothing was saved: "
                                             "correct their record on their own page.", name=name)]
            here.append((name, url_for(".person", key=key)))
        return _card_page(form, already_here=here), 409
    except KioskError as exc:
        if "twice" in str(exc):
            form.name.errors = [*form.name.errors, t("The same person is on the form twice.")]
        else:
            form.name.errors = [*form.name.errors, t("This could not be saved: %(reason)s",
                                                     reason=refusals.why(exc))]
        return _card_page(form, invalid=True), 422
    except sqlite3.Error as exc:
        # The form comes back as typed: a whole 避難者カード is not lost to a full disk.
        return _card_page(form, not_saved=not_saved_message(exc)), 503
    flash(t("Checked in: %(names)s.", names="、".join(p.name for p in persons)), "ok")
    return redirect(url_for(".person", key=keys[0]))


@bp.post("/register/hold")
def hold_register():
    """The card page lay unused for the idle time while half typed (static/staff/idle.js sends it
    here), or its log-out button was pressed (leaving=logout): the tablet logs out, and the card is
    kept for this staff member's next log-in."""
    from .auth import logged_out_with_card, timed_out_now
    if request.form.get("leaving") == "logout":
        return logged_out_with_card()
    return timed_out_now()


@bp.post("/person/<key>/checkout")
def checkout(key: str):
    row = _person_or_404(key)
    if _left_here(row) and request.form.get("confirm") == "yes":  # the same tap arriving twice
        flash(t("%(name)s is already checked out; nothing was changed.", name=row.person.name), "info")
        return redirect(url_for(".person", key=row.key))
    if not _here(row):
        flash(t("%(name)s is not checked in at this shelter; nothing was changed.", name=row.person.name), "error")
        return redirect(url_for(".person", key=row.key))
    form = CheckOutForm()
    if form.confirm.data != "yes":
        # One tap on the wrong row must not take someone off the roster: ask, without JavaScript.
        # (Its idle reload goes to the person's page: the check-out address takes no GET.)
        return render_template("staff/checkout_confirm.html", row=row, form=CheckOutForm(formdata=None),
                               refresh_to=url_for(".person", key=row.key))
    p = row.person
    get_store().check_out(p.name, p.birth_date, p.address)
    flash(t("Checked out: %(name)s. If this was a mistake, check them in again below.", name=p.name), "ok")
    return redirect(url_for(".person", key=row.key))


@bp.post("/person/<key>/add-member")
def add_member(key: str):
    """Someone of this person's household arrives later: one household, not two."""
    row = _person_or_404(key)
    form = _member_form()
    if not _here(row):
        flash(t("%(name)s is not checked in at this shelter; nothing was changed.", name=row.person.name), "error")
        return redirect(url_for(".person", key=row.key))
    if not form.validate():
        return _person_page(row, member=form, status=422)
    member = Person(form.name.data, form.birth_date.data, form.sex.data, row.person.address,
                    form.name_kana.data or "")
    try:
        new_key = staff_store.add_to_household(get_store(), _shelter(), row, member, form.needs.data or [])
    except staff_store.AlreadyKnown as known:
        if known.entry.household_id and known.entry.household_id == row.entry.household_id and _here(
                staff_store.RosterRow(known.key, known.entry)):
            # The same form sent twice: the first one added them.
            flash(t("%(name)s is already checked in with this household; nothing was changed.",
                    name=member.name), "info")
            return redirect(url_for(".person", key=known.key))
        form.name.errors = [*form.name.errors, t(
            "%(name)s is already in this kiosk's records. Nothing was saved: open their page from the roster "
            "search and check them in there, so that what they told before is kept.", name=member.name)]
        return _person_page(row, member=form, status=422)
    except sqlite3.Error as exc:
        return _person_page(row, member=form, status=503, member_not_saved=not_saved_message(exc))
    flash(t("%(name)s joined the household of %(first)s and is checked in.", name=member.name,
            first=row.person.name), "ok")
    return redirect(url_for(".person", key=new_key))


@bp.post("/person/<key>/checkin")
def check_in_again(key: str):
    """Undo a check-out from here (or someone back the next day): a check-in only, under their
    household; the consent, details and needs recorded before stay as they are."""
    row = _person_or_404(key)
    if _here(row):  # the same tap arriving twice
        flash(t("%(name)s is already checked in here; nothing was changed.", name=row.person.name), "info")
        return redirect(url_for(".person", key=row.key))
    if not _left_here(row):
        flash(t("%(name)s was not checked out from this shelter; nothing was changed.", name=row.person.name),
              "error")
        return redirect(url_for(".person", key=row.key))
    form = CheckInAgainForm()
    if not form.validate():
        flash(t("Nothing was saved. Choose where they stay."), "error")
        return redirect(url_for(".person", key=row.key))
    get_store().check_in(_shelter(), [row.person], stay_type=form.stay_type.data,
                         household_id=row.entry.household_id)
    flash(t("Checked in again: %(name)s. Their consent, details and needs are as before.", name=row.person.name),
          "ok")
    return redirect(url_for(".person", key=row.key))


@bp.post("/person/<key>/transfer")
def transfer(key: str):
    row = _person_or_404(key)
    if not _here(row):
        # A page from before another tablet checked them out or moved them: the page then has no
        # transfer form to say it next to, so it is said on top.
        where = row.entry.where
        if where.state == CHECKED_OUT:
            message = t("%(name)s has already checked out. The transfer was not saved.", name=row.person.name)
        elif where.state == IN_TRANSIT:
            message = t("%(name)s is already moving to %(shelter)s. The transfer was not saved.",
                        name=row.person.name, shelter=get_store().shelter_name(where.shelter_id) or where.shelter_id)
        else:
            message = t("%(name)s is not checked in at this shelter; nothing was changed.", name=row.person.name)
        flash(message, "error")
        return redirect(url_for(".person", key=row.key))
    form = TransferForm()
    _transfer_choices(form, row)
    if not form.validate():
        return _person_page(row, transfer=form, status=422)
    if _closed_destination(form):
        return _person_page(row, transfer=form, status=422, confirm_closed=form.to_shelter.data)
    p = row.person
    get_store().transfer(p.name, p.birth_date, p.address, form.to_shelter.data)
    flash(t("%(name)s is moving to %(shelter)s.", name=p.name,
            shelter=get_store().shelter_name(form.to_shelter.data)), "ok")
    return redirect(url_for(".roster"))


@bp.post("/person/<key>/ic-link")
def ic_link(key: str):
    """Staff chose the person; the next transport IC card held to the reader becomes theirs."""
    from ..checkin import tapped_ic_token
    row = _person_or_404(key)
    store = get_store()
    if not store.ic_token_key():
        flash(t("IC cards can be linked once this kiosk has synced with HQ."), "error")
        return redirect(url_for(".person", key=key))
    try:
        token = tapped_ic_token()
    except CardError as exc:
        # The reader's own words are English, for logs: staff read theirs, and HQ the detail.
        message = {"no_card": t("No IC card was held to the reader. Press the button again, then hold the card "
                                "to the reader."),
                   "card_removed": t("The card could not be read. Press the button again and hold the card still "
                                     "on the reader."),
                   "busy": t("The card reader is busy with another card. Wait a moment, then press the button "
                             "again.")}.get(exc.code) or t("The IC card reader is not available. Tell HQ this "
                                                           "detail: %(why)s", why=exc.message)
        flash(message, "error")
        return redirect(url_for(".person", key=key))
    p = row.person
    store.link_ic(token, p.name, p.birth_date, p.address, current_app.config["SHELTER_ID"])
    flash(t("The IC card is now linked to %(name)s.", name=p.name), "ok")
    return redirect(url_for(".person", key=key))


@bp.post("/person/<key>/status")
def person_status(key: str):
    """Injury or illness (負傷・疾病) as staff saw or were told it: HQ answers safety inquiries with it."""
    row = _person_or_404(key)
    form = PersonStatusForm()
    if not form.validate():
        return _person_page(row, injury=form, status=422)
    try:
        staff_store.set_status(get_store(), _shelter(), row, form.status.data, form.note.data or "")
    except sqlite3.Error as exc:
        form.status.errors = [*form.status.errors, not_saved_message(exc)]
        return _person_page(row, injury=form, status=503)
    flash(t("Recorded for %(name)s: injury or illness — %(status)s.", name=row.person.name,
            status=PERSON_STATUS_LABELS[form.status.data]), "ok")
    return redirect(url_for(".person", key=row.key))


@bp.post("/person/<key>/never-disclose")
@lead_required
def never_disclose(key: str):
    row = _person_or_404(key)
    form = NeverDiscloseForm()
    form.validate()
    staff_store.set_never_disclose(get_store(), _shelter(), row, bool(form.never_disclose.data))
    if form.never_disclose.data:
        flash(t("%(name)s is now never-disclose: inquiries get the same answer as for someone unknown.",
                name=row.person.name), "ok")
    else:
        flash(t("Never-disclose is lifted for %(name)s at this shelter. HQ keeps the protection until HQ "
                "itself lifts it.", name=row.person.name), "ok")
    return redirect(url_for(".person", key=key))
