"""HQ's identity keys brought to the identity form this release uses (evac.identity.IDENTITY_FORM).

HQ links each record to a person by keys formed from the name, birth date and address the record
states.  When a release forms them otherwise (「本町五丁目９番１号　焼津ハイツ２０３」 and 「本町5-9-1 焼津ハイツ203」
became one key in form 2), the persons HQ already holds must be found by the new keys too, or the
next check-in of someone already checked in would make a second person, counted twice.  HQ's start
(`evac hq serve`, `evac hq init`) re-keys once, in one transaction, from the records themselves;
hq_meta.identity_form says which form the keys are in (no row: form 1, the first release's).
"""
from __future__ import annotations

from sqlalchemy import Connection
from sqlalchemy.engine import Engine

from evac.identity import IDENTITY_FORM

from .db import param_mark
from .merge import lock_merge, relink

FORM_ROW = "identity_form"


class NewerForm(ValueError):
    """The keys are in a form of a newer release: this one would read them wrongly."""


def stored_form(conn: Connection) -> int:
    row = conn.exec_driver_sql(f"SELECT value FROM hq_meta WHERE name = '{FORM_ROW}'").first()
    return 1 if row is None else int(row[0])


def bring_up_to_date(engine: Engine) -> int | None:
    """Re-key a database keyed under an older form; None if it was current already, else how many
    persons became one with another (the same person seen under two forms of one address)."""
    with engine.begin() as conn:
        form = stored_form(conn)
        if form == IDENTITY_FORM:
            return None
        if form > IDENTITY_FORM:
            raise NewerForm(f"HQ's records are keyed in identity form {form}, from a newer release than this one "
                            f"(form {IDENTITY_FORM}); run the newer release")
        lock_merge(conn)
        # A write first: on SQLite it takes the database's lock.  Then the form is read again: a second HQ
        # that started at once waited here for the first, which has re-keyed everything meanwhile.
        mark = param_mark(conn)
        conn.exec_driver_sql(f"UPDATE hq_meta SET value = value WHERE name = '{FORM_ROW}'")
        if stored_form(conn) == IDENTITY_FORM:
            return None
        conn.exec_driver_sql(f"INSERT INTO hq_meta (name, value) VALUES ('{FORM_ROW}', {mark})"
                             " ON CONFLICT (name) DO UPDATE SET value = excluded.value", (str(IDENTITY_FORM),))
        return relink(conn)


def why_not_current(engine: Engine) -> str | None:
    """Commands other than HQ's start do not re-key: one that merged records now (a carried file)
    would link them under the new form to persons still keyed under the old one.  What to tell the
    operator, or None when the keys are current."""
    with engine.connect() as conn:
        form = stored_form(conn)
    if form == IDENTITY_FORM:
        return None
    return (f"HQ's records are keyed in identity form {form}; this release uses form {IDENTITY_FORM}. Start HQ "
            "(evac hq serve or evac hq init) once, which re-keys them; then run this command again")
