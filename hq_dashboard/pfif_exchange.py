"""HQ's PFIF 1.4 exchange: export the people who consented to public disclosure, import other finders'."""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from evac import pfif
from evac.disclosure import INJURY, WHEREABOUTS
from evac.individual_number import without_individual_numbers

from . import consent_reach, hospital_stays, safety
from .models import Person, PfifPublished, PfifRecord, Shelter

AUTHOR = "焼津市災害対策本部 (Yaizu City disaster HQ)"
_WHERE = {"in_shelter": "避難所 {name} / at the shelter {name}",
          "at_home": "在宅避難（{name}に登録） / at home, registered with {name}",
          "in_car": "車中避難（{name}付近） / in a car near {name}",
          # A shelter that sent someone to hospital still holds where they stayed (evac.disclosure.told_whereabouts).
          "in_hospital": "入院中（{name}に登録） / in hospital, registered with {name}"}


def export(session: Session, domain: str, now: dt.datetime | None = None) -> tuple[bytes, int]:
    """(document, number of persons published).  Only public consent given at a kiosk, never a protected
    person (nor anyone sharing a protected person's name and birth date, nor anyone of their household),
    no street or contact; and an
    expired record (PFIF's deletion) for each person an earlier export published who is not published now."""
    now = now or dt.datetime.now(dt.timezone.utc)
    stamp = pfif.utc(now)
    shelters = {s.id: s.name for s in session.execute(select(Shelter)).scalars()}
    people = session.execute(select(Person).where(Person.consent == "public", Person.never_disclose.is_(False))
                             .order_by(Person.id)).scalars().all()
    stays_ended = hospital_stays.ended(session, people)   # (out of hospital, checked in elsewhere since)
    # Protection covers the protected person's household (災対法 §86-15: the family who fled with them).
    protected = safety.protected_identities(session)
    records, ids = [], []
    for p in people:
        if safety.is_protected(p, protected):
            continue   # another record of this name and birth date is protected: so is this one
        if p.consent_unchecked or p.consent_unproven:
            # a claim made on the public page, from a kiosk elsewhere, or with a pre-registration QR (which
            # proves no one) is not published unchecked
            continue
        status = "" if p.id in stays_ended else p.status
        speaks = consent_reach.consent_speaks_for(session, p, status)
        if speaks is not None and WHEREABOUTS not in speaks:
            continue   # recorded since at a shelter the consent was not given at (consent_reach)
        if speaks is not None and INJURY not in speaks:
            status = ""
        pid = f"{domain}/person.{p.id}"
        family, _, given = p.name.partition(" ")
        record = pfif.PersonRecord(
            person_record_id=pid, source_date=stamp, entry_date=stamp, full_name=p.name,
            family_name=family if given else "", given_name=given.strip(), sex=p.sex, date_of_birth=p.birth_date,
            home_city="焼津市", source_name=AUTHOR, author_name=AUTHOR)
        # Only what a kiosk saw is published: a self-report (anyone may claim to be anyone on that page)
        # gets no status note, whoever gave the consent.
        if p.state == "checked_in":
            where = _WHERE["in_hospital" if status == "hospitalised" else p.stay_type].format(
                name=shelters.get(p.shelter_id, p.shelter_id))
            text = "焼津市の避難所で受付済み。 / Checked in with Yaizu City's shelters."
            if status in ("injured", "ill", "hospitalised"):
                text += f" ({status})"
            # A note is a fixed record to other finders (they skip an id they hold): a new one for new words.
            said = hashlib.sha256(f"{where}\x1f{text}".encode()).hexdigest()[:10]
            record.notes.append(pfif.Note(note_record_id=f"{domain}/note.{p.id}.{p.loc_order[:20].lstrip('0')}.{said}",
                                          person_record_id=pid, author_name=AUTHOR, source_date=stamp,
                                          entry_date=stamp, status="believed_alive", last_known_location=where,
                                          text=text))
        records.append(record)
        ids.append(p.id)
    _remember_published(session, ids, now)
    published = {r.person_record_id for r in records}
    # Person Finder keeps what it was sent: whoever HQ published before and does not now (consent withdrawn,
    # never-disclose set, merged into another record) is withdrawn every time.  Only those: an expired
    # record for someone never published would tell that the city holds a record it does not show.
    withdrawn = [pfif.deletion(f"{domain}/person.{pid}", now)
                 for pid in session.execute(select(PfifPublished.person_id).order_by(PfifPublished.person_id))
                 .scalars() if f"{domain}/person.{pid}" not in published]
    return pfif.write(records + withdrawn), len(records)


def _remember_published(session: Session, person_ids: list[int], now: dt.datetime) -> None:
    """Record whom this export publishes, committed before the document leaves HQ: a record sent but not
    remembered could never be withdrawn.  (Remembered and then not sent costs only an expired record
    for someone who was public.)  Two exports at once may both add a person: the first one stays."""
    if not person_ids:
        return
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    for i in range(0, len(person_ids), 500):
        session.execute(insert(PfifPublished).values([{"person_id": pid, "first_published_at": now}
                                                      for pid in person_ids[i:i + 500]])
                        .on_conflict_do_nothing(index_elements=["person_id"]))
    session.commit()


@dataclasses.dataclass
class ImportSummary:
    added: int = 0
    updated: int = 0
    removed: int = 0
    skipped: list[str] = dataclasses.field(default_factory=list)


# PFIF allows long fields (evac.pfif.MAX_FIELD); what HQ keeps of a record must fit its columns.
_STORED = ("person_record_id", "full_name", "home_city", "source_name")


def _check_fits(records: list[pfif.PersonRecord]) -> None:
    problems = []
    for r in records:
        for name in _STORED:
            limit = PfifRecord.__table__.c[name].type.length
            if len(getattr(r, name)) > limit:
                problems.append(f"person {r.person_record_id[:80]}: <{name}> is longer than the {limit} "
                                "characters HQ keeps")
    if problems:
        raise pfif.InvalidPFIF(problems)


def _skipped(record_id: str, ja: str, en: str) -> str:
    """Why a record was not taken, as HQ's operators read it: Japanese first, then English, each naming the record."""
    return f"取り込まなかった記録 {record_id}: {ja} / skipped {record_id}: {en}"


def import_document(session: Session, document: bytes, own_domain: str) -> ImportSummary:
    """Store another finder's records.  Raises pfif.InvalidPFIF (nothing stored) for a bad document."""
    records = pfif.read(document)
    _check_fits(records)
    summary = ImportSummary()
    now = dt.datetime.now(dt.timezone.utc)
    for r in records:
        if r.person_record_id.startswith(own_domain + "/"):
            summary.skipped.append(_skipped(r.person_record_id, "この本部自身の記録なので取り込みません", "our own record"))
            continue
        notes = json.dumps([dataclasses.asdict(n) for n in r.notes], ensure_ascii=False)
        row = session.get(PfifRecord, r.person_record_id)
        if r.deleted(pfif.utc(now)):
            if row is not None and r.source_date >= row.source_date:
                session.delete(row)   # the finder withdrew it: HQ keeps no copy either
                summary.removed += 1
            else:
                summary.skipped.append(_skipped(without_individual_numbers(r.person_record_id),
                                                "提供元が取り下げた記録なので、写しを残しません",
                                                "withdrawn by its finder, no copy kept"))
            continue
        holding = pfif.individual_number_fields(r)
        if holding:
            # 番号法 §20: not kept at all, nor an earlier copy updated; the reason names fields, not values.
            fields = ", ".join(holding)
            summary.skipped.append(_skipped(
                without_individual_numbers(r.person_record_id),
                f"{fields} にマイナンバー（個人番号）と思われる番号があり、本部は保存できないため取り込みません",
                f"left out, {fields} seem(s) to hold an Individual Number (My Number), which HQ may not keep"))
            continue
        if row is None:
            session.add(PfifRecord(person_record_id=r.person_record_id, full_name=r.full_name, sex=r.sex,
                                   date_of_birth=r.date_of_birth, home_city=r.home_city, source_name=r.source_name,
                                   source_date=r.source_date, notes=notes, imported_at=now))
            summary.added += 1
        elif r.source_date > row.source_date:
            row.full_name, row.sex, row.date_of_birth = r.full_name or row.full_name, r.sex, r.date_of_birth
            row.home_city, row.source_name, row.source_date = r.home_city, r.source_name, r.source_date
            row.notes, row.imported_at = notes, now
            summary.updated += 1
        else:
            summary.skipped.append(_skipped(r.person_record_id,
                                            f"本部にある写し（{row.source_date}）より新しくないので取り込みません",
                                            f"not newer than the copy HQ holds ({row.source_date})"))
    session.commit()
    return summary
