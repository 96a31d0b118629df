"""Taking one answer to one referral question: what to store, what to say, whether the referral
ends here. The Rasa form validation action is a thin wrapper around `take_answer`."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any, Callable, Dict, List, Mapping, Optional

from actions.referral import choices, questions as q
from actions.referral.consent import CONSENT_VERSION
from actions.referral.result import Checked, Invalid, Valid
from actions.referral import validators as v

FAILED_ATTEMPTS = "failed_attempts"  # consecutive invalid answers to the current question
CONSENT_VERSION_SLOT = "consent_version"
CONSENT_GIVEN_AT = "consent_given_at"
STILL_STUCK_AFTER = 2  # from the second invalid answer in a row, also offer the phone number
STUCK_AFTER = 3  # from the third, the question is not asked again as it was: see actions/referral_form.AskQuestion


@dataclass
class Outcome:
    slots: Dict[str, Any] = field(default_factory=dict)
    responses: List[str] = field(default_factory=list)
    ends_referral: bool = False


_CHECKS: Dict[str, Callable[[str], Checked]] = {
    q.REFERRER_TYPE: v.choice_checker(choices.REFERRER_TYPE),
    q.REFERRER_NAME: v.check_name,
    q.REFERRER_ROLE: v.check_short_text,
    q.REFERRER_ORGANISATION: v.check_short_text,
    q.REFERRER_CONTACT: v.check_phone_or_email,
    q.FAMILY_AGREED: v.choice_checker(choices.FAMILY_AGREED),
    q.CAREGIVER_NAME: v.check_name,
    q.RELATIONSHIP: v.choice_checker(choices.RELATIONSHIP),
    q.HELP_WITH: v.check_free_text,
    q.PREFERRED_CONTACT: v.choice_checker(choices.PREFERRED_CONTACT),
    q.SAFE_TO_LEAVE_MESSAGE: v.choice_checker(choices.SAFE_TO_LEAVE_MESSAGE),
    q.POSTCODE: v.check_postcode,
    q.EXTRA_SUPPORT: v.choice_checker(choices.EXTRA_SUPPORT),
    q.ACCESS_NEEDS: v.choice_checker(choices.ACCESS_NEEDS),
    q.ACCESS_NEEDS_DETAILS: v.check_free_text,
    q.CONSENT: v.choice_checker(choices.CONSENT),
    q.REVIEW: v.choice_checker(choices.REVIEW),
}

# Answers that end the referral kindly, with the response that says why and what to do instead.
_ENDINGS = {
    (q.FAMILY_AGREED, "no"): "utter_family_not_agreed",
    (q.CONSENT, "no"): "utter_no_consent",
}


def check(slot: str, text: str, values: Mapping[str, Any], today: date) -> Checked:
    """The answer's validity alone, with no side effects: also used to re-check before submitting."""
    text = v.clean(text)
    if text.startswith("/"):
        text = ""  # a forced intent such as /inform{"consent":"yes"} is never an answer
    if slot == q.CHILD_AGE:
        return v.check_child_age(text, today)
    if slot == q.PHONE:
        return Valid(q.NOT_GIVEN) if _is_skip(text) else v.check_uk_phone(text)
    if slot == q.EMAIL:
        if _is_skip(text):
            return Valid(q.NOT_GIVEN) if q.given(values.get(q.PHONE)) else Invalid("email_needed")
        return v.check_email(text)
    if slot == q.PREFERRED_CONTACT:
        checked = _CHECKS[slot](text)
        if isinstance(checked, Valid):
            needs = q.EMAIL if checked.value == "email" else q.PHONE
            if not q.given(values.get(needs)):
                return Invalid(f"preferred_contact_no_{needs}")
        return checked
    if slot == q.FIELD_TO_CHANGE:
        return _check_field_to_change(text, values)
    return _CHECKS[slot](text)


_FREE_TEXT = {q.HELP_WITH, q.ACCESS_NEEDS_DETAILS}


def take_answer(
    slot: str,
    text: Any,
    values: Mapping[str, Any],
    today: date,
    now: datetime,
    question_intent: Optional[str] = None,
) -> Outcome:
    """`question_intent`: the programme question the message confidently asks, if any; it is
    answered (and the question asked again) when the message is not an answer to this question."""
    if not isinstance(text, str):
        text = ""  # a forced entity (e.g. a list or number) is not an answer
    if slot != q.PREFERRED_CONTACT and v.wants_to_phone(text):  # "phone" is an answer there
        return Outcome(slots={slot: None}, responses=["utter_prefer_to_phone"], ends_referral=True)
    checked = check(slot, text, values, today)
    ends = isinstance(checked, Invalid) and checked.reason in v.ENDS_REFERRAL
    asks_instead = question_intent and not ends and (
        isinstance(checked, Invalid) or (slot in _FREE_TEXT and text.rstrip().endswith("?"))
    )
    if asks_instead:
        return Outcome(slots={slot: None}, responses=[f"utter_{question_intent}"])
    if isinstance(checked, Invalid) and slot == q.REFERRER_TYPE and _looks_like_a_name(text):
        # "Who is this referral about?" read as "who are you": take it as a parent's own referral
        return Outcome(
            slots={q.REFERRER_TYPE: "self", q.CAREGIVER_NAME: v.check_name(text).value, FAILED_ATTEMPTS: 0},
            responses=["utter_took_name_as_self_referral"],
        )
    if isinstance(checked, Invalid):
        return _invalid(slot, checked.reason, values)
    outcome = Outcome(slots={slot: checked.value, FAILED_ATTEMPTS: 0})
    ending = _ENDINGS.get((slot, checked.value))
    if ending:
        return Outcome(slots={slot: checked.value}, responses=[ending], ends_referral=True)
    if slot == q.EMAIL and not q.given(values.get(q.PHONE)):
        outcome.slots[q.PREFERRED_CONTACT] = "email"
    elif slot == q.ACCESS_NEEDS and checked.value != "none" and not _is_button(text, choices.ACCESS_NEEDS):
        details = v.check_free_text(text)
        if isinstance(details, Valid):
            outcome.slots[q.ACCESS_NEEDS_DETAILS] = details.value  # they already said what they need
    elif slot == q.CONSENT:
        outcome.slots[CONSENT_VERSION_SLOT] = CONSENT_VERSION
        outcome.slots[CONSENT_GIVEN_AT] = now.astimezone(timezone.utc).isoformat()
    elif slot == q.FIELD_TO_CHANGE:
        outcome.slots = {name: None for name in [checked.value, *q.DEPENDENTS.get(checked.value, [])]}
        outcome.slots.update({q.REVIEW: None, q.FIELD_TO_CHANGE: None, FAILED_ATTEMPTS: 0})
        outcome.responses.append("utter_ok_change")
    return outcome


def _invalid(slot: str, reason: str, values: Mapping[str, Any]) -> Outcome:
    if reason in v.ENDS_REFERRAL:
        return Outcome(slots={slot: None}, responses=[f"utter_{reason}"], ends_referral=True)
    failures = int(values.get(FAILED_ATTEMPTS) or 0) + 1
    if failures >= STUCK_AFTER:  # the question's ask action says what it has so far and offers a way out
        return Outcome(slots={slot: None, FAILED_ATTEMPTS: failures})
    responses = [f"utter_invalid_{reason}"]
    if failures >= STILL_STUCK_AFTER:
        responses.append("utter_still_stuck")
    return Outcome(slots={slot: None, FAILED_ATTEMPTS: failures}, responses=responses)


def changeable_fields(values: Mapping[str, Any]) -> Dict[str, str]:
    """The answers that can be changed from the summary, as {slot: button title}."""
    asked = set(q.required_slots(values))
    return {slot: title for slot, title in q.CHANGEABLE.items() if slot in asked}


def _check_field_to_change(text: str, values: Mapping[str, Any]) -> Checked:
    said = text.strip().lower()
    for slot, title in changeable_fields(values).items():
        if said in {title.lower(), slot, slot.replace("_", " ")}:
            return Valid(slot)
    return Invalid("choice_field_to_change")


_NOT_NAMES = {
    "hi", "hello", "hiya", "hey", "ok", "okay", "thanks", "thank", "you", "stop", "why", "help", "please", "maybe",
    "dunno", "unsure", "both", "neither", "family", "baby", "mum", "dad", "us", "them", "her", "him", "it", "the",
}


_OFFERED = {
    form.lower() for cs in vars(choices).values() if isinstance(cs, choices.ChoiceSet)
    for forms in cs.options.values() for form in forms
} | {s.lower() for s in choices.SKIP}


def _looks_like_a_name(text: str) -> bool:
    """One to three capitalised words that no question offers as an option ("Phone", "Yes" are not names)."""
    words = text.split()
    if not 1 <= len(words) <= 3 or not all(w[:1].isupper() and w.isalpha() for w in words):
        return False
    said = text.lower()
    return said not in _OFFERED and not ({w.lower() for w in words} & (_NOT_NAMES | _OFFERED)) and isinstance(
        v.check_name(text), Valid)


def _is_skip(text: str) -> bool:
    return text.strip().lower().rstrip(".!") in {s.lower() for s in choices.SKIP}


def _is_button(text: str, choice_set: choices.ChoiceSet) -> bool:
    said = text.strip().lower()
    return any(said == forms[0].lower() or said == forms[1].lower() for forms in choice_set.options.values())
