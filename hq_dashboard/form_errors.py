"""The validators' English messages (evac.disclosure, evac.events), said to the person in their language.

The JSON API keeps the validators' own English; the public pages show one plain
sentence per field, chosen by what went wrong.  An unrecognised message gets a
general "check this" in the person's language rather than English they may not read.
"""
from __future__ import annotations

import re

from flask_babel import gettext as _

from evac.events import FAMILY_CODE_LEN

_LIMIT_RE = re.compile(r"at most (\d+)")
_RANGE_RE = re.compile(r"(\d+) to (\d+)")


def _missing(field: str) -> str:
    return {
        "inquirer_name": _("Please write your name."),
        "inquirer_address": _("Please write your address."),
        "inquirer_contact": _("Please write your phone number or e-mail address."),
        "reason": _("Please write why you are asking."),
        "sought_name": _("Please write the name of the person you are looking for."),
        "sought_birth_date": _("Please enter their birth date."),
        "name": _("Please write your name."),
        "birth_date": _("Please enter your birth date."),
    }.get(field, _("Please fill this in."))


def translate(field: str, english: str) -> str:
    """One field's error in the request's language."""
    if is_individual_number(english):   # 番号法 §20: whatever field it was typed into; the page blanks it
        if "family code" in english:
            return _("Do not use an Individual Number (マイナンバー) as the family code: it must not be recorded. "
                     "The family code you wrote has been cleared.")
        return _("Do not write an Individual Number (マイナンバー) here: it must not be recorded. "
                 "What you wrote in this field has been cleared.")
    if "cannot be used" in english or "control characters" in english:
        return _("This contains characters that cannot be used.")
    if field == "relationship":
        return _("Please choose your relationship to them.")
    if field == "sex":
        return _("Please choose your sex.")
    if field == "sought_sex":
        return _("Please choose their sex from the list, or leave it empty if you do not know it.")
    if field == "where":
        return _("Please choose where you are.")
    if field == "notify_email" and "too long" not in english and "cannot be used" not in english:
        return _("This e-mail address is not valid.")
    if field in ("inquiry", "inquirer", "sought"):
        return _("Please fill in the form.")
    if "family code" in english:
        if "needs a family code" in english:
            # A self-report's consent is never answered at once: staff confirm the inquirer first.
            return _("To answer whoever gives your family code (after the city has confirmed who is asking), "
                     "choose a family code and write it here.")
        if "only goes with consent for the family" in english:
            return _("A family code is only used when you choose to answer whoever gives your family code. "
                     "Choose that, or leave the family code empty.")
        found = _RANGE_RE.search(english)
        low, high = found.groups() if found else map(str, FAMILY_CODE_LEN)
        return _("The family code is %(low)s to %(high)s letters or digits.", low=low, high=high)
    if "missing" in english:
        return _missing(field)
    if "too long" in english:
        found = _LIMIT_RE.search(english)
        limit = found.group(1) if found else "200"
        return _("This is too long: at most %(limit)s characters.", limit=limit)
    if "< or >" in english:
        return _("A name cannot contain < or >.")
    if "no letters" in english:
        return _("The name has no letters in it.")
    if "birth date" in english or field.endswith("birth_date"):
        return _("This birth date is not possible. Please check the year, month and day.")
    return _("Please check this entry.")


def is_individual_number(english: str) -> bool:
    """The validator refused the field for holding what looks like an Individual Number (番号法 §20)."""
    return "Individual Number" in english


def cleared(form, errors: dict[str, str], fields: dict[str, str] | None = None) -> dict[str, str]:
    """What was typed, to show again, without any field refused for an Individual Number (番号法 §20): the
    page must not send the number back.  `errors` are the validator's, keyed as translate_all's input;
    `fields` names the form field an error key stands for when it is not the key itself."""
    shown = dict(form.items())
    for key, message in errors.items():
        if is_individual_number(message):
            shown[(fields or {}).get(key, key.replace(".", "_"))] = ""
    return shown


def translate_all(errors: dict[str, str]) -> dict[str, str]:
    """The validator's errors keyed by the page's field names (`sought.name` -> `sought_name`)."""
    return {key.replace(".", "_"): translate(key.replace(".", "_"), message) for key, message in errors.items()}
