"""Cookies marked Secure whenever the request came by HTTPS (the kiosk's tablet port) or the app is
set to be reached only by HTTPS (SESSION_COOKIE_SECURE: HQ behind its TLS proxy, which HQ itself sees
as plain HTTP): the browser then never sends them over plain HTTP, where anyone on the same network
could read them.  Shared by the kiosk and HQ, for the session cookie and every other long-lived one."""
from __future__ import annotations

from flask import Flask, current_app, request
from flask.sessions import SecureCookieSessionInterface


def secure_cookie() -> bool:
    """`secure=` for a cookie set in this request."""
    return request.is_secure or bool(current_app.config.get("SESSION_COOKIE_SECURE"))


class SecureOverHttps(SecureCookieSessionInterface):
    def get_cookie_secure(self, app: Flask) -> bool:
        return secure_cookie()
