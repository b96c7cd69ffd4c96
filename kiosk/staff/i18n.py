"""The staff tablet's words: Flask-Babel with its own domain "staff", so its catalogs
(kiosk/translations/<lang>/LC_MESSAGES/staff.po) stay apart from the evacuee screen's.
Japanese is the default, also for any language the staff catalogs do not have."""
from __future__ import annotations

from pathlib import Path

from flask import request, session
from flask_babel import Domain

TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"
STAFF_LANGUAGES = {"ja": "日本語", "en": "English"}
DEFAULT_LANGUAGE = "ja"

domain = Domain(translation_directories=str(TRANSLATIONS), domain="staff")
gettext = domain.gettext
ngettext = domain.ngettext
lazy_gettext = domain.lazy_gettext
_l = lazy_gettext


def select_locale() -> str:
    """The language chosen with one tap (kept in the session, or a `lang` cookie), else Japanese.
    The cookie may be another app's on the same host (HQ's public pages set lang=easy, say): a
    language without a staff catalog is Japanese, never an unknown locale (a 500 on every page)."""
    for lang in (session.get("lang"), request.cookies.get("lang")):
        if lang in STAFF_LANGUAGES:
            return lang
    return DEFAULT_LANGUAGE


STAY_LABELS = {"in_shelter": _l("In the shelter"), "at_home": _l("At home"), "in_car": _l("In a car")}
NEED_LABELS = {
    "elderly": _l("Elderly"), "disability": _l("Disability"), "pregnancy": _l("Pregnancy"),
    "infant": _l("Infant"), "allergy": _l("Allergy"), "medication": _l("Medication"),
    "dialysis": _l("Dialysis"), "pets": _l("Pets"), "interpreter": _l("Needs an interpreter"),
    "care": _l("Needs care"),
}
SEX_LABELS = {"female": _l("Female"), "male": _l("Male"), "other": _l("Other / not stated")}
DAMAGE_LABELS = {"none": _l("No damage"), "partial": _l("Partly damaged"), "half": _l("Half destroyed"),
                 "total": _l("Totally destroyed"), "unknown": _l("Not known")}
CONSENT_LABELS = {"none": _l("No (only what the law allows)"),
                  "family": _l("Family who give our family code"),
                  "public": _l("Anyone who asks")}
# Injury or illness (evac.events PERSON_STATUSES), in HQ's answer page's words.
PERSON_STATUS_LABELS = {"safe": _l("None (safe)"), "injured": _l("Injured"), "ill": _l("Ill"),
                        "hospitalised": _l("In hospital")}
SHELTER_STATUS_LABELS = {"open": _l("Open"), "full": _l("Full"), "closed": _l("Closed")}
# The city's three kinds of site, in the order a transfer is usually to: somewhere to stay first.
SITE_KIND_LABELS = {"shelter": _l("Designated shelter"), "tsunami_building": _l("Tsunami evacuation building"),
                    "emergency_space": _l("Emergency evacuation place")}
# What a record in the event log is (evac.events types), for the sync panel's refused and withdrawn records.
EVENT_LABELS = {"register": _l("Registration"), "checkin": _l("Check-in"), "checkout": _l("Check-out"),
                "transfer": _l("Transfer to another shelter"), "stay_type": _l("Where they stay"),
                "needs": _l("Needs (要配慮)"), "status": _l("Injury or illness"),
                "shelter_status": _l("Shelter status"), "ic_link": _l("IC card link"),
                "consent": _l("Consent for family inquiries"), "details": _l("Details from the paper card"),
                "self_report": _l("Self-report"), "correction": _l("Correction of name, birth date or address"),
                "withdrawn": _l("Withdrawn record"),
                "clock_correction": _l("Correction of this kiosk's clock (true times of earlier records)")}

# The evacuee screen's languages (kiosk.i18n LANGUAGES codes), for a call from the screen: staff read the
# language's name in theirs, and the name it gives itself beside it.
SCREEN_LANGUAGE_LABELS = {"ja": _l("Japanese"), "easy": _l("Easy Japanese"), "en": _l("English"),
                          "pt": _l("Portuguese"), "vi": _l("Vietnamese"), "tl": _l("Tagalog"), "zh": _l("Chinese")}


def screen_language(code: str) -> str:
    from ..i18n import LANGUAGES
    label = SCREEN_LANGUAGE_LABELS.get(code)
    if label is None:   # a screen language added since: its code rather than nothing
        return code
    own = LANGUAGES[code][0] if code in LANGUAGES else ""
    return str(label) if not own or own == str(label) else f"{label} ({own})"
