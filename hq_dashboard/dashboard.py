"""HQ's operations dashboard and exports: totals, shelters by fullness with their needs, arrivals over
time, kiosks with their last sync, alerts; CSV, GeoJSON and 自治体標準オープンデータセット downloads."""
from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import json

from flask import Blueprint, Response, current_app, jsonify, render_template, request, url_for
from flask_babel import gettext as _, ngettext
from flask_login import current_user
from sqlalchemy import func, select, text

from evac.disasters import DISASTERS, UNSUITABLE
from evac.events import CHECKIN, NEEDS_CODES
from evac.hlc import COUNTER_BITS, MAX_DRIFT_MS
from evac.opendata import STANDARD_HEADER, standard_rows
from evac.shelters import CREDITS
from evac.spreadsheet import safe_cell

from .db import db
from .enrollment import unknown_kiosks
from .models import IN_TRANSIT_WHERE, EventRecord, Kiosk, Person, Shelter
from .site_words import KIND_LABELS, NEEDS_LABELS, STATUS_LABELS, SUITABILITY_LABELS, word
from .situation import SiteView, carried_up_to, current_disaster, feature_collection, numbers_at, site_views
from .roles import HQ, staff_only

bp = Blueprint("dashboard", __name__)

SORTS = {
    # Full first (counted so, or declared so by the shelter's staff, whatever its count), then by fullness.
    "fullness": lambda v: (v.shelter.status != "full", -(v.fullness if v.fullness is not None else -1),
                           -v.shelter.occupancy, v.shelter.id),
    "occupancy": lambda v: (-v.shelter.occupancy, v.shelter.id),
    "id": lambda v: v.shelter.id,
}


# What HQ's people read is Japan's time (no summer time: a fixed offset is exact, and needs no tz data).
JST = dt.timezone(dt.timedelta(hours=9), "JST")


@bp.app_template_filter("jst")
def jst(t: dt.datetime | None, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    """A stored time (UTC; naive from SQLite) as Japan's time, to the second, labelled JST."""
    return f"{_aware(t).astimezone(JST).strftime(fmt)} JST" if t is not None else ""


@bp.app_template_filter("site_kind")
def site_kind(code: str) -> str:
    """指定避難所 / 指定緊急避難場所 / 津波避難ビル等: HQ's pages say the kind as the map's layers do."""
    return word(KIND_LABELS, code)


@bp.app_template_filter("site_status")
def site_status(code: str) -> str:
    return word(STATUS_LABELS, code)


@bp.app_template_filter("site_suitability")
def site_suitability(code: str) -> str:
    return word(SUITABILITY_LABELS, code)


@bp.app_template_filter("fullness_pct")
def fullness_pct(shelter) -> str:
    """Occupancy against capacity, truncated to a whole percent in integers (1.069 reads 106%, and 29 of
    100 reads 29%, which 0.29 * 100 truncated does not): the dashboard and the wall say the same."""
    return f"{shelter.occupancy * 100 // shelter.capacity}%" if shelter.capacity else "—"


@bp.app_template_global("closed_with_people")
def closed_with_people(shelter) -> bool:
    """Closed by its staff (the tablet's 閉鎖: a shelter_status "closed" later than its check-ins) while
    people are still counted in it.  Any check-in opens a shelter, so people counted at a shelter that is
    not open were left there by a close (hq_dashboard.merge._flush_shelters)."""
    return not shelter.opened and shelter.occupancy > 0


@bp.app_template_global("closed_with_registered_outside")
def closed_with_registered_outside(shelter) -> int:
    """People registered at a shelter its staff closed (閉鎖) who stay at home or in a car: they still depend
    on it (food, water, news) and must be told where to turn now.  0 when it is not closed by its staff."""
    return shelter.at_home + shelter.in_car if shelter.closed_by_staff else 0


def site_label(shelter_id: str, names: dict[str, str]) -> str:
    """A site as HQ's staff know it: its name, then its id (two sites may share a name)."""
    name = names.get(shelter_id)
    return f"{name} {shelter_id}" if name else shelter_id


def site_names() -> dict[str, str]:
    """Each site's id -> its name, read in one query (the dashboard, HQ's staff lists)."""
    return dict(db.session.execute(select(Shelter.id, Shelter.name)).all())


def _said_in_two(words) -> str:
    """A sentence in Japanese, then in the staff member's language (English when that is Japanese), as
    the page's other two-language words (wall_display._in_two)."""
    from .wall_display import _in_two   # (which imports staff, which imports this)
    two = _in_two(words)
    return f"{two['ja']} / {two['other']}"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _aware(t: dt.datetime | None) -> dt.datetime | None:
    # SQLite hands back naive datetimes; HQ writes UTC.
    return t.replace(tzinfo=dt.timezone.utc) if t is not None and t.tzinfo is None else t


def arrivals(bucket_minutes: int = 60, buckets: int = 24) -> list[tuple[dt.datetime, int]]:
    """Check-ins per time bucket over the last `buckets` buckets, by HQ's order of them (the events
    table's hlc column: a record's own time, never later than HQ received it)."""
    width = bucket_minutes * 60_000
    now_bucket = int(_now().timestamp() * 1000) // width
    first = now_bucket - buckets + 1
    bucket = EventRecord.hlc // ((1 << COUNTER_BITS) * width)
    rows = db.session.execute(
        select(bucket, func.count()).where(EventRecord.type == CHECKIN,
                                           EventRecord.hlc >= (first * width) << COUNTER_BITS)
        .group_by(bucket))
    counts = {int(b): n for b, n in rows}
    return [(dt.datetime.fromtimestamp((first + i) * width / 1000, dt.timezone.utc), counts.get(first + i, 0))
            for i in range(buckets)]


def arrivals_svg(series: list[tuple[dt.datetime, int]], width: int = 720, height: int = 160) -> str:
    """A bar chart as inline SVG, drawn here so the page needs no chart library."""
    peak = max([n for _, n in series] + [1])
    bar = width / len(series)
    top = 18   # a strip above the tallest bar for the peak's label: dark text on a dark bar is unreadable
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{top + height + 20}" role="img" '
             f'aria-label="到着者数の推移" class="arrivals" viewBox="0 0 {width} {top + height + 20}">']
    for i, (t, n) in enumerate(series):
        h = round(height * n / peak)
        x = round(i * bar, 1)
        parts.append(f'<rect x="{x}" y="{top + height - h}" width="{round(bar - 2, 1)}" height="{h}" fill="#1d3557">'
                     f'<title>{jst(t, "%m-%d %H:%M")}: {n}</title></rect>')
        if i % max(1, len(series) // 8) == 0:
            parts.append(f'<text x="{x}" y="{top + height + 14}" font-size="10">{t.astimezone(JST):%H:%M}</text>')
    parts.append(f'<text x="{width - 4}" y="12" font-size="10" text-anchor="end" class="peak">最大 {peak} 人/時</text>'
                 '</svg>')
    return "".join(parts)


# People moving between shelters this long are asked after (EVAC_TRANSIT_ALERT_HOURS).
TRANSIT_SETTING = "TRANSIT_ALERT_HOURS"


# Through ix_persons_in_transit (the condition written as the index's: a bound parameter would not use it).
IN_TRANSIT_QUERY = select(Person.shelter_id, Person.loc_order).where(text(IN_TRANSIT_WHERE))


def in_transit() -> dict:
    """People a shelter sent on to another (a transfer) who have not checked in anywhere since: counted
    nowhere else, so HQ counts them here.  Counts only, by where they are bound: no one's name, so the
    protected (never_disclose, a protected household) are in the numbers as everyone is, and nowhere else."""
    hours = current_app.config.get(TRANSIT_SETTING, 2)
    since_ms = int(_now().timestamp() * 1000) - int(hours * 3600_000)
    to, long_to = {}, {}
    # loc_order starts with the hlc of the person's latest location event (evac.events.order_key): the
    # transfer, unless a later record that moved nothing (a check-out at the shelter left) came after it,
    # which makes the time in transit look shorter, never longer.
    for bound_for, loc_order in db.session.execute(IN_TRANSIT_QUERY):
        to[bound_for] = to.get(bound_for, 0) + 1
        if loc_order[:20].isdecimal() and int(loc_order[:20]) >> COUNTER_BITS < since_ms:
            long_to[bound_for] = long_to.get(bound_for, 0) + 1
    # `to`: everyone in transit by where they are bound, however long (a shelter closed since they were
    # sent is an alert at once).
    return {"count": sum(to.values()), "to": dict(sorted(to.items())), "long": sum(long_to.values()),
            "long_to": dict(sorted(long_to.items())), "hours": hours}


def in_transit_to_closed(views: list[SiteView]) -> dict[str, int]:
    """How many are in transit to each shelter its staff closed (閉鎖), by its id: nobody there will check
    them in.  Counts only (SiteView.in_transit_to_closed: the one rule of the dashboard, the map and the wall)."""
    return {v.shelter.id: v.in_transit_to_closed for v in views if v.in_transit_to_closed}


def silent_sites(kiosks: list[dict]) -> set[str]:
    """Sites whose numbers may be old: HQ has nothing newer from a kiosk counting people there than the alert's
    limit, over the network or in a file carried from it (situation.heard_by_site: the one rule of the map,
    the dashboard and the wall)."""
    return {k["elsewhere"] or k["shelter_id"] for k in kiosks if k["numbers_silent"]}


def kiosk_rows() -> list[dict]:
    now = _now()
    silent_s = current_app.config["KIOSK_SILENT_ALERT_S"]
    names = site_names()
    carried = carried_up_to()
    out = []
    # (a retired kiosk is no one's to watch: HQ keeps what it sent)
    for k in db.session.execute(select(Kiosk).where(Kiosk.retired_at.is_(None)).order_by(Kiosk.id)).scalars():
        last = _aware(k.last_sync_at)
        lag = (now - (last or _aware(k.enrolled_at))).total_seconds()
        # Records carried by hand newer than its last sync: its network is still silent, its numbers are not.
        by_hand = carried.get(k.id) if carried.get(k.id) and (last is None or carried[k.id] > last) else None
        fresh = numbers_at(last, by_hand) or _aware(k.enrolled_at)
        last_event = (dt.datetime.fromtimestamp((k.last_event_hlc >> COUNTER_BITS) / 1000, dt.timezone.utc)
                      if k.last_event_hlc else None)
        out.append({"id": k.id, "shelter_id": k.shelter_id, "site": site_label(k.shelter_id, names),
                    "elsewhere_site": site_label(k.checks_in_at, names) if k.checks_in_at else None,
                    "last_sync_at": last, "lag_s": int(lag),
                    "events": k.high_seq, "last_event_at": last_event, "silent": lag > silent_s,
                    "carried_at": by_hand, "numbers_silent": (now - fresh).total_seconds() > silent_s,
                    # Records the kiosk said it holds that HQ has not received (a catch-up under way, or a
                    # refused record holding the rest back): the shelter's numbers here are not complete.
                    "unreceived": max(0, (k.last_seq or 0) - k.high_seq),
                    "withdrawn": k.withdrawn,
                    # Records dated after HQ's now: the kiosk's clock ran fast (before it first heard HQ).
                    "ahead_until": last_event if last_event and (last_event - now).total_seconds() * 1000
                    > MAX_DRIFT_MS else None,
                    "elsewhere": k.checks_in_at if k.checks_in_at not in (None, k.shelter_id) else None,
                    "refused": ({"code": k.refused_code, "seq": k.refused_seq, "message": k.refused_message,
                                 "at": _aware(k.refused_at)} if k.refused_code else None)})
    return out


# The transit alert names this many destinations, the largest, and counts the rest.
TRANSIT_SITES_NAMED = 5


def alerts(views: list[SiteView], kiosks: list[dict], disaster: str | None,
           transit: dict | None = None) -> list[str]:
    out = []
    to_closed = in_transit_to_closed(views)
    for v in views:
        s = v.shelter
        if closed_with_people(s):
            # Its staff closed it (the tablet's 閉鎖) with people still counted in it: moved elsewhere
            # unrecorded, or still there with no shelter open around them.  Either way HQ must ask.
            out.append(_said_in_two(lambda s=s: ngettext(
                "Closed shelter %(name)s (%(id)s): %(num)d person is still in it",
                "Closed shelter %(name)s (%(id)s): %(num)d people are still in it",
                s.occupancy, name=s.name, id=s.id)))
        outside = closed_with_registered_outside(s)
        if outside:
            # Nobody left inside perhaps, but those staying at home or in cars came to it for food and news.
            out.append(_said_in_two(lambda s=s, outside=outside: ngettext(
                "Closed shelter %(name)s (%(id)s): %(num)d person staying at home or in a car is registered to it. "
                "Tell them where to get food and news now",
                "Closed shelter %(name)s (%(id)s): %(num)d people staying at home or in cars are registered to it. "
                "Tell them where to get food and news now",
                outside, name=s.name, id=s.id)))
        bound = to_closed.get(s.id)
        if bound:
            # Sent on by another shelter to one its staff have closed since (or before): nobody there will
            # check them in.  At once, not after hours in transit; a count, no one named.
            out.append(_said_in_two(lambda s=s, bound=bound: ngettext(
                "Closed shelter %(name)s (%(id)s): %(num)d person is on the way to it",
                "Closed shelter %(name)s (%(id)s): %(num)d people are on their way to it",
                bound, name=s.name, id=s.id)))
        if s.capacity is not None and s.occupancy > s.capacity:
            out.append(f"{s.name}（{s.id}）が収容目安を超えています: {s.occupancy} / {s.capacity} 人")
        outside = s.at_home + s.in_car
        if s.occupancy + outside and v.suitability != "suitable":
            # Those in the shelter apart from those at home or in cars: every table counts them so, and only
            # the first are in the building the hazard threatens.
            who = f"避難所内 {s.occupancy} 人" + (f"（在宅・車中 {outside} 人）" if outside else "")
            label = DISASTERS[disaster].label
            why = (f"{label}にはこの災害の指定がありません" if v.suitability == UNSUITABLE
                   else f"{label}の危険区域内です（" + "、".join(v.hazard_areas) + "）")
            out.append(f"{s.name}（{s.id}）に{who}が避難中ですが、{why}")
    for k in kiosks:
        if k.get("silent"):
            since = jst(k["last_sync_at"], "%H:%M") if k["last_sync_at"] else "登録以来"
            # Its records carried by hand: the network is still down there, but HQ's numbers reach further.
            carried = (f"。持ち込まれた記録ファイルで {jst(k['carried_at'], '%m-%d %H:%M')} までの記録は本部にあります"
                       if k.get("carried_at") else "")
            out.append(f"端末 {k['id']}（{k['site']}）から {k['lag_s'] // 60} 分間同期がありません（最終: {since}）{carried}")
        if k.get("unreceived"):
            out.append(f"端末 {k['id']}（{k['site']}）の記録のうち {k['unreceived']} 件がまだ本部に届いていません"
                       "（端末が最後の同期で知らせた数）。届くまで、この避難所の人数は本部では不完全です")
        if k.get("elsewhere"):
            out.append(f"端末 {k['id']}（{k['site']} に登録）は {k['elsewhere_site']} で受付をしています。"
                       f"その人数は {k['elsewhere_site']} に数えています。端末が移されたのか、設定の誤りか、避難所に確認してください")
        if k.get("ahead_until"):
            # Their time cannot change (HQ and families may have them already); what HQ staff can do is
            # know which whereabouts may be stale, and have the clock set right.
            out.append(f"端末 {k['id']}（{k['site']}）の記録は本部の時計より先の時刻（{jst(k['ahead_until'], '%m-%d %H:%M')}"
                       " まで）で届いています。端末の時計が進んでいます。本部は記録を受け取った時刻より後には並べませんが、"
                       "端末が本部につながらない間にためた記録は、その間にほかの避難所へ移った人をこの避難所にいるように"
                       "見せることがあります。端末の時計を直すよう避難所に連絡してください")
        if k.get("refused"):
            r = k["refused"]
            what = f"記録 {r['seq']} 番" if r["seq"] else "記録"
            if r["code"] == "hq_outdated":   # hq_dashboard.merge.HQ_OUTDATED
                then = ("本部のソフトウェアが端末より古く、この種類の記録を知らない可能性があります。その記録を取り下げるよう"
                        "避難所に求めないでください（取り下げると、本部を更新しても内容が届きません）。本部のソフトウェアを"
                        "更新すると、その記録と以降の記録が届きます")
            elif r["code"] in ("invalid_event", "unknown_shelter"):
                then = ("それ以降の記録は本部に届きません。避難所の責任者が端末（職員用タブレットの「同期」）で"
                        "その記録を取り下げると、残りが届きます")
            else:
                then = ("この端末の記録は本部に届きません。端末のデータベースが復元されたか、別の端末のトークンです。"
                        "避難所に確認してください（README の evac kiosk new-device）")
            out.append(f"端末 {k['id']}（{k['site']}）の{what}を本部が受け付けていません"
                       f"（{jst(r['at'], '%H:%M')}、理由: {r['message']}）。{then}")
        if k.get("withdrawn"):
            out.append(f"端末 {k['id']}（{k['site']}）は本部が受け付けなかった記録 {k['withdrawn']} 件を取り下げました。"
                       "その記録の人は本部の集計に入っていないことがあります。避難所に確認してください")
    # A kiosk syncing with a token HQ does not know, in the last hour: HQ's database restored from a backup
    # taken before it was enrolled, most often; its shelter's records wait on it.
    for kiosk_id, tries, at in unknown_kiosks(db.session, _now() - dt.timedelta(hours=1)):
        out.append(f"端末 {kiosk_id} が本部に登録のないトークンで同期しようとしています（{tries} 回、最後は "
                   f"{jst(at, '%H:%M')}）。本部のデータベースを以前のバックアップから戻した場合は、この端末を登録し直し"
                   "（evac hq enroll-kiosk）、新しいトークンで端末を起動し直すよう避難所に連絡してください。端末の記録は"
                   "端末に残っています")
    if transit and transit["long"]:
        names = {v.shelter.id: v.shelter.name for v in views}
        statuses = {v.shelter.id: v.shelter.status for v in views}
        # The largest few by name, id and count (「大井川中学校（H039）1 人」: "H039 1" read as one id), then how
        # many more: the alert stays one sentence with people bound for dozens of sites.
        bound = sorted(transit["long_to"].items(), key=lambda item: (-item[1], item[0]))

        def site(sid: str) -> str:
            said = f"{names[sid]}（{sid}）" if sid in names else sid
            # A destination closed or full since they were sent: they may never be checked in there.
            if statuses.get(sid) == "closed":
                return _("%(site)s [closed]", site=said)
            return _("%(site)s [full]", site=said) if statuses.get(sid) == "full" else said

        def where() -> str:
            said = [ngettext("%(site)s %(num)d person", "%(site)s %(num)d people", n, site=site(sid))
                    for sid, n in bound[:TRANSIT_SITES_NAMED]]
            if len(bound) > TRANSIT_SITES_NAMED:
                said.append(ngettext("%(num)d more site", "%(num)d more sites", len(bound) - TRANSIT_SITES_NAMED))
            return _(", ").join(said)
        out.append(_said_in_two(lambda: _(
            "%(count)d people have been in transit between shelters for over %(hours)s hours (bound for %(where)s). "
            "Ask the shelters they were bound for whether they arrived.",
            count=transit["long"], hours=f"{transit['hours']:g}", where=where())))
    heard = [k for k in kiosks if k["last_sync_at"] and not k.get("silent")]
    if len(heard) >= 2 and 2 * sum(bool(k.get("ahead_until")) for k in heard) > len(heard):
        # Most kiosks cannot all run fast: HQ's own clock is the one behind, and HQ orders every record by it.
        out.append(f"同期している端末 {len(heard)} 台のうち {sum(bool(k.get('ahead_until')) for k in heard)} 台の記録が"
                   "本部の時計より先の時刻で届いています。本部のサーバーの時計が遅れている可能性があります。本部は記録を"
                   "受け取った時刻より後には並べないため、本部の時計が遅れていると、遅れて届いた記録がほかの記録より後とみなされます。"
                   "本部のサーバーの時計（NTP）を確認してください")
    return out


def shelter_board(chart: bool = True) -> dict:
    """The sites' numbers as the dashboard shows them (?sort=, ?all=1): what HQ's wall display shows too
    (hq_dashboard.wall_display, which has no room for the arrivals chart: chart=False spares its query).
    Counts only: no person, no kiosk."""
    disaster = current_disaster()
    views = site_views(disaster)
    sort = request.args.get("sort", "fullness")
    show_all = request.args.get("all") == "1"
    transit = in_transit()
    to_closed = in_transit_to_closed(views)
    # A closed shelter nobody is left in but people are on their way to: a row too, or staff reading the
    # table miss the one site they must send someone to (to redirect those arriving).
    shown = [v for v in views if show_all or v.shelter.opened or v.shelter.occupancy or v.shelter.at_home
             or v.shelter.in_car or v.shelter.id in to_closed]
    shown.sort(key=SORTS.get(sort, SORTS["fullness"]))
    totals = {"occupancy": sum(v.shelter.occupancy for v in views), "at_home": sum(v.shelter.at_home for v in views),
              "in_car": sum(v.shelter.in_car for v in views), "in_transit": transit["count"]}
    return {"disaster_code": disaster, "all_views": views, "views": shown, "sort": sort, "show_all": show_all,
            "totals": totals, "transit": transit, "transit_to_closed": to_closed, "site_count": len(views),
            "disaster": DISASTERS.get(disaster or ""),
            "chart": arrivals_svg(arrivals()) if chart else "",
            "credits": [CREDITS["yaizu_opendata"]]}


def _numbers() -> dict:
    """Everything on the dashboard that changes: its page shows it, and its refresh (numbers()) sends it."""
    board = shelter_board()
    views = board.pop("all_views")
    kiosks = kiosk_rows()
    needs_total = {code: sum(v.needs.get(code, 0) for v in views) for code in NEEDS_CODES}
    needs_cols = [c for c in NEEDS_CODES if needs_total[c]]
    return {"kiosks": kiosks, "needs_cols": needs_cols, "needs_total": needs_total, "needs_labels": NEEDS_LABELS,
            "alerts": alerts(views, kiosks, board.pop("disaster_code"), board["transit"]),
            "silent_sites": silent_sites(kiosks), "now": _now(), **board}


@bp.get("/dashboard")
@staff_only(HQ)
def dashboard():
    """The numbers refresh themselves in place (static/dashboard_refresh.js, from numbers()): a refresh that
    fails leaves the last good ones up, saying since when, where reloading the whole page would leave HQ's
    error page, or the browser's, on a PC left watching them.  Without scripts the page reloads itself."""
    from .wall_display import _in_two, freshness_words   # (which imports staff, which imports this)
    shown = _numbers()
    by = {"sort": shown["sort"], "all": "1" if shown["show_all"] else None}
    # Both marked auto=1: a screen refreshing itself is not staff at work, and keeps no unattended PC
    # logged in (hq_dashboard.staff: STAFF_IDLE_MINUTES).
    return render_template("dashboard.html", refresh=current_app.config[REFRESH_SETTING],
                           reload_url=url_for("dashboard.dashboard", **by, auto="1"),
                           numbers_url=url_for("dashboard.numbers", **by, auto="1"),
                           **_in_two(freshness_words), **shown)


def _login_said(view):
    """No log-in (it ended: idle, shift over, role changed): said in JSON (401), where a page would be sent
    to the log-in page, which the page's script cannot show; the script then goes there itself."""
    @functools.wraps(view)
    def checked(*args, **kwargs):
        if not current_user.is_authenticated:
            from .staff import logged_out_message   # (staff imports this module)
            return jsonify(error="login_needed", message=logged_out_message()), 401
        return view(*args, **kwargs)
    return checked


@bp.get("/dashboard/numbers")
@_login_said
@staff_only(HQ)
def numbers():
    """The dashboard's numbers for its own refresh: the part of the page that changes, drawn by the page's
    own template (`html`), and the numbers in it for a program to read."""
    shown = _numbers()
    body = {
        "updated": jst(shown["now"], "%H:%M"), "updated_at": jst(shown["now"], "%H:%M:%S"),
        "disaster": shown["disaster"].code if shown["disaster"] else None,
        "totals": shown["totals"],
        "in_transit_long": shown["transit"]["long"],
        # Everyone in transit to a shelter its staff closed, by that shelter (the alert's counts).
        "in_transit_to_closed": shown["transit_to_closed"],
        "sites": [{"id": v.shelter.id, "name": v.shelter.name, "status": v.shelter.status,
                   "closed_with_people": closed_with_people(v.shelter),
                   "closed_with_registered_outside": closed_with_registered_outside(v.shelter),
                   # In transit to it, when its staff closed it (0 otherwise): a count, no one named.
                   "in_transit_to_closed": shown["transit_to_closed"].get(v.shelter.id, 0),
                   "suitability": v.suitability, "occupancy": v.shelter.occupancy, "capacity": v.shelter.capacity,
                   "fullness": v.fullness, "at_home": v.shelter.at_home, "in_car": v.shelter.in_car,
                   "needs": {c: n for c, n in v.needs.items() if n}} for v in shown["views"]],
        "kiosks": [{"id": k["id"], "shelter_id": k["shelter_id"], "site": k["site"],
                    "last_sync_at": k["last_sync_at"].isoformat() if k["last_sync_at"] else None,
                    "lag_s": k["lag_s"], "events": k["events"], "unreceived": k["unreceived"],
                    "withdrawn": k["withdrawn"], "silent": k["silent"]} for k in shown["kiosks"]],
        "alerts": shown["alerts"],
        "html": _block("dashboard.html", "numbers", shown),
    }
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response


def _block(template: str, block: str, context: dict) -> str:
    """One block of a page's template, drawn alone with the page's context (the page and its refresh are
    drawn by the same lines)."""
    context = dict(context)
    current_app.update_template_context(context)
    page = current_app.jinja_env.get_template(template)
    return "".join(page.blocks[block](page.new_context(context)))


# How often the dashboard refreshes its numbers (EVAC_DASHBOARD_REFRESH_SECONDS), in seconds.
REFRESH_SETTING = "DASHBOARD_REFRESH_SECONDS"


@bp.record_once
def _check_refresh(state) -> None:
    """Checked when HQ starts, as the wall display's is: 0 or less would ask HQ without pause, and text
    would stop the refresh for good."""
    from . import check_refresh_seconds
    state.app.config.setdefault(REFRESH_SETTING, 15)
    check_refresh_seconds(state.app.config, REFRESH_SETTING, "ダッシュボード", "HQ's dashboard")
    _check_transit_hours(state.app.config)


def _check_transit_hours(config) -> None:
    """EVAC_TRANSIT_ALERT_HOURS: text or 0 would break every dashboard refresh, or alert on everyone in transit."""
    from . import SettingError
    value = config.setdefault(TRANSIT_SETTING, 2)
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = 0.0
    if isinstance(value, bool) or not 0 < number <= 24 * 7:
        raise SettingError(f"移動中の人を警告するまでの時間 EVAC_{TRANSIT_SETTING} は 0 より大きく 168 以下の時間数です"
                           f"（{value!r} は使えません） / {TRANSIT_SETTING} (EVAC_{TRANSIT_SETTING}) is how many "
                           f"hours in transit between shelters the dashboard alerts after, above 0 and at most 168, "
                           f"not {value!r}")
    config[TRANSIT_SETTING] = number


# --- exports ----------------------------------------------------------------------------------------

def _as_of(now: dt.datetime) -> tuple[str, str]:
    """The time the numbers in an export are from, said in the file (Japan's time) and in its name: two
    downloads an hour apart are told apart once saved, and an old one is not read as now."""
    local = now.astimezone(JST)
    return local.strftime("%Y-%m-%d %H:%M:%S JST"), local.strftime("%Y%m%d-%H%M%S")


def _attachment(stem: str, stamp: str | None, ext: str) -> dict:
    return {"Content-Disposition": f"attachment; filename={stem}{f'_{stamp}JST' if stamp else ''}.{ext}"}


def _csv(rows: list[list], stem: str, stamp: str | None) -> Response:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows([safe_cell(c) for c in row] for row in rows)
    # BOM: the file opens in Excel, which HQ staff will use, with its Japanese intact.
    return Response("\ufeff" + buf.getvalue(), mimetype="text/csv", headers=_attachment(stem, stamp, "csv"))


@bp.get("/export/shelters.csv")
@staff_only(HQ)
def export_csv():
    disaster = current_disaster()
    as_of, stamp = _as_of(_now())
    # 時点 on every row (not a line above the header): the file stays one table, as Excel and programs read it.
    rows = [["id", "名称", "種別", "住所", "緯度", "経度", "収容目安", "避難者", "在宅", "車中", "状態", "適否",
             "危険区域", *[f"要配慮_{NEEDS_LABELS[c]}" for c in NEEDS_CODES], "時点", "最終受信", "受信なし", "出典"]]
    for v in site_views(disaster, with_overflow=False):
        s = v.shelter
        # Words, not codes, under Japanese headers: city staff read this file in Excel.
        rows.append([s.id, s.name, site_kind(s.kind), s.address, s.lat, s.lon,
                     "" if s.capacity is None else s.capacity, s.occupancy, s.at_home, s.in_car,
                     site_status(s.status), site_suitability(v.suitability), " / ".join(v.hazard_areas),
                     *[v.needs.get(c, 0) for c in NEEDS_CODES], as_of,
                     # how fresh the numbers are, as the map and wall say it: a silent kiosk's look current
                     _as_of(v.last_heard_at)[0] if v.last_heard_at else "", "受信なし" if v.heard_silent else "",
                     # the hazard areas named are the layers' data too: their credit lines with the site's
                     " / ".join(dict.fromkeys(c for c in (CREDITS.get(s.source, ""), *v.hazard_credits) if c))])
    return _csv(rows, "shelters", stamp)


@bp.get("/export/shelters.geojson")
@staff_only(HQ)
def export_geojson():
    disaster = current_disaster()
    now = _now()
    as_of, stamp = _as_of(now)
    body = feature_collection(site_views(disaster), disaster)
    body["as_of"] = now.isoformat(timespec="seconds")
    body["as_of_jst"] = as_of
    body["credits"] = sorted({c for f in body["features"]
                              for c in (f["properties"]["credit"], *f["properties"]["hazard_credits"]) if c})
    return Response(json.dumps(body, ensure_ascii=False), mimetype="application/geo+json",
                    headers=_attachment("shelters", stamp, "geojson"))


@bp.get("/export/evacuation_space_standard.csv")
@staff_only(HQ)
def export_standard():
    """指定緊急避難場所一覧 in the 自治体標準オープンデータセット layout (emergency sites only).  Each row's
    credit line goes in the layout's own 備考 column: a column of HQ's own would make it no longer the
    standard layout (and not read back by `evac hq import`)."""
    sites = [v.shelter for v in site_views(current_disaster(), with_overflow=False)
             if v.shelter.kind == "emergency_space"]
    rows = standard_rows(sites)
    note = STANDARD_HEADER.index("備考")
    for row, s in zip(rows, sites, strict=True):
        credit = CREDITS.get(s.source, "")
        row[note] = " ".join(x for x in (row[note], credit) if x)
    # Its plain name: the city's list, published as such, holds no one's numbers of the hour.
    return _csv([list(STANDARD_HEADER), *rows], "evacuation_space_standard", None)
