"""Two `evac hq add-display` at the same moment with the same name: the one that loses says so as the other
refusals of the command do, Japanese first, then English, with what to do, and adds nothing.  The other
command is a real `evac` process, run just before this one writes (after it checked that the name was free)."""
from __future__ import annotations

import pytest
from sqlalchemy import event

from hq_dashboard import wall_display
from hq_dashboard.db import db
from hq_dashboard.models import AuditEntry, WallDisplay
from tests.conftest import run_evac


def test_a_display_made_meanwhile_under_the_same_name_is_refused_in_japanese_then_english(hq_app, hq_db_url):
    ran = []

    def the_other_command(session, flush_context, instances):
        if not ran:   # once: between this command's check of the name and its write
            ran.append(run_evac("hq", "add-display", "--db", hq_db_url, "--name", "hq-wall"))

    with hq_app.app_context():
        event.listen(db.session, "before_flush", the_other_command)
        try:
            with pytest.raises(ValueError) as refused:
                wall_display.add_display(db.session, "hq-wall", by="tanaka")
        finally:
            event.remove(db.session, "before_flush", the_other_command)
        assert ran and ran[0].returncode == 0, ran and ran[0].stderr
        words = str(refused.value)
        japanese, sep, english = words.partition(" / ")
        assert sep, words
        assert japanese.startswith("「hq-wall」という表示はすでにあります"), words
        assert "別の名前にするか" in japanese and "evac hq list-displays" in japanese, words
        assert english.startswith("there is already a display called 'hq-wall'"), words
        assert "choose another name" in english and "evac hq revoke-display" in english, words
        # The other command's display only; this one's audit entry went with its transaction.
        assert [d.created_by for d in db.session.query(WallDisplay)] != ["tanaka"]
        assert db.session.query(WallDisplay).count() == 1
        assert all(e.actor != "tanaka" for e in db.session.query(AuditEntry))
        db.session.remove()
