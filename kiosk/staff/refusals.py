"""What the kiosk store refused, in the tablet's language.

The store (kiosk.store, kiosk.staff_store) says why in English, for logs and the JSON API.  The forms
check nearly everything first; what is left reaches staff here, and a Japanese page must not carry
an English sentence.  A refusal not known here is said in general words, with the store's words
marked as the detail to give HQ."""
from __future__ import annotations

import re

from .i18n import gettext as t

_PERSON = r"(?P<name>.+) \((?P<birth>[^)]*)\)"

# (pattern of the store's message, the words staff read)
_KNOWN = [
    (re.compile(_PERSON + r" is not checked in at this kiosk's shelter$"),
     lambda m: t("%(name)s is not checked in at this shelter.", name=m["name"])),
    (re.compile(_PERSON + r" is not known at this kiosk$"),
     lambda m: t("%(name)s (%(birth)s) is not in this kiosk's records.", name=m["name"], birth=m["birth"])),
    (re.compile(_PERSON + r" is already someone else on this kiosk's roster$"),
     lambda m: t("Someone with this name, date of birth and address is already in this shelter's records.")),
    (re.compile(r"^the destination is the shelter they are already in$"),
     lambda m: t("They are already at that shelter.")),
    (re.compile(r"^unknown shelter id '(?P<id>[^']*)'"),
     lambda m: t("This kiosk does not know the shelter %(id)s.", id=m["id"])),
    (re.compile(r"^link the card where the person is registered"),
     lambda m: t("An IC card can only be linked at the kiosk where the person is registered.")),
    # evac.identity.person_key: the forms ask for these first (forms.Filled), so only a form they missed.
    (re.compile(r"^a person needs a name"), lambda m: t("Enter the name.")),
    (re.compile(r"^birth date .* is not a date"), lambda m: t("Enter a real date of birth (year-month-day).")),
    (re.compile(r"^nobody to (check in|register)$"),
     lambda m: t("Nobody was entered on the form.")),
    (re.compile(r"^the same person is on the form twice$"),
     lambda m: t("The same person is on the form twice.")),
    (re.compile(r"^record (?P<seq>\d+) is not the one HQ refuses"),
     lambda m: t("Record %(seq)s is not the one HQ refuses: only that record can be withdrawn. Reload the page.",
                 seq=m["seq"])),
    (re.compile(r"^HQ already holds record (?P<seq>\d+)"),
     lambda m: t("HQ already holds record %(seq)s: it cannot be withdrawn. Reload the page.", seq=m["seq"])),
    (re.compile(r"^this kiosk has no record (?P<seq>\d+)$"),
     lambda m: t("This kiosk has no record %(seq)s.", seq=m["seq"])),
    (re.compile(r"^record (?P<seq>\d+) must not be withdrawn: HQ's software is older"),
     lambda m: t("Do not withdraw record %(seq)s: HQ's software is older than this kiosk's and does not know this "
                 "kind of record. Ask HQ to update its software; the records stay queued on this kiosk and are sent "
                 "once HQ is updated.", seq=m["seq"])),
    (re.compile(r"^record (?P<seq>\d+) is already withdrawn"),
     lambda m: t("Record %(seq)s is already withdrawn, and HQ refuses even the withdrawal: call HQ.",
                 seq=m["seq"])),
]


def why(exc: Exception) -> str:
    """The reason for a refusal, as staff read it in the tablet's language."""
    text = str(exc)
    for pattern, words in _KNOWN:
        found = pattern.search(text)
        if found:
            return words(found)
    return t("The record did not pass the kiosk's checks. Tell HQ this detail: %(detail)s", detail=text)
