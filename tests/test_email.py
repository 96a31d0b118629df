"""The staff email: exact subject, every answer in both parts, user text inert."""
from __future__ import annotations

import html
from datetime import datetime, timezone
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest

from actions.delivery.email import build_referral_email, inert, uk_time
from actions.delivery.reference import InvalidReference
from actions.delivery.store import get_referral, make_engine, save_referral
from actions.referral.record import ReferralRecord
from bot.settings import Settings

ANSWERS: List[Tuple[str, str]] = [
    ("Your name", "Amira Khan"),
    ("Phone number", "07700 900123"),
    ("Email address", "amira.khan@example.com"),
    ("Child's name", "<script>alert(1)</script>"),
    ("Anything else?", "Jo\r\nBcc: attacker@example.com\r\nSubject: pwned"),
    ("Website", '=HYPERLINK("http://x")'),
    ("Languages", "👨‍👩‍👧 مرحبا بكم 你好"),
]


def referral(**overrides: Any) -> Dict[str, Any]:
    """A referral shaped as store.get_referral returns it."""
    value: Dict[str, Any] = {
        "id": 1,
        "reference": "COSP-ABCDE",
        "submission_key": "submission-1",
        "referral_type": "self",
        "answers": list(ANSWERS),
        "data": {},
        "consent_version": "v1",
        "consent_text": "I agree that the COSP team may contact me about this referral.",
        "consent_given_at": datetime(2026, 11, 26, 14, 3, tzinfo=timezone.utc),
        "created_at": datetime(2026, 11, 26, 14, 5, tzinfo=timezone.utc),
        "status": "new",
    }
    value.update(overrides)
    return value


def parse(message: EmailMessage) -> EmailMessage:
    """The message as a mail client reads it: serialised to bytes and parsed back."""
    return message_from_bytes(message.as_bytes(), policy=policy.default)


def parts(message: EmailMessage) -> Tuple[str, str]:
    parsed = parse(message)
    return parsed.get_body(("plain",)).get_content(), parsed.get_body(("html",)).get_content()


def test_subject_is_exactly_the_reference_and_no_header_holds_an_answer(settings: Settings) -> None:
    parsed = parse(build_referral_email(referral(), settings))

    assert parsed["Subject"] == "New COSP referral COSP-ABCDE"
    assert parsed["To"] == "cosp.team@example.nhs.uk"
    assert parsed["From"] == "cosp-assistant@example.nhs.uk"
    assert parsed["Message-ID"] == "<COSP-ABCDE@cosp-assistant.local>"
    assert parsed["Date"].datetime.tzinfo is not None
    headers = " ".join(f"{name}: {value}" for name, value in parsed.items())
    for answer in [answer for _, answer in ANSWERS] + ["Amira", "07700", "alert", "attacker", "HYPERLINK", "مرحبا"]:
        assert answer not in headers


def test_both_parts_list_every_answer_in_order(settings: Settings) -> None:
    text, body_html = parts(build_referral_email(referral(), settings))
    unescaped = html.unescape(body_html)

    for body in (text, unescaped):
        positions = [body.index(inert(label)) for label, _ in ANSWERS]
        assert positions == sorted(positions)
        for _, answer in ANSWERS:
            assert inert(answer) in body
        assert "COSP-ABCDE" in body
        assert "26 Nov 2026, 14:05" in body  # received, UK time
        assert "Self-referral" in body
        assert "version v1" in body and "26 Nov 2026, 14:03" in body
        assert "I agree that the COSP team may contact me about this referral." in body


def test_a_stored_referral_builds_the_same_email(tmp_path: Path, settings: Settings) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'referrals.db'}")
    record = ReferralRecord(
        reference="COSP-ABCDE",
        submission_key="submission-1",
        referral_type="professional",
        answers=ANSWERS,
        data={},
        consent_version="v1",
        consent_text="I agree.",
        consent_given_at=datetime(2026, 11, 26, 14, 3, tzinfo=timezone.utc),
    )
    save_referral(engine, record)

    text, _ = parts(build_referral_email(get_referral(engine, "COSP-ABCDE"), settings))

    assert "Professional referral" in text
    assert all(inert(answer) in text for _, answer in ANSWERS)
    engine.dispose()


def test_script_is_escaped_in_html(settings: Settings) -> None:
    text, body_html = parts(build_referral_email(referral(), settings))

    assert "<script>" not in body_html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body_html
    assert "<script>alert(1)</script>" in text  # plain text is not interpreted


def test_line_breaks_in_answers_cannot_add_headers(settings: Settings) -> None:
    dangerous = referral(
        referral_type="self\r\nBcc: attacker@example.com",
        answers=[("Name\r\nX-Injected: yes", "Jo\r\nBcc: attacker@example.com\r\n\r\n"), ("Other", "a\rb\nc")],
    )
    parsed = parse(build_referral_email(dangerous, settings))

    assert parsed["Bcc"] is None and parsed["X-Injected"] is None
    assert sorted(parsed.keys()) == sorted(["Subject", "From", "To", "Date", "Message-ID", "Content-Type", "MIME-Version"])
    text = parsed.get_body(("plain",)).get_content()
    assert "\r" not in text
    assert "Jo\nBcc: attacker@example.com" in text  # shown as text, as the person typed it
    assert "a\nb\nc" in text


def test_spreadsheet_formulas_arrive_prefixed(settings: Settings) -> None:
    answers = [("Website", '=HYPERLINK("http://x")'), ("A", "+1+1"), ("B", "-2"), ("C", "@SUM(A1)"), ("D", "ok\n=1+1")]
    text, body_html = parts(build_referral_email(referral(answers=answers), settings))

    for body in (text, html.unescape(body_html)):
        assert '\'=HYPERLINK("http://x")' in body
        assert "'+1+1" in body and "'-2" in body and "'@SUM(A1)" in body
        assert "ok\n'=1+1" in body  # every line, as pasting splits lines into cells
        assert "\n=" not in body.replace("\r\n", "\n")


def test_control_characters_are_removed_and_every_script_kept(settings: Settings) -> None:
    answers = [("Note", "bell\x07 esc\x1b[31m nul\x00 del\x7f end"), ("Languages", "👨‍👩‍👧 مرحبا بكم 你好 Zoë")]
    message = build_referral_email(referral(answers=answers), settings)
    text, body_html = parts(message)

    for body in (text, body_html):
        assert "bell esc[31m nul del end" in body
        assert not any(ch in body for ch in "\x00\x07\x1b\x7f")
        assert "👨‍👩‍👧 مرحبا بكم 你好 Zoë" in body  # zero-width joiners of the family emoji included
    message.as_bytes().decode("ascii")  # bodies are transfer-encoded: safe on any SMTP server


@pytest.mark.parametrize(
    "reference",
    ["COSP-abcde", "COSP-ABCD", "COSP-ABCDEF", "COSP-ABCDE\n", "COSP-ABCDE\r\nBcc: a@b.c", "../../etc/passwd", "", None],
)
def test_a_malformed_reference_is_refused(settings: Settings, reference: Any) -> None:
    with pytest.raises(InvalidReference):
        build_referral_email(referral(reference=reference), settings)


def test_uk_time_follows_british_summer_time() -> None:
    assert uk_time(datetime(2026, 11, 26, 14, 5, tzinfo=timezone.utc)) == "26 Nov 2026, 14:05"
    assert uk_time(datetime(2026, 7, 1, 13, 5, tzinfo=timezone.utc)) == "1 Jul 2026, 14:05"


def test_the_text_part_reads_one_answer_per_line(settings: Settings) -> None:
    referral = {
        "reference": "COSP-ABCDE", "referral_type": "self", "created_at": datetime(2026, 11, 26, 14, 3, tzinfo=timezone.utc),
        "answers": [("Parent or caregiver's name", "Sam Taylor"), ("Postcode", "DN31 1HU")],
        "consent_version": "v1", "consent_text": "I agree.", "consent_given_at": datetime(2026, 11, 26, 14, 3, tzinfo=timezone.utc),
    }
    text = build_referral_email(referral, settings).get_body(("plain",)).get_content()
    assert "\nParent or caregiver's name: Sam Taylor\nPostcode: DN31 1HU\n\nConsent:" in text
