"""The staff tablet's catalogs: every string the code and templates use is translated into Japanese."""
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
METHODS = [("**.py", "python"), ("**.html", "jinja2")]  # as in kiosk/staff/babel.cfg


def used_msgids() -> set[str]:
    found = set()
    for path in ("kiosk/staff", "kiosk/templates/staff"):
        for _file, _line, message, _comments, _context in extract_from_dir(
                ROOT / path, method_map=METHODS, keywords={"t": None, "_l": None}):
            found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_staff_string_is_in_the_japanese_catalog():
    used = used_msgids()
    assert len(used) > 100
    with open(ROOT / "kiosk/translations/ja/LC_MESSAGES/staff.po", "rb") as f:
        catalog = read_po(f)
    translated = {m.id for m in catalog if m.id and m.string}
    assert used - translated == set(), "run pybabel extract/update (see kiosk/staff/babel.cfg) and translate"
    english = {m.id for m in read_po(open(ROOT / "kiosk/translations/en/LC_MESSAGES/staff.po", "rb")) if m.id}
    assert used <= english


def test_the_compiled_catalog_is_what_the_app_uses(tmp_path):
    from tests.staff_helpers import logged_in, make_app
    client = logged_in(make_app(tmp_path / "k.sqlite3"))
    assert "<title>避難者名簿 — 避難所職員</title>" in client.get("/staff/").text
