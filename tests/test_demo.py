"""`evac demo` (what `make demo` runs): HQ, three kiosks and simulated evacuees; occupancy moves."""
from __future__ import annotations

import contextlib
import json
import os
import random
import re
import signal
import socket
import sqlite3
import subprocess
import time
import urllib.request

from werkzeug.security import check_password_hash

from tests.conftest import ROOT, evac_cmd, free_port, wait_http


def totals(url: str) -> tuple[int, dict]:
    with urllib.request.urlopen(f"{url}/api/v1/shelters", timeout=10) as resp:
        features = json.loads(resp.read())["features"]
    occupied = {f["properties"]["id"]: f["properties"]["occupancy"] for f in features if f["properties"]["occupancy"]}
    return len(features), occupied


def proc_output(proc) -> str:
    proc.terminate()
    return proc.communicate(timeout=30)[0]


def demo_ports() -> int:
    """HQ's port with the next three free, below the kernel's ephemeral range (32768 up), where the ports
    the other tests' servers are given (free_port) and their connections' own ports come from: a kiosk's
    port taken between the demo's check and its start stopped the demo, and with it HQ."""
    rng = random.Random()
    for _ in range(200):
        base = rng.randrange(20000, 32000)
        try:
            with contextlib.ExitStack() as held:
                for p in range(base, base + 4):
                    s = held.enter_context(socket.socket())
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    s.bind(("127.0.0.1", p))
            return base
        except OSError:
            continue
    raise AssertionError("no four free ports in a row between 20000 and 32000")


def test_demo_shows_occupancy_changing_at_hq(tmp_path):
    from evac.demo import wait_http as wait_for
    port = demo_ports()
    proc = subprocess.Popen(evac_cmd("demo", "--port", str(port), "--var", str(tmp_path / "demo"),
                                     "--interval", "0.2", "--duration", "90", "--seed", "1"),
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        url = f"http://127.0.0.1:{port}"
        try:
            wait_for(f"{url}/api/v1/shelters", 200, proc)   # said at once if the demo stopped
        except TimeoutError as exc:
            raise AssertionError(f"{exc}:\n{proc_output(proc)}") from None
        seen = []
        deadline = time.monotonic() + 300   # a wait, not a goal: generous for a machine shared with other work
        while time.monotonic() < deadline and len({json.dumps(s, sort_keys=True) for s in seen}) < 3:
            # The demo still starting its kiosks, or gone: say which, with what it printed.
            assert proc.poll() is None, f"the demo stopped (exit {proc.returncode}):\n{proc_output(proc)}"
            try:
                count, occupied = totals(url)
            except OSError:
                time.sleep(0.5)
                continue
            assert count == 212
            if occupied:
                seen.append(occupied)
            time.sleep(0.5)
        distinct = {json.dumps(s, sort_keys=True) for s in seen}
        assert len(distinct) >= 3, f"occupancy did not move: {seen}\n{proc_output(proc)}"
        assert set().union(*seen) <= {"H031", "H039", "H052"}
        # The kiosks sync (occupancy moved) with their tokens in the environment, not where ps shows them.
        kiosks = subprocess.run(["pgrep", "-af", "--", f"--hq http://127.0.0.1:{port}"], capture_output=True,
                                text=True).stdout.splitlines()
        assert len(kiosks) == 3 and not [k for k in kiosks if "--token" in k], kiosks
        # HQ killed: the demo says so and starts it again (before, it went on printing arrivals for no one).
        hq = subprocess.run(["pgrep", "-f", "--", f"hq serve --db sqlite:///{tmp_path / 'demo'}"],
                            capture_output=True, text=True).stdout.split()
        assert len(hq) == 1, hq
        os.kill(int(hq[0]), signal.SIGKILL)
        deadline = time.monotonic() + 60   # only to end a failing run
        while time.monotonic() < deadline:
            again = subprocess.run(["pgrep", "-f", "--", f"hq serve --db sqlite:///{tmp_path / 'demo'}"],
                                   capture_output=True, text=True).stdout.split()
            if again and again != hq:
                break
            time.sleep(0.5)
        wait_http(f"{url}/api/v1/shelters", 200)
        assert totals(url)[0] == 212
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    assert "simulated evacuees arriving" in out
    assert "(HQ stopped (exit -9); starting it again" in out
    # One log-in for the staff pages, printed, with the tablets' addresses: a demo whose dashboard no one
    # could open showed only half of the system.
    password = re.search(r"staff log-in \(HQ and every tablet, as shelter lead\): demo / (\S+)", out).group(1)
    assert f"staff tablet: http://127.0.0.1:{port + 1}/staff/" in out
    with sqlite3.connect(tmp_path / "demo" / "hq.sqlite3") as conn:
        role, hashed = conn.execute("SELECT role, password_hash FROM staff_users WHERE username = 'demo'").fetchone()
    # A lead: the demo shows the review queue and the audit log (add-staff's own default is desk).
    assert role == "lead" and check_password_hash(hashed, password)
    for shelter in ("H031", "H039", "H052"):
        with sqlite3.connect(tmp_path / "demo" / f"kiosk-{shelter}.sqlite3") as conn:
            role, hashed = conn.execute("SELECT role, password_hash FROM staff_accounts WHERE name = 'demo'").fetchone()
        assert role == "lead" and check_password_hash(hashed, password)
    for pattern in (f"--port {port}", f"127.0.0.1:{port}"):  # HQ, and kiosks pointing at it
        leftovers = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True).stdout
        assert leftovers == "", "the demo left HQ or kiosk processes running"


def test_a_demo_whose_ports_are_taken_says_so_and_leaves_the_running_demo_alone(tmp_path):
    # A second `make demo` beside a running one emptied the first one's folder, then died with a traceback.
    running = tmp_path / "demo"
    running.mkdir()
    (running / ".evac-demo").write_text("made by `evac demo`\n")
    (running / "hq.sqlite3").write_text("the running demo's database")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        second = subprocess.run(evac_cmd("demo", "--port", str(port - 1), "--var", str(running), "--duration", "1"),
                                cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert second.returncode == 2, second.stderr
    assert f"port {port} is in use" in second.stderr and "DEMO_ARGS='--port" in second.stderr
    assert "Traceback" not in second.stderr
    assert (running / "hq.sqlite3").read_text() == "the running demo's database"


def test_a_port_a_stopped_demo_leaves_in_time_wait_is_free_for_the_next():
    """`make demo` again just after one stopped: the old connections' TIME_WAIT does not hold the port (the
    servers bind with SO_REUSEADDR); before, the demo said the port was in use by another program."""
    from evac.demo import _ports_free
    port = free_port()
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen()
        client = socket.create_connection(("127.0.0.1", port))
        served, _ = listener.accept()
        served.close()          # the server closes first: its side of the port waits in TIME_WAIT
        client.recv(1)
        client.close()
    with socket.socket() as plain:   # what the old check did
        try:
            plain.bind(("127.0.0.1", port))
            held = False
        except OSError:
            held = True
    _ports_free(port, 1)   # raises CommandError when the port is taken
    assert held, "the port was not in TIME_WAIT: the test proves nothing"
