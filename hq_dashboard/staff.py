"""HQ staff: login (Flask-Login), the review queue of safety inquiries, the audit log."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import LoginManager, current_user, login_required, login_user, logout_user
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from . import notify, safety
from .db import db
from .limits import limiter
from .models import Person, StaffUser

bp = Blueprint("staff", __name__, url_prefix="/staff")
login_manager = LoginManager()
login_manager.login_view = "staff.login"
login_manager.login_message = "Please log in as HQ staff. / 本部職員としてログインしてください。"


class StaffLogin:
    """What Flask-Login keeps of a staff member: the id and the name."""

    def __init__(self, user: StaffUser):
        self.id, self.username = user.id, user.username
        self.is_authenticated, self.is_active, self.is_anonymous = True, True, False

    def get_id(self) -> str:
        return str(self.id)


@login_manager.user_loader
def _load(user_id: str):
    user = db.session.get(StaffUser, int(user_id)) if user_id.isdigit() else None
    return StaffLogin(user) if user else None


def add_staff(session, username: str, password: str) -> None:
    username = username.strip()
    if not username or len(username) > 64:
        raise ValueError("a staff name is 1 to 64 characters")
    if len(password) < 10:
        raise ValueError("the password must be at least 10 characters")
    if session.execute(select(StaffUser).where(StaffUser.username == username)).first():
        raise ValueError(f"there is already a staff member called {username!r}")
    session.add(StaffUser(username=username, password_hash=generate_password_hash(password),
                          created_at=dt.datetime.now(dt.timezone.utc)))
    session.commit()


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def login():
    error = None
    if request.method == "POST":
        user = db.session.execute(select(StaffUser).where(
            StaffUser.username == request.form.get("username", "").strip())).scalar()
        if user and check_password_hash(user.password_hash, request.form.get("password", "")):
            login_user(StaffLogin(user))
            return redirect(url_for("staff.queue"))
        error = "Wrong name or password. / 名前またはパスワードが違います。"
    return render_template("safety/login.html", error=error), 401 if error else 200


@bp.post("/logout")
def logout():
    logout_user()
    return redirect(url_for("staff.login"))


def _queue_page(errors: dict | None = None, status: int = 200):
    inquiries = safety.pending(db.session)
    # Whose consent came from the public self-report page (anyone can claim to be anyone there):
    # staff should know the person's own word is unverified before they release anything.
    persons = {p.id: p for p in db.session.scalars(
        select(Person).where(Person.id.in_([i.person_id for i in inquiries if i.person_id])))}
    self_consent = {i.id for i in inquiries if i.person_id in persons
                    and persons[i.person_id].consent_source == "self"}
    return render_template("safety/queue.html", inquiries=inquiries, errors=errors or {},
                           self_consent=self_consent), status


@bp.get("/inquiries")
@login_required
def queue():
    return _queue_page()


@bp.post("/inquiries/<inquiry_id>/<decision>")
@login_required
def decide(inquiry_id: str, decision: str):
    if decision not in ("release", "reject"):
        abort(404)
    note = request.form.get("note", "")
    try:
        if decision == "release":
            safety.release(db.session, inquiry_id, current_user.username, note)
        else:
            safety.reject(db.session, inquiry_id, current_user.username, note)
    except safety.ReviewError as exc:
        return _queue_page({inquiry_id: str(exc)}, 422)
    if decision == "release":
        notify.after_change(current_app._get_current_object())
    flash(f"{inquiry_id}: {decision}d")
    return redirect(url_for("staff.queue"))


@bp.get("/audit")
@login_required
def audit():
    q = request.args.get("q", "")[:100]
    return render_template("safety/audit.html", entries=safety.search_audit(db.session, q), q=q)
