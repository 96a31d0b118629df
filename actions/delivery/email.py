"""The email staff receive for a new referral: plain text and HTML, every answer made inert.

The subject carries the reference only; the answers live in the body, where they are escaped (HTML),
stripped of control characters, and kept from running as spreadsheet formulas when pasted.
"""
from __future__ import annotations

import unicodedata
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import format_datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, List, Mapping, Optional, Tuple
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template

from actions.delivery.reference import InvalidReference, check_reference
from actions.referral.signposting import staff_notice
from bot.settings import Settings

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
MESSAGE_ID_DOMAIN = "cosp-assistant.local"
UK_TIME_ZONE = "Europe/London"

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_FORMULA_STARTS = ("=", "+", "-", "@")
REFERRAL_TYPES = {"self": "Self-referral", "professional": "Professional referral"}


def referral_type_label(referral_type: str) -> str:
    return REFERRAL_TYPES.get(referral_type, str(referral_type))


def subject_for(reference: str) -> str:
    return f"New COSP referral {check_reference(reference)}"


def message_id_for(reference: str) -> str:
    """The same referral always gets the same Message-ID, so a resend after a crash is recognisable."""
    return f"<{check_reference(reference)}@{MESSAGE_ID_DOMAIN}>"


def build_referral_email(referral: Mapping[str, Any], settings: Settings) -> EmailMessage:
    """The email for a stored referral (as `store.get_referral` returns it). Raises InvalidReference
    (a ValueError) for a reference not of the form COSP-XXXXX."""
    reference = check_reference(referral["reference"])
    context = {
        "reference": reference,
        "duplicate_notice": duplicate_notice(referral),
        "safety_notice": safety_notice(referral),
        "received": uk_time(referral["created_at"]),
        "referral_type": inert(referral_type_label(referral["referral_type"])),
        "answers": _inert_answers(referral["answers"]),
        "consent_version": inert(referral["consent_version"]),
        "consent_text": inert(referral["consent_text"]),
        "consent_given": uk_time(referral["consent_given_at"]),
    }
    message = EmailMessage()
    message["Subject"] = subject_for(reference)
    message["From"] = settings.referral_email_from
    message["To"] = settings.referral_email_to
    message["Date"] = format_datetime(datetime.now(timezone.utc))
    message["Message-ID"] = message_id_for(reference)
    # quoted-printable keeps the wire 7-bit (any SMTP server) and the ASCII parts readable in a .eml file
    text = _template("referral_email.txt.j2", html=False).render(context)
    message.set_content(text, charset="utf-8", cte="quoted-printable")
    page = _template("referral_email.html.j2", html=True).render(context)
    message.add_alternative(page, subtype="html", charset="utf-8", cte="quoted-printable")
    return message


def duplicate_reference(referral: Mapping[str, Any]) -> Optional[str]:
    """The well-formed reference of the earlier referral this one may duplicate, or None if it is not
    flagged. A malformed stored reference is not shown (it only ever goes out checked)."""
    duplicate_of = referral.get("duplicate_of")
    if not duplicate_of:
        return None
    try:
        return check_reference(duplicate_of)
    except InvalidReference:
        return None


def safety_notice(referral: Mapping[str, Any]) -> str:
    """The line telling staff a safety reply was given in the referral's conversation ("" if not)."""
    return staff_notice([str(kind) for kind in referral.get("safety_kinds") or []])


def duplicate_notice(referral: Mapping[str, Any]) -> str:
    """The line telling staff a referral may be a duplicate ("" if it is not flagged). It names the
    earlier referral by reference and time only, never by the phone or email they share."""
    if not referral.get("duplicate_of"):
        return ""
    earlier = duplicate_reference(referral)
    which = f"referral {earlier}" if earlier else "an earlier referral"
    received = referral.get("duplicate_of_created_at")
    when = f" (received {uk_time(received)})" if received is not None else ""
    return f"Possible duplicate: the same phone or email was used in {which}{when}. Please check before contacting."


def uk_time(moment: datetime) -> str:
    """UK wall-clock time as staff read it, e.g. '26 Nov 2026, 14:05' (locale-independent)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    local = moment.astimezone(ZoneInfo(UK_TIME_ZONE))
    return f"{local.day} {_MONTHS[local.month - 1]} {local.year}, {local:%H:%M}"


def inert(value: Any) -> str:
    """User text made safe to show and paste: line breaks normalised to \\n, other control characters
    removed, and every line that a spreadsheet would run as a formula prefixed with an apostrophe.
    Letters of every script, emoji and their joiners are kept."""
    text = "" if value is None else str(value)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n")
    text = text.replace("\t", " ")
    text = "".join(ch for ch in text if ch == "\n" or unicodedata.category(ch) not in ("Cc", "Cs"))
    return "\n".join("'" + line if line.startswith(_FORMULA_STARTS) else line for line in text.split("\n"))


def _inert_answers(answers: Any) -> List[Tuple[str, str]]:
    return [(inert(label), inert(answer)) for label, answer in answers]


@lru_cache(maxsize=None)
def _environment(html: bool) -> Environment:
    return Environment(
        loader=FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=html,
        undefined=StrictUndefined,
        trim_blocks=not html,
        lstrip_blocks=not html,
        keep_trailing_newline=True,
    )


def _template(name: str, html: bool) -> Template:
    return _environment(html).get_template(name)

