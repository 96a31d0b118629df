"""Turning the form's answers into a ReferralRecord, checking every answer again first:
nothing reaches staff that did not pass its check, however the slot was filled."""
from __future__ import annotations

import hashlib
from datetime import date, datetime, timezone
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from actions.referral import questions as q
from actions.referral.consent import consent_text, is_known_version
from actions.referral.form import CONSENT_GIVEN_AT, CONSENT_VERSION_SLOT, check
from actions.referral.record import ReferralRecord
from actions.referral.result import Invalid, Valid

_NOT_RECHECKED = {q.REVIEW, q.FIELD_TO_CHANGE}
_READ_AGAIN = {q.CHILD_AGE}  # stored as words ("20 months (born 12/03/2025)"): must still read as an eligible age


def submission_key(conversation_id: str, consent_given_at: object) -> str:
    """The same for every try at submitting one referral, different for the next referral.

    The moment consent was given (the consent_given_at slot, set once per referral, cleared when a
    referral is stored or stopped) stays the same when a call is repeated on another action server,
    and when the answers are sent again after a try whose outcome was lost (the form run again with
    its answers kept, hence new events). Hashed: the key must not reveal the conversation.
    """
    return hashlib.sha256(f"{conversation_id}\n{consent_given_at!r}".encode()).hexdigest()


def first_unfit_answer(values: Mapping[str, Any], today: date) -> Optional[str]:
    """The first question whose stored answer would not pass its check now, or None."""
    for slot in q.required_slots(values):
        if slot in _NOT_RECHECKED:
            continue
        value = values.get(slot)
        if not isinstance(value, str) or not value:
            return slot
        checked = check(slot, value, values, today)
        if not isinstance(checked, Valid) or (checked.value != value and slot not in _READ_AGAIN):
            return slot
    return None


def consent_given_at(values: Mapping[str, Any]) -> Optional[datetime]:
    if values.get(q.CONSENT) != "yes" or not is_known_version(values.get(CONSENT_VERSION_SLOT)):
        return None
    try:
        given = datetime.fromisoformat(str(values.get(CONSENT_GIVEN_AT)))
    except ValueError:
        return None
    return given if given.tzinfo else None


def build_record(
    values: Mapping[str, Any],
    reference: str,
    key: str,
    today: date,
    conversation_id: str = "",
    safety_kinds: Sequence[str] = (),
    outside_catchment: bool = False,
) -> Union[ReferralRecord, Invalid]:
    """The record to store, or Invalid(slot) naming the first answer that must be asked again.
    `outside_catchment`: the postcode is outside the service profile's districts; it is still taken,
    and staff read it marked so."""
    unfit = first_unfit_answer(values, today)
    if unfit:
        return Invalid(unfit)
    if values.get(q.REFERRER_TYPE) == "professional" and values.get(q.FAMILY_AGREED) != "yes":
        return Invalid(q.FAMILY_AGREED)
    given_at = consent_given_at(values)
    if given_at is None:
        return Invalid(q.CONSENT)
    if values.get(q.REVIEW) != "send":
        return Invalid(q.REVIEW)
    asked = q.required_slots(values)
    data: Dict[str, Any] = {slot: values.get(slot) for slot in asked if slot not in _NOT_RECHECKED}
    return ReferralRecord(
        reference=reference,
        submission_key=key,
        referral_type=values[q.REFERRER_TYPE],
        answers=_marked(q.answers(values, with_type=False), outside_catchment),  # the record has referral_type
        data=data,
        consent_version=values[CONSENT_VERSION_SLOT],
        consent_text=consent_text(values.get(q.REFERRER_TYPE), values[CONSENT_VERSION_SLOT]),  # the words agreed to
        consent_given_at=given_at.astimezone(timezone.utc),
        conversation_id=conversation_id,
        safety_kinds=tuple(safety_kinds),
    )


OUTSIDE_CATCHMENT = "outside the catchment"


def _marked(answers: List[Tuple[str, str]], outside_catchment: bool) -> List[Tuple[str, str]]:
    if not outside_catchment:
        return answers
    postcode = q.LABELS[q.POSTCODE]
    return [(label, f"{answer} ({OUTSIDE_CATCHMENT})" if label == postcode else answer) for label, answer in answers]
