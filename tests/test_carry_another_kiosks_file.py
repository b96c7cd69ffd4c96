"""`evac kiosk carry --out FILE` never replaces another kiosk's carried records without --force: two
shelters' leads saving records.json to one USB stick would otherwise lose the first shelter's on the way
to HQ.  The same kiosk's older file is replaced as before."""
from __future__ import annotations

import json

from kiosk.store import KioskStore
from tests.test_cli_errors import refused
from tests.test_sync_http import checkin
from tests.conftest import run_evac


def _device(db) -> str:
    store = KioskStore(str(db))
    try:
        return store.device_id
    finally:
        store.close()


def test_another_kiosks_file_on_the_stick_is_not_replaced(tmp_path):
    first, second = tmp_path / "h031.sqlite3", tmp_path / "h039.sqlite3"
    checkin(first, "焼津 一郎", shelter="H031")
    checkin(second, "大井川 花子", shelter="H039")
    stick = tmp_path / "usb" / "records.json"
    stick.parent.mkdir()
    assert run_evac("kiosk", "carry", "--db", str(first), "--out", str(stick)).returncode == 0
    firsts = stick.read_bytes()

    other = stick.with_name(f"records-{_device(second).removeprefix('kiosk-')[:8]}.json")
    said = refused(run_evac("kiosk", "carry", "--db", str(second), "--out", str(stick)),
                   f"{stick} holds another kiosk's records (kiosk database {_device(first)}, checked in at H031",
                   f"--out {other}", "--force")
    assert "Traceback" not in said and stick.read_bytes() == firsts, "the first shelter's records are still there"

    done = run_evac("kiosk", "carry", "--db", str(second), "--out", str(other))
    assert done.returncode == 0, done.stderr
    assert json.loads(other.read_bytes())["device_id"] == _device(second)

    checkin(first, "焼津 二郎", shelter="H031")   # the same kiosk's older file is replaced, as before
    again = run_evac("kiosk", "carry", "--db", str(first), "--out", str(stick))
    assert again.returncode == 0, again.stderr
    assert len(json.loads(stick.read_bytes())["events"]) == len(json.loads(firsts)["events"]) + 1

    forced = run_evac("kiosk", "carry", "--db", str(second), "--out", str(stick), "--force")
    assert forced.returncode == 0, forced.stderr
    assert json.loads(stick.read_bytes())["device_id"] == _device(second)
