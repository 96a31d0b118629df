"""Duplicate referrals (the same family phone or email within 90 days) are stored and flagged to staff."""
from __future__ import annotations

import html
from datetime import datetime, timedelta, timezone
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.engine import Engine

from actions.delivery.email import build_referral_email, uk_time
from actions.delivery.store import (
    DUPLICATE_WINDOW_DAYS,
    claim_due_jobs,
    contact_keys,
    deliveries,
    get_referral,
    list_deliveries,
    make_engine,
    referrals,
    save_referral,
    utcnow,
)
from actions.delivery.telegram_staff import staff_notification
from actions.referral.record import ReferralRecord
from bot.settings import Settings

PHONE = "+447911123456"
EMAIL = "amira.khan@example.com"
CONSENT_AT = datetime(2026, 11, 26, 14, 3, tzinfo=timezone.utc)


def make_record(
    reference: str,
    phone: str = "not given",
    email: str = "not given",
    referral_type: str = "self",
    referrer_contact: Optional[str] = None,
) -> ReferralRecord:
    data: Dict[str, Any] = {"caregiver_name": "Amira Khan", "phone": phone, "email": email}
    answers: List[Tuple[str, str]] = [("Parent or caregiver's name", "Amira Khan"), ("Phone number", phone), ("Email", email)]
    if referrer_contact is not None:
        data["referrer_contact"] = referrer_contact
        answers.insert(0, ("Your work phone or email", referrer_contact))
    return ReferralRecord(
        reference=reference,
        submission_key=f"submission-{reference}",
        referral_type=referral_type,
        answers=answers,
        data=data,
        consent_version="v1",
        consent_text="I agree that the COSP team may contact me.",
        consent_given_at=CONSENT_AT,
    )


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'referrals.db'}")
    yield engine
    engine.dispose()


def save_both(engine: Engine, first: ReferralRecord, second: ReferralRecord) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """Saves both and returns them as stored: each is stored with its delivery, whatever the flag."""
    assert save_referral(engine, first) == first.reference
    assert save_referral(engine, second) == second.reference
    stored = get_referral(engine, first.reference), get_referral(engine, second.reference)
    assert all(referral is not None for referral in stored)
    assert {job["reference"] for job in list_deliveries(engine)} == {first.reference, second.reference}
    return stored  # type: ignore[return-value]


def set_created_at(engine: Engine, reference: str, moment: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(update(referrals).where(referrals.c.reference == reference).values(created_at=moment))


def test_the_same_phone_within_90_days_is_flagged_with_the_earlier_reference(engine: Engine) -> None:
    first, second = save_both(engine, make_record("COSP-AAAAA", phone=PHONE), make_record("COSP-BBBBB", phone=PHONE))

    assert first["duplicate_of"] is None
    assert second["duplicate_of"] == "COSP-AAAAA"
    assert second["duplicate_of_created_at"] == first["created_at"]


def test_the_same_email_in_another_case_is_flagged(engine: Engine) -> None:
    _, second = save_both(
        engine, make_record("COSP-AAAAA", email=EMAIL), make_record("COSP-BBBBB", phone=PHONE, email="Amira.KHAN@Example.com")
    )

    assert second["duplicate_of"] == "COSP-AAAAA"


def test_a_different_family_is_not_flagged(engine: Engine) -> None:
    _, second = save_both(
        engine,
        make_record("COSP-AAAAA", phone=PHONE, email=EMAIL),
        make_record("COSP-BBBBB", phone="+447700900123", email="someone.else@example.com"),
    )

    assert second["duplicate_of"] is None


def test_the_same_phone_91_days_later_is_not_flagged(engine: Engine) -> None:
    assert save_referral(engine, make_record("COSP-AAAAA", phone=PHONE)) == "COSP-AAAAA"
    set_created_at(engine, "COSP-AAAAA", utcnow() - timedelta(days=DUPLICATE_WINDOW_DAYS + 1))
    assert save_referral(engine, make_record("COSP-BBBBB", phone=PHONE)) == "COSP-BBBBB"

    assert get_referral(engine, "COSP-AAAAA") is not None
    assert get_referral(engine, "COSP-BBBBB")["duplicate_of"] is None


def test_the_same_phone_89_days_later_is_still_flagged(engine: Engine) -> None:
    save_referral(engine, make_record("COSP-AAAAA", phone=PHONE))
    set_created_at(engine, "COSP-AAAAA", utcnow() - timedelta(days=DUPLICATE_WINDOW_DAYS - 1))
    save_referral(engine, make_record("COSP-BBBBB", phone=PHONE))

    assert get_referral(engine, "COSP-BBBBB")["duplicate_of"] == "COSP-AAAAA"


def test_the_most_recent_earlier_referral_is_named(engine: Engine) -> None:
    save_referral(engine, make_record("COSP-AAAAA", phone=PHONE))
    set_created_at(engine, "COSP-AAAAA", utcnow() - timedelta(days=20))
    save_referral(engine, make_record("COSP-BBBBB", email=EMAIL, phone=PHONE))
    set_created_at(engine, "COSP-BBBBB", utcnow() - timedelta(days=10))
    save_referral(engine, make_record("COSP-CCCCC", phone=PHONE))

    assert get_referral(engine, "COSP-BBBBB")["duplicate_of"] == "COSP-AAAAA"
    assert get_referral(engine, "COSP-CCCCC")["duplicate_of"] == "COSP-BBBBB"


@pytest.mark.parametrize("referrer_contact", ["+441302123456", "health.visitor@nhs.net"])
def test_a_professionals_own_contact_shared_by_two_families_is_not_flagged(engine: Engine, referrer_contact: str) -> None:
    first = make_record("COSP-AAAAA", phone="+447700900001", referral_type="professional", referrer_contact=referrer_contact)
    second = make_record(
        "COSP-BBBBB", email="family.two@example.com", referral_type="professional", referrer_contact=referrer_contact
    )

    _, stored_second = save_both(engine, first, second)

    assert stored_second["duplicate_of"] is None


def test_not_given_on_both_is_not_flagged(engine: Engine) -> None:
    _, second = save_both(engine, make_record("COSP-AAAAA"), make_record("COSP-BBBBB"))

    assert second["duplicate_of"] is None


def test_contact_keys_are_digests_of_the_family_contact_only() -> None:
    keys = contact_keys({"phone": PHONE, "email": "Amira.Khan@Example.com", "referrer_contact": "+441302123456"})

    assert keys == contact_keys({"phone": PHONE, "email": EMAIL})
    assert len(keys) == 2 and all(len(key) == 64 and int(key, 16) >= 0 for key in keys)
    assert contact_keys({"phone": "not given", "email": ""}) == []
    assert contact_keys({}) == []


def test_no_plain_contact_is_stored_outside_the_answers(engine: Engine) -> None:
    save_referral(engine, make_record("COSP-AAAAA", phone=PHONE, email=EMAIL))
    with engine.connect() as conn:
        keys, duplicate_of = conn.execute(
            select(referrals.c.contact_keys, referrals.c.duplicate_of).where(referrals.c.reference == "COSP-AAAAA")
        ).one()

    assert duplicate_of is None
    assert PHONE not in str(keys) and "amira" not in str(keys).lower()


def parts(message: Any) -> Tuple[str, str, Any]:
    parsed = message_from_bytes(message.as_bytes(), policy=policy.default)
    return parsed.get_body(("plain",)).get_content(), parsed.get_body(("html",)).get_content(), parsed


def test_the_email_shows_the_duplicate_line_under_the_reference_without_contact_details(
    engine: Engine, settings: Settings
) -> None:
    first, second = save_both(
        engine, make_record("COSP-AAAAA", phone=PHONE, email=EMAIL), make_record("COSP-BBBBB", phone=PHONE, email=EMAIL)
    )
    expected = (
        "Possible duplicate: the same phone or email was used in referral COSP-AAAAA "
        f"(received {uk_time(first['created_at'])}). Please check before contacting."
    )

    text, body_html, parsed = parts(build_referral_email(second, settings))

    lines = text.splitlines()
    assert lines[lines.index("Reference: COSP-BBBBB") + 1] == expected
    assert expected in html.unescape(body_html)
    assert html.unescape(body_html).index(expected) > html.unescape(body_html).index("COSP-BBBBB")
    for body in (text, html.unescape(body_html)):
        line = next(line for line in body.splitlines() if "Possible duplicate" in line)
        assert PHONE not in line and "07911" not in line and EMAIL not in line
    headers = " ".join(f"{name}: {value}" for name, value in parsed.items())
    assert "duplicate" not in headers.lower() and PHONE not in headers and EMAIL not in headers
    assert parsed["Subject"] == "New COSP referral COSP-BBBBB"


def test_the_email_of_an_unflagged_referral_has_no_duplicate_line(engine: Engine, settings: Settings) -> None:
    first, _ = save_both(engine, make_record("COSP-AAAAA", phone=PHONE), make_record("COSP-BBBBB", phone="+447700900123"))

    for referral in (first, get_referral(engine, "COSP-BBBBB")):
        text, body_html, _ = parts(build_referral_email(referral, settings))
        assert "Possible duplicate" not in text and "Possible duplicate" not in body_html


def test_the_duplicate_line_reads_as_staff_expect(settings: Settings) -> None:
    referral = {
        "reference": "COSP-BBBBB",
        "referral_type": "self",
        "answers": [],
        "consent_version": "v1",
        "consent_text": "I agree.",
        "consent_given_at": datetime(2026, 11, 26, 14, 3, tzinfo=timezone.utc),
        "created_at": datetime(2026, 11, 26, 14, 5, tzinfo=timezone.utc),
        "duplicate_of": "COSP-7KQ2M",
        "duplicate_of_created_at": datetime(2026, 11, 12, 10, 5, tzinfo=timezone.utc),
    }

    text, body_html, _ = parts(build_referral_email(referral, settings))

    line = (
        "Possible duplicate: the same phone or email was used in referral COSP-7KQ2M "
        "(received 12 Nov 2026, 10:05). Please check before contacting."
    )
    assert line in text and line in html.unescape(body_html)


def test_the_telegram_notification_names_the_earlier_reference_only(engine: Engine) -> None:
    first, second = save_both(
        engine, make_record("COSP-AAAAA", phone=PHONE, email=EMAIL), make_record("COSP-BBBBB", phone=PHONE, email=EMAIL)
    )

    for full_details in (False, True):
        text = staff_notification(second, full_details=full_details)
        line = next(line for line in text.splitlines() if "duplicate" in line.lower())
        assert line == "Possible duplicate of COSP-AAAAA"
    assert PHONE not in staff_notification(second, full_details=False)
    assert "Possible duplicate" not in staff_notification(first, full_details=False)


def test_the_worker_gets_the_flag_with_its_job(engine: Engine) -> None:
    first, _ = save_both(engine, make_record("COSP-AAAAA", phone=PHONE), make_record("COSP-BBBBB", phone=PHONE))

    jobs = claim_due_jobs(engine, utcnow(), lease_seconds=60, limit=10)

    by_reference = {job["reference"]: job["referral"] for job in jobs}
    assert by_reference["COSP-AAAAA"]["duplicate_of"] is None
    assert by_reference["COSP-BBBBB"]["duplicate_of"] == "COSP-AAAAA"
    assert by_reference["COSP-BBBBB"]["duplicate_of_created_at"] == first["created_at"]


def test_the_flag_stays_when_the_earlier_referral_is_gone(engine: Engine, settings: Settings) -> None:
    save_both(engine, make_record("COSP-AAAAA", phone=PHONE), make_record("COSP-BBBBB", phone=PHONE))
    with engine.begin() as conn:  # as erasure or retention would delete it
        referral_id = conn.execute(select(referrals.c.id).where(referrals.c.reference == "COSP-AAAAA")).scalar_one()
        conn.execute(delete(deliveries).where(deliveries.c.referral_id == referral_id))
        conn.execute(delete(referrals).where(referrals.c.id == referral_id))

    second = get_referral(engine, "COSP-BBBBB")
    text, _, _ = parts(build_referral_email(second, settings))

    assert second["duplicate_of"] == "COSP-AAAAA" and second["duplicate_of_created_at"] is None
    assert "Possible duplicate: the same phone or email was used in referral COSP-AAAAA. Please check before contacting." in text
