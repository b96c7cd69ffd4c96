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


class BrokenForm(ValueError):
    """hq_meta's identity_form is not a form number (edited by hand, or a damaged database)."""


def stored_form(conn: Connection) -> int:
    row = conn.exec_driver_sql(f"SELECT value FROM hq_meta WHERE name = '{FORM_ROW}'").first()
    if row is None:
        return 1
    try:
        form = int(row[0])
    except (TypeError, ValueError):
        form = 0
    if form < 1:
        raise BrokenForm(f"本部のデータベースにある識別キーの形式 {row[0]!r} は正しくありません。hq_meta 表の "
                         f"'{FORM_ROW}' 行が手で変えられたか、データベースが壊れています。バックアップから戻してください"
                         "（何も変更していません） / "
                         f"HQ's database says its identity keys are in form {row[0]!r}, which is no form: "
                         f"the row '{FORM_ROW}' of the table hq_meta was changed by hand or the database is "
                         "damaged. Restore the database from a backup (nothing was changed)")
    return form


def _newer(form: int) -> str:
    return (f"本部の記録は、このリリース（形式 {IDENTITY_FORM}）より新しいリリースの識別キー形式 {form} です。新しい"
            "リリースで実行してください（このリリースでは正しく読めません。何も変更していません） / "
            f"HQ's records are keyed in identity form {form}, from a newer release than this one (form "
            f"{IDENTITY_FORM}): run the newer release (this one would read them wrongly; nothing was changed)")


def bring_up_to_date(engine: Engine) -> int | None:
    """Re-key a database keyed under an older form; None if it was current already, else how many
    persons became one with another (the same person seen under two forms of one address)."""
    with engine.begin() as conn:
        form = stored_form(conn)
        if form == IDENTITY_FORM:
            return None
        if form > IDENTITY_FORM:
            raise NewerForm(_newer(form))
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


def mark_new(engine: Engine) -> None:
    """A database this start has just made holds no keys yet: it is in this release's form, with nothing to
    re-key (and nothing to tell the operator)."""
    with engine.begin() as conn:
        conn.exec_driver_sql(f"INSERT INTO hq_meta (name, value) VALUES ('{FORM_ROW}', {param_mark(conn)})"
                             " ON CONFLICT (name) DO NOTHING", (str(IDENTITY_FORM),))


def why_not_current(engine: Engine) -> str | None:
    """Commands other than HQ's start do not re-key: one that merged records now (a carried file)
    would link them under the new form to persons still keyed under the old one.  What to tell the
    operator, or None when the keys are current."""
    with engine.connect() as conn:
        form = stored_form(conn)
    if form == IDENTITY_FORM:
        return None
    if form > IDENTITY_FORM:
        return _newer(form)
    # (An HQ of the older release still running would go on filing records under the old keys.)
    return (f"本部の記録は古いリリースの識別キー形式 {form} のままです（このリリースは形式 {IDENTITY_FORM}）。古いリリースで"
            "動いている本部をすべて止め、このリリースで一度起動して（evac hq serve か evac hq init）キーを変換してから、"
            "このコマンドをもう一度実行してください（何も変更していません） / "
            f"HQ's records are keyed as an older release keyed them (identity form {form}; this release uses "
            f"form {IDENTITY_FORM}). Stop every HQ still running the older release, start HQ with this one once "
            "(evac hq serve or evac hq init), which re-keys them, then run this command again (nothing was changed)")
