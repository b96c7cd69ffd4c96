"""HQ staff roles: which staff open which area of HQ's staff pages; the one rule that every staff view,
the menus and the log-in's landing page go by.

The city names who handles 安否情報 (災対法 §86-15): only they and HQ's leads see the safety inquiries
and decide what a family is told; only a lead reads the audit of those decisions.  Everyone at HQ's
desk runs the rest.  A role is given with `evac hq add-staff --role` (desk, the least, unless named) and
changed with `evac hq set-role`; each change is kept in the audit log (hq_dashboard.staff).
"""
from __future__ import annotations

import functools

from flask import render_template, request, url_for
from flask_babel import force_locale, gettext as _
from flask_login import current_user, login_required

from .i18n import LANGUAGES, current_language, html_lang

LEAD, SAFETY, DESK = "lead", "safety", "desk"
ROLES = (LEAD, SAFETY, DESK)   # most to least
HQ, INQUIRIES, AUDIT = "hq", "inquiries", "audit"
AREAS = {
    HQ: (LEAD, SAFETY, DESK),     # the dashboard, the exports, records carried from a shelter (and the map's
                                  # disaster choice and the self-report counts, which only need a log-in)
    INQUIRIES: (LEAD, SAFETY),    # the review queue of safety inquiries, and its release and refusal
    AUDIT: (LEAD,),               # the audit log of every inquiry and decision
}
# What each role opens, as the command line says it (--help, and a role it does not know).
ROLE_HELP = {LEAD: ("責任者", "everything, incl. the audit log"),
             SAFETY: ("安否情報担当", "the safety inquiry queue and its decisions, and what desk opens"),
             DESK: ("本部担当", "the dashboard, exports and carried records; not the inquiries, not the audit log")}


def roles_in_words() -> str:
    return "; ".join(f"{role} ({ja}): {what}" for role, (ja, what) in ROLE_HELP.items())


# Where a log-in lands: the first of these the role opens.
HOMES = ((INQUIRIES, "staff.queue"), (HQ, "dashboard.dashboard"))


def check_role(role: str) -> None:
    if role not in ROLES:
        raise ValueError(f"「{role}」はHQ職員の役割ではありません / {role!r} is not an HQ staff role; the roles are "
                         f"{roles_in_words()}")


def role_name(role: str) -> str:
    """The role in words, in the current language."""
    return {LEAD: _("Lead"), SAFETY: _("Safety information officer"), DESK: _("HQ desk")}.get(role, role)


def may_open(area: str, role: str | None = None) -> bool:
    """Whether `role` (by default the logged-in staff member's) opens `area`."""
    if role is None:
        if not current_user.is_authenticated:
            return False
        role = current_user.role
    return role in AREAS[area]


def home(role: str) -> str:
    """The first page of `role` (a role HQ does not know, written into the database by hand, opens none)."""
    return next((url_for(endpoint) for area, endpoint in HOMES if may_open(area, role)), url_for("pages.index"))


def staff_only(area: str):
    """A staff view of `area`: no log-in goes to the log-in page (login_required), a role that does not
    open the area is refused (403) before the view runs, so a refused form changes nothing."""
    if area not in AREAS:
        raise ValueError(f"no staff area {area!r}")

    def wrap(view):
        @functools.wraps(view)
        def checked(*args, **kwargs):
            if not may_open(area):
                return refused(area)
            return view(*args, **kwargs)
        guarded = login_required(checked)
        guarded.staff_area = area   # what the log-in's `next` is checked against (_page_area)
        return guarded
    return wrap


# Pages of the INQUIRIES area that are no inquiry: the people needing care, records that may be one person.
PEOPLES_RECORDS = frozenset({"needing_care.page", "possible_duplicates.page"})


def _refusal_words(area: str, send_back: bool) -> dict:
    """The refusal in the current language (force_locale around it picks the language)."""
    name, role = current_user.username, current_user.role
    needed = next(r for r in reversed(ROLES) if r in AREAS[area])   # the least a lead must give
    why = {INQUIRIES: _("Safety inquiries, and what families are told, are handled only by the staff the city "
                        "designated for safety information (role “%(safety)s”: %(safety_words)s) and by leads "
                        "(role “%(lead)s”: %(lead_words)s).", safety=SAFETY, safety_words=role_name(SAFETY),
                        lead=LEAD, lead_words=role_name(LEAD)),
           AUDIT: _("The audit log of safety inquiries and their decisions is read only by leads "
                    "(role “%(lead)s”: %(lead_words)s).", lead=LEAD, lead_words=role_name(LEAD))}.get(area, "")
    if area == INQUIRIES and request.endpoint in PEOPLES_RECORDS:
        # (not an inquiry page: the same role, for the same reason)
        why += " " + _("This page shows people's names with their health or identity records, which are kept "
                       "to the same staff.")
    command = f"evac hq set-role {name} {needed}"
    ask = _("If your work needs this page, ask a lead to give you the role: evac hq set-role %(name)s "
            "%(role)s", name=name, role=needed)
    # The command shown whole, on one line (refused.html); a translation that dropped it keeps its own words.
    ask_before, found, ask_after = ask.partition(command)
    return {"title": _("Your role does not open this page"),
            "why": why,
            "yours": _("Your account %(name)s has the role “%(role)s” (%(role_words)s).",
                       name=name, role=role, role_words=role_name(role)),
            "ask": (ask_before, command, ask_after) if found else (ask, "", ""),
            "not_saved": _("Nothing was changed: what you sent was not saved.") if send_back else "",
            "home": _("To the pages of your role")}


def refused(area: str):
    """The page a role that does not open `area` gets: why, which role opens it, and whom to ask; in
    Japanese first, then the staff member's language (English when that is Japanese)."""
    code = current_language()
    second = "en" if code == "ja" else code
    sent = request.method == "POST"
    with force_locale("ja"):
        ja = _refusal_words(area, sent)
    with force_locale(LANGUAGES[second][1]):
        other = _refusal_words(area, sent)
    return render_template("refused.html", ja=ja, other=other, other_lang=html_lang(second),
                           home=home(current_user.role)), 403


def not_open_notice(role: str) -> str:
    """Said on the page a log-in lands on when the page it was sent to (?next=) is not open to the role:
    Japanese first, then the staff member's language (English when that is Japanese)."""
    code = current_language()
    second = "en" if code == "ja" else code
    said = []
    for locale in ("ja", LANGUAGES[second][1]):
        with force_locale(locale):
            said.append(_("The page you were going to is not open to your role “%(role)s” (%(role_words)s); "
                          "these are the pages of your role.", role=role, role_words=role_name(role)))
    return " / ".join(said)


def template_words() -> dict:
    """For the staff templates: the menus show only what the role opens (hq_dashboard.staff registers it)."""
    return {"may_open": may_open, "INQUIRIES": INQUIRIES, "AUDIT": AUDIT, "HQ": HQ,
            "staff_role_words": lambda role: f"{_in('ja', role)} / {_in('en', role)}"}


def _in(locale: str, role: str) -> str:
    with force_locale(locale):
        return role_name(role)
