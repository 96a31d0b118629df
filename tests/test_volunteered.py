"""Details given before their question are found, checked as if asked, and kept; nothing is guessed."""
from datetime import date

import pytest

from actions.referral import questions as q
from actions.referral.form import take_answer
from actions.referral.volunteered import details_in, noted
from tests.test_form import NOW, TODAY

PRO = ("I'm a health visitor from the Grimsby Health Visiting Team, my name is Priya Shah and my work "
       "number is 01472 123456. I'd like to refer a mum called Jo Smith, baby is 4 months, her phone "
       "07911 123456, jo@example.com, postcode DN32 9AB. She has agreed. She would like help with bonding.")


def test_a_professionals_one_message_referral_gives_every_detail_it_holds():
    assert details_in(PRO, {}, TODAY) == {
        q.REFERRER_TYPE: "professional", q.REFERRER_ROLE: "health visitor",
        q.REFERRER_ORGANISATION: "Grimsby Health Visiting Team", q.FAMILY_AGREED: "yes",
        q.REFERRER_CONTACT: "+441472123456", q.PHONE: "+447911123456", q.EMAIL: "jo@example.com",
        q.POSTCODE: "DN32 9AB", q.CHILD_AGE: "4 months", q.REFERRER_NAME: "Priya Shah",
        q.CAREGIVER_NAME: "Jo Smith", q.RELATIONSHIP: "parent", q.HELP_WITH: "bonding",
    }


def test_a_parents_details_before_their_questions():
    text = "my name is Sam Jones, my son is 5 months old and we live in dn31 1hu, my number is 07911 123456"
    assert details_in(text, {q.REFERRER_TYPE: "self"}, TODAY) == {
        q.CAREGIVER_NAME: "Sam Jones", q.CHILD_AGE: "5 months", q.POSTCODE: "DN31 1HU", q.PHONE: "+447911123456"}


def test_nothing_is_guessed_and_nothing_answered_is_overwritten():
    assert details_in("I'm tired and he's teething", {q.REFERRER_TYPE: "self"}, TODAY) == {}
    assert details_in("I'm not sure, maybe", {}, TODAY) == {}
    assert details_in("07911 123456", {q.PHONE: "+447700900001"}, TODAY) == {}
    assert details_in("07911 123456", {}, TODAY, skip=q.PHONE) == {}  # the question asked takes it itself
    assert details_in('/inform{"phone": "07911 123456"}', {}, TODAY) == {}


def test_a_detail_that_fails_its_check_is_left_to_be_asked():
    assert q.CHILD_AGE not in details_in("she is 30 months old", {q.REFERRER_TYPE: "self"}, TODAY)
    assert q.PHONE not in details_in("call 01234", {q.REFERRER_TYPE: "self"}, TODAY)


def test_consent_is_never_taken_before_its_question():
    assert q.CONSENT not in details_in("yes I consent to sharing, I agree", {q.REFERRER_TYPE: "self"}, TODAY)


def test_what_was_kept_is_said_back_in_the_order_staff_read_it():
    line = noted({q.POSTCODE: "DN31 1HU", q.CAREGIVER_NAME: "Sam"})
    assert line == "Thanks, I've noted:\n- Parent or caregiver's name: Sam\n- Postcode: DN31 1HU"
    assert noted({}) == ""


@pytest.mark.parametrize("text", ["I'd prefer to phone", "can I just call you", "this is too long", "I'll just ring them"])
def test_preferring_to_phone_leaves_the_form_with_the_number_keeping_nothing(text):
    for slot in (q.REFERRER_TYPE, q.HELP_WITH, q.PHONE):
        outcome = take_answer(slot, text, {}, today=TODAY, now=NOW)
        assert outcome.ends_referral and outcome.responses == ["utter_prefer_to_phone"]
        assert outcome.slots == {slot: None}


def test_phone_is_still_an_answer_to_how_to_get_in_touch():
    outcome = take_answer(q.PREFERRED_CONTACT, "I'd prefer a phone call", {q.PHONE: "+447911123456"}, today=TODAY, now=NOW)
    assert outcome.slots[q.PREFERRED_CONTACT] == "call" and not outcome.ends_referral


def test_a_name_typed_at_the_first_question_is_taken_as_a_parents_own_referral():
    outcome = take_answer(q.REFERRER_TYPE, "Zofia Kowalska", {}, today=TODAY, now=NOW)
    assert outcome.slots[q.REFERRER_TYPE] == "self" and outcome.slots[q.CAREGIVER_NAME] == "Zofia Kowalska"
    assert outcome.responses == ["utter_took_name_as_self_referral"]
    assert take_answer(q.REFERRER_TYPE, "dunno", {}, today=TODAY, now=NOW).responses[0].startswith("utter_invalid")


def test_the_question_answered_takes_its_own_kind_of_detail():
    professional = {q.REFERRER_TYPE: "professional"}
    assert details_in("0113 496 0123", professional, TODAY, skip=q.REFERRER_CONTACT) == {}
    assert details_in("pv@example.org", professional, TODAY, skip=q.REFERRER_CONTACT) == {}
    assert details_in("07911 123456, and my email is sam@example.com", {q.REFERRER_TYPE: "self"}, TODAY,
                      skip=q.PHONE) == {q.EMAIL: "sam@example.com"}
