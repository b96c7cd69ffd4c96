"""災対法 §86-15: HQ's word to a kiosk on someone it checked in who was since seen elsewhere is "left", not
"moved", for everyone the inquiries' rule protects (hq_dashboard.safety.protected_among) when the kiosk is
told: protected only through another record of her name form and birth date (the address she fled to), and
protected by a batch that came after the word was written.  The merge's own cheap rule reaches neither.
Real kiosks syncing real batches into a real HQ over HTTP (SQLite and PostgreSQL)."""
from __future__ import annotations

from sqlalchemy import select

from tests.test_hq_left_elsewhere_rules import NEVER_DISCLOSE
from tests.test_kiosk_moved_on import HANAKO, JIRO, Site, sites  # noqa: F401  (sites: fixture)
from tests.test_sync_hq_answers import serve  # noqa: F401  (fixture: HQ over real HTTP in a thread)

FLED_TO = "焼津市避難町9-9"
HER_WHERE_SHE_FLED = {**HANAKO, "address": FLED_TO}             # another identity at HQ: her name form, birth date
HER_IN_KANA_WHERE_SHE_FLED = {"name": HANAKO["name_kana"], "birth_date": HANAKO["birth_date"], "sex": "female",
                              "address": FLED_TO}                # only her reading


def third_site(sites, enroll, tmp_path) -> Site:
    class HQ:
        url = sites[0].link.base
    return Site(tmp_path, HQ, enroll("H003"), "H003")


def protected_where_she_fled(b, who=HER_WHERE_SHE_FLED):
    """Shelter B's staff record her, under the address she fled to, as never to be disclosed."""
    b.check_in(who)
    b.store.set_consent("H002", who["name"], who["birth_date"], who["address"], NEVER_DISCLOSE)
    b.sync()


def hqs_log(hq_app, site) -> list[str]:
    """The kinds of HQ's words written for this kiosk, in order (what the merge wrote, before any telling)."""
    from hq_dashboard.db import db
    from hq_dashboard.models import LeftElsewhere
    with hq_app.app_context():
        kinds = list(db.session.scalars(select(LeftElsewhere.kind)
                                        .where(LeftElsewhere.device_id == site.store.device_id)
                                        .order_by(LeftElsewhere.id)))
        db.session.remove()
    return kinds


def test_protected_only_through_her_name_form_elsewhere_the_kiosk_she_left_is_told_left(sites, enroll, tmp_path,
                                                                                        hq_app):
    a, b = sites
    c = third_site(sites, enroll, tmp_path)
    a.check_in(HANAKO)
    a.sync()
    protected_where_she_fled(b)
    c.check_in(HANAKO)
    c.sync()
    assert hqs_log(hq_app, a) == ["moved"]       # the merge's rule sees no protection of this record
    a.sync()
    assert a.left() == {"大石 花子": "left"} and a.here() == [] and a.headcount() == 0


def test_protected_by_a_batch_after_the_word_was_written_the_kiosk_is_told_left(sites, enroll, tmp_path, hq_app):
    """She moved on while A was offline; then B's batch protects her (only in kana, at another address):
    the word "moved" A had not read yet is told as "left"."""
    a, b = sites
    c = third_site(sites, enroll, tmp_path)
    a.check_in(HANAKO)
    a.sync()
    c.check_in(HANAKO)
    c.sync()
    protected_where_she_fled(b, HER_IN_KANA_WHERE_SHE_FLED)
    assert hqs_log(hq_app, a) == ["moved"]
    a.sync()
    assert a.left() == {"大石 花子": "left"} and a.here() == [] and a.headcount() == 0


def test_someone_unprotected_moving_on_in_the_same_answer_is_still_told_moved(sites, enroll, tmp_path):
    a, b = sites
    c = third_site(sites, enroll, tmp_path)
    a.check_in(HANAKO)
    a.check_in(JIRO)
    a.sync()
    protected_where_she_fled(b)
    c.check_in(JIRO)
    c.check_in(HANAKO)
    c.sync()
    a.sync()
    assert a.left() == {"大石 花子": "left", "大石 次郎": "moved"} and a.here() == [] and a.headcount() == 0


def test_a_kiosk_that_took_a_word_told_as_left_is_not_made_to_start_again(sites, enroll, tmp_path, hq_client):
    """The kiosk says back the last word it took, "left", where HQ's log holds "moved": HQ was not restored
    from a backup, and it goes on from its cursor."""
    a, b = sites
    c = third_site(sites, enroll, tmp_path)
    a.check_in(HANAKO)
    a.sync()
    protected_where_she_fled(b)
    c.check_in(HANAKO)
    c.sync()
    a.sync()
    last = a.store.left_elsewhere_last()
    assert last is not None and last["kind"] == "left" and a.store.left_elsewhere_after() > 0
    answer = hq_client.post("/api/v1/sync", headers={"Authorization": f"Bearer {a.link.token}"},
                            json={"device_id": a.store.device_id, "events": [],
                                  "left_elsewhere_after": a.store.left_elsewhere_after(), "left_elsewhere_last": last})
    assert answer.status_code == 200
    words = answer.get_json()["left_elsewhere"]
    assert "from_start" not in words and words["people"] == [] and words["after"] == a.store.left_elsewhere_after()
    a.sync()
    assert a.left() == {"大石 花子": "left"} and a.store.left_elsewhere_last() == last
