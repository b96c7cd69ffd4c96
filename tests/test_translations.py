"""The kiosk's message catalogs: every text of the screens is translated into every language, with its
placeholders intact, and the catalogs were compiled by setup (kiosk/translations)."""
from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from kiosk.i18n import LANGUAGES

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "kiosk" / "translations"
METHODS = [("kiosk/**.py", "python"), ("kiosk/templates/**.html", "jinja2")]


def texts_in_the_code() -> set[str]:
    found = extract_from_dir(str(ROOT), METHODS, keywords={"_": None, "gettext": None, "_l": None},
                             options_map={"kiosk/templates/**.html": {}})
    # The staff tablet's texts are in their own domain ("staff"), tested by test_staff_i18n.
    staff = ("kiosk/staff/", "kiosk/staff_store.py", "kiosk/templates/staff/")
    return {message for file, _line, message, _comments, _ctx in found
            if isinstance(message, str) and not file.replace("\\", "/").startswith(staff)}


@pytest.fixture(scope="module")
def code_texts():
    return texts_in_the_code()


@pytest.mark.parametrize("locale", sorted({loc for _name, loc in LANGUAGES.values()}))
def test_every_text_is_translated(locale, code_texts):
    po = TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as f:
        catalog = read_po(f, locale=locale)
    translated = {m.id: m.string for m in catalog if m.id and m.string and "fuzzy" not in m.flags}
    missing = sorted(code_texts - set(translated))
    assert not missing, f"{po.relative_to(ROOT)} lacks: {missing} (see README: the kiosk screen)"
    problems = [(m.id, err) for m, errors in catalog.check() for err in errors]
    assert not problems, problems  # placeholders such as %(n)s kept
    assert (po.parent / "messages.mo").exists(), "run make setup: it compiles the catalogs"
