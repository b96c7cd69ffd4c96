"""Log-in cookies marked Secure whenever the request came by HTTPS (the kiosk's tablet port, or HQ
behind its TLS proxy): the browser then never sends them over plain HTTP, where anyone on the same
network could read them.  Shared by the kiosk and HQ."""
from __future__ import annotations

from flask import Flask, request
from flask.sessions import SecureCookieSessionInterface


class SecureOverHttps(SecureCookieSessionInterface):
    def get_cookie_secure(self, app: Flask) -> bool:
        return request.is_secure or super().get_cookie_secure(app)
