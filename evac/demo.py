"""`evac demo`: HQ on SQLite with Yaizu's shelters, three kiosks at real shelters, simulated evacuees.

It only starts processes and talks HTTP; everything it shows runs through the
real HQ and kiosk apps.
"""
from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

# Written into the demo's folder: only a folder holding it (or an empty one) is wiped at the next start.
MARKER = ".evac-demo"

# Three large 指定避難所 in different parts of the city: 焼津中学校, 大井川中学校, 焼津文化会館.
DEMO_SHELTERS = ("H031", "H039", "H052")

# How long HQ or a kiosk may take to answer after it starts. A process that stops is said at once, so this
# only bounds one that hangs: generous, because a first start on a slow or busy machine (imports, seeding
# 212 sites) took over a minute and the demo gave up on a process that was about to answer.
START_SECONDS = 180


def wait_http(url: str, seconds: float = 30, proc: subprocess.Popen | None = None) -> None:
    """Wait until a URL answers; raises TimeoutError naming it, at once if `proc` (what should answer) stopped."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            if proc is not None and proc.poll() is not None:
                raise TimeoutError(f"the process that should answer at {url} stopped (exit {proc.returncode})") \
                    from None
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not come up within {seconds:.0f} s") from None
            time.sleep(0.1)


def _ports_free(first: int, count: int) -> None:
    """Refuse before anything is touched when a port is taken: a second demo emptied the first one's
    folder, then failed with a traceback, leaving the first running on nothing."""
    from .cli import CommandError
    for port in range(first, first + count):
        with socket.socket() as s:
            # As the servers bind: connections of a demo just stopped (TIME_WAIT) do not hold the port.
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                raise CommandError(f"port {port} is in use (another demo, or another program); stop it, or start "
                                   f"the demo on other ports: `make demo DEMO_ARGS='--port {first + 100}'` "
                                   f"(HQ takes the port, its kiosks the next {count - 1})") from None


def _evac(*args: str) -> list[str]:
    return [sys.executable, "-m", "evac.cli", *args]


def run(args: argparse.Namespace) -> int:
    # SIGTERM must run the clean-up below too, or HQ and the kiosks outlive the demo.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.port + len(DEMO_SHELTERS) > 65535:
        from .cli import CommandError
        raise CommandError(f"--port {args.port} leaves no room for the kiosks' {len(DEMO_SHELTERS)} ports above it; "
                           f"give at most {65535 - len(DEMO_SHELTERS)}")
    var = Path(args.var).resolve()
    _refuse_a_folder_not_its_own(var)   # (first: whatever holds the ports, that answer stands)
    _ports_free(args.port, 1 + len(DEMO_SHELTERS))
    _fresh_folder(var)
    procs: list[subprocess.Popen] = []
    with open(var / "processes.log", "w") as logs:
        try:
            return _run(args, var, procs, logs)
        except TimeoutError as exc:
            print(f"evac demo: {exc}; see {var / 'processes.log'}", file=sys.stderr)
            return 1
        finally:
            for p in reversed(procs):
                p.terminate()
            for p in procs:
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()


def _earlier_demo(var: Path) -> bool:
    """A folder from a demo older than the marker: its log and nothing but the demo's own files."""
    names = {"processes.log", "hq.sqlite3", "hq.sqlite3.secret-key", *(f"kiosk-{s}.sqlite3" for s in DEMO_SHELTERS)}
    own = {n + suffix for n in names for suffix in ("", "-wal", "-shm")}
    found = {p.name for p in var.iterdir()}
    return "processes.log" in found and found <= own


def _refuse_a_folder_not_its_own(var: Path) -> None:
    """--var could name a real HQ's folder, or a file: refused, touching nothing."""
    from .cli import CommandError
    if var.exists() and not var.is_dir():
        raise CommandError(f"--var {var} is a file, not a folder; give the demo a new or empty folder")
    if var.is_dir() and any(var.iterdir()) and not (var / MARKER).is_file() and not _earlier_demo(var):
        raise CommandError(f"--var {var} holds files the demo did not make, and the demo empties its "
                           "folder at start; give it a new or empty folder")


def _fresh_folder(var: Path) -> None:
    """Empty the demo's folder, but never one the demo did not make: --var could name a real HQ's."""
    _refuse_a_folder_not_its_own(var)
    if var.is_dir() and any(var.iterdir()):
        shutil.rmtree(var)
    var.mkdir(parents=True, exist_ok=True)
    (var / MARKER).write_text("made by `evac demo`: emptied at the demo's next start\n")


def _run(args: argparse.Namespace, var: Path, procs: list[subprocess.Popen], logs) -> int:
    from kiosk.simulator import DemoKiosk, Simulator

    hq_db = f"sqlite:///{var / 'hq.sqlite3'}"
    hq_url = f"http://127.0.0.1:{args.port}"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    started: list[tuple[str, list[str], dict]] = []   # what each of procs is, to start it again

    def start(name: str, command: list[str], environment: dict) -> subprocess.Popen:
        started.append((name, command, environment))
        procs.append(subprocess.Popen(command, stdout=logs, stderr=logs, env=environment))
        return procs[-1]

    start("HQ", _evac("hq", "serve", "--db", hq_db, "--port", str(args.port)), env)
    wait_http(f"{hq_url}/api/v1/shelters", START_SECONDS, procs[-1])
    kiosks = []
    for i, shelter in enumerate(DEMO_SHELTERS):
        token = subprocess.run(_evac("hq", "enroll-kiosk", "--db", hq_db, "--shelter", shelter),
                               check=True, capture_output=True, text=True, env=env).stdout.strip()
        port = args.port + 1 + i
        start(f"kiosk {shelter}",   # the token in the environment, not on the command line (ps shows that)
              _evac("kiosk", "serve", "--db", str(var / f"kiosk-{shelter}.sqlite3"), "--shelter", shelter,
                    "--hq", hq_url, "--port", str(port)), {**env, "EVAC_KIOSK_TOKEN": token})
        kiosks.append(DemoKiosk(f"http://127.0.0.1:{port}", shelter))
    for k, proc in zip(kiosks, procs[1:]):
        wait_http(f"{k.url}/api/status", START_SECONDS, proc)
    # One log-in for the demo's staff pages (HQ's dashboard, review queue and audit log as a lead, each
    # kiosk's tablet as its lead), made afresh each start: the demo's folder is emptied then.
    password = secrets.token_urlsafe(12)
    subprocess.run(_evac("hq", "add-staff", "--db", hq_db, "--username", "demo", "--role", "lead"),
                   input=password + "\n",
                   check=True, capture_output=True, text=True, env=env)
    for k in kiosks:
        subprocess.run(_evac("kiosk", "add-staff", "--db", str(var / f"kiosk-{k.shelter_id}.sqlite3"), "--name", "demo",
                             "--role", "lead"), input=password + "\n", check=True, capture_output=True, text=True,
                       env=env)
    print(f"HQ:      {hq_url}/  (occupancy as GeoJSON: {hq_url}/api/v1/shelters)", flush=True)
    print(f"HQ map:  {hq_url}/map   dashboard: {hq_url}/dashboard", flush=True)
    for k in kiosks:
        print(f"kiosk:   {k.url}/  at {k.shelter_id}   staff tablet: {k.url}/staff/", flush=True)
    print(f"staff log-in (HQ and every tablet, as shelter lead): demo / {password}", flush=True)
    print(f"databases: {var}", flush=True)
    print("simulated evacuees arriving; Ctrl-C stops the demo", flush=True)
    sim = Simulator(kiosks, seed=args.seed)
    deadline = time.monotonic() + args.duration if args.duration else None
    restarted = [0.0] * len(procs)
    while deadline is None or time.monotonic() < deadline:
        _keep_running(procs, started, restarted, logs, var)
        try:
            print("  " + sim.step(), flush=True)
        except OSError as exc:  # a kiosk refused or was slow: the demo goes on, as a shelter would
            print(f"  (kiosk: {exc})", flush=True)
        time.sleep(args.interval)
    return 0


def _keep_running(procs: list[subprocess.Popen], started: list, restarted: list[float], logs, var: Path) -> None:
    """HQ or a kiosk that stopped (killed, crashed) is said on the console and started again, at most once in
    10 s each: otherwise the demo went on printing arrivals that reached no one."""
    for i, (name, command, environment) in enumerate(started):
        code = procs[i].poll()
        if code is None or time.monotonic() - restarted[i] < 10:
            continue
        print(f"  ({name} stopped (exit {code}); starting it again — see {var / 'processes.log'})", flush=True)
        procs[i] = subprocess.Popen(command, stdout=logs, stderr=logs, env=environment)
        restarted[i] = time.monotonic()


def _seconds(text: str) -> float:
    """argparse type: a time of 0 seconds or more."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} は秒数ではありません / {text!r} is not a number of seconds") from None
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"0 秒以上にしてください（いまは {text}） / must be 0 seconds or more, not {text}")
    return value


def register(parser: argparse.ArgumentParser) -> None:
    from .cli import port_number
    parser.add_argument("--port", type=port_number, default=5000, help="HQ's port; kiosks take the next three")
    parser.add_argument("--var", default="var/demo", help="folder for the demo's databases: new, empty, or an earlier demo's (emptied at start)")
    parser.add_argument("--interval", type=_seconds, default=0.7, help="seconds between simulated events")
    parser.add_argument("--duration", type=_seconds, default=0, help="stop after this many seconds (0: run until Ctrl-C)")
    parser.add_argument("--seed", type=int)
    parser.set_defaults(func=run)
