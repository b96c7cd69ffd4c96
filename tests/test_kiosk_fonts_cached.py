"""The kiosk's fonts (static/vendor/fonts: Noto Sans JP and SC, split by unicode-range into hundreds of
files) are kept by the tablets' browsers for a day: each staff page asked the kiosk again about every
subset it used, dozens of requests a page over a congested shelter Wi-Fi.  Its own scripts and styles are
still asked about each time, so a kiosk updated in place never runs old scripts against a new server.
Real kiosk app; its real static files."""
from __future__ import annotations

from tests.staff_helpers import make_app

DAY = 24 * 3600


def test_fonts_are_kept_a_day_and_the_kiosks_own_scripts_are_asked_about_each_time(tmp_path):
    client = make_app(tmp_path / "k.sqlite3").test_client()
    for path in ("/static/vendor/fonts/noto-sans-jp.css", "/static/vendor/fonts/noto-sans-sc-115-400-normal.woff2"):
        answer = client.get(path)
        assert answer.status_code == 200 and f"max-age={DAY}" in answer.headers["Cache-Control"], path
        assert "public" in answer.headers["Cache-Control"]
        answer.close()
    for path in ("/static/kiosk.js", "/static/kiosk.css", "/static/vendor/jsQR.js"):
        answer = client.get(path)
        assert answer.status_code == 200 and "no-cache" in answer.headers["Cache-Control"], path
        assert "max-age" not in answer.headers["Cache-Control"].replace("max-age=0", ""), path
        answer.close()
