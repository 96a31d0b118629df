"""Taking one answer to one referral question: what to store, what to say, whether the referral
ends here. The Rasa form validation action is a thin wrapper around `take_answer`."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any, Callable, Dict, List, Mapping, Optional

from actions.referral import choices, questions as q
from actions.referral.consent import CONSENT_VERSION
from actions.referral.question_shape import is_question_shaped
from actions.referral.result import Checked, Invalid, Valid
from actions.referral import validators as v

FAILED_ATTEMPTS = "failed_attempts"  # consecutive invalid answers to the current question
CONSENT_VERSION_SLOT = "consent_version"
CONSENT_GIVEN_AT = "consent_given_at"
STUCK_AFTER = 2  # misses in a row after which the question is not asked again at once


def is_stuck(failures: Any) -> bool:
    """A question is shown at most twice in a row: on the second miss (and every other one after it)
    its ask action says what the form has so far and offers the way out instead of asking again
    (actions/referral_form.AskQuestion); on the misses between, the question comes back with the team's
    phone number. The phone number is in every reply from the second miss on."""
    failures = int(failures or 0)
    return failures >= STUCK_AFTER and (failures - STUCK_AFTER) % 2 == 0


@dataclass
class Outcome:
    slots: Dict[str, Any] = field(default_factory=dict)
    responses: List[str] = field(default_factory=list)
    ends_referral: bool = False


_CHOICE_SETS: Dict[str, choices.ChoiceSet] = {
    q.REFERRER_TYPE: choices.REFERRER_TYPE,
    q.FAMILY_AGREED: choices.FAMILY_AGREED,
    q.RELATIONSHIP: choices.RELATIONSHIP,
    q.PREFERRED_CONTACT: choices.PREFERRED_CONTACT,
    q.SAFE_TO_LEAVE_MESSAGE: choices.SAFE_TO_LEAVE_MESSAGE,
    q.EXTRA_SUPPORT: choices.EXTRA_SUPPORT,
    q.ACCESS_NEEDS: choices.ACCESS_NEEDS,
    q.CONSENT: choices.CONSENT,
    q.REVIEW: choices.REVIEW,
}
_CHECKS: Dict[str, Callable[[str], Checked]] = {
    **{slot: v.choice_checker(choice_set) for slot, choice_set in _CHOICE_SETS.items()},
    q.REFERRER_ROLE: v.check_short_text,
    q.REFERRER_ORGANISATION: v.check_short_text,
    q.REFERRER_CONTACT: v.check_phone_or_email,
    q.HELP_WITH: v.check_free_text,
    q.POSTCODE: v.check_postcode,
    q.ACCESS_NEEDS_DETAILS: v.check_free_text,
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
    if slot in (q.CAREGIVER_NAME, q.REFERRER_NAME):
        return v.check_name(v.name_in(text))
    return _CHECKS[slot](text)


def is_choice(slot: str) -> bool:
    """Answered by picking one of a few options (the buttons), rather than typed."""
    return slot in _CHOICE_SETS


# Answers with a form of their own: when valid they are answers, however they are worded.
_STRUCTURED = {q.CHILD_AGE, q.PHONE, q.EMAIL, q.POSTCODE, q.REFERRER_CONTACT}


def take_answer(
    slot: str,
    text: Any,
    values: Mapping[str, Any],
    today: date,
    now: datetime,
    question_intent: Optional[str] = None,
    said_before: bool = False,
) -> Outcome:
    """`question_intent`: the programme question the message confidently asks, if any; it is
    answered (and the question asked again) when the message is not an answer to this question, or
    is worded as a question and is not one of the question's own options. `said_before`: the same
    words were the last message too, so they are meant as the answer (never a loop of answers)."""
    if not isinstance(text, str):
        text = ""  # a forced entity (e.g. a list or number) is not an answer
    if slot != q.PREFERRED_CONTACT and v.wants_to_phone(text):  # "phone" is an answer there
        return Outcome(slots={slot: None}, responses=["utter_prefer_to_phone"], ends_referral=True)
    checked = check(slot, text, values, today)
    ends = isinstance(checked, Invalid) and checked.reason in v.ENDS_REFERRAL
    asks_instead = question_intent and not ends and (
        isinstance(checked, Invalid) or (not said_before and _asks_rather_than_answers(slot, text))
    )
    if asks_instead:
        return Outcome(slots={slot: None}, responses=[f"utter_{question_intent}"])
    if isinstance(checked, Invalid) and slot == q.REFERRER_TYPE and _looks_like_a_name(text):
        # "Who is this referral about?" read as "who are you": take it as a parent's own referral
        return Outcome(
            slots={q.REFERRER_TYPE: "self", q.CAREGIVER_NAME: v.check_name(v.name_in(text)).value, FAILED_ATTEMPTS: 0},
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


def _asks_rather_than_answers(slot: str, text: str) -> bool:
    """"Not sure if my partner can come too" at "Would you like extra support?" is a question, though
    it holds "not sure"; "Not sure" alone is the answer."""
    if slot in _STRUCTURED or not is_question_shaped(text):
        return False
    choice_set = _CHOICE_SETS.get(slot)
    return choice_set is None or choice_set.exact(v.clean(text)) is None


def _invalid(slot: str, reason: str, values: Mapping[str, Any]) -> Outcome:
    if reason in v.ENDS_REFERRAL:
        return Outcome(slots={slot: None}, responses=[f"utter_{reason}"], ends_referral=True)
    failures = int(values.get(FAILED_ATTEMPTS) or 0) + 1
    responses = [f"utter_invalid_{reason}"]  # what was wrong with it, every time
    if failures > STUCK_AFTER and not is_stuck(failures):
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
    """One to three capitalised words that no question offers as an option ("Phone", "Yes" are not names),
    alone or after "I'm" or "my name is"."""
    text = v.name_in(text)
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
