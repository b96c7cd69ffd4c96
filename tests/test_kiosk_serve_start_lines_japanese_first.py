"""`evac kiosk serve` says where it listens, and where staff tablets reach it, Japanese first (the shelter's staff
start it and read its terminal; these two lines were in English only).  A real kiosk process."""
from __future__ import annotations

from tests.conftest import Server, evac_cmd, free_port


def test_the_kiosk_says_where_it_listens_and_where_tablets_reach_it_japanese_first(tmp_path):
    port, tablets = free_port(), free_port()
    kiosk = Server(evac_cmd("kiosk", "serve", "--db", str(tmp_path / "k.sqlite3"), "--shelter", "H001", "--port",
                            str(port), "--tablet-port", str(tablets)),
                   f"http://127.0.0.1:{port}", tmp_path / "kiosk.log", "/api/status")
    kiosk.stop()
    lines = kiosk.log_path.read_text().splitlines()
    start = next(line for line in lines if f"kiosk for H001 on http://127.0.0.1:{port}" in line)
    assert start == f"H001 の受付機を http://127.0.0.1:{port} で開きました / kiosk for H001 on http://127.0.0.1:{port}"
    reach = next(line for line in lines if "staff tablets: " in line)
    ja, slash, en = reach.partition(" / ")
    assert slash and ja.startswith("スタッフのタブレットからは https://") and f":{tablets}/staff/" in ja, reach
    assert en.startswith("staff tablets: https://") and f":{tablets}/staff/" in en, reach
