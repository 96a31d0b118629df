"""The referral form's logic without Rasa: which questions are asked (`required_slots`), what one
answer does (`take_answer`), and turning the answers into a record (`build_record`)."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, Set

import pytest
import yaml

from actions.referral import choices, questions as q
from actions.referral import validators as v
from actions.referral.consent import CONSENT_VERSION, consent_text
from actions.referral.form import (
    CONSENT_GIVEN_AT,
    CONSENT_VERSION_SLOT,
    FAILED_ATTEMPTS,
    is_stuck,
    Outcome,
    changeable_fields,
    check,
    take_answer,
)
from actions.referral.record import ReferralRecord
from actions.referral.result import Invalid, Valid
from actions.referral.submission import build_record, first_unfit_answer, submission_key

ROOT = Path(__file__).resolve().parent.parent
TODAY = date(2026, 11, 26)
NOW = datetime(2026, 11, 26, 14, 3, 0, tzinfo=timezone.utc)
CONSENT_AT = NOW.isoformat()

SELF_REFERRAL: Dict[str, Any] = {
    q.REFERRER_TYPE: "self",
    q.CAREGIVER_NAME: "Amira Khan",
    q.RELATIONSHIP: "parent",
    q.CHILD_AGE: "18 months",
    q.HELP_WITH: "Feeling closer to my baby 😴",
    q.PHONE: "+447911123456",
    q.EMAIL: "amira@example.com",
    q.PREFERRED_CONTACT: "text",
    q.SAFE_TO_LEAVE_MESSAGE: "no",
    q.POSTCODE: "DN31 1HU",
    q.EXTRA_SUPPORT: "not_sure",
    q.ACCESS_NEEDS: "interpreter",
    q.ACCESS_NEEDS_DETAILS: "An Urdu interpreter, please",
    q.CONSENT: "yes",
    CONSENT_VERSION_SLOT: CONSENT_VERSION,
    CONSENT_GIVEN_AT: CONSENT_AT,
    q.REVIEW: "send",
}

PROFESSIONAL_REFERRAL: Dict[str, Any] = {
    **SELF_REFERRAL,
    q.REFERRER_TYPE: "professional",
    q.REFERRER_NAME: "Jo Smith",
    q.REFERRER_ROLE: "Health visitor",
    q.REFERRER_ORGANISATION: "Navigo 0-19 team",
    q.REFERRER_CONTACT: "+441134960123",
    q.FAMILY_AGREED: "yes",
}

SELF_ORDER = [
    q.REFERRER_TYPE, q.CAREGIVER_NAME, q.RELATIONSHIP, q.CHILD_AGE, q.HELP_WITH, q.PHONE, q.EMAIL,
]
TAIL = [q.POSTCODE, q.EXTRA_SUPPORT, q.ACCESS_NEEDS]


def answer(slot: str, text: Any, values: Dict[str, Any] = None, question_intent: str = None) -> Outcome:
    return take_answer(slot, text, values or {}, today=TODAY, now=NOW, question_intent=question_intent)


# --- required_slots ------------------------------------------------------------------------------


def test_required_slots_before_any_answer() -> None:
    assert q.required_slots({}) == [*SELF_ORDER, *TAIL, q.CONSENT, q.REVIEW]


def test_the_professional_path_asks_the_five_professional_questions_first() -> None:
    slots = q.required_slots({q.REFERRER_TYPE: "professional"})
    assert q.PROFESSIONAL_SLOTS == [
        q.REFERRER_NAME, q.REFERRER_ROLE, q.REFERRER_ORGANISATION, q.REFERRER_CONTACT, q.FAMILY_AGREED,
    ]
    assert slots[:6] == [q.REFERRER_TYPE, *q.PROFESSIONAL_SLOTS]
    assert slots[6:] == [*SELF_ORDER[1:], *TAIL, q.CONSENT, q.REVIEW]


def test_the_self_path_does_not_ask_the_professional_questions() -> None:
    assert not set(q.PROFESSIONAL_SLOTS) & set(q.required_slots({q.REFERRER_TYPE: "self"}))


def test_a_phone_number_adds_preferred_contact_and_leaving_a_message() -> None:
    slots = q.required_slots({q.PHONE: "+447911123456", q.EMAIL: q.NOT_GIVEN})
    assert slots == [*SELF_ORDER, q.PREFERRED_CONTACT, q.SAFE_TO_LEAVE_MESSAGE, *TAIL, q.CONSENT, q.REVIEW]


def test_email_only_adds_preferred_contact_but_not_leaving_a_message() -> None:
    slots = q.required_slots({q.PHONE: q.NOT_GIVEN, q.EMAIL: "amira@example.com"})
    assert q.PREFERRED_CONTACT in slots
    assert q.SAFE_TO_LEAVE_MESSAGE not in slots


@pytest.mark.parametrize("needs, asks_details", [(None, False), ("none", False), ("interpreter", True), ("other", True)])
def test_access_needs_details_only_when_there_are_needs(needs, asks_details) -> None:
    assert (q.ACCESS_NEEDS_DETAILS in q.required_slots({q.ACCESS_NEEDS: needs})) is asks_details


def test_field_to_change_only_after_choosing_to_change() -> None:
    assert q.required_slots({q.REVIEW: "change"})[-2:] == [q.REVIEW, q.FIELD_TO_CHANGE]
    assert q.FIELD_TO_CHANGE not in q.required_slots({q.REVIEW: "send"})


def test_every_required_slot_is_a_referral_slot_and_a_form_slot_in_the_domain(domain) -> None:
    form_slots = domain["forms"]["referral_form"]["required_slots"]
    assert set(q.REFERRAL_SLOTS) == set(form_slots)
    assert set(q.required_slots(PROFESSIONAL_REFERRAL)) <= set(q.REFERRAL_SLOTS)
    for slot in [*q.REFERRAL_SLOTS, FAILED_ATTEMPTS, CONSENT_VERSION_SLOT, CONSENT_GIVEN_AT]:
        assert slot in domain["slots"], slot


# --- take_answer: valid answers ------------------------------------------------------------------


def test_a_valid_answer_is_stored_normalised_and_resets_the_failure_count() -> None:
    outcome = answer(q.PHONE, "07911 123456", {FAILED_ATTEMPTS: 1})
    assert outcome == Outcome(slots={q.PHONE: "+447911123456", FAILED_ATTEMPTS: 0}, responses=[], ends_referral=False)


@pytest.mark.parametrize(
    "slot, text, stored",
    [
        (q.REFERRER_TYPE, "A professional", "professional"),
        (q.REFERRER_NAME, "Jo Smith", "Jo Smith"),
        (q.REFERRER_ROLE, "Health visitor", "Health visitor"),
        (q.REFERRER_ORGANISATION, "Navigo", "Navigo"),
        (q.REFERRER_CONTACT, "0113 496 0123", "+441134960123"),
        (q.FAMILY_AGREED, "Yes, they agreed", "yes"),
        (q.CAREGIVER_NAME, "  Łucja   Wójcik ", "Łucja Wójcik"),
        (q.RELATIONSHIP, "I'm his nan", "grandparent"),
        (q.CHILD_AGE, "1 and a half", "18 months"),
        (q.HELP_WITH, "Bedtimes", "Bedtimes"),
        (q.POSTCODE, "dn311hu", "DN31 1HU"),
        (q.EXTRA_SUPPORT, "Not sure", "not_sure"),
        (q.ACCESS_NEEDS, "No, none", "none"),
        (q.REVIEW, "Send referral", "send"),
    ],
)
def test_take_answer_stores_each_valid_answer(slot, text, stored) -> None:
    outcome = answer(slot, text)
    assert outcome.slots[slot] == stored
    assert outcome.slots[FAILED_ATTEMPTS] == 0
    assert outcome.responses == [] and not outcome.ends_referral


def test_skipping_the_phone_stores_not_given() -> None:
    assert answer(q.PHONE, "No phone").slots == {q.PHONE: q.NOT_GIVEN, FAILED_ATTEMPTS: 0}
    assert answer(q.PHONE, "skip.").slots[q.PHONE] == q.NOT_GIVEN


def test_phone_skipped_makes_email_required() -> None:
    outcome = answer(q.EMAIL, "Skip", {q.PHONE: q.NOT_GIVEN})
    assert outcome.slots == {q.EMAIL: None, FAILED_ATTEMPTS: 1}
    assert outcome.responses == ["utter_invalid_email_needed"]
    assert not outcome.ends_referral


def test_phone_skipped_then_an_email_sets_preferred_contact_to_email() -> None:
    outcome = answer(q.EMAIL, "amira@example.com", {q.PHONE: q.NOT_GIVEN})
    assert outcome.slots == {q.EMAIL: "amira@example.com", q.PREFERRED_CONTACT: "email", FAILED_ATTEMPTS: 0}
    assert outcome.responses == []


@pytest.mark.parametrize("text", ["no thanks", "No thank you.", "I'd rather not", "nope", "i dont have one"])
def test_an_optional_email_can_be_declined_in_words(text) -> None:
    assert answer(q.EMAIL, text, {q.PHONE: "+447911123456"}).slots == {q.EMAIL: q.NOT_GIVEN, FAILED_ATTEMPTS: 0}


def test_email_can_be_skipped_when_there_is_a_phone() -> None:
    outcome = answer(q.EMAIL, "Skip", {q.PHONE: "+447911123456"})
    assert outcome.slots == {q.EMAIL: q.NOT_GIVEN, FAILED_ATTEMPTS: 0}
    outcome = answer(q.EMAIL, "amira@example.com", {q.PHONE: "+447911123456"})
    assert q.PREFERRED_CONTACT not in outcome.slots  # asked, with the phone options too


@pytest.mark.parametrize(
    "values, text, reason",
    [
        ({q.PHONE: "+447911123456", q.EMAIL: q.NOT_GIVEN}, "Email", "preferred_contact_no_email"),
        ({q.PHONE: q.NOT_GIVEN, q.EMAIL: "amira@example.com"}, "Phone call", "preferred_contact_no_phone"),
        ({q.PHONE: q.NOT_GIVEN, q.EMAIL: "amira@example.com"}, "Text message", "preferred_contact_no_phone"),
    ],
)
def test_preferred_contact_must_have_its_detail(values, text, reason) -> None:
    assert answer(q.PREFERRED_CONTACT, text, values).responses == [f"utter_invalid_{reason}"]


def test_preferred_contact_with_both_details() -> None:
    values = {q.PHONE: "+447911123456", q.EMAIL: "amira@example.com"}
    assert answer(q.PREFERRED_CONTACT, "Email", values).slots[q.PREFERRED_CONTACT] == "email"
    assert answer(q.PREFERRED_CONTACT, "Text message", values).slots[q.PREFERRED_CONTACT] == "text"


def test_access_needs_typed_in_words_also_fills_the_details() -> None:
    outcome = answer(q.ACCESS_NEEDS, "I need a Polish interpreter")
    assert outcome.slots[q.ACCESS_NEEDS] == "interpreter"
    assert outcome.slots[q.ACCESS_NEEDS_DETAILS] == "I need a Polish interpreter"


@pytest.mark.parametrize("text", ["Interpreter", "interpreter", "No, none"])
def test_access_needs_tapped_leaves_the_details_to_ask(text) -> None:
    assert q.ACCESS_NEEDS_DETAILS not in answer(q.ACCESS_NEEDS, text).slots


def test_consent_records_its_version_and_time_in_utc() -> None:
    local = NOW.astimezone(timezone(timedelta(hours=1)))
    outcome = take_answer(q.CONSENT, "Yes, I agree", {}, today=TODAY, now=local)
    assert outcome.slots == {
        q.CONSENT: "yes",
        FAILED_ATTEMPTS: 0,
        CONSENT_VERSION_SLOT: CONSENT_VERSION,
        CONSENT_GIVEN_AT: "2026-11-26T14:03:00+00:00",
    }


@pytest.mark.parametrize("text", [None, 12, ["07911 123456"], {"phone": "x"}])
def test_a_forced_non_text_value_is_not_an_answer(text) -> None:
    outcome = answer(q.PHONE, text)
    assert outcome.slots == {q.PHONE: None, FAILED_ATTEMPTS: 1}
    assert outcome.responses == ["utter_invalid_phone_format"]


# --- take_answer: invalid answers and being stuck --------------------------------------------------


def test_a_first_invalid_answer_re_asks_and_counts_one_failure() -> None:
    outcome = answer(q.POSTCODE, "DN31")
    assert outcome == Outcome(slots={q.POSTCODE: None, FAILED_ATTEMPTS: 1}, responses=["utter_invalid_postcode_format"])


def test_from_the_second_miss_the_question_alternates_with_the_way_out() -> None:
    expected = {  # failures before -> (responses, stuck: the ask action offers the way out instead of asking)
        1: (["utter_invalid_postcode_format"], True),
        2.0: (["utter_invalid_postcode_format", "utter_still_stuck"], False),  # a float slot in the domain
        3: (["utter_invalid_postcode_format"], True),
        4: (["utter_invalid_postcode_format", "utter_still_stuck"], False),
    }
    for before, (responses, stuck) in expected.items():
        outcome = answer(q.POSTCODE, "ABC", {FAILED_ATTEMPTS: before})
        assert outcome.slots == {q.POSTCODE: None, FAILED_ATTEMPTS: int(before) + 1}
        assert outcome.responses == responses and is_stuck(int(before) + 1) is stuck
        assert not outcome.ends_referral
    assert not is_stuck(0) and not is_stuck(1) and not is_stuck(None)


def test_failures_count_again_after_a_valid_answer() -> None:
    values: Dict[str, Any] = {}
    values.update(answer(q.POSTCODE, "ABC", values).slots)
    values.update(answer(q.POSTCODE, "DN31 1HU", values).slots)
    outcome = answer(q.EXTRA_SUPPORT, "banana", values)
    assert outcome.responses == ["utter_invalid_choice_extra_support"]


# --- take_answer: answers that end the referral ------------------------------------------------------


@pytest.mark.parametrize(
    "slot, text, values, slots, response",
    [
        (q.CHILD_AGE, "3 years", {}, {q.CHILD_AGE: None}, "utter_child_too_old"),
        (q.CHILD_AGE, "Not born yet", {}, {q.CHILD_AGE: None}, "utter_child_unborn"),
        (q.CHILD_AGE, "I'm pregnant", {FAILED_ATTEMPTS: 1}, {q.CHILD_AGE: None}, "utter_child_unborn"),
        (q.CONSENT, "No", {}, {q.CONSENT: "no"}, "utter_no_consent"),
        (q.FAMILY_AGREED, "No, not yet", {q.REFERRER_TYPE: "professional"}, {q.FAMILY_AGREED: "no"},
         "utter_family_not_agreed"),
    ],
)
def test_answers_that_end_the_referral(slot, text, values, slots, response) -> None:
    outcome = answer(slot, text, values)
    assert outcome == Outcome(slots=slots, responses=[response], ends_referral=True)


# --- take_answer: a programme question instead of an answer -----------------------------------------


def test_a_programme_question_is_answered_without_counting_a_failure() -> None:
    outcome = answer(q.POSTCODE, "How long does the course run?", {FAILED_ATTEMPTS: 1}, "ask_how_it_runs")
    assert outcome == Outcome(slots={q.POSTCODE: None}, responses=["utter_ask_how_it_runs"])


def test_a_valid_answer_wins_over_a_misread_question_intent() -> None:
    outcome = answer(q.POSTCODE, "DN31 1HU", question_intent="ask_where")
    assert outcome.slots == {q.POSTCODE: "DN31 1HU", FAILED_ATTEMPTS: 0}
    assert outcome.responses == []


def test_help_with_accepts_a_statement_even_with_a_question_intent() -> None:
    outcome = answer(q.HELP_WITH, "I'm struggling to bond with my baby", question_intent="ask_struggling_to_bond")
    assert outcome.slots == {q.HELP_WITH: "I'm struggling to bond with my baby", FAILED_ATTEMPTS: 0}
    assert outcome.responses == []


@pytest.mark.parametrize("slot", [q.HELP_WITH, q.ACCESS_NEEDS_DETAILS])
def test_free_text_ending_in_a_question_mark_is_answered_instead(slot) -> None:
    outcome = answer(slot, "How many sessions are there? ", question_intent="ask_how_it_runs")
    assert outcome == Outcome(slots={slot: None}, responses=["utter_ask_how_it_runs"])


def test_free_text_question_without_a_confident_intent_is_kept_as_the_answer() -> None:
    outcome = answer(q.HELP_WITH, "How do I help my baby sleep?")
    assert outcome.slots[q.HELP_WITH] == "How do I help my baby sleep?"


@pytest.mark.parametrize("slot, text, intent", [
    (q.EXTRA_SUPPORT, "not sure if my partner can come too", "ask_which_caregivers"),
    (q.HELP_WITH, "can my mum come with me", "ask_which_caregivers"),
    (q.CAREGIVER_NAME, "is there a creche", "ask_how_it_runs"),
    (q.CONSENT, "wondering whether the group is online", "ask_where"),
    (q.RELATIONSHIP, "sorry, where is it", "ask_where"),
])
def test_a_question_without_a_question_mark_is_answered_not_taken(slot, text, intent) -> None:
    outcome = answer(slot, text, {FAILED_ATTEMPTS: 1}, intent)
    assert outcome == Outcome(slots={slot: None}, responses=[f"utter_{intent}"])  # and no failure counted


@pytest.mark.parametrize("slot, text, stored", [
    (q.EXTRA_SUPPORT, "Not sure", "not_sure"),  # the option itself, however confident the intent
    (q.HELP_WITH, "how to settle him at night", "how to settle him at night"),  # a statement
    (q.CAREGIVER_NAME, "Will Smith", "Will Smith"),
    (q.CHILD_AGE, "5 months?", "5 months"),  # an answer with a form of its own is an answer
])
def test_words_that_answer_the_question_stay_answers(slot, text, stored) -> None:
    assert answer(slot, text, question_intent="ask_which_caregivers").slots[slot].startswith(stored)


def test_a_question_shaped_answer_said_again_is_taken_as_the_answer() -> None:
    outcome = take_answer(q.HELP_WITH, "can I get help with sleep", {}, today=TODAY, now=NOW,
                          question_intent="ask_how_it_runs", said_before=True)
    assert outcome.slots[q.HELP_WITH] == "can I get help with sleep" and outcome.responses == []


@pytest.mark.parametrize("text, name", [
    ("I'm Sam", "Sam"), ("im sam", "sam"), ("my name is Sam Example.", "Sam Example"), ("it's Jo", "Jo"),
    ("Hi, I'm Priya", "Priya"), ("call me Jo!", "Jo"), ("Sam Example", "Sam Example"), ("Im Sung", "Im Sung"),
])
@pytest.mark.parametrize("slot", [q.CAREGIVER_NAME, q.REFERRER_NAME])
def test_a_name_is_kept_without_the_words_before_it(slot, text, name) -> None:
    assert answer(slot, text).slots[slot] == name


@pytest.mark.parametrize("text", ["I'm Sam", "my name is Sam Example"])
def test_i_am_and_a_name_at_the_first_question_start_a_parents_own_referral(text) -> None:
    outcome = answer(q.REFERRER_TYPE, text)
    assert outcome.slots[q.REFERRER_TYPE] == "self" and outcome.slots[q.CAREGIVER_NAME].startswith("Sam")
    assert outcome.responses == ["utter_took_name_as_self_referral"]


# --- take_answer: changing an answer from the summary ---------------------------------------------------


def test_field_to_change_clears_the_chosen_slot_and_review() -> None:
    values = {**SELF_REFERRAL, q.REVIEW: "change"}
    outcome = answer(q.FIELD_TO_CHANGE, "Postcode", values)
    assert outcome.slots == {q.POSTCODE: None, q.REVIEW: None, q.FIELD_TO_CHANGE: None, FAILED_ATTEMPTS: 0}
    assert outcome.responses == ["utter_ok_change"]
    assert not outcome.ends_referral


@pytest.mark.parametrize(
    "text, cleared",
    [
        ("Phone", [q.PHONE, q.EMAIL, q.PREFERRED_CONTACT, q.SAFE_TO_LEAVE_MESSAGE]),
        ("Email", [q.EMAIL, q.PREFERRED_CONTACT]),
        ("Access needs", [q.ACCESS_NEEDS, q.ACCESS_NEEDS_DETAILS]),
        ("child_age", [q.CHILD_AGE]),  # the slot name works too
        ("child age", [q.CHILD_AGE]),
    ],
)
def test_field_to_change_clears_the_dependents_too(text, cleared) -> None:
    values = {**SELF_REFERRAL, q.REVIEW: "change"}
    outcome = answer(q.FIELD_TO_CHANGE, text, values)
    assert outcome.slots == {
        **{slot: None for slot in cleared}, q.REVIEW: None, q.FIELD_TO_CHANGE: None, FAILED_ATTEMPTS: 0,
    }
    after = {**values, **outcome.slots}
    assert [s for s in q.required_slots(after) if after.get(s) is None][0] == cleared[0]


def test_field_to_change_offers_only_the_questions_that_were_asked() -> None:
    self_fields = changeable_fields({**SELF_REFERRAL, q.REVIEW: "change"})
    assert q.REFERRER_NAME not in self_fields
    assert answer(q.FIELD_TO_CHANGE, "Your name", {**SELF_REFERRAL, q.REVIEW: "change"}).responses == [
        "utter_invalid_choice_field_to_change"
    ]
    pro_fields = changeable_fields({**PROFESSIONAL_REFERRAL, q.REVIEW: "change"})
    assert pro_fields[q.REFERRER_NAME] == "Your name"
    email_only = {**SELF_REFERRAL, q.PHONE: q.NOT_GIVEN, q.REVIEW: "change"}
    assert q.SAFE_TO_LEAVE_MESSAGE not in changeable_fields(email_only)


# --- check: the validity alone, used again before sending ---------------------------------------------------


def test_check_has_no_side_effects_and_accepts_stored_values() -> None:
    for slot in q.required_slots(PROFESSIONAL_REFERRAL):
        if slot in (q.REVIEW,):
            continue
        value = PROFESSIONAL_REFERRAL[slot]
        assert check(slot, value, PROFESSIONAL_REFERRAL, TODAY) == Valid(value), slot


# --- build_record ------------------------------------------------------------------------------------


def build(values: Dict[str, Any]):
    return build_record(values, "COSP-ABCDE", "key-1", TODAY)


def test_build_record_with_every_answer_for_a_self_referral() -> None:
    record = build(SELF_REFERRAL)
    assert isinstance(record, ReferralRecord)
    assert record.reference == "COSP-ABCDE"
    assert record.submission_key == "key-1"
    assert record.referral_type == "self"
    assert record.consent_version == CONSENT_VERSION
    assert record.consent_text == consent_text("self")
    assert record.consent_given_at == NOW and record.consent_given_at.tzinfo is not None
    expected_data = {k: v for k, v in SELF_REFERRAL.items() if k in q.REFERRAL_SLOTS and k != q.REVIEW}
    assert record.data == expected_data
    assert record.answers == [  # the type of referral is its own field, not an answer row
        ("Parent or caregiver's name", "Amira Khan"),
        ("Relationship to the child", "Parent"),
        ("Child's age", "18 months"),
        ("What they would like help with", "Feeling closer to my baby 😴"),
        ("Phone", "07911 123456"),
        ("Email", "amira@example.com"),
        ("Preferred way to be contacted", "Text message"),
        ("Safe to leave a message", "No"),
        ("Postcode", "DN31 1HU"),
        ("Would like extra support before the group", "Not sure"),
        ("Access needs", "Interpreter"),
        ("Access needs (details)", "An Urdu interpreter, please"),
    ]


def test_build_record_with_every_answer_for_a_professional_referral() -> None:
    record = build(PROFESSIONAL_REFERRAL)
    assert isinstance(record, ReferralRecord)
    assert record.referral_type == "professional"
    assert record.consent_text == consent_text("professional")
    for slot in q.PROFESSIONAL_SLOTS:
        assert record.data[slot] == PROFESSIONAL_REFERRAL[slot]
    labels = [label for label, _ in record.answers]
    assert labels == [q.LABELS[slot] for slot in q.LABELS if slot != q.REFERRER_TYPE]  # every question applied, in staff order
    assert ("Referrer's work phone or email", "0113 496 0123") in record.answers  # shown as people write it


def test_build_record_leaves_out_questions_that_did_not_apply() -> None:
    values = {**SELF_REFERRAL, q.PHONE: q.NOT_GIVEN, q.PREFERRED_CONTACT: "email", q.ACCESS_NEEDS: "none"}
    del values[q.SAFE_TO_LEAVE_MESSAGE], values[q.ACCESS_NEEDS_DETAILS]
    record = build(values)
    assert isinstance(record, ReferralRecord)
    assert q.SAFE_TO_LEAVE_MESSAGE not in record.data and q.ACCESS_NEEDS_DETAILS not in record.data
    assert ("Phone", "not given") in record.answers


@pytest.mark.parametrize(
    "slot, value",
    [
        (q.PHONE, "x"),  # as a forced /inform{"phone":"x"} would leave it
        (q.PHONE, "07911 123456"),  # valid, but not the stored (normalised) form
        (q.EMAIL, "not an email"),
        (q.POSTCODE, "ABC"),
        (q.CAREGIVER_NAME, "<script>alert(1)</script>"),
        (q.CHILD_AGE, "3 years"),
        (q.RELATIONSHIP, "cousin"),
        (q.PREFERRED_CONTACT, "pigeon"),
        (q.HELP_WITH, '/inform{"phone":"x"}'),
        (q.ACCESS_NEEDS_DETAILS, ""),
        (q.POSTCODE, None),
        (q.POSTCODE, 12345),
        (q.REFERRER_TYPE, "robot"),
    ],
)
def test_build_record_refuses_an_answer_that_fails_its_check(slot, value) -> None:
    assert build({**SELF_REFERRAL, slot: value}) == Invalid(slot)


def test_build_record_refuses_preferred_email_without_an_email() -> None:
    values = {**SELF_REFERRAL, q.EMAIL: q.NOT_GIVEN, q.PREFERRED_CONTACT: "email"}
    assert build(values) == Invalid(q.PREFERRED_CONTACT)


def test_build_record_refuses_no_contact_at_all() -> None:
    values = {**SELF_REFERRAL, q.PHONE: q.NOT_GIVEN, q.EMAIL: q.NOT_GIVEN}
    assert build(values) == Invalid(q.EMAIL)


def test_build_record_refuses_a_professional_referral_missing_a_professional_answer() -> None:
    values = {**PROFESSIONAL_REFERRAL, q.REFERRER_ROLE: None}
    assert build(values) == Invalid(q.REFERRER_ROLE)
    assert build({**PROFESSIONAL_REFERRAL, q.FAMILY_AGREED: "maybe"}) == Invalid(q.FAMILY_AGREED)


def test_build_record_refuses_a_professional_referral_the_family_has_not_agreed_to() -> None:
    assert build({**PROFESSIONAL_REFERRAL, q.FAMILY_AGREED: "no"}) == Invalid(q.FAMILY_AGREED)


@pytest.mark.parametrize(
    "changes",
    [
        {CONSENT_VERSION_SLOT: None},
        {CONSENT_VERSION_SLOT: "2020-01-v0"},
        {CONSENT_GIVEN_AT: None},
        {CONSENT_GIVEN_AT: "yesterday"},
        {CONSENT_GIVEN_AT: "2026-11-26T14:03:00"},  # no time zone
    ],
)
def test_build_record_refuses_consent_without_its_version_and_time(changes) -> None:
    assert build({**SELF_REFERRAL, **changes}) == Invalid(q.CONSENT)


@pytest.mark.parametrize("consent", ["no", None, "maybe"])
def test_build_record_refuses_without_consent(consent) -> None:
    assert build({**SELF_REFERRAL, q.CONSENT: consent}) == Invalid(q.CONSENT)


@pytest.mark.parametrize("review", [None, "change", "yes"])
def test_build_record_refuses_without_send(review) -> None:
    assert build({**SELF_REFERRAL, q.REVIEW: review}) == Invalid(q.REVIEW)


def test_first_unfit_answer_names_the_first_in_question_order() -> None:
    values = {**SELF_REFERRAL, q.POSTCODE: "ABC", q.PHONE: "x"}
    assert first_unfit_answer(values, TODAY) == q.PHONE
    assert first_unfit_answer(SELF_REFERRAL, TODAY) is None


def test_submission_key_is_stable_per_conversation_and_message() -> None:
    assert submission_key("conv-1", 1764165780.5) == submission_key("conv-1", 1764165780.5)
    assert submission_key("conv-1", 1764165780.5) != submission_key("conv-1", 1764165781.5)
    assert submission_key("conv-1", 1764165780.5) != submission_key("conv-2", 1764165780.5)


def _values_after(slot: str, text: str) -> Dict[str, Any]:
    outcome = answer(slot, text, SELF_REFERRAL)
    assert isinstance(outcome.slots.get(slot), str), outcome
    return {**SELF_REFERRAL, **outcome.slots}


@pytest.mark.parametrize("text", ["18 months", "11 weeks", "2 years", "1 and a half", "6 months"])
def test_an_age_as_taken_passes_the_check_before_sending(text) -> None:
    assert isinstance(build(_values_after(q.CHILD_AGE, text)), ReferralRecord)


@pytest.mark.parametrize("text", ["12/03/2025", "2025-03-12", "12 March 2025"])
def test_an_age_given_as_a_date_of_birth_passes_the_check_before_sending(text) -> None:
    assert isinstance(build(_values_after(q.CHILD_AGE, text)), ReferralRecord)


@pytest.mark.parametrize("text", ["8 days", "10 days", "105 weeks"])
def test_a_very_young_age_passes_the_check_before_sending(text) -> None:
    assert isinstance(build(_values_after(q.CHILD_AGE, text)), ReferralRecord)


# --- every response take_answer can emit exists in the domain ---------------------------------------------------


@pytest.fixture(scope="module")
def domain() -> Dict[str, Any]:
    return yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))


def _reasons_in_source() -> Set[str]:
    reasons: Set[str] = set()
    for name in ("validators.py", "ages.py", "form.py", "choices.py"):
        source = (ROOT / "actions" / "referral" / name).read_text(encoding="utf-8")
        reasons |= set(re.findall(r"""(?:Invalid|AgeProblem)\(\s*["']([a-z_]+)["']\s*\)""", source))
    for value in vars(choices).values():
        if isinstance(value, choices.ChoiceSet):
            reasons.add(value.invalid_reason)
    # form.check builds these with an f-string: preferred_contact_no_{email|phone}
    reasons |= {"preferred_contact_no_email", "preferred_contact_no_phone"}
    return reasons


def test_the_source_scan_finds_the_reasons() -> None:
    reasons = _reasons_in_source()
    for expected in ("name_empty", "phone_not_uk", "age_unit", "age_future", "age_implausible", "email_needed",
                     "choice_consent", "choice_field_to_change", "child_unborn", "child_too_old"):
        assert expected in reasons


def test_every_response_take_answer_can_emit_is_in_the_domain(domain) -> None:
    responses = domain["responses"]
    actions = set(domain["actions"])
    needed = set()
    for reason in _reasons_in_source():
        needed.add(f"utter_{reason}" if reason in v.ENDS_REFERRAL else f"utter_invalid_{reason}")
    needed |= {"utter_child_too_old", "utter_child_unborn", "utter_still_stuck", "utter_ok_change",
               "utter_no_consent", "utter_family_not_agreed"}
    for slot in q.REFERRAL_SLOTS:
        needed.add(f"utter_why_{slot}")
        if f"action_ask_{slot}" not in actions:
            needed.add(f"utter_ask_{slot}")
    # a programme question asked instead of an answer is answered with utter_<intent>
    needed |= {f"utter_{intent}" for intent in domain["intents"] if intent.startswith("ask_")}
    missing = sorted(name for name in needed if name not in responses)
    assert missing == []


def test_every_custom_ask_action_is_declared_and_implemented(domain) -> None:
    import inspect

    from actions import referral_form

    implemented = {
        cls().name() for cls in vars(referral_form).values()
        if isinstance(cls, type) and cls.__module__ == referral_form.__name__ and hasattr(cls, "run")
        and cls.__name__.startswith("Ask") and not inspect.isabstract(cls)
    }
    declared = {a for a in domain["actions"] if a.startswith("action_ask_")}
    implemented |= {cls().name() for cls in referral_form.ASK_ACTIONS.values()}
    assert declared == implemented
    assert {"action_ask_consent", "action_ask_review", "action_ask_field_to_change", "action_ask_postcode"} <= declared


def test_ending_responses_come_from_take_answer_only_via_known_names() -> None:
    """Every response in a run over many answers is one the domain test above covers."""
    seen = set()
    for slot in q.REFERRAL_SLOTS:
        values = {**PROFESSIONAL_REFERRAL, q.REVIEW: "change"}
        for text in ["", "banana", "No", "Yes", "3 years", "Not born yet", "DN31 1HU", "Phone"]:
            seen.update(answer(slot, text, {**values, FAILED_ATTEMPTS: 1}).responses)
    allowed_prefixes = ("utter_invalid_", "utter_child_")
    allowed = {"utter_still_stuck", "utter_ok_change", "utter_no_consent", "utter_family_not_agreed",
               "utter_took_name_as_self_referral"}
    assert all(r.startswith(allowed_prefixes) or r in allowed for r in seen), seen


def test_responses_use_only_known_placeholders() -> None:
    """Rasa reads anything in braces as a slot placeholder; an unknown one logs an ERROR with slot values."""
    import re

    domain = yaml.safe_load((Path(__file__).resolve().parent.parent / "domain.yml").read_text(encoding="utf-8"))
    from bot.service_responses import PLACEHOLDERS

    # the service profile's (bot/service_responses.py), and the next groups (actions/group_dates.py)
    known = {"reference", "received", "references", "group_list", *PLACEHOLDERS}
    for name, variants in domain["responses"].items():
        for variant in variants:
            for placeholder in re.findall(r"\{([^}]*)\}", variant.get("text", "")):
                assert placeholder in known, (name, placeholder)


@pytest.mark.parametrize("text, kind", [
    ("it's for me", "self"), ("It's me", "self"), ("my daughter", "self"), ("I'm referring my son", "self"),
    ("me and my baby", "self"), ("for my family", "self"), ("I'm a health visitor", "professional"),
    ("a family I work with", "professional"), ("referring a family as their social worker", "professional"),
])
def test_who_the_referral_is_for_is_understood_in_words(text, kind) -> None:
    assert answer(q.REFERRER_TYPE, text).slots[q.REFERRER_TYPE] == kind


@pytest.mark.parametrize("text", ["yeah go on", "Go ahead", "alright"])
def test_yes_in_everyday_words(text) -> None:
    assert choices.YES_NO.match(text) == "yes"
    assert choices.YES_NO.match(f"no, don't {text}") != "yes"
