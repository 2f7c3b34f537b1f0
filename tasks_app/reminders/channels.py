"""The channels a reminder digest goes out on, each a small class behind one interface.

`channel.split(digest)` cuts a recipient's digest into the messages the channel can carry, in
order; `channel.send(recipient, part)` delivers one of them and returns the channel's message id; a
transport failure raises `ChannelError`, which the sender records in the ledger and retries with
backoff. Nothing here touches the ledger.

What each channel does with a digest larger than it can carry (every item reaches its reader):
- email: one message with every item (no practical limit; 500 items are about 150 KB of HTML);
- Zalo OA: split into as many text messages of at most ZALO_TEXT_LIMIT characters as it takes,
  numbered "(1/3)", "(2/3)"…, sent in order; each ends with one link (`Digest.link`): the
  assignment's page when the message is about one assignment (a handoff notice, a lone reminder),
  else the reader's list;
- ZNS: one template message by design (an approved template with fixed fields): it names the
  nearest item, says "và N việc khác" and carries `Digest.link` likewise;
- feed: one in-app item per assignment.
"""

from __future__ import annotations

import datetime as dt
import smtplib
from dataclasses import dataclass, field
from typing import Any

import requests
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import connection, transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from tasks_app.models import Official

from .models import NOTICE_PREFIX, Channel, FeedItem, RecipientRole, ZaloToken, notice_text

# Zalo's answers meaning "the access token is invalid or has expired": refresh it and retry once.
ZALO_TOKEN_ERRORS = {-124, -216, -230}
ZALO_TEXT_LIMIT = 2000
# Any constant will do: it names the PostgreSQL advisory lock held while the OA token is refreshed.
_ZALO_REFRESH_LOCK_KEY = 0x5E3A_0007


class ChannelError(Exception):
    """A failure to deliver that may pass (network, server error, provider refusal). `uncertain`:
    the request went out and no answer came, so the provider may have accepted it."""

    uncertain = False
    retry_in: dt.timedelta | None = None
    gave_up = False


def assignment_url(assignment_id: int) -> str:
    return f"{settings.SITE_URL}/assignments/{assignment_id}/"


def list_url() -> str:
    """The reader's own list of assignments (where a summary sends them for the rest)."""
    return f"{settings.SITE_URL}/assignments/"


@dataclass
class DigestItem:
    assignment: Any  # an Assignment
    stage: str
    offset: int
    deadline: dt.date
    role: str
    day: dt.date
    row_ids: list[int] = field(default_factory=list)  # the ledger rows this line delivers
    handoff: Any = None  # a notice's Handoff (models.Handoff), for its reason, decision and deadline

    @property
    def notice(self) -> str:
        """The notice's text ('' for a reminder), in the language active when rendering."""
        if not self.stage.startswith(NOTICE_PREFIX):
            return ""
        return notice_text(self.stage)

    @property
    def detail(self) -> str:
        """A notice's full sentence — who, the reason of a return, the decision on an extension and
        its deadline — the same text the in-app feed shows (templates/reminders/_handoff.txt), in
        the language active when rendering, unescaped (each channel's template escapes as its format
        needs); '' for a reminder."""
        if self.handoff is None:
            return ""
        return " ".join(render_to_string("reminders/_handoff_plain.txt", {"h": self.handoff}).split())

    @property
    def section(self) -> str:
        if self.stage.startswith(NOTICE_PREFIX):
            return "notice"
        if self.role != RecipientRole.RESPONSIBLE:
            return "escalated"
        if self.deadline < self.day:
            return "overdue"
        return "due_today" if self.deadline == self.day else "due_soon"

    @property
    def days_left(self) -> int:
        return (self.deadline - self.day).days

    @property
    def days_overdue(self) -> int:
        return (self.day - self.deadline).days

    @property
    def url(self) -> str:
        return assignment_url(self.assignment.pk)


@dataclass
class Digest:
    """One recipient's reminders of one day, in sections, ordered by deadline."""

    recipient: Official
    day: dt.date
    key: str = ""
    items: list[DigestItem] = field(default_factory=list)
    part: int = 1
    parts: int = 1

    @property
    def row_ids(self) -> list[int]:
        return sorted(pk for item in self.items for pk in item.row_ids)

    def section(self, name: str) -> list[DigestItem]:
        return [i for i in self.items if i.section == name]

    @property
    def link(self) -> str:
        """Where a message that carries one link sends its reader: the assignment's own page when
        every item is about the same assignment (a notice asks the reader to act there), else the
        reader's list."""
        if len({item.assignment.pk for item in self.items}) == 1:
            return self.items[0].url
        return list_url()

    def context(self) -> dict:
        return {
            "recipient": self.recipient,
            "day": self.day,
            "items": self.items,
            "due_soon": self.section("due_soon"),
            "due_today": self.section("due_today"),
            "overdue": self.section("overdue"),
            "escalated": self.section("escalated"),
            "notices": self.section("notice"),
            "overdue_count": sum(1 for i in self.items if i.deadline < self.day and not i.notice),
            "site_url": settings.SITE_URL,
            "link": self.link,
            "part": self.part,
            "parts": self.parts,
        }


def render_email(name: str, context: dict) -> tuple[str, str, str]:
    """Subject, text body and HTML body of templates/emails/<name>-subject.txt, -body.txt, -body.html."""
    subject = " ".join(render_to_string(f"emails/{name}-subject.txt", context).split())
    text = render_to_string(f"emails/{name}-body.txt", context)
    html = render_to_string(f"emails/{name}-body.html", context)
    return subject, text, html


def send_email(name: str, to: str, context: dict, *, headers: dict | None = None) -> str:
    subject, text, html = render_email(name, context)
    message = EmailMultiAlternatives(subject, text, to=[to], headers=headers or {})
    message.attach_alternative(html, "text/html")
    message.send()
    return message.extra_headers.get("Message-ID", "")


class BaseChannel:
    name: str

    def split(self, digest: Digest) -> list[Digest]:
        """The messages that carry the digest, in order (most channels: the digest itself)."""
        return [digest]

    def send(self, recipient: Official, digest: Digest) -> str:
        raise NotImplementedError


class EmailChannel(BaseChannel):
    name = Channel.EMAIL

    def send(self, recipient, digest):
        domain = settings.SITE_URL.split("//", 1)[-1].split("/", 1)[0].split(":", 1)[0] or "localhost"
        # A stable Message-ID per digest lets a mail system drop a copy sent again after a crash.
        message_id = f"<reminder-{digest.key}@{domain}>"
        with translation.override(recipient.language):
            try:
                return send_email(
                    "reminder-digest", recipient.email, digest.context(), headers={"Message-ID": message_id}
                )
            except (smtplib.SMTPException, OSError) as exc:
                raise ChannelError(f"SMTP: {exc}") from exc


class ZaloClient:
    """Zalo OA and ZNS over HTTP, with the OA access token refreshed when Zalo says it expired."""

    def __init__(self):
        self.timeout = settings.ZALO_TIMEOUT
        self.answer_timeout = settings.ZALO_ANSWER_TIMEOUT

    def _current_token(self) -> str:
        stored = ZaloToken.objects.order_by("-updated_at").values_list("access_token", flat=True).first()
        return stored or settings.ZALO_OA_ACCESS_TOKEN

    def refresh_token(self, stale_token: str) -> str:
        """Exchange the refresh token for a new pair. Zalo's refresh tokens are single-use, so one
        refresh runs at a time: a transaction-scoped advisory lock (a row lock would lock nothing
        while the table is still empty, and two first refreshes would both spend the token). A
        second worker waits, then finds the new token and uses it. SQLite's IMMEDIATE transactions
        (see settings) serialise the same way."""
        if not (settings.ZALO_APP_ID and settings.ZALO_APP_SECRET):
            raise ChannelError("Zalo: access token expired and ZALO_APP_ID/ZALO_APP_SECRET are not set")
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_ZALO_REFRESH_LOCK_KEY])
            row = ZaloToken.objects.order_by("-updated_at").first()
            if row is None:
                row = ZaloToken.objects.create(
                    access_token=settings.ZALO_OA_ACCESS_TOKEN, refresh_token=settings.ZALO_OA_REFRESH_TOKEN
                )
            if row.access_token != stale_token:
                return row.access_token
            try:
                response = requests.post(
                    f"{settings.ZALO_OAUTH_BASE}/v4/oa/access_token",
                    headers={"secret_key": settings.ZALO_APP_SECRET},
                    data={
                        "refresh_token": row.refresh_token,
                        "app_id": settings.ZALO_APP_ID,
                        "grant_type": "refresh_token",
                    },
                    timeout=self.timeout,
                )
                response.raise_for_status()
                data = response.json()
            except (requests.RequestException, ValueError) as exc:
                raise ChannelError(f"Zalo token refresh: {exc}") from exc
            if not data.get("access_token"):
                raise ChannelError(f"Zalo token refresh refused: {data}")
            row.access_token = data["access_token"]
            row.refresh_token = data.get("refresh_token", row.refresh_token)
            expires_in = int(data.get("expires_in") or 0)
            row.expires_at = timezone.now() + dt.timedelta(seconds=expires_in) if expires_in else None
            row.save()
            return row.access_token

    def post(self, url: str, body: dict) -> dict:
        token = self._current_token()
        for attempt in range(2):
            try:
                # Connecting fails fast (nothing was sent); once the request is out, Zalo may accept
                # it and answer late, so the answer is awaited longer (ZALO_ANSWER_TIMEOUT): a late
                # acceptance within it counts as delivered instead of being sent again.
                response = requests.post(
                    url, json=body, headers={"access_token": token}, timeout=(self.timeout, self.answer_timeout)
                )
            except requests.RequestException as exc:
                error = ChannelError(f"Zalo: {exc.__class__.__name__}: {exc}")
                # No answer to a request that went out: perhaps accepted (see sender._fail).
                error.uncertain = isinstance(exc, requests.ReadTimeout)
                raise error from exc
            if response.status_code >= 400:
                raise ChannelError(f"Zalo: HTTP {response.status_code}")
            try:
                data = response.json()
            except ValueError as exc:
                raise ChannelError("Zalo: the answer is not JSON") from exc
            error = data.get("error")
            if error == 0:
                return data
            if error in ZALO_TOKEN_ERRORS and attempt == 0:
                token = self.refresh_token(token)
                continue
            raise ChannelError(f"Zalo error {error}: {data.get('message', '')}")
        raise ChannelError("Zalo: token refused after refresh")  # pragma: no cover


class ZaloChannel(BaseChannel):
    """A text message from the Official Account to a user who follows it."""

    name = Channel.ZALO

    @staticmethod
    def text(digest: Digest) -> str:
        with translation.override(digest.recipient.language):
            return render_to_string("reminders/zalo-digest.txt", digest.context()).strip()

    def split(self, digest):
        """Pack items in order into messages that fit ZALO_TEXT_LIMIT. A text is a header, one line
        per item and the link, so each line is rendered once and measured, with the numbering at its
        widest; `send` refuses a text over the limit rather than cut it."""
        widest = len(digest.items)
        base = len(self.text(Digest(digest.recipient, digest.day, part=widest, parts=widest)))
        packs: list[list[DigestItem]] = [[]]
        size = base
        for item in digest.items:
            line = len(self.text(Digest(digest.recipient, digest.day, items=[item], part=widest, parts=widest))) - base
            if packs[-1] and size + line > ZALO_TEXT_LIMIT:
                packs.append([])
                size = base
            packs[-1].append(item)
            size += line
        return [
            Digest(digest.recipient, digest.day, digest.key, items, part=n, parts=len(packs))
            for n, items in enumerate(packs, 1)
        ]

    def send(self, recipient, digest):
        text = self.text(digest)
        if len(text) > ZALO_TEXT_LIMIT:  # one item longer than a message: never cut silently
            raise ChannelError(f"Zalo: a message of {len(text)} characters exceeds {ZALO_TEXT_LIMIT}")
        data = ZaloClient().post(
            f"{settings.ZALO_API_BASE}/v3.0/oa/message/cs",
            {"recipient": {"user_id": recipient.zalo_user_id}, "message": {"text": text}},
        )
        return str((data.get("data") or {}).get("message_id", ""))


def zns_phone(phone: str) -> str:
    """ZNS wants the international form without '+': 0912345678 → 84912345678."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    return "84" + digits[1:] if digits.startswith("0") else digits


class ZnsChannel(BaseChannel):
    """A ZNS template message to a phone number (for officials who do not follow the OA)."""

    name = Channel.ZNS

    def send(self, recipient, digest):
        if not settings.ZALO_ZNS_TEMPLATE_ID:
            raise ChannelError("ZNS: ZALO_ZNS_TEMPLATE_ID is not set")
        nearest = min(digest.items, key=lambda i: i.deadline)
        data = ZaloClient().post(
            f"{settings.ZALO_ZNS_BASE}/message/template",
            {
                "phone": zns_phone(recipient.phone),
                "template_id": settings.ZALO_ZNS_TEMPLATE_ID,
                "template_data": {
                    "name": recipient.full_name,
                    "count": len(digest.items),
                    "task": nearest.assignment.task.title[:100],
                    "deadline": nearest.deadline.strftime("%d/%m/%Y"),
                    # The template reads "… và {more} việc khác: {url}" (every item is counted).
                    "more": len(digest.items) - 1,
                    "url": digest.link,
                },
                "tracking_id": digest.key,
            },
        )
        return str((data.get("data") or {}).get("msg_id", ""))


class FeedChannel(BaseChannel):
    """The in-app feed: one unread item per assignment, replaced by a later reminder."""

    name = Channel.FEED

    def send(self, recipient, digest):
        now = timezone.now()
        with transaction.atomic():
            for item in digest.items:
                FeedItem.objects.update_or_create(
                    official=recipient,
                    assignment=item.assignment,
                    read_at=None,
                    handoff=None,
                    defaults={
                        "stage": item.stage,
                        "offset_days": item.offset,
                        "deadline": item.deadline,
                        "recipient_role": item.role,
                        "created_at": now,
                    },
                )
        return ""


CHANNELS: dict[str, BaseChannel] = {c.name: c() for c in (EmailChannel, ZaloChannel, ZnsChannel, FeedChannel)}
