"""The staff tablets' HTTPS listener (certificate: kiosk.tablet_tls), beside the screen's plain one.

cheroot serves it, because waitress speaks no TLS.  Anyone on the shelter's Wi-Fi can reach this port, so
it must not be easy to stall:
- cheroot greets connections in one accepting thread; the TLS handshake (and the look at whether a
  browser came by plain http://) is done here in the worker thread that serves the connection instead,
  within one deadline, so a connection that says nothing, or drips bytes, holds up only itself;
- a request's head, and then its body, each have a deadline of their own (cheroot's timeout is per read:
  a client dripping a byte every few seconds would hold a worker for ever);
- one client address holds at most PER_ADDRESS connections (a browser opens up to six to a site), so a
  few slow clients cannot take every worker.
The kiosk's own certificate is looked at every CERTIFICATE_CHECK_SECONDS while it runs, and made again
and served without a restart before it runs out; the city's is loaded again when the city put a new one
in its place, and its nearing end is said on the console once a day.
A browser that typed http:// is sent to the same page by HTTPS rather than dropped.
"""
from __future__ import annotations

import datetime as dt
import io
import os
import re
import socket
import ssl
import sys
import threading
import time
from collections import Counter

from cheroot import errors, wsgi
from cheroot.makefile import StreamReader, StreamWriter
from cheroot.server import HTTPConnection, HTTPRequest
from cheroot.ssl.builtin import BuiltinSSLAdapter

from .clients import client_key
from .store import KioskError
from .tablet_tls import TabletCertificate, citys_running_out, renewed

HANDSHAKE_SECONDS = 5
# A request's line and headers, from its first byte: a client dripping a header every few seconds would
# otherwise hold a worker for as long as it likes (cheroot's own timeout is per read).
HEAD_SECONDS = 30


def _seconds(name: str, default: float) -> float:
    """A deadline from the environment (tests shorten them), else `default`."""
    try:
        value = float(os.environ.get(name, default))
    except ValueError:
        return default
    return value if value > 0 else default


# A request's body, from the end of its head: the largest the app takes (BODY_MAX, as MAX_CONTENT_LENGTH)
# reaches the kiosk in a few seconds even on a crowded shelter Wi-Fi; a minute never cuts a real tablet.
BODY_SECONDS = _seconds("EVAC_TABLET_BODY_SECONDS", 60)
BODY_MAX = 256 * 1024
# Hourly: a kiosk may run for years without a restart, and its own certificate must not run out meanwhile.
CERTIFICATE_CHECK_SECONDS = _seconds("EVAC_TABLET_CERTIFICATE_CHECK_SECONDS", 3600)
PER_ADDRESS = 8
WORKERS = 32
_QUIET = "evac: not a tablet's error"   # failures of clients, not of the kiosk: not on the console

_REQUEST_LINE_RE = re.compile(rb"(GET|HEAD) (/[\x21-\x7e]*) HTTP/1\.[01]\r\n")
_HOST_RE = re.compile(rb"\r\nhost: *([A-Za-z0-9.\-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]+)? *\r\n", re.IGNORECASE)


class _TabletAdapter(BuiltinSSLAdapter):
    def __init__(self, certificate: TabletCertificate, port: int, timeout: float):
        super().__init__(str(certificate.cert), str(certificate.key))
        self.port, self.timeout = port, timeout
        self._open: Counter = Counter()
        self._lock = threading.Lock()

    def wrap(self, sock):
        """In the accepting thread: only count the client's connections; the handshake waits for a worker."""
        address = _client(sock)
        with self._lock:
            if self._open[address] >= PER_ADDRESS:
                sock.close()
                raise errors.FatalSSLAlert(f"{_QUIET}: {address} has {PER_ADDRESS} connections open")
            self._open[address] += 1
        return _Connection(sock, self, address), {"wsgi.url_scheme": "https", "HTTPS": "on"}

    def serve(self, certificate: TabletCertificate) -> None:
        """Connections from now on get `certificate` (those open keep theirs).  Raises ssl.SSLError, OSError."""
        context = ssl.create_default_context(purpose=ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(certificate.cert), str(certificate.key))
        self.context = context   # read once per connection, in start_tls: no lock needed

    def makefile(self, sock, mode="r", bufsize=-1):
        return (StreamReader if "r" in mode else StreamWriter)(sock, mode, bufsize)

    def released(self, address: str) -> None:
        with self._lock:
            self._open[address] -= 1
            if self._open[address] <= 0:
                del self._open[address]

    def start_tls(self, raw: socket.socket) -> tuple:
        """In a worker: (the TLS socket, not yet greeted, and the deadline of its handshake), or, for a
        browser that came by plain http://, its answer sent to https://.  Raises errors.FatalSSLAlert,
        which cheroot takes as the client gone."""
        deadline = time.monotonic() + HANDSHAKE_SECONDS
        try:
            raw.settimeout(HANDSHAKE_SECONDS)
            first = raw.recv(1, socket.MSG_PEEK)
            if first != b"\x16":   # not a TLS handshake: someone typed http://
                if first:
                    _send_to_https(raw, self.port, deadline)
                raise errors.FatalSSLAlert(f"{_QUIET}: plain HTTP")
            return self.context.wrap_socket(raw, server_side=True, do_handshake_on_connect=False), deadline
        except (OSError, ValueError) as exc:   # timeouts are OSErrors
            raise errors.FatalSSLAlert(f"{_QUIET}: {exc}") from None


class _Connection:
    """An accepted socket whose TLS starts at its first use, in the worker that serves it."""

    def __init__(self, raw: socket.socket, adapter: _TabletAdapter, address: str):
        self._raw, self._adapter, self._address = raw, adapter, address
        self._tls = None
        self._counted = True

    def _ready(self):
        if self._tls is None:
            self._tls, deadline = self._adapter.start_tls(self._raw)   # the raw socket now belongs to it
            try:
                self._tls.settimeout(max(0.1, deadline - time.monotonic()))
                self._tls.do_handshake()
                self._tls.settimeout(self._adapter.timeout)
            except OSError as exc:   # ssl.SSLError, a timeout, the client gone
                raise errors.FatalSSLAlert(f"{_QUIET}: {exc}") from None
        return self._tls

    def recv(self, *args):
        return self._ready().recv(*args)

    head_deadline: float | None = None   # set while cheroot reads a request's head (_TabletRequest)
    body_deadline: float | None = None   # set while its body is read (_TabletGateway)

    def recv_into(self, *args):
        tls = self._ready()
        deadline = self.head_deadline if self.head_deadline is not None else self.body_deadline
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("timed out")   # cheroot answers 408 and closes
            tls.settimeout(min(self._adapter.timeout, left))
        return tls.recv_into(*args)

    def send(self, *args):
        return self._ready().send(*args)

    def sendall(self, *args):
        return self._ready().sendall(*args)

    def settimeout(self, value):
        (self._tls or self._raw).settimeout(value)

    def shutdown(self, how):
        # cheroot's worker thread dies on an error here: a client gone mid-handshake is no error.
        try:
            (self._tls or self._raw).shutdown(how)
        except OSError:
            pass

    def close(self):
        if self._counted:
            self._counted = False
            self._adapter.released(self._address)
        (self._tls or self._raw).close()

    def __getattr__(self, name):
        return getattr(self._tls or self._raw, name)


class _TabletRequest(HTTPRequest):
    def parse_request(self):
        sock = self.conn.socket
        sock.head_deadline = time.monotonic() + HEAD_SECONDS
        try:
            return super().parse_request()
        finally:
            sock.head_deadline = None
            if sock._tls is not None:
                sock.settimeout(sock._adapter.timeout)

    def respond(self):
        sock = self.conn.socket
        sock.body_deadline = time.monotonic() + BODY_SECONDS   # from the end of the head
        try:
            return super().respond()
        finally:
            sock.body_deadline = None


class _TabletConnection(HTTPConnection):
    RequestHandlerClass = _TabletRequest


class _TabletGateway(wsgi.Gateway_10):
    """The body is read whole, within its deadline, before the app sees any of it: the app never meets
    a client that stopped half-way (a timeout in the app would be its error, with a traceback)."""

    def respond(self):
        req, sock = self.req, self.req.conn.socket
        try:
            body = req.rfile.read()   # at most BODY_MAX (the server's max_request_body_size)
        except TimeoutError:
            return self._refuse("408 Request Timeout", "The request's body came too slowly.")
        except errors.MaxSizeExceeded:
            return self._refuse("413 Request Entity Too Large", "The request is too large.")
        except ValueError:   # cheroot's words for a chunked body not in chunks
            return self._refuse("400 Bad Request", "The request's body is not in chunks.")
        except OSError as exc:
            if exc.args != ("Request Entity Too Large",):   # cheroot's for a chunk over the limit
                raise   # the client gone: cheroot's to handle, as before
            return self._refuse("413 Request Entity Too Large", "The request is too large.")
        sock.body_deadline = None   # what follows is the app's time, and the reply's: the usual timeout
        sock.settimeout(sock._adapter.timeout)
        self.env["wsgi.input"] = io.BytesIO(body)
        return super().respond()

    def _refuse(self, status: str, words: str) -> None:
        req, sock = self.req, self.req.conn.socket
        sock.body_deadline = None
        sock.settimeout(sock._adapter.timeout)   # the answer gets the usual time to leave
        req.simple_response(status, words)
        req.close_connection, req.ready = True, False   # what is left of the body is not read


class _TabletServer(wsgi.Server):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.stopped = threading.Event()

    def stop(self):
        self.stopped.set()
        super().stop()


def _keep_certificate_fresh(server: _TabletServer, certificate: TabletCertificate, on_renewed) -> None:
    """While the kiosk runs: its own certificate made again and served before it runs out; the city's
    served again when the city put a new one in its place, and its end said once a day as it nears."""
    said_running_out = dt.date.today() if citys_running_out(certificate) else None   # said at the start
    while not server.stopped.wait(CERTIFICATE_CHECK_SECONDS):
        try:
            new = renewed(certificate)
            if new is not None:
                server.ssl_adapter.serve(new)
        except (KioskError, ssl.SSLError, OSError) as exc:   # a full or read-only SD card: the old one serves on
            if certificate.made_here:
                _say("タブレット用の証明書を作り直せませんでした。今の証明書で続け、1時間後にもう一度試します / could "
                     f"not make the tablets' new certificate ({exc}): the old one is served meanwhile, and it is tried "
                     "again in an hour")
            else:
                _say("市の新しい証明書を読み込めませんでした。今の証明書で続け、1時間後にもう一度試します / could not "
                     f"load the city's new certificate ({exc}): the one loaded before is served meanwhile, and it is "
                     "tried again in an hour")
            new = None
        if new is not None:
            certificate = new
            for note in new.notes:
                _say(note)
            said_running_out = dt.date.today() if citys_running_out(new) else None
            if on_renewed is not None:
                on_renewed(new)
        running_out = citys_running_out(certificate)
        if running_out and said_running_out != dt.date.today():
            _say(running_out)
            said_running_out = dt.date.today()


def _say(text: str) -> None:
    try:
        print(f"evac: {text}", file=sys.stderr, flush=True)
    except (OSError, ValueError):   # a console on a full disk must not end the hourly look
        pass


def _client(sock: socket.socket) -> str:
    try:
        return client_key(sock.getpeername()[0])
    except (OSError, IndexError):
        return "?"


def _send_to_https(sock: socket.socket, port: int, deadline: float) -> None:
    head = b""
    try:
        while b"\r\n\r\n" not in head and len(head) < 8192:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            sock.settimeout(left)   # one deadline for the whole request, however slowly it drips
            chunk = sock.recv(8192 - len(head))
            if not chunk:
                break
            head += chunk
        line, host = _REQUEST_LINE_RE.match(head), _HOST_RE.search(head)
        text = ("このページは https:// で開いてください / open this page with https:// "
                f"(https://KIOSK:{port}/staff/)\n")
        if line and host:
            target = f"https://{host.group(1).decode()}:{port}{line.group(2).decode()}"
            status, text = "301 Moved Permanently", f"{text}{target}\n"
            extra = f"Location: {target}\r\n"
        else:
            status, extra = "400 Bad Request", ""
        body = text.encode()
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        sock.sendall(f"HTTP/1.1 {status}\r\n{extra}Content-Type: text/plain; charset=utf-8\r\n"
                     f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def tablet_server(app, host: str, port: int, certificate: TabletCertificate, on_renewed=None) -> wsgi.Server:
    """Serve `app` by HTTPS in a thread of its own.  Raises OSError when it cannot listen.  `on_renewed`
    is called with the kiosk's new certificate when it was made again while running."""
    server = _TabletServer((host, port), app, numthreads=WORKERS, server_name="evac-kiosk")
    server.ConnectionClass = _TabletConnection
    server.gateway = _TabletGateway
    server.max_request_body_size = BODY_MAX
    server.ssl_adapter = _TabletAdapter(certificate, port, server.timeout)
    said = server.error_log

    def error_log(msg="", *args, **kwargs):
        # A client that broke its TLS or went away (anyone on the Wi-Fi can, in a loop) is not the
        # kiosk's fault: nothing on the console, which may be a file on the SD card.
        if _QUIET not in msg and not isinstance(sys.exc_info()[1], (ssl.SSLError, ConnectionError)):
            said(msg, *args, **kwargs)
    server.error_log = error_log
    try:
        server.prepare()
    except OSError as exc:
        # cheroot says the system's error in its own words only: the number back, for words of ours.
        number = exc.errno or int((re.search(r"\[Errno (\d+)\]", str(exc)) or [0, 0])[1])
        raise OSError(number or None, os.strerror(number) if number else str(exc)) from None
    threading.Thread(target=server.serve, name="tablet-https", daemon=True).start()
    threading.Thread(target=_keep_certificate_fresh, args=(server, certificate, on_renewed),
                     name="tablet-certificate", daemon=True).start()
    return server
