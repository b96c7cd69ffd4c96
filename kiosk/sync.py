"""Sending the kiosk's outbox to HQ and taking down what the kiosk needs offline.

Events always go in sequence order from the first one HQ has not
acknowledged; HQ's answer names the highest sequence it holds, and only that
moves the kiosk's acknowledgement.  A lost answer just means the same events
are sent again, which HQ recognises as duplicates.
"""
from __future__ import annotations

import datetime as dt
import email.utils
import errno
import gzip
import http.client
import json
import random
import socket
import sqlite3
import ssl
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from evac.hlc import MAX_DRIFT_MS, MAX_HLC, wall_clock_ms, wall_ms

from .store import HQ_OUTDATED, WORD_LIMIT, KioskStore, hq_lacks_type

BATCH_SIZE = 500
# A request that times out on a slow uplink halves the batch down to this many events (kiosk/sync.py
# sync_once): at 8 KB/s, 500 events (~170 KB as JSON) never fit in the client's timeout, 20 do.
MIN_BATCH = 20
# Acknowledged batches in a row at the cut size before it grows back by a quarter: a link that just took
# 100 events in time is not asked for 200 at once.
GROW_AFTER = 4
# HQ's refusals that name one record of the batch (its `index`).
REFUSES_ONE_RECORD = ("invalid_event", "unknown_shelter")


class SyncError(Exception):
    """A sync round did not finish; the events stay queued.  `kind` tells the tablet which message to
    show in its language (kiosk/staff/shelter.py); str() is for the operator's console and /api/status:
    Japanese first, as the shelter's staff read it, then the English with the detail ("日本語 / English")."""
    UNREACHABLE = "unreachable"   # no answer, or HQ failing for now (5xx): it will be tried again
    REFUSED = "refused"           # HQ answered and refuses (4xx): trying again will not help
    NOT_HQ = "not_hq"             # something answers at that address, but it is not HQ
    RESTORED = "restored"         # this database is older than what HQ holds from it
    # HQ took the records, but this kiosk's disk would not take HQ's acknowledgement (full or failing):
    # the round went on from HQ's answer kept in memory.  HQ answers: it is not HQ out of reach.
    STORAGE = "storage"
    FAILED = "failed"             # anything else (a bug): the round stopped

    def __init__(self, kind: str, detail: str = "", url: str = "", db: str = "", status: int = 0, code: str = ""):
        super().__init__(kind, detail)
        self.kind, self.detail, self.url, self.db = kind, detail, url, db
        # REFUSED: HQ's refusal code (its `error`), stable where its English message is not: the tablet
        # and the console word it for staff (kiosk/staff/hq_refusals.py).
        self.code = code
        self.status = status   # HQ's HTTP status when it answered (UNREACHABLE: it answered, failing for now)
        self.pending: int | None = None
        self.timed_out = False   # UNREACHABLE: nothing answered within the client's timeout
        # UNREACHABLE: a connection to HQ's address was made (a timeout after it may be a slow uplink
        # carrying the batch; one before it is HQ out of reach, whatever the batch's size).
        self.connected = False
        # UNREACHABLE: something answered by HTTPS, with a certificate this kiosk does not trust (HQ behind
        # the city's certificate authority, not yet given to this machine; or not HQ at all).  Waiting
        # does not mend it: someone must.
        self.untrusted = False
        # UNREACHABLE: an https:// address where what answered did not speak HTTPS (an HQ without a
        # certificate is reached by http://), or the handshake never ended.
        self.not_https = False
        self.slow = False        # ...while sending a batch, which is made smaller for the next try
        self.web_page = False    # NOT_HQ: a web page answered (a Wi-Fi's log-in page, most often)
        # NOT_HQ: its answers do not add up (it took a batch and says it holds none of it: a broken proxy)
        self.inconsistent = False
        # STORAGE: what HQ holds from this kiosk (its last answer), and why the disk would not take it
        # (kiosk.disk_failure: full, failed, read-only, ...).
        self.held = 0
        self.storage = ""

    @property
    def hq_answered(self) -> bool:
        """HQ took part in the round as it should: the trouble is this kiosk's, not HQ or the network."""
        return self.kind == self.STORAGE

    @classmethod
    def too_slow(cls, exc: "SyncError") -> "SyncError":
        slow = cls(cls.UNREACHABLE, exc.detail, exc.url)
        slow.timed_out = slow.slow = slow.connected = True
        return slow

    def __str__(self) -> str:
        text = self._words()
        # A refusal says what stays queued within its own sentence (_refused_words), once in each language.
        if self.pending is not None and self.kind != self.REFUSED:
            text += f"; {self.pending} event(s) stay queued on this kiosk"
        return text

    def _words(self) -> str:
        """Japanese first (the shelter's staff read the console and /api/status), then the English: "日本語 /
        English".  Only this failure's words are made (the refusal's Japanese is read from the catalog)."""
        url, detail = self.url, self.detail
        if self.kind == self.UNREACHABLE and self.status:
            return (f"本部は応答しましたが、いま記録を受け取れません（HTTP {self.status}）。"
                    f"{self._kept_ja('本部が受け取れるようになれば自動で送られます')} / HQ at {url} answered but "
                    f"cannot take records now ({detail}); the kiosk tries again by itself")
        if self.kind == self.UNREACHABLE and self.slow:
            return (f"本部との通信が遅すぎます（時間内に送り終わりません）。小さく分けて送っています。"
                    f"{self._kept_ja('本部に届くまで送り直されます')} / the connection to HQ at {url} is too slow "
                    f"({detail}); sending smaller batches")
        if self.kind == self.UNREACHABLE and self.untrusted:
            return (f"本部の証明書をこの受付機が確認できません。IT担当に連絡してください / HQ at {url} answered, but "
                    f"this kiosk cannot trust its certificate ({detail}): give this machine the city's certificate "
                    "authority (README: SSL_CERT_FILE or update-ca-certificates); nothing is lost")
        if self.kind == self.UNREACHABLE and self.not_https:
            return (f"本部のアドレスが https:// ですが、HTTPS で応答がありません。本部に証明書がなければ http:// です / "
                    f"HQ at {url} did not answer by HTTPS ({detail}): an HQ without a certificate is reached by "
                    "http://; check the address; the records stay queued")
        if self.kind == self.UNREACHABLE and self.timed_out:
            return (f"本部に接続できません（時間内に応答がありません）。{self._kept_ja()} / HQ cannot be reached at "
                    f"{url}: no answer in time ({detail})")
        if self.kind == self.UNREACHABLE:
            return f"本部に接続できません。{self._kept_ja()} / HQ cannot be reached at {url} ({detail})"
        if self.kind == self.REFUSED:
            return self._refused_words()
        if self.kind == self.NOT_HQ and self.web_page:
            return (f"本部のアドレス {url} で、本部ではなくウェブページが応答しました。このネットワークにログインページがある場合（ホテルや"
                    "学校のWi-Fiなど）は、この受付機のブラウザで何かウェブページを開いてログインしてください。そうで"
                    f"なければ本部のアドレスを確かめてください。{self._kept_ja()} / the server at {url} is not HQ "
                    f"({detail}) — a web page answered: if this network has a log-in page (Wi-Fi at a hotel or a "
                    "school), open any web page in a browser on this machine and log in; otherwise check the HQ "
                    "address; the records stay queued")
        if self.kind == self.NOT_HQ and self.inconsistent:
            return (f"本部のアドレス {url} からの応答のつじつまが合いません（送った記録を受け取ったと答えながら、その記録を"
                    "持っていないと言います）。間にある機器（プロキシなど）の不具合かもしれません。本部に連絡してください。"
                    f"{self._kept_ja('次の同期で送り直されます')} / the answers from {url} do not add up ({detail}): "
                    "HQ never says it holds less than a batch it took; something between (a proxy) may be at fault — "
                    "tell HQ")
        if self.kind == self.NOT_HQ:
            return (f"本部のアドレス {url} のサーバーは本部ではありません。本部のアドレスを確認してください。{self._kept_ja()} / "
                    f"the server at {url} is not HQ ({detail}) — check the HQ address")
        if self.kind == self.RESTORED:
            command = f"`evac kiosk new-device --db {self.db or 'PATH'}`"
            return ("この受付機のデータベースは、本部がこの受付機から受け取った記録より古くなっています（バックアップから"
                    f"戻しましたか？）。このままでは新しい記録を送れません。{command} を実行し、本部でこの受付機を"
                    "登録し直してください（この受付機の記録はすべて送り直されます） / this kiosk's database is older "
                    "than what HQ holds from it (restored from a backup?) — new records cannot be sent with it: run "
                    f"{command} and enroll the kiosk again at HQ")
        if self.kind == self.STORAGE:
            return _storage_words(self.storage, self.held, self.db)
        return f"同期がエラーで止まりました。{self._kept_ja('次の同期で送られます')} / sync failed: {detail}"

    def _kept_ja(self, sent: str = "本部に接続できたときに送られます") -> str:
        """That nothing is lost, in Japanese (the English says it at its end: "N event(s) stay queued")."""
        queued = f"未送信の記録 {self.pending} 件は" if self.pending else "記録は"
        return f"{queued}この受付機に残っていて、{sent}（失われていません）"

    def _refused_words(self) -> str:
        """HQ refuses: what to do by HQ's refusal code (kiosk/staff/hq_refusals.py's ADVICE), whole in Japanese, then
        in English with HQ's own words, and that nothing is lost once in each (with how many records wait)."""
        from .staff.hq_refusals import ADVICE, GENERAL
        advice = ADVICE.get(self.code, GENERAL)
        if self.code == HQ_OUTDATED:   # its advice says already that the records stay queued
            kept_ja = f"未送信の記録: {self.pending} 件。" if self.pending else ""
            kept_en = f" Waiting to be sent: {self.pending} event(s)." if self.pending else ""
        elif self.pending:
            kept_ja = f"未送信の記録 {self.pending} 件は失われず、この端末に残っています。"
            kept_en = f" Nothing is lost: {self.pending} event(s) stay queued on this kiosk."
        else:
            kept_ja, kept_en = "記録は失われず、この端末に残っています。", " Nothing is lost: the records stay on this kiosk."
        return (f"本部がこの端末の記録を受け付けません: {_in_japanese(advice)} {kept_ja}".rstrip() +
                f" / HQ refuses this kiosk's records: {self.detail} — {advice}{kept_en}")


def _in_japanese(text: str) -> str:
    """A text of the staff catalog in Japanese, for the console (outside any request), as the shelter's staff read."""
    try:
        from .staff.hq_refusals import in_japanese
        return in_japanese(text)
    except (ImportError, OSError, ValueError):  # words must not stop the sync thread
        return "本部に電話してください。"


def _storage_words(why: str, held: int, db: str) -> str:
    """STORAGE, Japanese first (read at the shelter): HQ has the records, this kiosk's disk is the trouble, in
    the words of its cause (kiosk.disk_failure, as the kiosk says it of a check-in it could not save)."""
    from . import disk_failure
    file = Path(db).name if db else "kiosk.sqlite3"
    keep_ja = f"{file}・{file}-wal・{file}-shm は記録そのものなので絶対に削除しないでください"
    keep_en = f"never delete {file}, {file}-wal or {file}-shm: they hold the records"
    got_ja = f"本部はこの受付機の記録（{held} 件目まで）を受け取りましたが、"
    got_en = f"HQ has received this kiosk's records (up to {held}), but "
    if why == disk_failure.FULL:
        return (f"{got_ja}受付機のディスクが満杯のため、そのことを受付機に書き留められませんでした。記録は失われていません。"
                f"写真・動画・ログ・ダウンロードを削除して空きを作ってください（{keep_ja}）。 / {got_en}this kiosk's "
                f"disk is full, so the kiosk could not note that down. Nothing is lost. Free space: delete photos, "
                f"videos, logs or downloads ({keep_en}).")
    if why == disk_failure.BUSY:
        return (f"{got_ja}受付機のデータベースが長く使用中だったため（ほかのプログラムが書き込み中）、そのことを書き留められません"
                f"でした。記録は失われていません。次の同期で書き留められます。続くようなら本部に連絡してください。 / {got_en}"
                "this kiosk's database stayed busy too long (another program writing to it), so the kiosk could not "
                "note that down. Nothing is lost: the next round notes it down. If this goes on, tell HQ.")
    if why == disk_failure.READ_ONLY:
        return (f"{got_ja}受付機のディスクが読み取り専用になったため（SDカードやディスクの故障）、そのことを書き留められません"
                "でした。記録は失われていません。避難者カード（紙）で受け付け、本部に連絡してください。残りの記録は "
                f"evac kiosk carry で本部へ持ち込むか、{file} を -wal・-shm と一緒に別のディスクへ写してください。 / "
                f"{got_en}this kiosk's disk has become read-only (a failing card or disk), so the kiosk could not "
                "note that down. Nothing is lost. Write people in on paper forms (避難者カード) and tell HQ; take the "
                f"rest of the records to HQ with `evac kiosk carry`, or copy {file} together with {file}-wal and "
                f"{file}-shm to another disk.")
    if why == disk_failure.DAMAGED:
        return (f"{got_ja}受付機のデータベースファイル（{file}）が壊れているため、そのことを書き留められませんでした。記録は"
                "失われていません。このファイルは消さずに残し、避難者カード（紙）で受け付けてください。本部か責任者に連絡して"
                f"ください（新しい --db で受付機を起動し、本部で登録し直します）。 / {got_en}this kiosk's database file "
                f"({file}) is damaged, so the kiosk could not note that down. Nothing is lost. Keep the file (do not "
                "delete it), write people in on paper forms (避難者カード) and call HQ or the shelter lead: the kiosk "
                "is started on a new --db and enrolled again at HQ.")
    if why == disk_failure.REPLACED:
        return (f"{got_ja}受付機のデータベースファイル（{file}、-wal、-shm）が動作中に削除または置き換えられたため、そのことを"
                "書き留められませんでした。記録は失われていません。受付機を再起動しないでください。本部か責任者に連絡して"
                f"ください。 / {got_en}this kiosk's database file ({file}, -wal or -shm) was deleted or replaced while "
                "the kiosk was running, so the kiosk could not note that down. Nothing is lost. Do NOT restart the "
                "kiosk; call HQ or the shelter lead.")
    return (f"{got_ja}受付機がディスクに書き込めないため（満杯か故障）、そのことを書き留められませんでした。記録は失われて"
            f"いません。本部に連絡し、ディスクが満杯なら写真・動画・ログ・ダウンロードを削除して空きを作ってください（{keep_ja}）。"
            f" / {got_en}this kiosk could not write to its disk (it may be full or failing), so it could not note "
            f"that down. Nothing is lost. Tell HQ; if the disk is full, free space: delete photos, videos, logs or "
            f"downloads ({keep_en}).")


def console_text(exc: SyncError) -> str:
    """A failure as the operator's console says it: its own words, Japanese first (staff read it), then
    the English with HQ's own words (SyncError.__str__)."""
    return str(exc)


def led(ja_lead: str, en_lead: str, text: str) -> str:
    """A "日本語 / English" text (SyncError's, a report's doubt) led in each language by its own words, Japanese
    first: "同期できませんでした: 日本語 / sync failed: English" (the Japanese half holds no " / ")."""
    ja, slash, en = text.partition(" / ")
    return f"{ja_lead}{ja} / {en_lead}{en if slash else ja}"


def failed_text(exc: SyncError, ja_lead: str, en_lead: str) -> str:
    """A failed round on the console, led in each language; one that stopped on an error says so already."""
    return console_text(exc) if exc.kind == SyncError.FAILED else led(ja_lead, en_lead, console_text(exc))


def _code(answer: dict) -> str:
    return answer["error"] if isinstance(answer.get("error"), str) else ""


@dataclass
class SyncReport:
    sent: int
    acked_seq: int
    pending: int
    # What of HQ's answers this kiosk could not read and left aside, Japanese first (the round went on): for the
    # console, as a malformed answer is worth someone's look at HQ.
    doubts: tuple[str, ...] = ()


# Each step of a request (the name's lookup, connecting, each read of the answer); `evac kiosk sync --timeout`.
SYNC_TIMEOUT = 15.0


class HQClient:
    def __init__(self, hq_url: str, token: str, timeout: float = SYNC_TIMEOUT, gzip: bool = True,
                 deadline: float | None = None):
        self.base = hq_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        # `timeout` bounds each read of the answer; something answering a byte every few seconds (a
        # failing proxy, a captive portal) would hold the round for minutes with the kiosk saying nothing.
        # The whole request, answer included, has this long; the name's lookup and connecting too, each at
        # most `timeout` (the system's resolver alone may ask a silent name server for minutes).
        self.deadline = deadline if deadline is not None else 4 * timeout
        self._opener = _opener_with_deadline()
        self.hq_time: dt.datetime | None = None   # the clock of the last answer (its Date header)
        self.batch_size = BATCH_SIZE              # halved when HQ answers 413, for every later round
        # Halved when sending a batch times out (a slow uplink), grown back gently after successes; None:
        # not cut.  Kept on the client, so for every later round of the running kiosk.
        self.slow_size: int | None = None
        self.slow_successes = 0
        # The sync batch goes gzipped (JSON of events shrinks about 13 times) unless HQ said it takes no
        # gzip: an HQ from before it answers 415 or cannot read the body (400).
        self.gzip = gzip

    def request(self, method: str, path: str, body: dict | None = None, compress: bool = False) -> tuple[int, dict]:
        """(HTTP status, HQ's JSON object).  Raises SyncError when nothing answers or what answers does
        not speak HQ's JSON.  `compress`: send the body gzipped."""
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode()
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        if data is not None and compress:
            data = gzip.compress(data, compresslevel=6, mtime=0)
            headers["Content-Encoding"] = "gzip"
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        self.hq_time = None
        watch = self._opener.watch
        watch.start(self.deadline)
        timer = threading.Timer(self.deadline, watch.expire)
        timer.daemon = True
        timer.start()
        try:
            with self._opener.open(req, timeout=self.timeout) as resp:
                status, headers, raw = resp.status, resp.headers, resp.read()
        except urllib.error.HTTPError as exc:
            status, headers = exc.code, exc.headers
            try:
                raw = exc.read()
            except OSError:
                raw = b""
        except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as exc:
            reason = getattr(exc, "reason", exc)
            if watch.expired:
                reason = TimeoutError(f"no whole answer within {self.deadline:g} s")
            failure = SyncError(SyncError.UNREACHABLE, str(reason), self.base)
            # Sending the body or waiting for the answer took longer than the timeout (urllib raises
            # TimeoutError bare while reading, wrapped in URLError while connecting or sending).
            failure.timed_out = isinstance(reason, TimeoutError)
            failure.connected = watch.sock is not None
            # (the tablet words the usual ones: staff.shelter; http.client's "Remote end closed connection
            # without response" is a reset with no number)
            failure.errno = getattr(reason, "errno", None) or (
                errno.ECONNRESET if isinstance(reason, ConnectionResetError) else None)
            failure.untrusted = isinstance(reason, ssl.SSLCertVerificationError)
            failure.not_https = self.base.startswith("https:") and not failure.untrusted and (
                isinstance(reason, ssl.SSLError) and not failure.timed_out
                # A handshake that timed out: a plain-HTTP HQ waits for a request line that never comes, but
                # a real HTTPS HQ that hangs, or a congested link, times out alike.  Asked in plain HTTP.
                or "handshake" in str(reason) and (not failure.timed_out or _plain_http_answers(self.base, self.timeout, watch.left())))
            raise failure from None
        finally:
            timer.cancel()
        if watch.expired:   # cut off mid-answer: what came may look whole (a body read to a closed socket)
            failure = SyncError(SyncError.UNREACHABLE, f"no whole answer within {self.deadline:g} s", self.base)
            failure.timed_out = failure.connected = True
            raise failure
        if 300 <= status < 400:
            # Not followed (_NoRedirect): HQ has no address of its own to send the kiosk to, so what answered
            # is not HQ; most often a Wi-Fi's log-in page, said as one.  Where it sends, for whoever checks.
            where = urllib.parse.urlsplit((headers.get("Location") or "") if headers else "")
            host = where.netloc.rpartition("@")[2][:100]   # (never what may stand before an @: a password)
            failure = SyncError(SyncError.NOT_HQ, f"it answered HTTP {status}, sending the kiosk on to "
                                f"{where.scheme}://{host}" if host else f"it answered HTTP {status}", self.base)
            failure.web_page = True
            raise failure
        try:
            payload = json.loads(raw or b"{}")
        except ValueError:
            payload = None
        if not isinstance(payload, dict) and status == 413:   # a proxy before HQ limits request sizes
            payload = {"message": f"the request is larger than the server at {self.base} accepts (HTTP 413)"}
        if not isinstance(payload, dict):
            if status >= 500 and status != 501:   # a proxy's error page: HQ behind it is down
                raise SyncError(SyncError.UNREACHABLE, f"HTTP {status}", self.base, status=status)
            failure = SyncError(SyncError.NOT_HQ, f"it answered HTTP {status} with something other than HQ's "
                                f"JSON", self.base)
            # A web page where HQ should answer: most often a Wi-Fi's log-in page (a hotel's, a school's)
            # standing between the kiosk and the internet, not a wrong address.
            failure.web_page = status == 200 and "html" in ((headers.get("Content-Type") or "") if headers else "")
            raise failure
        self._note_hq_time(headers.get("Date") if headers else None)
        return status, payload

    def _note_hq_time(self, header: str | None) -> None:
        try:
            self.hq_time = email.utils.parsedate_to_datetime(header) if header else None
        except (TypeError, ValueError):
            self.hq_time = None


PROBE_TIMEOUT = 5.0   # seconds: the plain-HTTP question after an https:// handshake timed out


def _plain_http_answers(base: str, timeout: float, left: float) -> bool:
    """Whether HQ itself answers in plain HTTP at an https:// address's host and port (its shelter list, as
    JSON): not any web server's page (nginx answers its TLS port's plain requests with a 400 page).  Asked
    without the kiosk's token, and cut off whole past a deadline like any request, its name's lookup
    included (a middlebox trickling bytes, or a name server gone silent, would otherwise hold the sync
    round): within what is `left` of the request it follows."""
    parts = urllib.parse.urlsplit(base)
    wait = min(timeout, PROBE_TIMEOUT)
    whole = min(2 * wait, left)
    if whole <= 0:
        return False   # the request's time is up: no answer in time, as it is
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port or 443, timeout=wait)
    watch = _InFlight()
    watch.start(whole)
    conn._create_connection = watch.connect   # (http.client's hook for socket.create_connection)
    timer = threading.Timer(whole, watch.expire)
    timer.daemon = True
    timer.start()
    try:
        conn.connect()
        watch.sock = conn.sock
        conn.request("HEAD", parts.path.rstrip("/") + "/api/v1/shelters")
        resp = conn.getresponse()
        return not watch.expired and resp.status == 200 and "json" in (resp.getheader("Content-Type") or "")
    except (OSError, ValueError, http.client.HTTPException):
        return False
    finally:
        timer.cancel()
        conn.close()


class _InFlight:
    """The socket of the request in flight, for its deadline to cut; and the deadline itself, for the stages
    before there is a socket to cut (the name's lookup, connecting)."""

    def __init__(self):
        self.sock = None
        self.expired = False
        self.ends = time.monotonic()

    def start(self, seconds: float) -> None:
        self.sock, self.expired = None, False
        self.ends = time.monotonic() + seconds

    def left(self) -> float:
        return max(0.0, self.ends - time.monotonic())

    def connect(self, address: tuple[str, int], timeout=None, source_address=None) -> socket.socket:
        """socket.create_connection, each stage within the request's deadline: the lookup of the name (which
        no socket timeout bounds), and each address tried (at most `timeout` each, as before)."""
        host, port = address
        limit = timeout if isinstance(timeout, (int, float)) else None   # (or socket's "no timeout given")
        wait = self.left() if limit is None else min(limit, self.left())
        error: OSError = TimeoutError(f"no connection to {host} within the request's time")
        for family, kind, proto, _, where in _resolve(host, port, wait):
            wait = self.left() if limit is None else min(limit, self.left())
            if wait <= 0:
                break
            sock = socket.socket(family, kind, proto)
            try:
                sock.settimeout(wait)
                if source_address:
                    sock.bind(source_address)
                sock.connect(where)
                sock.settimeout(socket.getdefaulttimeout() if limit is None else limit)
                return sock
            except OSError as exc:
                error = exc
                sock.close()
        raise error

    def expire(self) -> None:
        self.expired = True
        sock = self.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)   # the blocked read returns at once
            except OSError:
                pass


_lookups: dict[tuple[str, int], threading.Thread] = {}   # unfinished name lookups, by (host, port)
_lookups_lock = threading.Lock()


def _resolve(host: str, port: int, wait: float) -> list:
    """getaddrinfo for a connection, given up after `wait` seconds: the system's resolver asks a silent name
    server for as long as resolv.conf says (glibc: 5 s a try, twice, per server; up to minutes), and nothing
    can interrupt it.  It goes on in a thread of its own, left to end by itself; a later round waits on that
    same lookup rather than starting another, so rounds against a silent name server hold one thread, not
    one each."""
    try:   # an address, not a name: nothing to wait for
        return socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM, 0, socket.AI_NUMERICHOST)
    except (OSError, UnicodeError):
        pass
    with _lookups_lock:
        asking = _lookups.get((host, port))
        if asking is None:
            asking = threading.Thread(target=_look_up, args=(host, port), daemon=True, name="kiosk-resolve")
            asking.found = {}
            _lookups[(host, port)] = asking
            asking.start()
    asking.join(max(0.0, wait))
    if asking.is_alive():
        raise TimeoutError(f"the name {host} did not resolve within {wait:g} s")
    found = asking.found
    if "error" in found:
        error = found["error"]
        raise error if isinstance(error, OSError) else OSError(str(error))
    if not found["addresses"]:
        raise OSError(f"the name {host} resolves to no address")
    return found["addresses"]


def _look_up(host: str, port: int) -> None:
    found = threading.current_thread().found
    try:
        found["addresses"] = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        found["error"] = exc
    finally:   # the next round asks afresh: a name's answer may change (HQ moved to its standby)
        with _lookups_lock:
            if _lookups.get((host, port)) is threading.current_thread():
                del _lookups[(host, port)]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """HQ never redirects: a 3xx comes from something between (a Wi-Fi's log-in page, a misconfigured proxy).
    urllib's own handler re-sent the request, the kiosk's token with it, to whatever host it named, even from
    https to http.  Not followed: the 3xx is the answer (HQClient.request says it is not HQ)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def _opener_with_deadline() -> urllib.request.OpenerDirector:
    """urllib's opener (system CAs for https, as urlopen) whose connections tell `opener.watch` their socket."""
    watch = _InFlight()

    class Plain(http.client.HTTPConnection):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._create_connection = watch.connect   # (http.client's hook for socket.create_connection)

        def connect(self):
            super().connect()
            watch.sock = self.sock

    class TLS(http.client.HTTPSConnection):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._create_connection = watch.connect

        def connect(self):
            super().connect()
            watch.sock = self.sock

    class PlainHandler(urllib.request.HTTPHandler):
        def http_open(self, req):
            return self.do_open(Plain, req)

    class TLSHandler(urllib.request.HTTPSHandler):
        def https_open(self, req):
            return self.do_open(TLS, req, context=self._context)

    opener = urllib.request.build_opener(PlainHandler, TLSHandler, _NoRedirect)
    opener.watch = watch
    return opener


CONFIG_EVERY_S = 600


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _note(unwritten: list[sqlite3.Error], write, *args) -> None:
    """What HQ answered, written down on this kiosk.  A disk that will not take it (full, failing) does
    not stop the round: HQ has the records whatever the kiosk could write, and the round goes on from
    what HQ said, kept in memory (KioskStore.set_acked).  The failure is kept for the round to report."""
    try:
        write(*args)
    except sqlite3.Error as exc:
        unwritten.append(exc)


def _ask(store: KioskStore, client: HQClient, unwritten: list[sqlite3.Error], method: str, path: str,
         body: dict | None = None, compress: bool = False) -> tuple[int, dict]:
    """One request; HQ's clock is noted from every answer HQ gives, refusals included."""
    status, answer = client.request(method, path, body, compress=compress)
    if status in (404, 405, 501):   # HQ has these routes and methods: whatever answered is something else
        raise SyncError(SyncError.NOT_HQ, f"it answered HTTP {status} to {path}", client.base)
    if client.hq_time is not None and ("error" in answer or _is_int(answer.get("hlc"))):   # HQ's own words
        _note(unwritten, store.note_clock_offset, client.hq_time,
              answer.get("hlc") if _is_int(answer.get("hlc")) else None)
    if status >= 500:   # HQ failing for now: like no answer, it is tried again
        raise SyncError(SyncError.UNREACHABLE, f"HTTP {status}: {answer.get('message', '')}".rstrip(": "),
                        client.base, status=status)
    return status, answer


def _held(store: KioskStore, acked: int) -> int:
    """The highest sequence HQ holds from this database, checked against what this database holds."""
    if acked > store.last_seq:   # HQ holds events this database never wrote: it is an older copy
        raise SyncError(SyncError.RESTORED, db=str(store.path))
    return acked


def _batch_limit(client: HQClient) -> int:
    return min(client.batch_size, client.slow_size or client.batch_size)


def _too_slow(client: HQClient, exc: SyncError, sent: int) -> SyncError:
    """Sending `sent` events timed out: a slow uplink (a congested mobile link) may never carry a batch
    that large within the timeout, and would be sent the same batch forever.  Halve it, for this round's
    next try and later rounds; at the floor it is HQ out of reach as before."""
    if not exc.timed_out or not exc.connected or exc.status or sent <= MIN_BATCH:
        return exc   # (no connection within the timeout: no batch, however small, would have helped)
    client.slow_size = max(MIN_BATCH, min(_batch_limit(client), sent) // 2)
    client.slow_successes = 0
    return SyncError.too_slow(exc)


def _grow_back(client: HQClient, sent: int) -> None:
    """After a few batches acknowledged at the cut size, a quarter larger, until it is not cut."""
    if client.slow_size is None or sent < client.slow_size:
        return
    client.slow_successes += 1
    if client.slow_successes >= GROW_AFTER:
        client.slow_successes = 0
        grown = client.slow_size + max(1, client.slow_size // 4)
        client.slow_size = None if grown >= client.batch_size else grown


def _take_left_elsewhere(store: KioskStore, words, unwritten: list[sqlite3.Error], doubts: list[str]) -> bool:
    """HQ's words on this kiosk's people seen elsewhere since (an HQ from before them says none: the roster
    stays as it is).  Whether HQ holds more to read now: only if this round's were taken, or the round would
    ask for the same ones again and again.  Words this kiosk cannot read are left aside, the roster as it is,
    and said in `doubts`: a cursor beyond HQ's own limit, kept, would be sent back and refused every round."""
    if words is None:
        return False
    after = words.get("after") if isinstance(words, dict) else None
    if not isinstance(words, dict):
        why, why_ja = "not an object", "形が違います"
    elif not _is_int(after) or not 0 <= after < WORD_LIMIT:
        shown = repr(after)
        shown = shown if len(shown) <= 24 else shown[:21] + '...'
        why = f"its cursor {shown} is not from 0 to {WORD_LIMIT - 1}"
        why_ja = f"読み進めた位置 {shown} が 0〜{WORD_LIMIT - 1} の外です"
    elif not isinstance(words.get("people"), list):
        why, why_ja = "no list of words", "知らせの一覧がありません"
    else:
        why = why_ja = ""
    if why:
        doubts.append(f"本部の応答にある「ほかの避難所に移った人」の知らせを、この端末は読めません（{why_ja}）。取り込まず、"
                      "名簿はそのままです。本部のソフトウェアの不具合かもしれません / HQ's answer had left-elsewhere "
                      f"words this kiosk cannot read ({why}): not taken, the roster stays as it was; HQ's software may "
                      "be at fault")
        return False
    before = store.left_elsewhere_after()
    _note(unwritten, store.note_left_elsewhere, words["people"], words["after"], words.get("from_start") is True)
    return words.get("more") is True and store.left_elsewhere_after() != before


def _take_hlc(store: KioskStore, client: HQClient, hlc: int, unwritten: list[sqlite3.Error],
              doubts: list[str]) -> None:
    """HQ's timestamp, this kiosk's reference clock (KioskStore.receive_hlc), unless no HQ gives it: past
    what a record can carry, or further ahead than HQ's own guard lets its clock be (MAX_DRIFT_MS) of both
    this kiosk's clock and HQ's Date header (a whole second, the link's delay).  Taken, it dated every
    later record of this kiosk (one past 2^63 let no check-in be saved again, even after a restart).  HQ
    took the records all the same: said in `doubts`, the round goes on."""
    try:
        reference = store.now_ms()
    except sqlite3.Error:   # (the file unreadable: the machine's clock; a failing disk must not stop the round)
        reference = wall_clock_ms()
    if client.hq_time is not None:
        reference = max(reference, int(client.hq_time.timestamp() * 1000) + 1000)
    ahead_ms = wall_ms(hlc) - reference
    if 0 < hlc <= MAX_HLC and ahead_ms <= MAX_DRIFT_MS:
        _note(unwritten, store.receive_hlc, hlc)
        return
    shown = str(hlc) if len(str(hlc)) <= 24 else str(hlc)[:21] + "..."
    if not 0 < hlc <= MAX_HLC:
        why_ja, why = "記録に使える範囲（1〜2^63-1）の外です", "is not one a record can carry (from 1 to 2^63 - 1)"
    else:
        ja_span, span = _span(ahead_ms)
        why_ja = f"この端末の時計と本部の時計（Date）より {ja_span} 先です"
        why = f"is {span} ahead of this kiosk's clock and of HQ's own (its Date header)"
    doubts.append(f"本部の応答にある時刻（hlc {shown}）は{why_ja}。取り込みませんでした。この端末は自分の時計で記録の時刻を"
                  "付けます。記録は本部に届いています。本部の時計かソフトウェア、または途中の機器（プロキシなど）の不具合か"
                  f"もしれません / HQ's answer carried a timestamp (hlc) {shown} that {why}: not taken, this kiosk "
                  "dates its records by its own clock; HQ has the records; HQ's clock or software, or something "
                  "between (a proxy), may be at fault")


def _span(ms: int) -> tuple[str, str]:
    """A time ahead, roughly, (Japanese, English): in days, hours or minutes."""
    for unit_ms, ja, en in ((86_400_000, "日", "days"), (3_600_000, "時間", "hours")):
        if ms >= 2 * unit_ms:
            return f"{ms // unit_ms} {ja}", f"{ms // unit_ms} {en}"
    return f"{ms // 60_000} 分", f"{ms // 60_000} minutes"


def _fetch_config(store: KioskStore, client: HQClient, unwritten: list[sqlite3.Error], doubts: list[str]) -> None:
    """What the kiosk needs offline from HQ: shelters, QR keys and revocations, protection digests.
    A configuration the disk would not take is fetched again next round (KioskStore.apply_config)."""
    status, config = _ask(store, client, unwritten, "GET", "/api/v1/kiosk/config")
    if status != 200:
        raise SyncError(SyncError.REFUSED, str(config.get("message") or f"HTTP {status}"), client.base,
                        code=_code(config))
    if not isinstance(config.get("shelters"), list) or not _is_int(config.get("hlc")):
        raise SyncError(SyncError.NOT_HQ, "its configuration has no shelter list", client.base)
    _note(unwritten, store.apply_config, config)
    _take_hlc(store, client, config["hlc"], unwritten, doubts)


def sync_once(store: KioskStore, client: HQClient, batch_size: int | None = None, progress=None) -> SyncReport:
    """One round: send everything pending (at least an empty batch, which tells this kiosk what HQ
    holds), then refresh the shelter list when it is due.  Raises SyncError.  `progress(acked_seq,
    pending)` is called for each batch HQ takes, before the kiosk writes it down: a catch-up of
    thousands of records is many batches, and HQ answering is news long before the round ends.
    A disk that would not take HQ's answers (full, failing) does not stop the round: every batch is
    sent; then SyncError STORAGE says HQ has the records and this kiosk could not note it."""
    if batch_size:
        client.batch_size = batch_size
    sent = 0
    rewound = False
    config_changed = False
    gzip_doubted = False   # HQ could not read a gzipped batch: sent again plain to know if gzip was why
    before_refused: int | None = None   # how many records precede the one HQ refused, in this round's batch
    unwritten: list[sqlite3.Error] = []   # what this kiosk's disk would not take of HQ's answers
    doubts: list[str] = []                # what of HQ's answers this kiosk could not read (SyncReport.doubts)
    try:
        while True:
            events = store.outbox(min(_batch_limit(client), before_refused or client.batch_size))
            code = ""   # HQ_OUTDATED: HQ refuses a record of this batch whose type it does not know yet
            # last_seq: how many records this kiosk has written, so that HQ knows how many it has not
            # received yet (a catch-up under way): its numbers for this shelter are not complete.
            body = {"device_id": store.device_id, "events": events, "last_seq": store.last_seq,
                    # HQ's words on this kiosk's people seen elsewhere since, from the last one taken
                    "left_elsewhere_after": store.left_elsewhere_after()}
            last = store.left_elsewhere_last()
            if last is not None:   # the word taken there: HQ restored from a backup tells it is not its own
                body["left_elsewhere_last"] = last
            try:
                status, answer = _ask(store, client, unwritten, "POST", "/api/v1/sync", body, compress=client.gzip)
            except SyncError as exc:
                raise _too_slow(client, exc, len(events)) from None
            if client.gzip and status in (400, 415):
                # 415: HQ takes no gzip.  400: an HQ from before gzip reads the body as JSON and fails.
                client.gzip = False
                gzip_doubted = status == 400
                continue
            if status == 413 and len(events) > 1:
                # HQ (or a proxy before it) takes smaller requests: halve, now and for later rounds.
                client.batch_size = max(1, min(client.batch_size, len(events)) // 2)
                continue
            if status == 409 and answer.get("error") == "conflicting_event":
                # This database numbers new events as ones HQ already holds, differently.
                raise SyncError(SyncError.RESTORED, db=str(store.path))
            if status == 409 and answer.get("error") == "sequence_gap" and _is_int(answer.get("acked_seq")) \
                    and not rewound:
                # HQ holds less than we thought (restored from a backup): send again from where it is.
                _note(unwritten, store.set_acked, _held(store, answer["acked_seq"]))
                rewound = True
                continue
            if status == 422 and answer.get("error") in REFUSES_ONE_RECORD and _is_int(answer.get("index")) \
                    and 0 <= answer["index"] < len(events) and _is_int(events[answer["index"]].get("seq")):
                # One record HQ will never take (a stricter rule at HQ, a shelter HQ does not know): the
                # tablet names it and the lead may withdraw it (KioskStore.withdraw).
                refused = events[answer["index"]]
                message = str(answer.get("message") or answer["error"])
                # A type this kiosk writes that HQ does not know: HQ's software is older, and the record
                # must wait for HQ's update, not be withdrawn.
                code = HQ_OUTDATED if hq_lacks_type(answer["error"], message, refused,
                                                    answer.get("unknown_type") is True) else answer["error"]
                _note(unwritten, store.note_refusal, refused["seq"], message, refused, code)
                if answer["index"] > 0:
                    # HQ applies all of a batch or nothing: the records before the refused one are sent on
                    # their own, so that HQ counts those people while the lead sees to the refused record.
                    before_refused = answer["index"]
                    continue
            if status != 200:
                if gzip_doubted and status == 400:
                    client.gzip = True   # plain JSON is refused too: the batch is what HQ cannot read
                raise SyncError(SyncError.REFUSED, str(answer.get("message") or answer.get("error") or
                                                       f"HTTP {status}"), client.base, code=code or _code(answer))
            if not _is_int(answer.get("acked_seq")) or not _is_int(answer.get("hlc")):
                raise SyncError(SyncError.NOT_HQ, "its answer has no acked_seq", client.base)
            acked = _held(store, answer["acked_seq"])
            if acked < store.acked_seq and not rewound:
                _note(unwritten, store.set_acked, acked)
                rewound = True
                continue
            if events and acked < events[0]["seq"]:
                # HQ applies a batch whole or refuses it: a 200 that holds none of it (beyond the one rewind
                # above) comes from something between that is not HQ, and sending it again would get the same
                # answer at once, forever.
                failure = SyncError(SyncError.NOT_HQ, f"it took {len(events)} record(s) from {events[0]['seq']} on "
                                    f"but says it holds them only up to {acked}", client.base)
                failure.inconsistent = True
                raise failure
            if progress is not None:
                progress(acked, store.last_seq - acked)
            _note(unwritten, store.set_acked, acked)
            _take_hlc(store, client, answer["hlc"], unwritten, doubts)
            more_words = _take_left_elsewhere(store, answer.get("left_elsewhere"), unwritten, doubts)
            before_refused = None   # the next batch runs into the refused record first, and stops there
            sent += answer.get("applied", 0) if _is_int(answer.get("applied")) else 0
            config_changed = answer.get("config_version") not in (None, store.config_version())
            _grow_back(client, len(events))
            if (not events or len(events) < _batch_limit(client) and store.pending() == 0) and not more_words:
                break
            if config_changed:
                # HQ's configuration changed (a QR revoked, someone protected elsewhere, new keys): taken
                # now, not when a rush of check-ins at last lets the outbox empty.
                _fetch_config(store, client, unwritten, doubts)
                config_changed = False
        if config_changed or store.config_due(CONFIG_EVERY_S):
            _fetch_config(store, client, unwritten, doubts)
    except SyncError as exc:
        exc.pending = store.pending()
        raise
    if unwritten:
        raise _not_noted(store, unwritten[0])
    return SyncReport(sent, store.acked_seq, store.pending(), tuple(dict.fromkeys(doubts)))


def _not_noted(store: KioskStore, exc: sqlite3.Error) -> SyncError:
    """The round is done and HQ has the records; this kiosk's disk would not take what HQ said."""
    from .disk_failure import cause
    failure = SyncError(SyncError.STORAGE, f"{type(exc).__name__}: {exc}", db=str(store.path))
    failure.held, failure.storage = store.acked_seq, cause(exc, str(store.path))
    pending = store.pending()
    failure.pending = pending or None   # what HQ lacks, if anything: not "0 queued"
    return failure


def _state(exc: SyncError) -> tuple:
    """What a failure is, as the console tells it: its kind and HQ's reason, not the queue's length (it
    grows every round).  HQ out of reach is one state whatever the socket said this time."""
    if exc.kind == SyncError.UNREACHABLE:
        return exc.kind, bool(exc.status), exc.slow
    if exc.kind == SyncError.STORAGE:   # one state however far HQ's acknowledgement moved meanwhile
        return exc.kind, exc.storage
    return exc.kind, exc.detail


def _last_sync_at(store: KioskStore) -> str | None:
    try:
        return store.last_sync_at()
    except sqlite3.Error:
        return None


class BackgroundSync(threading.Thread):
    """Syncs every few seconds while HQ answers, backing off (with jitter) while it does not.  New records
    (new_records) end the wait, so that HQ back after an hour hears of a check-in within seconds, not at
    the end of the backoff; at most once per `interval`, so that a rush of check-ins while HQ is down is not
    a rush of tries.  One round at a time: this thread's."""

    def __init__(self, db_path: str, client: HQClient, interval: float = 2.0, max_backoff: float = 60.0,
                 say=None, progress_every: float = 30.0):
        super().__init__(daemon=True, name="kiosk-sync")
        self.db_path, self.client = db_path, client
        self.interval, self.max_backoff = interval, max_backoff
        self.stopping = threading.Event()
        # One attribute, set in one step: /api/status reads it from another thread, and a pair set one
        # after the other was once read half-changed ("HQ unreachable" while HQ had taken everything).
        self.failure: SyncError | None = None    # for the tablet, which words it in its language
        self.synced_before: str | None = None   # the kiosk file's last sync when the last round failed
        self.wake = threading.Event()      # ends the wait between rounds (send_now, new_records, stop)
        self._asked = threading.Event()    # send_now: a round at once
        self._news = threading.Event()     # new_records: a round soon
        self._news_round_ended: float | None = None   # (monotonic) the last round new records brought on
        # say(text): a line on the operator's console (`evac kiosk serve`) when the sync's state changes:
        # a wrong token must not go unnoticed there while HQ refuses every round.
        self.say = say if callable(say) else None
        self._said: tuple | None = None
        # Whether HQ has answered since the kiosk started: until then nobody knows if it is reachable.
        self.heard = False
        # A long catch-up is one round of many batches: the console hears how many are left this often.
        self.progress_every = progress_every
        self._progress_said: float | None = None

    def run(self) -> None:
        store = KioskStore(self.db_path)  # its own connection: sqlite objects stay in their thread
        delay = self.interval
        for_news = False
        while not self.stopping.is_set():
            try:
                report = sync_once(store, self.client, progress=self._progress)
                self.failure, self.heard = None, True
                delay = self.interval
                again = bool(self._said and self._said[0] != "works")
                doubts = [doubt.partition(" / ") for doubt in report.doubts]
                self._tell(("works", report.doubts),
                           f"本部 {self.client.base} との同期は{'再び' if again else ''}動いています: 本部はこの受付機の記録を "
                           f"{report.acked_seq} 番まで受け取っています（送信待ち {report.pending} 件）"
                           + "".join(f"。ただし、{ja}" for ja, _, _ in doubts)
                           + f" / sync with HQ at {self.client.base} works{' again' if again else ''}: HQ holds this "
                           f"kiosk's records up to {report.acked_seq}, {report.pending} waiting to be sent"
                           + "".join(f"; but {en or ja}" for ja, _, en in doubts))
            except SyncError as exc:
                self.synced_before = _last_sync_at(store)   # (before the failure: what a reader pairs with it)
                self.failure = exc
                self.heard = self.heard or exc.hq_answered
                # Too slow for the batch: the next try, smaller, comes soon; HQ out of reach: back off.  HQ
                # answering while the disk is full: as usual, so the disk is written soon after room is made.
                delay = self.interval if exc.slow or exc.hq_answered else \
                    min(self.max_backoff, delay * 2) * random.uniform(0.8, 1.2)
                self._tell(_state(exc), console_text(exc) if exc.hq_answered else
                           failed_text(exc, "本部との同期に失敗しました: ", "sync with HQ failed: "))
            except Exception as exc:  # keep syncing whatever one round hit
                self.synced_before = _last_sync_at(store)
                self.failure = SyncError(SyncError.FAILED, repr(exc))
                delay = min(self.max_backoff, delay * 2)
                self._tell(_state(self.failure), console_text(self.failure))
            if for_news:
                self._news_round_ended = time.monotonic()
            for_news = self._rest(delay)
        store.close()

    def _rest(self, delay: float) -> bool:
        """Wait `delay` before the next round, less if asked: send_now and stop end the wait at once; new
        records end it no sooner than `interval` after the last round they brought on.  Whether the next
        round is new records'."""
        until = time.monotonic() + delay
        for_news = False
        while not self.stopping.is_set() and not self._asked.is_set():
            now = time.monotonic()
            if self._news.is_set() and not for_news:
                last = self._news_round_ended
                soonest = now if last is None else max(now, last + self.interval)
                if soonest < until:
                    until, for_news = soonest, True
            if until <= now:
                break
            self.wake.wait(until - now)
            self.wake.clear()
        # (before the round: records committed from here on are the round's or bring on the next)
        self._asked.clear()
        self._news.clear()
        return for_news

    def new_records(self) -> None:
        """The kiosk's app committed new records (a check-in, a check-out, a tablet's correction): sent soon.
        Called from the request's thread after the commit, never before (the round must find them)."""
        self._news.set()
        self.wake.set()

    def send_now(self) -> None:
        """Staff asked (the tablet's withdrawal of a refused record): a round at once, whatever the backoff."""
        self._asked.set()
        self.wake.set()

    def failure_now(self, last_sync_at: str | None) -> SyncError | None:
        """The last round's failure, unless HQ answered a sync after it: another process's (`evac kiosk sync`
        run by hand while HQ was out of this one's reach) that the kiosk's file says (last_sync_at).  The
        tablet said "HQ cannot be reached, 663 records queued" beside 0 waiting until this one's next round."""
        failure, before = self.failure, self.synced_before
        if failure is None or failure.hq_answered or not last_sync_at or last_sync_at == before:
            return failure
        try:
            if before is not None and dt.datetime.fromisoformat(last_sync_at) <= dt.datetime.fromisoformat(before):
                return failure
        except ValueError:
            return failure
        self.heard = True   # (HQ answered that sync: heard, as by this one's own)
        return None

    @property
    def last_error(self) -> str | None:
        """The failure in words, Japanese then English, for /api/status (read `failure` once and word it,
        where both are needed)."""
        failure = self.failure
        return None if failure is None else str(failure)

    def _progress(self, acked_seq: int, pending: int) -> None:
        """HQ took a batch: it is reachable now, whatever the last round met, though the round goes on.
        A disk that would not take HQ's answers is still said until a round writes them down."""
        if self.failure is None or not self.failure.hq_answered:
            self.failure = None
        self.heard = True
        now = time.monotonic()
        if pending and (self._progress_said is None or now - self._progress_said >= self.progress_every):
            self._progress_said = now
            self._say(f"本部へ送信中: 残り {pending} 件（本部はこの受付機の記録を {acked_seq} 番まで受け取っています） / "
                      f"sending to HQ: {pending} left (HQ holds this kiosk's records up to {acked_seq})")

    def _say(self, text: str) -> None:
        if self.say is not None:
            try:
                self.say(text)
            except (OSError, ValueError):  # a closed or full console must not stop the sync
                pass

    def _tell(self, state: tuple, text: str) -> None:
        """Once per change of state, not once per round: the console is read by a person."""
        if state == self._said:
            return
        self._said = state
        self._say(text)

    def stop(self) -> None:
        self.stopping.set()
        self.wake.set()
