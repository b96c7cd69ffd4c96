"""HQ reads the staff corrections of each kiosk's stream once per database, whether protection is decided on the
app's session (inquiries) or on a sync request's own connection (left_elsewhere's words, at every sync that tells
one): keyed on that connection, the cache missed at every such sync and read every kiosk's corrections again from
its first record (found in review).  A real HQ app and database; the real reader, counted."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from hq_dashboard import safety
from hq_dashboard.db import db
from hq_dashboard.models import Kiosk, Person, Shelter


def test_corrections_are_read_once_per_database_from_any_session(hq_app, monkeypatch):
    reads: list = []
    real = safety.corrections_among
    monkeypatch.setattr(safety, "corrections_among", lambda streams: reads.append(streams) or real(streams))
    with hq_app.app_context():
        shelter = db.session.execute(select(Shelter.id).limit(1)).scalar()
        db.session.add(Kiosk(id="KC1", device_id="dev-cache", high_seq=10, token_hash="h" * 64, shelter_id=shelter,
                             enrolled_at=dt.datetime.now(dt.timezone.utc)))
        db.session.commit()
        sought = [Person(id=1, name="山田 花子", name_kana="", birth_date="1990-01-01", never_disclose=False)]
        for _ in range(3):   # three syncs, each deciding on its own connection as left_elsewhere.since does
            with db.engine.connect() as conn:
                conn.execute(select(1))
                session = Session(bind=conn, join_transaction_mode="rollback_only", autoflush=False)
                safety.protected_among(session, sought)
                session.close()
        safety.correction_links(db.session)   # and an inquiry, on the app's session
        db.session.rollback()
    assert reads == [[("dev-cache", 0, 10)]]
