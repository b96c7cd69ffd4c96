"""A public form sent with an expired or invalid CSRF token (a page left open, HQ restarted, an old tab
restored on a phone): the same form again, with what was typed and one sentence in the person's language
asking them to send it again.  Nothing is written.  Staff forms say it on HQ's own staff page, in
Japanese and English: logged out (logging out clears the token), log in again; or go back and reload."""
from __future__ import annotations

from flask import Flask, current_app, redirect, render_template, request, url_for
from flask_babel import force_locale, gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError

# Forms of HQ's staff that check their log-in themselves rather than by staff_only (the map's disaster
# choice), or that need none (log out).  The rest are known by staff_only's mark (staff_area).
STAFF_FORMS = ("map.choose_disaster", "staff.logout")
# Where each goes back to after logging in, when the browser did not say which page the form was on.
BACK_TO = {"map.choose_disaster": "map.map_page"}


def _staff_form() -> bool:
    """A form of a staff page: not the public ones (safety, pre-registration), nor the log-in's own, whose
    page is already the way in."""
    view = current_app.view_functions.get(request.endpoint)
    return request.endpoint in STAFF_FORMS or getattr(view, "staff_area", None) is not None


def _staff_page():
    from .staff import form_page   # (staff imports much of HQ)
    if not current_user.is_authenticated and request.endpoint == "staff.logout":
        return redirect(url_for("staff.login"))   # logged out already (another tab): what was asked for
    if not current_user.is_authenticated:
        # Logged out (here or in another tab, or the log-in ended): its token went with the log-in.  Not
        # the form-expired words, which would have staff reload and send it again into the same refusal.
        back = form_page() or (url_for(BACK_TO[request.endpoint]) if request.endpoint in BACK_TO else None)
        return render_template(
            "message.html", title="ログアウトしています / Logged out", login=url_for("staff.login", next=back),
            ja="ログアウトしているため、送信された内容は保存されていません。もう一度ログインしてから、やり直してください。",
            en="You are logged out, so what you sent was NOT saved. Log in again, then do it again."), 400
    words = lambda: _("This form was open too long or the server restarted, so nothing was saved. "  # noqa: E731
                      "Go back, reload the page and try again.")
    with force_locale("ja"):
        ja = words()
    with force_locale("en"):
        en = words()
    return render_template("message.html", title="保存されていません / Not saved", ja=ja, en=en,
                           back=form_page()), 400


def _send_again(exc: CSRFError):
    from . import prereg_manage, prereg_pages, safety_pages
    if _staff_form():
        return _staff_page()
    page = {"safety_pages.submit": safety_pages.inquiry_page,
            "safety_pages.self_report_submit": safety_pages.self_report_page,
            "prereg_pages.register": prereg_pages.form_page,
            "prereg_manage.change": prereg_manage.change_form}.get(request.endpoint)
    if page is None:
        # HQ staff's log-in (and any other form): nothing to re-fill, but said in words.
        return render_template("safety/message.html", message=_(
            "This form was open too long or the server restarted, so nothing was saved. "
            "Go back, reload the page and try again.")), 400
    message = _("Your entry was not sent: the page was open too long or the server restarted. "
                "What you typed is still here; please check it and send it again.")
    return page(request.form, {"form": message}), 400


def init_app(app: Flask) -> None:
    app.register_error_handler(CSRFError, _send_again)
