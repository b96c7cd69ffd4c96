"""Every number HQ's pages read is checked when HQ starts: text or a number out of range is refused then,
in words naming the setting, not taken and turned into a 500 on every dashboard, map or shelters answer."""
from __future__ import annotations

import os
import subprocess

import pytest

from tests.conftest import ROOT, evac_cmd, free_port

WRONG = {
    "KIOSK_SILENT_ALERT_S": ("abc", -5, 0, 1.5, "", None, float("nan"), True, 8 * 24 * 3600),
    "MAP_REFRESH_SECONDS": ("abc", -5, 0, None, float("nan"), True, 86_400),
    "HAZARD_MIN_DEPTH_M": ("deep", -0.5, None, float("nan"), float("inf"), True, 25),
    "CARRIED_WAIT_SECONDS": ("long", -5, 0, None, float("nan"), True, 86_400),
    "STAFF_IDLE_MINUTES": (1e20, 24 * 60 + 1),
    "STAFF_SESSION_HOURS": (1e20, 7 * 24 + 1),
}


@pytest.mark.parametrize("name, value", [(name, value) for name, values in WRONG.items() for value in values])
def test_a_wrong_number_stops_hq_starting_and_names_the_setting(hq_db_url, name, value):
    from hq_dashboard import SettingError, create_app
    with pytest.raises(SettingError, match=f"EVAC_{name}"):
        create_app({"SQLALCHEMY_DATABASE_URI": hq_db_url, "TESTING": True, name: value})


@pytest.mark.parametrize("name, value, kept", [
    ("KIOSK_SILENT_ALERT_S", "900", 900), ("KIOSK_SILENT_ALERT_S", 600.0, 600),
    ("MAP_REFRESH_SECONDS", 0.5, 0.5), ("MAP_REFRESH_SECONDS", "10", 10),
    ("HAZARD_MIN_DEPTH_M", 0, 0.0), ("HAZARD_MIN_DEPTH_M", "1.0", 1.0),
    ("CARRIED_WAIT_SECONDS", 30, 30.0),
    ("STAFF_IDLE_MINUTES", 0.02, 0.02), ("STAFF_SESSION_HOURS", 12, 12),
])
def test_a_good_number_is_taken(hq_db_url, name, value, kept):
    from hq_dashboard import create_app
    app = create_app({"SQLALCHEMY_DATABASE_URI": hq_db_url, "TESTING": True, name: value})
    assert app.config[name] == kept


def test_the_map_dashboard_and_shelters_answer_with_the_defaults(hq_app):
    client = hq_app.test_client()
    for path in ("/map", "/api/v1/shelters"):
        assert client.get(path).status_code == 200, path


@pytest.mark.parametrize("name, value", [("EVAC_KIOSK_SILENT_ALERT_S", "abc"), ("EVAC_KIOSK_SILENT_ALERT_S", "-5"),
                                         ("EVAC_MAP_REFRESH_SECONDS", "abc")])
def test_evac_hq_serve_refuses_to_start_and_says_which_setting(tmp_path, name, value):
    env = {**os.environ, name: value}
    started = subprocess.run(evac_cmd("hq", "serve", "--db", f"sqlite:///{tmp_path / 'hq.sqlite3'}",
                                      "--port", str(free_port())),
                             capture_output=True, text=True, cwd=ROOT, env=env, timeout=120, check=False)
    assert started.returncode != 0
    assert name in started.stderr and "Traceback" not in started.stderr, started.stderr
