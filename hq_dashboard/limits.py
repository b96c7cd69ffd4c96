"""HQ's rate limiter (Flask-Limiter) and the answer people get when they hit it."""
from __future__ import annotations

import ipaddress

from flask import jsonify, make_response, render_template, request
from flask_babel import gettext as _
from flask_limiter import Limiter


def client_network(address: str | None = None) -> str:
    """Whom a budget counts against: an IPv4 address as it is, an IPv6 address as its /64.  A phone or
    a home gets a whole /64 and picks a new address in it at will, so per address it would have no
    limit at all.  (`address`: the request's, as ProxyFix left it, when not given.)"""
    address = request.remote_addr if address is None else address
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return address or ""
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


# No default limits: kiosk sync must never be throttled; routes opt in.
limiter = Limiter(key_func=client_network, default_limits=[], storage_uri="memory://",
                  headers_enabled=True)

# The JSON API's message (kept as it is: clients and tests read it); pages say it in the person's language.
TOO_MANY = ("Too many inquiries in a short time. Please try again later. "
            "短時間に多くの問い合わせがありました。しばらくしてからもう一度お試しください。")


def too_many_requests(exc):
    if request.path.startswith("/api/"):
        resp = make_response(jsonify({"error": "rate_limited", "message": TOO_MANY}), 429)
    elif request.endpoint == "safety_pages.submit":   # the form again, with what she typed
        from .safety_pages import too_many_page
        resp = make_response(too_many_page(exc), 429)
    elif request.path.startswith("/staff"):   # the staff pages stay Japanese/English
        resp = make_response(render_template("safety/message.html", title="429", message=TOO_MANY), 429)
    else:
        resp = make_response(render_template(
            "safety/message.html", title="429",
            message=_("Too many inquiries in a short time. Please try again later.")), 429)
    # Flask-Limiter adds Retry-After and the X-RateLimit headers to this response.
    return resp
