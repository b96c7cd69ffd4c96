"""HQ's human pages.  The full map and dashboard come with the map issue; this is the occupancy table."""
from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user
from sqlalchemy import select

from .dashboard import in_transit
from .db import db
from .models import Kiosk, SelfReportCount, Shelter

bp = Blueprint("pages", __name__)


@bp.get("/")
def index():
    shelters = db.session.execute(
        select(Shelter).order_by(Shelter.occupancy.desc(), Shelter.id)).scalars().all()
    # Only for HQ staff too: how many records a kiosk sent moves for someone unknown typed in beside a card, and
    # not for a protected person held back for staff (災対法 §86-15: she must look like someone unknown).
    kiosks = None
    if current_user.is_authenticated:
        kiosks = db.session.execute(select(Kiosk).where(Kiosk.retired_at.is_(None)).order_by(Kiosk.id)).scalars().all()
    # 移動中 as the dashboard counts it: sent on by one shelter, not yet checked in at another (a count only).
    totals = {"occupancy": sum(s.occupancy for s in shelters), "at_home": sum(s.at_home for s in shelters),
              "in_car": sum(s.in_car for s in shelters), "in_transit": in_transit()["count"]}
    # Only for HQ staff: anyone may self-report any name, and a count that moves for an unknown name
    # but not for a checked-in one would tell a stranger which names are in a shelter (even protected ones).
    self_reports = None
    if current_user.is_authenticated:
        self_reports = dict(db.session.execute(select(SelfReportCount.place, SelfReportCount.count)).all())
    return render_template("index.html", shelters=shelters, kiosks=kiosks, totals=totals, self_reports=self_reports)


@bp.get("/favicon.ico")
def favicon():
    """No icon, and no 404 in every browser console either."""
    return "", 204
