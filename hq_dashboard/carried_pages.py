"""HQ staff apply a kiosk's records carried by hand (evac.carried) from the browser: one file upload.

The file is a sync the network could not carry; it is applied by hq_dashboard.carried as the kiosk's
own sync.  It may be larger than any one request HQ otherwise takes (days of a shelter's records)."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template, request
from flask_login import login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import StringField
from wtforms.validators import Length, Optional

from evac.carried import MAX_FILE_BYTES

from . import notify
from .carried import CarriedRefused, apply_carried
from .db import db

bp = Blueprint("carried", __name__, url_prefix="/staff")


class CarriedForm(FlaskForm):
    file = FileField(validators=[FileRequired("ファイルを選んでください。 / Choose the file the shelter sent.")])
    token = StringField(validators=[Optional(), Length(max=200)])


@bp.route("/carried", methods=["GET", "POST"])
@login_required
def upload():
    # Before the form is read: the file may be larger than HQ's limit for other requests.  CSRF is
    # checked by the form itself (this view is exempt from the app-wide check, which reads the body first).
    request.max_content_length = MAX_FILE_BYTES
    form = CarriedForm()
    result = error = None
    if form.validate_on_submit():
        data = form.file.data.read()
        try:
            result = apply_carried(db.session, data, (form.token.data or "").strip() or None)
            applied, last_hlc = result.applied, result.last_hlc
        except CarriedRefused as exc:
            error, applied, last_hlc = exc.message, exc.applied, exc.last_hlc
        if last_hlc:
            current_app.extensions["hlc"].receive(last_hlc)
        if applied:
            notify.after_change(current_app._get_current_object())   # news for families who asked
    elif request.method == "POST":
        error = " ".join(m for ms in form.errors.values() for m in ms)
    status = 422 if error else 200
    return render_template("carried.html", form=form, result=result, error=error), status
