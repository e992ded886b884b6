"""Publishing a version of a plan: the calendar feeds parties subscribe to, the coordinator's
digest of what changed for each party, and that digest by e-mail with iTIP invitations.

Feeds. A subscribed calendar program keeps what it last fetched and only ever sees the
published versions, in the order they were published (version 3 may follow version 1). So a
feed is not a plain export of the plan: it is kept like a CalDAV calendar (the rules of
`planner publish`), one file per party, updated at each publication by `feed_calendars`:
- an event of the new version is written with the same UID; when its content differs from the
  published one, its SEQUENCE is raised above the published one's;
- an event the party had in an earlier published version and no longer has is kept as a
  cancellation (STATUS:CANCELLED, SEQUENCE raised, «ОТМЕНЕНО: »), however many versions
  later, also when the version published now never heard of it;
- an unchanged event is kept byte for byte, so a party whose sessions did not change keeps the
  same file (and ETag);
- every feed carries REFRESH-INTERVAL and X-PUBLISHED-TTL (how often to poll).
"""

from __future__ import annotations

import copy
import io
import smtplib
import ssl
import tomllib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import formataddr, make_msgid, parseaddr
from pathlib import Path

from icalendar import STATUS, Calendar, Event, vCalAddress, vText

from models.domain import Instance, Plan
from models.problems import InputError, Problem
from planner.calendar_sync.caldav_publish import cancelled_copy, event_fingerprint, next_version
from planner.exports.calendars import (
    MARKER,
    PARTY_KINDS,
    PRODID,
    calendar_bytes,
    party_calendars,
    session_parties,
)
from planner.workflows.replanning import party_changes
from planner.workflows.versions import plan_changes

REFRESH = "PT1H"
"""How often a subscribed program should fetch a feed (REFRESH-INTERVAL, X-PUBLISHED-TTL).
Outlook and Apple Calendar honour it; Google Calendar polls on its own schedule (8–24 h)."""
KIND_TITLES = {"all": "Весь план", "consultant": "Консультанты", "school": "Школы", "municipality": "Муниципалитеты"}


# --- feeds ---------------------------------------------------------------------------------


def feed_calendars(instance: Instance, plan: Plan, previous: dict[str, bytes]) -> dict[str, bytes]:
    """Every feed after publishing `plan` (file stem → .ics bytes), given the feeds as they
    were published before (`previous`, empty the first time). See the module's notes.

    A session is in several feeds (all, its consultant, schools, municipalities): each event's
    text is parsed, compared and rendered once (`_Shared`), which keeps a region's ~150 feeds
    to a few seconds."""
    shared = _Shared()
    out: dict[str, bytes] = {}
    for cal in party_calendars(instance, plan):
        events = shared.merge(list(cal.events), shared.events(previous.get(cal.key)))
        out[cal.key] = feed_bytes(instance, plan, cal.title, events, cal.key, shared.rendered)
    for key, data in previous.items():  # a party the new version does not know: its events are cancelled
        if key not in out:
            old = Calendar.from_ical(data)
            events = shared.merge([], shared.events(data))
            out[key] = feed_bytes(instance, plan, str(old.get("X-WR-CALNAME", key)), events, key, shared.rendered)
    return out


class _Shared:
    """Events parsed, compared and rendered once across the feeds of one publication."""

    def __init__(self):
        self.parsed: dict[bytes, Event] = {}
        self.rendered: dict[int, bytes] = {}  # id(event) → its text (calendar_bytes' cache)
        self.prints: dict[int, tuple[str, ...]] = {}
        self.results: dict[tuple[int, int], Event | None] = {}
        self.cancelled: dict[int, Event] = {}
        self.keep: list[object] = []  # every event an id above names stays alive

    def events(self, data: bytes | None) -> dict[str, Event]:
        """UID → event of a published feed; the same text gives the same object."""
        out: dict[str, Event] = {}
        if not data:
            return out
        pos = 0
        while (start := data.find(b"BEGIN:VEVENT\r\n", pos)) >= 0:
            end = data.index(b"END:VEVENT\r\n", start) + len(b"END:VEVENT\r\n")
            block = data[start:end]
            event = self.parsed.get(block)
            if event is None:
                event = Event.from_ical(block)
                self.parsed[block] = event
                self.rendered[id(event)] = block
            out[str(event["UID"])] = event
            pos = end
        return out

    def fingerprint(self, event: Event) -> tuple[str, ...]:
        key = id(event)
        if key not in self.prints:
            self.prints[key] = event_fingerprint(event)
            self.keep.append(event)
        return self.prints[key]

    def merge(self, wanted: list[Event], published: dict[str, Event]) -> list[Event]:
        """The events of a feed: `wanted` (the new version's, cancellations included) against the
        `published` ones by UID (see the module's notes), in time order."""
        out: list[Event] = []
        seen = set()
        for event in wanted:
            uid = str(event["UID"])
            seen.add(uid)
            old = published.get(uid)
            if old is None:
                if event.get("STATUS") != STATUS.CANCELLED:  # a cancellation of what the party never saw: nothing
                    out.append(event)
                continue
            key = (id(event), id(old))
            if key not in self.results:
                self.results[key] = next_version(event, old, self.fingerprint)
                self.keep += [event, old]
            newer = self.results[key]
            out.append(old if newer is None else newer)
        for uid, old in published.items():
            if uid in seen:
                continue
            if old.get("STATUS") == STATUS.CANCELLED:
                out.append(old)
            else:
                if id(old) not in self.cancelled:
                    self.cancelled[id(old)] = cancelled_copy(old)
                    self.keep.append(old)
                out.append(self.cancelled[id(old)])
        out.sort(key=lambda e: (_start(e), str(e["UID"])))
        return out


def merge_events(wanted: list[Event], published: dict[str, Event]) -> list[Event]:
    """The events of one feed (see `_Shared.merge`)."""
    return _Shared().merge(wanted, published)


def feed_bytes(instance: Instance, plan: Plan, title: str, events: list[Event], key: str,
               rendered: dict[int, bytes] | None = None) -> bytes:
    """One feed file: the calendar of `events` with the polling hints."""
    data = calendar_bytes(instance, plan, title, events, key=key, rendered=rendered)
    head = b"BEGIN:VCALENDAR\r\n"
    assert data.startswith(head)
    hints = f"REFRESH-INTERVAL;VALUE=DURATION:{REFRESH}\r\nX-PUBLISHED-TTL:{REFRESH}\r\n".encode()
    return head + hints + data[len(head):]


def _start(event: Event) -> str:
    value = event.decoded("DTSTART")
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def event_session(event: Event) -> str | None:
    """The plan's session id of one of our events (X-PLANNER-ID «session/<id>»)."""
    marker = str(event.get(MARKER, ""))
    return marker.removeprefix("session/") if marker.startswith("session/") else None


# --- digests -------------------------------------------------------------------------------


@dataclass
class PartyDigest:
    """What changed for one party between two published versions."""

    kind: str  # consultant, school, municipality
    party: str
    name: str
    lines: list[str]
    sessions: list[str] = field(default_factory=list)  # the changed sessions that are in its calendar

    @property
    def key(self) -> str:
        from planner.exports.calendars import safe_file_part

        return f"{self.kind}-{safe_file_part(self.party)}"


def party_digests(instance: Instance, old: Plan | None, new: Plan) -> list[PartyDigest]:
    """Each party's digest of the changes from the version published before (`old`; None: the
    first publication, everything is new) to `new`, parties in the order of the instance."""
    changes = plan_changes(old, new)
    by_consultant, by_school, by_mun = party_changes(instance, changes)
    olds = {s.id: s for s in (old.sessions if old else ())}
    news = {s.id: s for s in new.sessions}
    touched: dict[tuple[str, str], list[str]] = defaultdict(list)
    for ch in changes:
        sid = ch["session"]
        parties = {k: set() for k in PARTY_KINDS}
        for s in (olds.get(sid), news.get(sid)):
            if s is not None:
                for kind, ids in session_parties(instance, s).items():
                    parties[kind] |= ids
        for kind, ids in parties.items():
            for party in ids:
                touched[kind, party].append(sid)
    names = {
        "consultant": lambda c: instance.consultants[c].name if c in instance.consultants else c,
        "school": instance.school_label,
        "municipality": lambda m: instance.municipalities[m].name if m in instance.municipalities else m,
    }
    order = {
        "consultant": list(instance.consultants),
        "school": list(instance.schools),
        "municipality": list(instance.municipalities),
    }
    out = []
    for kind, groups in (("consultant", by_consultant), ("school", by_school), ("municipality", by_mun)):
        for party in sorted(groups, key=lambda p: (order[kind].index(p) if p in order[kind] else 10**6, p)):
            out.append(PartyDigest(kind, party, names[kind](party), list(groups[party]),
                                   list(dict.fromkeys(touched.get((kind, party), [])))))
    return out


def digest_text(d: PartyDigest, heading: str) -> str:
    """The digest of one party as the plain text of a letter."""
    lines = [heading, "", f"{d.name}: изменения в графике консультаций", ""]
    lines += [f"— {line}" for line in d.lines]
    lines += ["", "Обновлённые события — во вложениях: откройте их, чтобы календарь принял изменения.", ""]
    return "\n".join(lines)


def digest_docx(title: str, subtitle: str, digests: list[PartyDigest]) -> bytes:
    """The coordinator's document: each party's changes, by consultant, school, municipality."""
    import docx

    document = docx.Document()
    document.add_heading(title, level=1)
    document.add_paragraph(subtitle)
    if not digests:
        document.add_paragraph("Изменений для участников нет.")
    for kind in PARTY_KINDS:
        mine = [d for d in digests if d.kind == kind]
        if not mine:
            continue
        document.add_heading(KIND_TITLES[kind], level=2)
        for d in mine:
            document.add_heading(d.name, level=3)
            # One paragraph per party, a line per change (a paragraph per line made a region's
            # first publication, ~5 000 lines, take half a minute: python-docx inserts each
            # paragraph by searching the body).
            paragraph = document.add_paragraph()
            for n, line in enumerate(d.lines):
                run = paragraph.add_run(f"— {line}")
                if n + 1 < len(d.lines):
                    run.add_break()
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


# --- iTIP by e-mail ------------------------------------------------------------------------


def itip_files(feed: bytes, sessions: list[str], organizer: str, attendee: str,
               attendee_name: str) -> list[tuple[str, bytes, str]]:
    """(file name, .ics, METHOD) for each changed session of a party's feed: one iTIP object per
    event, METHOD:REQUEST for an event that goes on (new or changed), METHOD:CANCEL for one
    that is cancelled for the party; ORGANIZER = the sender, ATTENDEE = the party."""
    cal = Calendar.from_ical(feed)
    zones = list(cal.walk("VTIMEZONE"))
    wanted = set(sessions)
    files = []
    for event in cal.walk("VEVENT"):
        sid = event_session(event)
        if sid is None or sid not in wanted:
            continue
        method = "CANCEL" if event.get("STATUS") == STATUS.CANCELLED else "REQUEST"
        ev = copy.deepcopy(event)
        if method == "CANCEL":
            ev.subcomponents = [c for c in ev.subcomponents if c.name != "VALARM"]
        org = vCalAddress(f"mailto:{organizer}")
        org.params["CN"] = vText("Рабочая группа «500+»")
        ev.add("ORGANIZER", org)
        att = vCalAddress(f"mailto:{attendee}")
        att.params.update({"CN": vText(attendee_name), "ROLE": "REQ-PARTICIPANT",
                           "PARTSTAT": "NEEDS-ACTION", "RSVP": "FALSE"})
        ev.add("ATTENDEE", att)
        out = Calendar()
        out.add("PRODID", PRODID)
        out.add("VERSION", "2.0")
        out.add("METHOD", method)
        for zone in zones:
            out.add_component(copy.deepcopy(zone))
        out.add_component(ev)
        n = len(files) + 1
        files.append((f"{n:02d}-{'otmena' if method == 'CANCEL' else 'izmenenie'}.ics", out.to_ical(), method))
    return files


@dataclass(frozen=True)
class SmtpSettings:
    """The server's mail settings (DIR/smtp.toml)."""

    host: str
    port: int
    security: str  # none, starttls, ssl
    user: str
    password: str
    sender: str  # the From header, e.g. «Рабочая группа <planner@example.ru>»
    timeout: float = 30.0

    @property
    def address(self) -> str:
        return parseaddr(self.sender)[1]


def read_smtp_settings(path: Path) -> SmtpSettings | None:
    """DIR/smtp.toml, or None when there is none. InputError naming the key when it is wrong."""
    if not path.is_file():
        return None
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError([Problem(path.name, f"файл не читается как TOML: {exc}")]) from None
    problems = []
    host = data.get("host")
    if not isinstance(host, str) or not host.strip():
        problems.append(Problem(path.name, "нужен адрес SMTP-сервера", column="host"))
    security = data.get("security", "starttls")
    if security not in ("none", "starttls", "ssl"):
        problems.append(Problem(path.name, "нужно none, starttls или ssl", column="security", value=str(security)))
    port = data.get("port", 465 if security == "ssl" else 587)
    if not isinstance(port, int) or not 0 < port < 65536:
        problems.append(Problem(path.name, "нужен порт от 1 до 65535", column="port", value=str(port)))
    sender = data.get("from")
    if not isinstance(sender, str) or "@" not in parseaddr(sender)[1]:
        problems.append(Problem(path.name, "нужен адрес отправителя, например «Рабочая группа <wg@example.ru>»",
                                column="from", value=str(sender)))
    password = ""
    if data.get("password_file"):
        pw_path = path.parent / str(data["password_file"])
        if not pw_path.is_file():
            problems.append(Problem(path.name, "файла пароля нет", column="password_file",
                                    value=str(data["password_file"])))
        else:
            password = pw_path.read_text(encoding="utf-8").strip()
    if problems:
        raise InputError(problems)
    return SmtpSettings(host.strip(), port, security, str(data.get("user", "")), password, sender,
                        float(data.get("timeout", 30)))


@dataclass
class Letter:
    to: str
    to_name: str
    subject: str
    body: str
    attachments: list[tuple[str, bytes, str | None]]  # (file name, bytes, iTIP METHOD or None)


def letter_message(settings: SmtpSettings, letter: Letter) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = settings.sender
    msg["To"] = formataddr((letter.to_name, letter.to))
    msg["Subject"] = letter.subject
    msg["Date"] = datetime.now().astimezone().strftime("%a, %d %b %Y %H:%M:%S %z")
    msg["Message-ID"] = make_msgid(domain=settings.address.rpartition("@")[2] or None)
    msg.set_content(letter.body)
    for name, data, method in letter.attachments:
        params = {"charset": "utf-8"}
        if method:
            params["method"] = method
        msg.add_attachment(data, maintype="text", subtype="calendar", filename=name, params=params)
    return msg


def send_letters(settings: SmtpSettings, letters: list[Letter], report=None) -> list[tuple[Letter, str | None]]:
    """Send every letter over one SMTP connection: (letter, None) when the server took it, else
    (letter, the Russian reason). A connection that cannot be made fails every letter."""
    results: list[tuple[Letter, str | None]] = []
    if not letters:
        return results
    try:
        if settings.security == "ssl":
            server = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout,
                                      context=ssl.create_default_context())
        else:
            server = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        with server:
            if settings.security == "starttls":
                server.starttls(context=ssl.create_default_context())
            if settings.user:
                server.login(settings.user, settings.password)
            for letter in letters:
                try:
                    server.send_message(letter_message(settings, letter))
                    results.append((letter, None))
                except smtplib.SMTPException as exc:
                    results.append((letter, f"сервер почты не принял письмо: {exc}"))
                if report:
                    report(letter, results[-1][1])
    except (OSError, smtplib.SMTPException) as exc:
        reason = f"нет связи с сервером почты {settings.host}:{settings.port} ({type(exc).__name__}: {exc})"
        done = {id(r[0]) for r in results}
        results += [(letter, reason) for letter in letters if id(letter) not in done]
    return results
