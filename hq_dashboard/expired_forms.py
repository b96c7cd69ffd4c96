"""A public form sent with an expired or invalid CSRF token (a page left open, HQ restarted, an old tab
restored on a phone): the same form again, with what was typed and one sentence in the person's language
asking them to send it again.  Nothing is written.  Staff pages say it in words (go back, reload)."""
from __future__ import annotations

from flask import Flask, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError


def _send_again(exc: CSRFError):
    from . import prereg_manage, prereg_pages, safety_pages
    page = {"safety_pages.submit": safety_pages.inquiry_page,
            "safety_pages.self_report_submit": safety_pages.self_report_page,
            "prereg_pages.register": prereg_pages.form_page,
            "prereg_manage.change": prereg_manage.change_form}.get(request.endpoint)
    if page is None:
        # A staff page (log-in, review, disaster choice): nothing to re-fill, but said in words.
        return render_template("safety/message.html", message=_(
            "This form was open too long or the server restarted, so nothing was saved. "
            "Go back, reload the page and try again.")), 400
    message = _("Your entry was not sent: the page was open too long or the server restarted. "
                "What you typed is still here; please check it and send it again.")
    return page(request.form, {"form": message}), 400


def init_app(app: Flask) -> None:
    app.register_error_handler(CSRFError, _send_again)
