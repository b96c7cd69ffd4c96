"""The staff tablet's forms (Flask-WTF: every one carries a CSRF token).

Field rules are the event model's (evac.events limits and parse functions), so
a form that validates makes events the kiosk store and HQ accept; the messages
are the tablet's own, in the chosen language, shown next to the field.
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata

from flask_wtf import FlaskForm
from wtforms import BooleanField, FieldList, Form, FormField, HiddenField, PasswordField, SelectField, \
    SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from evac.events import (
    CONSENTS, FAMILY_CODE_LEN, HOME_DAMAGES, MAX_ADDRESS, MAX_HOUSEHOLD, MAX_NAME, NEEDS_CODES, SEXES,
    MAX_WITHDRAW_REASON, OLDEST_BIRTH, PERSON_STATUSES, SHELTER_STATUSES, STAY_TYPES, InvalidEvent, PHONE_RE,
    parse_birth_date,
)

from evac.identity import normalize_name, person_key
from evac.individual_number import contains_individual_number, looks_like_individual_number_not_phone

from ..input_checks import in_letters, no_such_day, reads_as_kana
from .i18n import (
    CONSENT_LABELS, DAMAGE_LABELS, NEED_LABELS, PERSON_STATUS_LABELS, SEX_LABELS, SHELTER_STATUS_LABELS, STAY_LABELS,
    _l,
)

_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _nfkc_strip(value):
    # As the event keeps it (evac.events): ｶﾞｶﾞ is ガガ, two characters, and is counted so here too.
    return unicodedata.normalize("NFKC", value).strip() if isinstance(value, str) else value


def storable(form, field):
    if field.data and _CONTROL_RE.search(field.data):
        raise ValidationError(_l("This field contains characters that cannot be stored."))
    if field.data and contains_individual_number(field.data):
        raise ValidationError(_NUMBER_REFUSED)


# 番号法 §20: the number must not be recorded at a shelter, even typed into a free-text field.
_NUMBER_REFUSED = _l("Do not enter the Individual Number (マイナンバー) here: a shelter must not record it.")


def birth_date(form, field):
    if not field.data:
        return
    try:
        from ..db import get_store  # against the date the kiosk's clock has reached, not a reset RTC's
        field.data = parse_birth_date(field.data, get_store().today())
    except InvalidEvent:
        raise ValidationError(_birth_date_refused(field.data)) from None


def _birth_date_refused(value: str):
    """Why evac.events.parse_birth_date refused a birth date: a date in the right form that is out of
    its bounds is told as such, not as a wrong format; so is one that names no day (2010-02-30, 2011-02-29,
    昭和65年1月1日: evac.dates.NoSuchDay), where "year-month-day" would not help."""
    if no_such_day(value):
        return _l("This date of birth does not exist: check the year, month and day.")
    try:
        born = dt.date.fromisoformat(value.strip())
    except ValueError:
        return _l("Enter a real date of birth (year-month-day).")
    if born < OLDEST_BIRTH:
        return _l("This date of birth is before %(year)d: check the year.", year=OLDEST_BIRTH.year)
    return _l("This date of birth is in the future: check the year.")


def phone(form, field):
    if field.data:
        field.data = unicodedata.normalize("NFKC", field.data)
        if not PHONE_RE.match(field.data):
            raise ValidationError(_l("Enter a phone number: digits, with - ( ) + or spaces."))
        if looks_like_individual_number_not_phone(field.data):
            raise ValidationError(_NUMBER_REFUSED)


class Filled(DataRequired):
    """Required, as the field is once its filters stripped it: InputRequired looks at the text as sent,
    so a name of only spaces (「　」 too) passed it and came out empty, and evac.identity.person_key
    refused it after the form had said yes (a bare 500 on the card, a detail for HQ on a correction)."""


def keyable(form, field):
    # Only separators (・, =) or invisible marks: no person key can be made of it (evac.identity).
    if field.data and not normalize_name(field.data):
        raise ValidationError(_l("Enter the name."))


def spelled(form, field):
    # 😀😀 or ★★ (kiosk.input_checks); a correction keeps a name already recorded as it is (kept_name).
    # Only separators (・) is keyable's to say.
    if (field.data and normalize_name(field.data) and not in_letters(field.data)
            and field.data != getattr(form, "kept_name", None)):
        raise ValidationError(_l("Enter the name in letters."))


def read_as_kana(form, field):
    # 😀, ★★ or a kanji slipped in (kiosk.input_checks); a correction keeps a reading already recorded (kept_kana).
    # Said alone if storable said why (an Individual Number is what staff must see).
    if (field.data and not field.errors and not reads_as_kana(field.data)
            and field.data != getattr(form, "kept_kana", None)):
        raise ValidationError(_l("Write the reading in kana (a foreign name may be in Latin letters)."))


def _name_field(label, required=True, extra=()):
    first = Filled(message=_l("Enter the name.")) if required else Optional()
    return StringField(label, filters=[_strip],
                       validators=[first, Length(max=MAX_NAME, message=_l("At most %(max)d characters.")),
                                   storable, *extra])


class ChoiceField(SelectField):
    """A select whose "not a valid choice" (a tampered or stale form) is said in the chosen language."""

    def pre_validate(self, form):
        if (self.data if self.data is not None else "") not in {c.value for c in self.choices}:
            raise ValidationError(_l("Choose one of the options."))


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form):
        allowed = {c.value for c in self.choices}
        if any(d not in allowed for d in self.data or ()):
            raise ValidationError(_l("Choose one of the options."))


def whole_number(low: int, high: int):
    def check(form, field):
        if not field.data:
            field.data = None
            return
        text = unicodedata.normalize("NFKC", field.data)
        if not text.isdigit() or not low <= int(text) <= high:
            raise ValidationError(_l("A number from %(min)d to %(max)d.", min=low, max=high))
        field.data = int(text)
    return check


def _choices(labels, codes) -> list[SelectChoice]:
    return [SelectChoice(c, labels[c]) for c in codes]


class LoginForm(FlaskForm):
    name = StringField(_l("Staff name"), filters=[_strip],
                       validators=[Filled(message=_l("Enter your staff name.")), Length(max=60)])
    password = PasswordField(_l("Password"), validators=[InputRequired(message=_l("Enter your password."))])


class ActionForm(FlaskForm):
    """A button with nothing to fill in (check out, log out, link an IC card): only the CSRF token."""


class CheckOutForm(FlaskForm):
    """Check-out is asked twice: the first tap shows what it does, the second (confirm=yes) does it."""
    confirm = HiddenField()


class CheckInAgainForm(FlaskForm):
    """Someone checked out from here by mistake, or back: only a check-in is written, so their
    consent, paper-form details and needs stay as they were."""
    stay_type = ChoiceField(_l("Staying"), choices=_choices(STAY_LABELS, STAY_TYPES), default="in_shelter")


class MemberForm(Form):
    """Another member of the household who is here; a blank row is no one."""
    name = _name_field(_l("Name"), required=False, extra=[keyable, spelled])
    name_kana = _name_field(_l("Name in kana"), required=False, extra=[read_as_kana])
    birth_date = StringField(_l("Date of birth"), filters=[_strip], validators=[Optional(), birth_date])
    sex = ChoiceField(_l("Sex"), choices=[SelectChoice("", "—")] + _choices(SEX_LABELS, SEXES))
    needs = MultiCheckboxField(_l("Needs (要配慮)"), choices=_choices(NEED_LABELS, NEEDS_CODES))

    def is_blank(self) -> bool:
        return not (self.name.data or self.name_kana.data or self.birth_date.data or self.sex.data or self.needs.data)

    def validate_row(self) -> bool:
        ok = True
        if not self.name.data:
            self.name.errors = [*self.name.errors, _l("Enter the name.")]
            ok = False
        if not self.birth_date.data:
            self.birth_date.errors = [*self.birth_date.errors, _l("Enter the date of birth.")]
            ok = False
        if not self.sex.data:
            self.sex.errors = [*self.sex.errors, _l("Choose the sex (性別).")]
            ok = False
        return ok


class IdentityFields(FlaskForm):
    """Who someone is: name, kana, birth date and sex, as every form about one person asks them."""
    name = _name_field(_l("Name"), extra=[keyable, spelled])
    name_kana = _name_field(_l("Name in kana"), required=False, extra=[read_as_kana])
    birth_date = StringField(_l("Date of birth"), filters=[_strip],
                             validators=[Filled(message=_l("Enter the date of birth.")), birth_date])
    # No sex chosen until staff choose one (as on a member row): a default was saved unnoticed.
    sex = ChoiceField(_l("Sex"), choices=[SelectChoice("", "—")] + _choices(SEX_LABELS, SEXES),
                      validators=[InputRequired(message=_l("Choose the sex (性別)."))])


class PersonFields(IdentityFields):
    """The fields of the 避難者カード shared by hand registration and correction."""
    address = StringField(_l("Address"), filters=[_strip],
                          validators=[Length(max=MAX_ADDRESS, message=_l("At most %(max)d characters.")),
                                      storable])
    contact_phone = StringField(_l("Contact phone"), filters=[_strip],
                                validators=[Length(max=30, message=_l("At most %(max)d characters.")), phone])
    household_members = StringField(_l("People in the household"), filters=[_strip],
                                    validators=[whole_number(1, MAX_HOUSEHOLD)])
    stay_type = ChoiceField(_l("Staying"), choices=_choices(STAY_LABELS, STAY_TYPES), default="in_shelter")
    needs = MultiCheckboxField(_l("Needs (要配慮)"), choices=_choices(NEED_LABELS, NEEDS_CODES))
    home_damage = ChoiceField(_l("Damage to the home"), choices=_choices(DAMAGE_LABELS, HOME_DAMAGES),
                              default="unknown")
    consent = ChoiceField(_l("Who may be told where they are"), choices=_choices(CONSENT_LABELS, CONSENTS),
                          default="none")
    family_code = StringField(_l("Family code"), filters=[_nfkc_strip],
                              validators=[Length(max=FAMILY_CODE_LEN[1],
                                                 message=_l("At most %(max)d characters.")), storable])

    def validate_family_code(self, field):
        if self.consent.data == "family" and len(field.data or "") < FAMILY_CODE_LEN[0]:
            raise ValidationError(_l("Give the family code the family will tell inquirers "
                                     "(%(min)d to %(max)d characters).", min=FAMILY_CODE_LEN[0],
                                     max=FAMILY_CODE_LEN[1]))
        kept = getattr(self, "kept_family_code", None)
        # Said, not thrown away: the family would give HQ a code it never had (the screen refuses it too)
        if field.data and self.consent.data != "family" and field.data != kept:
            raise ValidationError(_l("A family code is only needed when the family may be told (“Family who give "
                                     "our family code”): leave it empty, or choose that."))
        # ★★★★ is no code a relative can say on the phone; one already recorded is kept as it is
        if field.data and not in_letters(field.data) and field.data != kept:
            raise ValidationError(_l("Use letters, numbers or kana in the family code."))


MEMBER_ROWS = 10  # others on one 避難者カード: every row is on the page (blank rows are no one)
MEMBER_ROWS_OPEN = 3  # shown open; the rest fold away under "more members" (a <details>, no script)


class MemberRows(FieldList):
    """Always every row, each read from its own place (members-i): wtforms' FieldList renumbers the
    rows sent and then pads by reading rows 6, 7… again, so rows 0-3 and 6 came back with 6 twice."""

    def process(self, formdata, data=None, extra_filters=None):
        self.last_index = -1
        self.entries = []
        self.object_data = data
        for index in range(self.max_entries):
            self._add_entry(formdata, index=index)


class RegisterForm(PersonFields):
    members = MemberRows(FormField(MemberForm), min_entries=MEMBER_ROWS, max_entries=MEMBER_ROWS)
    # Not asked (the default): no consent is written, so one given at another shelter or with the household's
    # QR stands; a card typed at a second shelter wiped a family's consent and code with its 「なし」.
    consent = ChoiceField(_l("Who may be told where they are"),
                          choices=[SelectChoice("", _l("Not asked on the card (leave as it is)")),
                                   *_choices(CONSENT_LABELS, CONSENTS)], default="")
    # This card's one-time id (staff_store.register_household): sent twice, it is saved once.
    once = HiddenField(filters=[lambda v: v if isinstance(v, str) and re.fullmatch(r"[A-Za-z0-9_-]{16,64}", v)
                                else ""])

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        for row in self.members:
            if not row.form.is_blank():
                ok = row.form.validate_row() and ok
        if ok:
            # The same person twice on one card: said next to the row that repeats someone.
            address = self.address.data or ""
            seen = {person_key(self.name.data, self.birth_date.data, address)}
            for row in self.members:
                m = row.form
                if m.is_blank():
                    continue
                key = person_key(m.name.data, m.birth_date.data, address)
                if key in seen:
                    m.name.errors = [*m.name.errors, _l("The same person is on the form twice.")]
                    ok = False
                seen.add(key)
        return ok


class CorrectForm(PersonFields):
    # The name, reading and family code as recorded (set by the page before validating): kept as they are, even of
    # symbols alone (kept from before the kiosk refused them, or from HQ), so that the rest can be corrected.
    kept_name: str | None = None
    kept_kana: str | None = None
    kept_family_code: str | None = None

    # The person's record version the page was drawn from (staff_store.version): a page opened before
    # another tablet's save must not write its old values back over that save.
    drawn_from = HiddenField(filters=[lambda v: v if isinstance(v, int) else int(v) if isinstance(v, str)
                                      and v.isascii() and v.isdigit() and len(v) < 19 else None])


class AddMemberForm(IdentityFields):
    """Someone of a household already here, arriving later: joins it, at the household's address.
    Made with prefix="member", so its fields do not clash with the correction form's on the page."""
    needs = MultiCheckboxField(_l("Needs (要配慮)"), choices=_choices(NEED_LABELS, NEEDS_CODES))


class TransferForm(FlaskForm):
    to_shelter = ChoiceField(_l("Moving to"), validators=[InputRequired(message=_l("Choose a shelter."))],
                             )


MAX_STATUS_NOTE = 500   # evac.events: a status event's note


class PersonStatusForm(FlaskForm):
    """Injury or illness (負傷・疾病): what safety inquiries tell relatives, as consent allows."""
    status = ChoiceField(_l("Injury or illness"),
                         choices=[SelectChoice("", "—")] + _choices(PERSON_STATUS_LABELS, PERSON_STATUSES),
                         validators=[InputRequired(message=_l("Choose one."))])
    note = StringField(_l("Note (for HQ; not told to those who ask)"), filters=[_strip],
                       validators=[Length(max=MAX_STATUS_NOTE, message=_l("At most %(max)d characters.")), storable])


class NeverDiscloseForm(FlaskForm):
    never_disclose = BooleanField(_l("Never disclose (DV / stalker protection)"))


class ShelterStatusForm(FlaskForm):
    status = ChoiceField(_l("Shelter status"), choices=_choices(SHELTER_STATUS_LABELS, SHELTER_STATUSES))


class WithdrawForm(FlaskForm):
    """The lead withdraws the one record HQ refuses for good, so that the others reach HQ."""
    reason = StringField(_l("Why it is withdrawn"), filters=[_strip], validators=[
        Filled(message=_l("Say why the record is withdrawn (HQ's reason, say).")),
        Length(max=MAX_WITHDRAW_REASON, message=_l("At most %(max)d characters.")), storable])
    confirm = BooleanField(_l("I understand: the record stays on this kiosk, but HQ will not know it. Once the "
                              "cause is fixed, I re-enter it on the tablet, or tell HQ."),
                           validators=[DataRequired(message=_l("Confirm that you understand what withdrawing "
                                                               "means."))])
