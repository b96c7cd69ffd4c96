"""HQ databases as older releases left them: migrated only to an old revision, with a kiosk enrolled
and a person it checked in, written with the SQL of that revision's schema (today's models would not fit)."""
from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

from evac.events import canonical_json, parse_event
from evac.identity import person_key
from tests.wire import KioskStream, person

TOKEN = "K0LD0001.an-old-kiosks-secret-token-0123456789"
DEVICE = "kiosk-old"
TARO = person("焼津 太郎")


def old_kiosk_stream() -> KioskStream:
    """The old kiosk's events: its first, the check-in HQ already holds, then whatever a test adds."""
    stream = KioskStream(DEVICE, "H001")
    stream.checkin(TARO)
    return stream


def old_hq_database(path: Path, revision: str) -> str:
    """An HQ SQLite file at `revision` (0002_prereg or later) holding shelter H001, the kiosk of TOKEN
    and TARO checked in there by it, as that release's merge wrote them.  Returns its URL."""
    from flask_migrate import upgrade

    from hq_dashboard import MIGRATIONS_DIR, create_app
    from hq_dashboard.db import db
    url = f"sqlite:///{path}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "SECRET_KEY": "only-for-migrating"})
    event = old_kiosk_stream().events[0]
    body = canonical_json(parse_event(event).to_wire())
    order = f"{event['hlc']:020d}|{DEVICE}|{1:012d}"   # the separator of the orders before 0016
    with app.app_context():
        upgrade(directory=MIGRATIONS_DIR, revision=revision)
        with db.engine.begin() as conn:
            conn.execute(db.text(
                "INSERT INTO shelters (id, name, name_kana, kind, address, lat, lon, hazards, phone, source, opened,"
                " opened_order, occupancy, at_home, in_car) VALUES ('H001', '二区コミュニティ防災センター', '',"
                " 'shelter', '', 34.86, 138.32, '', '', '', 1, :o, 1, 0, 0)"), {"o": order})
            conn.execute(db.text(
                "INSERT INTO kiosks (id, shelter_id, token_hash, device_id, high_seq, last_event_hlc, enrolled_at)"
                " VALUES ('K0LD0001', 'H001', :hash, :device, 1, :hlc, :at)"),
                {"hash": hashlib.sha256(TOKEN.encode()).hexdigest(), "device": DEVICE, "hlc": event["hlc"],
                 "at": dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)})
            conn.execute(db.text(
                "INSERT INTO persons (id, name, name_kana, birth_date, sex, address, household_id, info_order,"
                " state, shelter_id, stay_type, loc_order, needs, needs_order, status, status_note, status_order)"
                " VALUES (1, :name, '', :birth, 'male', :address, '', :o, 'checked_in', 'H001', 'in_shelter', :o,"
                " '', '', '', '', '')"),
                {"name": TARO["name"], "birth": TARO["birth_date"], "address": TARO["address"], "o": order})
            conn.execute(db.text("INSERT INTO person_keys (key, person_id) VALUES (:key, 1)"),
                         {"key": person_key(TARO["name"], TARO["birth_date"], TARO["address"])})
            conn.execute(db.text("INSERT INTO events (device_id, seq, hlc, type, shelter_id, person_id, body)"
                                 " VALUES (:device, 1, :hlc, 'checkin', 'H001', 1, :body)"),
                         {"device": DEVICE, "hlc": event["hlc"], "body": body})
        db.engine.dispose()
    return url
