"""A name server that answers, then falls silent: name resolution that hangs, with real parts.

glibc asks the name servers of /etc/resolv.conf on port 53 only, and Python has no way around the
system's resolver (getaddrinfo), so the round runs in its own namespaces (`unshare -rmn`: as the
unprivileged user it is mapped to root there): its own loopback, where this server takes port 53, and its
own view of /etc/resolv.conf, a file bind-mounted over it there.  Nothing of the machine's is touched.

`python -m tests.silent_dns WORKDIR` (inside the namespaces) serves HQ's name, then, once the kiosk's
TLS handshake reaches "HQ" (which never answers it), no longer answers at all; runs `evac kiosk sync` with
an https:// address by that name, and prints what came of it as JSON.  `... WORKDIR silent`: the name server
never answers, and the address is http://.  `... WORKDIR rounds`: the name server never answers; three
sync rounds in this process, as a running kiosk's background sync makes them, and how many lookups were left
running.
"""
from __future__ import annotations

import json
import os
import socket
import struct
import subprocess
import sys
import threading
from pathlib import Path

HQ_NAME = "hq.shelter.test"
HQ_PORT = 5930
TOKEN = "K0000000A." + "x" * 43


class AnswersThenSilent:
    """A DNS server on UDP: every name is 127.0.0.1 (no IPv6 address) until silence(); then it reads the
    questions and answers none, as a name server that went down, or a link that drops what it carries."""

    def __init__(self, address: tuple[str, int]):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(address)
        self.silent = threading.Event()
        self.unanswered = 0   # questions asked after it fell silent
        threading.Thread(target=self._serve, daemon=True).start()

    def silence(self) -> None:
        self.silent.set()

    def _serve(self) -> None:
        while True:
            try:
                query, peer = self.sock.recvfrom(4096)
            except OSError:
                return
            if self.silent.is_set():
                self.unanswered += 1
                continue
            answer = _answer(query)
            if answer:
                self.sock.sendto(answer, peer)


def _answer(query: bytes) -> bytes | None:
    """The answer to one question: 127.0.0.1 for an A question, none (no error) for any other type."""
    if len(query) < 12:
        return None
    end = 12
    while end < len(query) and query[end]:
        end += 1 + query[end]
    end += 5   # the name's last zero, its type and class
    if end > len(query):
        return None
    qtype = struct.unpack("!H", query[end - 4:end - 2])[0]
    records = b""
    if qtype == 1:
        records = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 0, 4) + socket.inet_aton("127.0.0.1")
    header = query[:2] + struct.pack("!HHHHH", 0x8180, 1, 1 if records else 0, 0, 0)
    return header + query[12:end] + records


def _hq_never_finishing_the_handshake(dns: AnswersThenSilent) -> socket.socket:
    """HQ's address: takes the connection and the ClientHello, says nothing (an HQ that hangs, a congested
    link); from then on its name no longer resolves."""
    server = socket.create_server(("127.0.0.1", HQ_PORT))

    def hold(conn: socket.socket) -> None:
        try:
            if conn.recv(65536)[:1] == b"\x16":   # a TLS ClientHello
                dns.silence()
            while conn.recv(65536):
                pass
        except OSError:
            pass
        finally:
            conn.close()

    def accept() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=hold, args=(conn,), daemon=True).start()
    threading.Thread(target=accept, daemon=True).start()
    return server


def main(workdir: str, mode: str = "") -> None:
    work = Path(workdir)
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    resolv = work / "resolv.conf"
    # glibc's longest: 30 s a try, 5 tries, for each question
    resolv.write_text("nameserver 127.0.0.1\noptions timeout:30 attempts:5\n")
    subprocess.run(["mount", "--bind", str(resolv), "/etc/resolv.conf"], check=True)
    dns = AnswersThenSilent(("127.0.0.1", 53))
    if mode:
        dns.silence()
    _hq_never_finishing_the_handshake(dns)
    from evac.events import Person
    from kiosk.store import KioskStore
    db = work / "kiosk.sqlite3"
    store = KioskStore(db)
    store.check_in("H001", [Person("名前 解決", "1980-01-01", "female", "焼津市本町4")])
    store.close()
    if mode == "rounds":
        print(json.dumps(_rounds(db)))
        return
    env = dict(os.environ, EVAC_KIOSK_TOKEN=TOKEN)
    run = subprocess.run([sys.executable, "-m", "evac.cli", "kiosk", "sync", "--db", str(db),
                          "--hq", f"{'http' if mode else 'https'}://{HQ_NAME}:{HQ_PORT}", "--timeout", "3"],
                         env=env, capture_output=True, text=True)
    store = KioskStore(db)
    print(json.dumps({"returncode": run.returncode, "stdout": run.stdout, "stderr": run.stderr,
                      "pending": store.pending(), "asked_after_silence": dns.unanswered}))
    store.close()


def _rounds(db: Path) -> dict:
    """Three sync rounds one after another, each cut off in its own time, and the lookups still running."""
    from kiosk.store import KioskStore
    from kiosk.sync import HQClient, SyncError, sync_once
    store, link = KioskStore(db), HQClient(f"http://{HQ_NAME}:{HQ_PORT}", TOKEN, timeout=0.5)
    said = []
    for _ in range(3):
        try:
            sync_once(store, link)
            said.append("synced")
        except SyncError as exc:
            said.append(str(exc))
    lookups = [t for t in threading.enumerate() if t.name == "kiosk-resolve" and t.is_alive()]
    pending = store.pending()
    store.close()
    return {"said": said, "lookups": len(lookups), "pending": pending}


if __name__ == "__main__":
    main(sys.argv[1], (sys.argv[2:] or [""])[0])
