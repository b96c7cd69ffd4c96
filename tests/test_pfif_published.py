"""災対法 §86-15: HQ's PFIF export withdraws (an expired record) only the persons an earlier export published.

A person protected from her first check-in, never published, must be as absent from every export as
someone the city knows nothing of; so must anyone known only from the public self-report page.  Otherwise
the export says "a record exists that is not shown" (and, ids being sequential, roughly when), and
self-reporting a name tells a protected identity from an unknown one by whether a new expired id appears.
Real kiosk syncs, the real self-report page, the real `evac hq export-pfif` process; SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import select

from evac import pfif
from hq_dashboard.db import db
from hq_dashboard.models import Person, PfifPublished
from tests.conftest import copy_sqlite, run_evac
from tests.test_safety_review_fixes import Kiosk, csrf

DOMAIN = "yaizu.example.jp"
NOW = dt.datetime(2026, 11, 27, 3, 0, tzinfo=dt.timezone.utc)
PUBLIC = {"name": "焼津 花子", "birth_date": "1950-04-01", "sex": "female", "address": "焼津市本町5-9-1"}
LATER = {"name": "焼津 次郎", "birth_date": "1960-01-01", "sex": "male", "address": "焼津市小川1"}
FIRST = {"name": "藤枝 光", "birth_date": "1985-05-05", "sex": "female", "address": "焼津市大住3"}
THROWAWAY = {"name": "試験 捨名", "birth_date": "1999-09-09", "sex": "male", "address": "焼津市本町1"}
UNKNOWN = {"name": "藤枝 茜", "birth_date": "1985-05-05", "sex": "female", "address": "焼津市大住3"}
IN_SHELTER = {"stay_type": "in_shelter"}
PROTECT_AT_ONCE = {"consent": "public", "never_disclose": True}   # the kiosk's one consent, with protection


def self_report(client, person, consent="public"):
    form = {**person, "name_kana": "", "where": "at_home", "consent": consent, "family_code": "",
            "csrf_token": csrf(client, "/safety/self-report")}
    assert client.post("/safety/self-report", data=form).status_code == 201


def ids_of(app, *people) -> list[int]:
    with app.app_context():
        return [db.session.execute(select(Person.id).where(Person.name == p["name"])).scalar_one() for p in people]


def cli_export(url: str, tmp_path, n: int) -> tuple[dict[str, str], set[str]]:
    """({record id: full name} of the published, {record ids} of the withdrawn) of one `evac hq export-pfif`."""
    out = tmp_path / f"export-{n}.xml"
    done = run_evac("hq", "export-pfif", "--db", url, "--domain", DOMAIN, "--out", str(out))
    assert done.returncode == 0, done.stderr
    records = pfif.read(out.read_bytes())
    withdrawn = {r.person_record_id for r in records if r.expiry_date}
    assert all(not r.full_name for r in records if r.expiry_date), "a withdrawal names no one"
    return {r.person_record_id: r.full_name for r in records if not r.expiry_date}, withdrawn


def rid(pid: int) -> str:
    return f"{DOMAIN}/person.{pid}"


def test_only_a_person_once_published_is_withdrawn_never_one_protected_from_her_first_check_in(
        hq_app, hq_client, enroll, hq_db_url, tmp_path):
    kiosk = Kiosk(hq_client, enroll("H031"), "dev-a")
    kiosk.send(("checkin", PUBLIC, IN_SHELTER), ("consent", PUBLIC, {"consent": "public"}),
               ("checkin", LATER, IN_SHELTER), ("consent", LATER, {"consent": "public"}),
               ("checkin", FIRST, IN_SHELTER), ("consent", FIRST, PROTECT_AT_ONCE))
    self_report(hq_client, UNKNOWN)      # known only from the public page, with public consent
    public, later, first, unknown = ids_of(hq_app, PUBLIC, LATER, FIRST, UNKNOWN)

    shown, withdrawn = cli_export(hq_db_url, tmp_path, 1)
    assert shown == {rid(public): PUBLIC["name"], rid(later): LATER["name"]} and withdrawn == set()

    kiosk.send(("consent", LATER, {"consent": "none", "never_disclose": True}))   # protected after publication
    for n in (2, 3):   # and in every later export, as Person Finder keeps what it was sent
        shown, withdrawn = cli_export(hq_db_url, tmp_path, n)
        assert shown == {rid(public): PUBLIC["name"]}
        assert withdrawn == {rid(later)}, "the published one is withdrawn; the never published are not named"
    assert rid(first) not in withdrawn and rid(unknown) not in withdrawn
    with hq_app.app_context():
        assert sorted(db.session.execute(select(PfifPublished.person_id)).scalars()) == sorted([public, later])


@pytest.fixture
def second_hq(hq_db_url, request, tmp_path):
    """Another HQ on the same kind of database as hq_app: the world the first is compared with."""
    from hq_dashboard import create_app, notify, prepare_database
    name = None
    if hq_db_url.startswith("sqlite"):
        path = tmp_path / "second.sqlite3"
        copy_sqlite(request.getfixturevalue("hq_template_sqlite"), path)
        url = f"sqlite:///{path}"
    else:
        from tests.postgres import create_database
        name = f"evac_{uuid.uuid4().hex[:12]}"
        url = create_database(request.getfixturevalue("pg_base"), name,
                              request.getfixturevalue("hq_template_postgresql"))
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
    prepare_database(app)
    yield app
    notify.drain(app)
    with app.app_context():
        db.engine.dispose()
    if name:
        from tests.postgres import drop_database
        drop_database(request.getfixturevalue("pg_base"), name)


def exports_after_self_reports(app, protected_present: bool) -> list[bytes]:
    """The export before and after each self-report a prober makes: a throwaway name, the protected
    person's identity, an unknown name (each with public consent)."""
    from hq_dashboard import pfif_exchange
    from hq_dashboard.enrollment import enroll_kiosk
    client = app.test_client()
    with app.app_context():
        token = enroll_kiosk(db.session, "H031")
    kiosk = Kiosk(client, token, "dev-a")
    kiosk.send(("checkin", PUBLIC, IN_SHELTER), ("consent", PUBLIC, {"consent": "public"}))
    if protected_present:   # after the public one, so that both worlds give her the same id
        kiosk.send(("checkin", FIRST, IN_SHELTER), ("consent", FIRST, PROTECT_AT_ONCE))
    exports = []
    for probe in (None, THROWAWAY, FIRST, UNKNOWN):
        if probe:
            self_report(client, probe)
        with app.app_context():
            exports.append(pfif_exchange.export(db.session, DOMAIN, now=NOW)[0])
    return exports


def test_self_reports_leave_the_export_the_same_whether_the_protected_person_is_there_or_not(hq_app, second_hq):
    with_her = exports_after_self_reports(hq_app, protected_present=True)
    without_her = exports_after_self_reports(second_hq, protected_present=False)
    assert without_her == [without_her[0]] * 4, "a self-report (only ever claimed) adds nothing to the export"
    assert with_her == without_her, "nor does a protected person, before or after her identity is reported"
    assert [p.full_name for p in pfif.read(with_her[0])] == [PUBLIC["name"]]


def test_the_upgrade_takes_as_published_only_who_may_have_been(hq_app, hq_client, enroll):
    """0031's backfill, on the safe side for a protected person: anyone with a public consent given at a
    kiosk that did not itself protect her, and a merged-away id whose keys now name such a person; not
    one protected from her first check-in, not one known only from self-reports."""
    from flask_migrate import downgrade, upgrade

    from hq_dashboard import MIGRATIONS_DIR, pfif_exchange
    kiosk = Kiosk(hq_client, enroll("H031"), "dev-a")
    kiosk.send(("checkin", PUBLIC, IN_SHELTER), ("consent", PUBLIC, {"consent": "public"}),
               ("checkin", LATER, IN_SHELTER), ("consent", LATER, {"consent": "public"}),
               ("consent", LATER, {"consent": "none", "never_disclose": True}),
               ("checkin", FIRST, IN_SHELTER), ("consent", FIRST, PROTECT_AT_ONCE))
    self_report(hq_client, UNKNOWN)
    public, later, first, _self_reported_only = ids_of(hq_app, PUBLIC, LATER, FIRST, UNKNOWN)
    gone_to_later, gone_to_first = 900, 901    # merged away: their keys' latest rows name the survivor
    with hq_app.app_context():
        downgrade(directory=MIGRATIONS_DIR, revision="0030_person_households")   # to before 0031
        with db.engine.begin() as conn:
            conn.execute(db.text("INSERT INTO person_keys (key, person_id) VALUES ('t:a', :g1), ('t:b', :g2),"
                                 " ('t:a', :later), ('t:b', :first)"),
                         {"g1": gone_to_later, "g2": gone_to_first, "later": later, "first": first})
        upgrade(directory=MIGRATIONS_DIR)
        assert sorted(db.session.execute(select(PfifPublished.person_id)).scalars()) == sorted(
            [public, later, gone_to_later])
        document, count = pfif_exchange.export(db.session, DOMAIN, now=NOW)
    withdrawn = {r.person_record_id for r in pfif.read(document) if r.expiry_date}
    assert count == 1 and withdrawn == {rid(later), rid(gone_to_later)}
