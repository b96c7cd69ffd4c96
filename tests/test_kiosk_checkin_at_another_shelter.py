"""`evac kiosk checkin --shelter` names the shelter the person is counted at.  A paper form is typed in at its
shelter's kiosk, so a --shelter the kiosk was neither enrolled at nor has checked anyone in at is a slip (H032
for H031) far more often than a form carried from elsewhere: it would count the person there and open that
shelter on HQ's public map.  It is refused, nothing saved, unless the operator says --even-if-elsewhere.  The
real `evac` command on real SQLite files, and a real HQ for the enrollment."""
from __future__ import annotations

import sqlite3

from tests.conftest import run_evac
from tests.test_kiosk_cli_refusals_leave_no_file import FORM


def checkin(db, *flags: str, **changes: str):
    form = {**FORM, **changes}
    return run_evac("kiosk", "checkin", "--db", str(db), *[x for kv in form.items() for x in kv], *flags)


def checkins(db) -> list[tuple[str, str]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT json_extract(body, '$.shelter_id'), json_extract(body, '$.person.name') "
                            "FROM events WHERE json_extract(body, '$.type') = 'checkin' ORDER BY seq").fetchall()


def test_a_new_kiosk_takes_any_shelter_then_refuses_another_unless_told(tmp_path):
    db = tmp_path / "kiosk.sqlite3"
    assert checkin(db, **{"--shelter": "H032"}).returncode == 0
    refused = checkin(db, **{"--shelter": "H031", "--name": "焼津 次郎"})
    assert refused.returncode == 2 and "Traceback" not in refused.stderr, refused.stderr
    ja = ("避難所 H031 はこの受付機の避難所ではありません（この受付機のチェックインは H032）。--shelter を確かめてください。"
          "何も保存していません")
    en = "shelter H031 is not this kiosk's (it has checked people in at H032): check --shelter; nothing was saved"
    said = refused.stderr
    assert ja in said and en in said and said.index(ja) < said.index(en), said
    assert "--even-if-elsewhere" in said, said
    assert checkins(db) == [("H032", "焼津 花子")]

    carried = checkin(db, "--even-if-elsewhere", **{"--shelter": "H031", "--name": "焼津 次郎"})
    assert carried.returncode == 0, carried.stderr
    # Once someone is checked in at H031 here, H031 is one of this kiosk's shelters.
    again = checkin(db, **{"--shelter": "H031", "--name": "焼津 三郎"})
    assert again.returncode == 0, again.stderr
    assert checkins(db) == [("H032", "焼津 花子"), ("H031", "焼津 次郎"), ("H031", "焼津 三郎")]


def test_the_shelter_hq_enrolled_the_kiosk_at_is_its_own(hq_server, tmp_path):
    hq = hq_server()
    token = run_evac("hq", "enroll-kiosk", "--db", hq.db_url, "--shelter", "H033").stdout.strip()
    db = tmp_path / "kiosk.sqlite3"
    assert checkin(db, **{"--shelter": "H031"}).returncode == 0   # typed in before its first sync
    synced = run_evac("kiosk", "sync", "--db", str(db), "--hq", hq.url, "--token", token)
    assert synced.returncode == 0, synced.stderr

    assert checkin(db, **{"--shelter": "H033", "--name": "焼津 次郎"}).returncode == 0
    refused = checkin(db, **{"--shelter": "H032", "--name": "焼津 三郎"})
    assert refused.returncode == 2, refused.stderr
    assert ("避難所 H032 はこの受付機の避難所ではありません（本部の登録は H033、この受付機のチェックインは H031・H033）"
            in refused.stderr), refused.stderr
    assert ("shelter H032 is not this kiosk's (HQ enrolled it at H033; it has checked people in at H031, H033)"
            in refused.stderr), refused.stderr
    assert checkins(db) == [("H031", "焼津 花子"), ("H033", "焼津 次郎")]
