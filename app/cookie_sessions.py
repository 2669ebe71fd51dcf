"""Cookie sessions are for people in browsers (console sign-in, CSRF, flashes), not API callers.

A ``/v1`` request authenticates itself (a secret key, or a client token), and nothing under it reads
or writes the session; opening it anyway would unsign and decode a cookie on every track, and a
browser calling the client API would get one back. So ``/v1`` gets Flask's null session: nothing
is read, nothing is set.
"""

from __future__ import annotations

from flask import Flask, Request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface

API_PREFIX = "/v1/"


class BrowserSessionInterface(SecureCookieSessionInterface):
    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if request.path.startswith(API_PREFIX):
            return self.make_null_session(app)
        return super().open_session(app, request)


def register(app: Flask) -> None:
    app.session_interface = BrowserSessionInterface()
