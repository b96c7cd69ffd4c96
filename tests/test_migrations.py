"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from hq_dashboard.db import db


def test_migrated_schema_matches_the_models(hq_app):
    with hq_app.app_context():
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), db.metadata)
            tables = set(inspect(conn).get_table_names())
    assert diff == []
    assert {"shelters", "kiosks", "events", "persons", "person_keys", "alembic_version"} <= tables


def test_preparing_twice_neither_fails_nor_seeds_twice(hq_app):
    from hq_dashboard import prepare_database
    assert prepare_database(hq_app) == 0
    with hq_app.app_context():
        from hq_dashboard.models import Shelter
        assert db.session.query(Shelter).count() == 212


def test_identity_keys_survive_the_move_to_a_log_and_back(hq_db_url):
    """0003 turns person_keys into an append-only log; existing keys keep their persons both ways."""
    from flask_migrate import downgrade, upgrade

    from hq_dashboard import MIGRATIONS_DIR, create_app
    app = create_app({"SQLALCHEMY_DATABASE_URI": hq_db_url, "TESTING": True})
    with app.app_context():
        upgrade(directory=MIGRATIONS_DIR, revision="0002_prereg")
        with db.engine.begin() as conn:
            conn.execute(db.text("INSERT INTO person_keys (key, person_id) VALUES ('nba:a', 1), ('pre:X', 1), "
                                 "('nba:b', 2)"))
        upgrade(directory=MIGRATIONS_DIR)
        with db.engine.begin() as conn:
            rows = conn.execute(db.text("SELECT key, person_id FROM person_keys ORDER BY id")).all()
            assert sorted(rows) == [("nba:a", 1), ("nba:b", 2), ("pre:X", 1)]
            # A later merge appends a newer row for a key; going back keeps the newest.
            conn.execute(db.text("INSERT INTO person_keys (key, person_id) VALUES ('nba:b', 1)"))
        downgrade(directory=MIGRATIONS_DIR, revision="0002_prereg")
        with db.engine.connect() as conn:
            rows = conn.execute(db.text("SELECT key, person_id FROM person_keys ORDER BY key")).all()
        db.engine.dispose()
    assert rows == [("nba:a", 1), ("nba:b", 1), ("pre:X", 1)]


def test_order_texts_take_the_space_separator_and_field_orders_are_backfilled(hq_db_url):
    """0016: every stored order text sorts like Event.order ("dev-1" before "dev-10"); kana, address and
    household get their own orders, from info_order where HQ holds a value; and both ways back."""
    from flask_migrate import downgrade, upgrade

    from hq_dashboard import MIGRATIONS_DIR, create_app
    old, new = "00000000000000000005|dev-1|000000000001", "00000000000000000005 dev-1 000000000001"
    app = create_app({"SQLALCHEMY_DATABASE_URI": hq_db_url, "TESTING": True})
    with app.app_context():
        upgrade(directory=MIGRATIONS_DIR, revision="0015_family_code_len")
        with db.engine.begin() as conn:
            for pid, kana, address, household in ((1, "ヤマダ", "本町1", "hh-1"), (2, "", "", "")):
                conn.execute(db.text(
                    "INSERT INTO persons (id, name, name_kana, birth_date, sex, address, household_id, info_order,"
                    " state, loc_order, needs, needs_order, status, status_note, status_order, consent_order,"
                    " contact_order) VALUES (:id, '山田', :kana, '1960-01-01', 'male', :address, :household, :o,"
                    " 'unknown', :o, '', :o, '', '', :o, :o, :o)"),
                    {"id": pid, "kana": kana, "address": address, "household": household, "o": old})
            conn.execute(db.text(
                "INSERT INTO shelters (id, name, name_kana, kind, address, lat, lon, hazards, phone, source, opened,"
                " opened_order, occupancy, at_home, in_car, full_order) VALUES ('X1', 'x', '', 'shelter', '', 0, 0,"
                " '', '', '', true, :o, 0, 0, 0, :o)"), {"o": old})
            conn.execute(db.text("INSERT INTO ic_links (token, person_id, link_order) VALUES ('ic:1', 1, :o)"),
                         {"o": old})
        upgrade(directory=MIGRATIONS_DIR, revision="0016_field_orders")
        with db.engine.connect() as conn:
            persons = conn.execute(db.text(
                "SELECT info_order, loc_order, needs_order, status_order, consent_order, contact_order,"
                " kana_order, address_order, household_order FROM persons ORDER BY id")).all()
            shelter = tuple(conn.execute(db.text("SELECT opened_order, full_order FROM shelters")).one())
            link = conn.execute(db.text("SELECT link_order FROM ic_links")).scalar()
        downgrade(directory=MIGRATIONS_DIR, revision="0015_family_code_len")
        with db.engine.connect() as conn:
            back = conn.execute(db.text("SELECT info_order, loc_order, contact_order FROM persons")).all()
            back_link = conn.execute(db.text("SELECT link_order FROM ic_links")).scalar()
        db.engine.dispose()
    assert [tuple(p) for p in persons] == [(new,) * 9, (new,) * 6 + ("",) * 3]
    assert shelter == (new, new) and link == new
    assert back == [(old,) * 3] * 2 and back_link == old


def test_a_kiosks_withdrawn_records_are_counted_from_the_log(hq_db_url):
    """0017: kiosks.withdrawn starts at what the event log already holds, per kiosk database."""
    import datetime as dt

    from flask_migrate import downgrade, upgrade

    from hq_dashboard import MIGRATIONS_DIR, create_app
    app = create_app({"SQLALCHEMY_DATABASE_URI": hq_db_url, "TESTING": True})
    with app.app_context():
        upgrade(directory=MIGRATIONS_DIR, revision="0016_field_orders")
        with db.engine.begin() as conn:
            conn.execute(db.text(
                "INSERT INTO shelters (id, name, name_kana, kind, address, lat, lon, hazards, phone, source, opened,"
                " opened_order, occupancy, at_home, in_car, full_order) VALUES ('X1', 'x', '', 'shelter', '', 0, 0,"
                " '', '', '', true, '', 0, 0, 0, '')"))
            for kid, device in (("K1", "dev-1"), ("K2", "dev-2"), ("K3", None)):
                conn.execute(db.text(
                    "INSERT INTO kiosks (id, shelter_id, token_hash, device_id, high_seq, last_event_hlc, enrolled_at)"
                    " VALUES (:id, 'X1', :id, :device, 0, 0, :at)"),
                    {"id": kid, "device": device, "at": dt.datetime.now(dt.timezone.utc)})
            for device, seq, etype in (("dev-1", 1, "checkin"), ("dev-1", 2, "withdrawn"), ("dev-1", 3, "withdrawn"),
                                       ("dev-2", 1, "checkin")):
                conn.execute(db.text("INSERT INTO events (device_id, seq, hlc, type, shelter_id, body)"
                                     " VALUES (:d, :s, 1, :t, 'X1', '{}')"), {"d": device, "s": seq, "t": etype})
        upgrade(directory=MIGRATIONS_DIR, revision="0017_kiosk_withdrawn")
        with db.engine.connect() as conn:
            counted = dict(conn.execute(db.text("SELECT id, withdrawn FROM kiosks")).all())
        downgrade(directory=MIGRATIONS_DIR, revision="0016_field_orders")
        db.engine.dispose()
    assert counted == {"K1": 2, "K2": 0, "K3": 0}


def test_a_kiosks_latest_check_in_shelter_is_taken_from_the_log(hq_db_url):
    """0018: kiosks.checks_in_at starts at the shelter of each kiosk database's latest check-in."""
    import datetime as dt

    from flask_migrate import downgrade, upgrade

    from hq_dashboard import MIGRATIONS_DIR, create_app
    app = create_app({"SQLALCHEMY_DATABASE_URI": hq_db_url, "TESTING": True})
    with app.app_context():
        upgrade(directory=MIGRATIONS_DIR, revision="0017_kiosk_withdrawn")
        with db.engine.begin() as conn:
            for sid in ("X1", "X2"):
                conn.execute(db.text(
                    "INSERT INTO shelters (id, name, name_kana, kind, address, lat, lon, hazards, phone, source, opened,"
                    " opened_order, occupancy, at_home, in_car, full_order) VALUES (:id, 'x', '', 'shelter', '', 0, 0,"
                    " '', '', '', true, '', 0, 0, 0, '')"), {"id": sid})
            for kid, device in (("K1", "dev-1"), ("K2", "dev-2"), ("K3", None)):
                conn.execute(db.text(
                    "INSERT INTO kiosks (id, shelter_id, token_hash, device_id, high_seq, last_event_hlc, enrolled_at)"
                    " VALUES (:id, 'X1', :id, :device, 0, 0, :at)"),
                    {"id": kid, "device": device, "at": dt.datetime.now(dt.timezone.utc)})
            for device, seq, etype, sid in (("dev-1", 1, "checkin", "X1"), ("dev-1", 2, "checkin", "X2"),
                                            ("dev-1", 3, "needs", "X1"), ("dev-2", 1, "checkin", "X1"),
                                            ("dev-2", 2, "status", "X2")):
                conn.execute(db.text("INSERT INTO events (device_id, seq, hlc, type, shelter_id, body)"
                                     " VALUES (:d, :s, 1, :t, :sid, '{}')"), {"d": device, "s": seq, "t": etype, "sid": sid})
        upgrade(directory=MIGRATIONS_DIR, revision="0018_kiosk_checks_in_at")
        with db.engine.connect() as conn:
            latest = dict(conn.execute(db.text("SELECT id, checks_in_at FROM kiosks")).all())
        downgrade(directory=MIGRATIONS_DIR, revision="0017_kiosk_withdrawn")
        db.engine.dispose()
    assert latest == {"K1": "X2", "K2": "X1", "K3": None}


def test_prereg_keys_can_be_retired_after_0019(hq_db_url):
    """0019: prereg_keys.retired_at, empty for the keys there were (every one still trusted), and back."""
    import datetime as dt

    from flask_migrate import downgrade, upgrade

    from hq_dashboard import MIGRATIONS_DIR, create_app
    app = create_app({"SQLALCHEMY_DATABASE_URI": hq_db_url, "TESTING": True})
    with app.app_context():
        upgrade(directory=MIGRATIONS_DIR, revision="0018_kiosk_checks_in_at")
        with db.engine.begin() as conn:
            conn.execute(db.text("INSERT INTO prereg_keys (kid, private_raw, public_raw, active, created_at)"
                                 " VALUES ('a1b2c3d4', 'x', 'y', true, :at)"), {"at": dt.datetime.now(dt.timezone.utc)})
        upgrade(directory=MIGRATIONS_DIR, revision="0019_prereg_key_retired")
        with db.engine.connect() as conn:
            rows = conn.execute(db.text("SELECT kid, retired_at FROM prereg_keys")).all()
        downgrade(directory=MIGRATIONS_DIR, revision="0018_kiosk_checks_in_at")
        with db.engine.connect() as conn:
            columns = {c["name"] for c in inspect(conn).get_columns("prereg_keys")}
        db.engine.dispose()
    assert [tuple(r) for r in rows] == [("a1b2c3d4", None)]
    assert "retired_at" not in columns


def test_the_protected_people_read_with_every_sync_have_their_own_index(hq_app):
    """HQ's kiosk configuration (whose version every sync answer carries) reads the never-disclose people:
    through ix_persons_protected (migration 0020), never a scan of every person in the city."""
    from sqlalchemy import select

    from hq_dashboard.models import Person
    born = select(Person.birth_date).where(Person.never_disclose == True)  # noqa: E712 (as safety.py asks)
    plan = query_plan(hq_app, born)
    assert "ix_persons_protected" in plan, plan


def test_the_people_in_transit_counted_with_every_refresh_have_their_own_index(hq_app):
    """The dashboard and the wall count the people between shelters at every refresh: through
    ix_persons_in_transit (migration 0033), never a scan of every person in the city."""
    from hq_dashboard.dashboard import IN_TRANSIT_QUERY
    plan = query_plan(hq_app, IN_TRANSIT_QUERY)
    assert "ix_persons_in_transit" in plan, plan


def test_the_households_of_protected_people_are_found_by_their_own_index(hq_app):
    """The kiosks' digests cover a protected person's household (api._protected): its members are found
    through ix_persons_household_id (migration 0023), not a scan of every person at every sync."""
    from sqlalchemy import select

    from hq_dashboard.models import Person
    plan = query_plan(hq_app, select(Person.birth_date).where(Person.household_id.in_(["hh-0123456789abcdef"])))
    assert "ix_persons_household_id" in plan, plan


def query_plan(app, statement) -> str:
    """The database's plan for `statement` (PostgreSQL told to avoid a scan where it can)."""
    with app.app_context():
        sql = str(statement.compile(db.engine, compile_kwargs={"literal_binds": True}))
        if db.engine.dialect.name == "sqlite":
            plan = " ".join(str(r) for r in db.session.execute(db.text("EXPLAIN QUERY PLAN " + sql)))
        else:
            db.session.execute(db.text("SET enable_seqscan = off"))
            plan = " ".join(r[0] for r in db.session.execute(db.text("EXPLAIN " + sql)))
            db.session.rollback()
        db.session.remove()
    return plan


def test_hq_commands_starting_together_on_a_postgresql_database_that_needs_upgrading_all_start(pg_base):
    # `evac hq serve` restarted by its service manager while staff run `evac hq enroll-kiosk`: on
    # PostgreSQL each would run the same migrations; the later ones wait for the first (an advisory
    # lock) and find the database up to date and seeded, instead of failing on a column or a site the
    # first added.
    import subprocess

    from tests.conftest import ROOT, evac_cmd
    from tests.postgres import create_database, drop_database
    name = "evac_upgrade_race"
    url = create_database(pg_base, name)
    try:
        starts = [subprocess.Popen(evac_cmd("hq", "init", "--db", url), cwd=ROOT, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True) for _ in range(3)]
        results = [(p.wait(120), p.stderr.read()) for p in starts]
        for p in starts:
            p.stdout.close()
            p.stderr.close()
        assert [code for code, _ in results] == [0, 0, 0], results
    finally:
        drop_database(pg_base, name)


def test_only_hqs_start_upgrades_a_database_an_older_release_left(tmp_path):
    # The new release installed, HQ still running the older one: `evac hq enroll-kiosk` (or add-staff)
    # must not upgrade the schema under it (its map and syncs would fail or write the older forms).
    from flask_migrate import upgrade

    from hq_dashboard import MIGRATIONS_DIR, create_app
    from tests.conftest import run_evac
    path = tmp_path / "hq.sqlite3"
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}", "TESTING": True})
    with app.app_context():
        upgrade(directory=MIGRATIONS_DIR, revision="0022_kiosk_last_seq")
        db.engine.dispose()
    refused = run_evac("hq", "enroll-kiosk", "--db", str(path), "--shelter", "H001")
    assert refused.returncode == 2 and "Traceback" not in refused.stderr, refused.stderr
    assert "at 0022_kiosk_last_seq, from an older release" in refused.stderr
    assert "Stop every HQ still running the older release, then start this one (evac hq serve)" in refused.stderr
    with app.app_context():
        assert db.session.execute(db.text("SELECT version_num FROM alembic_version")).scalar() \
            == "0022_kiosk_last_seq"
        db.engine.dispose()
    assert run_evac("hq", "init", "--db", str(path)).returncode == 0      # HQ's own start upgrades it
    assert run_evac("hq", "enroll-kiosk", "--db", str(path), "--shelter", "H001").returncode == 0


def test_the_newest_migration_hqs_commands_check_for_is_alembics_head():
    """HQ's commands read the newest migration from the files' revision lines, without Alembic: it must be
    the one Alembic upgrades to."""
    from alembic.script import ScriptDirectory

    from hq_dashboard import MIGRATIONS_DIR, _head_revision
    assert _head_revision() == ScriptDirectory(MIGRATIONS_DIR).get_current_head()


def test_an_hq_command_on_an_up_to_date_database_loads_no_migration_machinery(hq_app, hq_db_url):
    """Importing Alembic cost every HQ command a sixth of its time; on an up-to-date database there is
    nothing for it to do.  (A real `evac hq` process; it reports whether Alembic was loaded.)"""
    import subprocess
    import sys

    from tests.conftest import ROOT
    ran = subprocess.run(
        [sys.executable, "-c", "import sys; from evac.cli import main; code = main(sys.argv[1:]); "
                               "print('alembic' in sys.modules); sys.exit(code)",
         "hq", "list-staff", "--db", hq_db_url], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.splitlines()[-1] == "False", ran.stderr


def test_0037_decides_each_shelters_open_or_closed_again_with_its_staffs_status_above_check_ins(hq_db_url):
    """0037: a shelter closed by its staff with a check-in after it (opened by it before) is closed; one with
    only check-ins is open; one reopened by its staff is open; one never spoken of keeps no order."""
    from flask_migrate import downgrade, upgrade

    from hq_dashboard import MIGRATIONS_DIR, create_app
    from evac.events import order_key
    app = create_app({"SQLALCHEMY_DATABASE_URI": hq_db_url, "TESTING": True})
    with app.app_context():
        upgrade(directory=MIGRATIONS_DIR, revision="0036_prereg_manage_hash")
        with db.engine.begin() as conn:
            for sid in ("X1", "X2", "X3", "X4"):
                conn.execute(db.text(
                    "INSERT INTO shelters (id, name, name_kana, kind, address, lat, lon, hazards, phone, source, opened,"
                    " opened_order, occupancy, at_home, in_car, full_order) VALUES (:id, 'x', '', 'shelter', '', 0, 0,"
                    " '', '', '', true, :order, 0, 0, 0, '')"), {"id": sid, "order": "" if sid == "X4" else "9"})
            status = '{"data": {"status": "%s"}}'
            for seq, (etype, sid, body) in enumerate((("checkin", "X1", "{}"), ("shelter_status", "X1", status % "closed"),
                                                      ("checkin", "X1", "{}"), ("checkin", "X2", "{}"),
                                                      ("shelter_status", "X3", status % "closed"),
                                                      ("shelter_status", "X3", status % "open")), start=1):
                conn.execute(db.text("INSERT INTO events (device_id, seq, hlc, type, shelter_id, body)"
                                     " VALUES ('dev-1', :s, :h, :t, :sid, :b)"),
                             {"s": seq, "h": 1000 + seq, "t": etype, "sid": sid, "b": body})
        upgrade(directory=MIGRATIONS_DIR, revision="0037_closed_stays_closed")
        with db.engine.connect() as conn:
            after = {sid: (bool(opened), order) for sid, opened, order in conn.execute(
                db.text("SELECT id, opened, opened_order FROM shelters WHERE id LIKE 'X%'"))}
        downgrade(directory=MIGRATIONS_DIR, revision="0036_prereg_manage_hash")
        db.engine.dispose()
    assert after == {"X1": (False, "s" + order_key(1002, "dev-1", 2)), "X2": (True, "c" + order_key(1004, "dev-1", 4)),
                     "X3": (True, "s" + order_key(1006, "dev-1", 6)), "X4": (True, "")}
