"""The Rasa custom actions, run directly with a rasa_sdk Tracker and CollectingDispatcher:
no Rasa server, no model. Submission goes to a real SQLite store in a temporary folder."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import text

import actions.submission as submission_module
from actions.conversation import RESET_SLOTS, CancelReferral, ExplainQuestion
from actions.delivery.store import get_referral, list_deliveries
from actions.referral import choices, questions as q
from actions.referral.consent import CONSENT_VERSION, consent_text
from actions.referral.form import CONSENT_GIVEN_AT, CONSENT_VERSION_SLOT, FAILED_ATTEMPTS
from actions.referral.submission import submission_key
from actions.referral_form import ASK_ACTIONS, AskConsent, AskFieldToChange, AskReview, ValidateReferralForm
from actions.submission import SubmitReferral
from bot.service_profile import filled
from tests.test_form import SELF_REFERRAL

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = re.compile(r"^COSP-[A-Z0-9]{5}$")
USER_AT = 1764165780.25

ALL_SLOTS = [*q.REFERRAL_SLOTS, FAILED_ATTEMPTS, CONSENT_VERSION_SLOT, CONSENT_GIVEN_AT, "requested_slot", "reference"]

COMPLETE: Dict[str, Any] = {k: v for k, v in SELF_REFERRAL.items() if k != q.REVIEW}  # not yet sent

# The answers before the phone question, for form validation tests.
UP_TO_PHONE = {k: COMPLETE[k] for k in (q.REFERRER_TYPE, q.CAREGIVER_NAME, q.RELATIONSHIP, q.CHILD_AGE, q.HELP_WITH)}


@pytest.fixture(scope="module")
def domain() -> Dict[str, Any]:
    return yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))


def make_tracker(
    slots: Dict[str, Any],
    events: Optional[List[Dict[str, Any]]] = None,
    text: str = "",
    intent: str = "inform",
    confidence: float = 0.95,
    sender_id: str = "conversation-1",
    active_loop: Optional[Dict[str, Any]] = None,
) -> Tracker:
    all_slots = {name: None for name in ALL_SLOTS}
    all_slots.update(slots)
    return Tracker(
        sender_id=sender_id,
        slots=all_slots,
        latest_message={"text": text, "intent": {"name": intent, "confidence": confidence}, "entities": []},
        events=list(events or []),
        paused=False,
        followup_action=None,
        active_loop=active_loop if active_loop is not None else {"name": "referral_form"},
        latest_action_name="action_listen",
    )


def user_event(text: str, timestamp: float = USER_AT) -> Dict[str, Any]:
    return {"event": "user", "timestamp": timestamp, "text": text, "parse_data": {}}


def form_tracker(answers: Dict[str, Any], requested: str, candidate_slot: str, candidate: Any, text: str,
                 intent: str = "inform", confidence: float = 0.95) -> Tracker:
    """The tracker as Rasa's form hands it to validation: the slot candidate set last, after the user event."""
    slots = {**answers, "requested_slot": requested, candidate_slot: candidate}
    events = [
        {"event": "action", "name": "referral_form", "timestamp": USER_AT - 10},
        user_event(text),
        SlotSet(candidate_slot, candidate),
    ]
    return make_tracker(slots, events, text=text, intent=intent, confidence=confidence)


async def run(action, tracker: Tracker, domain: Dict[str, Any]):
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, tracker, domain)
    return events, dispatcher.messages


def responses(messages: List[Dict[str, Any]]) -> List[Optional[str]]:
    return [m.get("response") for m in messages]


# --- ValidateReferralForm -------------------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize("text, expected", [
    ("I'm a health visitor and I'd like to refer a family", "professional"),
    ("I'd like to refer myself", "self"),
])
async def test_a_referral_started_with_who_it_is_for_skips_that_question(domain, text, expected) -> None:
    # At activation Rasa hands over the first question as requested_slot.
    tracker = make_tracker({"requested_slot": q.REFERRER_TYPE}, [user_event(text)], text=text, intent="start_referral")
    events, messages = await run(ValidateReferralForm(), tracker, domain)
    assert SlotSet(q.REFERRER_TYPE, expected) in events
    next_question = q.REFERRER_NAME if expected == "professional" else q.CAREGIVER_NAME
    assert events[-1] == SlotSet("requested_slot", next_question)
    if expected == "professional":  # the role came with it: kept and said back, never asked
        assert SlotSet(q.REFERRER_ROLE, "health visitor") in events
        assert [m["text"] for m in messages] == ["Thanks, I've noted:\n- Referrer's role: health visitor"]
    else:
        assert messages == []


@pytest.mark.asyncio
async def test_details_given_with_an_answer_are_kept_and_not_asked_for(domain) -> None:
    text = "Sam, he's 5 months old and we're in DN31 1HU"
    tracker = form_tracker({q.REFERRER_TYPE: "self"}, q.CAREGIVER_NAME, q.CAREGIVER_NAME, text, text)
    events, messages = await run(ValidateReferralForm(), tracker, domain)
    assert SlotSet(q.CHILD_AGE, "5 months") in events and SlotSet(q.POSTCODE, "DN31 1HU") in events
    assert "Thanks, I've noted" in messages[-1]["text"]
    assert events[-1] == SlotSet("requested_slot", q.CAREGIVER_NAME)  # the name alone is asked again
    answered = form_tracker({q.REFERRER_TYPE: "self", q.CHILD_AGE: "5 months", q.POSTCODE: "DN31 1HU"},
                            q.CAREGIVER_NAME, q.CAREGIVER_NAME, "Sam", "Sam")
    events, _ = await run(ValidateReferralForm(), answered, domain)
    assert events[-1] == SlotSet("requested_slot", q.RELATIONSHIP)


@pytest.mark.asyncio
async def test_a_referral_started_without_saying_who_asks_who(domain) -> None:
    tracker = make_tracker({"requested_slot": q.REFERRER_TYPE}, [user_event("can I join")], text="can I join",
                           intent="start_referral")
    events, _ = await run(ValidateReferralForm(), tracker, domain)
    assert SlotSet(q.REFERRER_TYPE, "self") not in events and SlotSet(q.REFERRER_TYPE, "professional") not in events


@pytest.mark.asyncio
async def test_validate_a_valid_phone_is_normalised_and_the_form_moves_on(domain) -> None:
    tracker = form_tracker(UP_TO_PHONE, q.PHONE, q.PHONE, "07911 123456", "07911 123456")
    events, messages = await run(ValidateReferralForm(), tracker, domain)
    assert events == [
        SlotSet(q.PHONE, "+447911123456"),
        SlotSet(FAILED_ATTEMPTS, 0),
        SlotSet("requested_slot", q.EMAIL),
    ]
    assert messages == []


@pytest.mark.asyncio
async def test_validate_an_invalid_phone_re_asks_with_the_reason(domain) -> None:
    tracker = form_tracker(UP_TO_PHONE, q.PHONE, q.PHONE, "07911 12345", "07911 12345")
    events, messages = await run(ValidateReferralForm(), tracker, domain)
    assert events == [
        SlotSet(q.PHONE, None),
        SlotSet(FAILED_ATTEMPTS, 1),
        SlotSet("requested_slot", q.PHONE),
    ]
    assert responses(messages) == ["utter_invalid_phone_format"]


@pytest.mark.asyncio
async def test_validate_a_third_invalid_phone_offers_the_team_with_the_question(domain) -> None:
    tracker = form_tracker({**UP_TO_PHONE, FAILED_ATTEMPTS: 2.0}, q.PHONE, q.PHONE, "+1 212 555 0100", "+1 212 555 0100")
    events, messages = await run(ValidateReferralForm(), tracker, domain)
    assert SlotSet(FAILED_ATTEMPTS, 3) in events
    assert responses(messages) == ["utter_invalid_phone_not_uk", "utter_still_stuck"]


@pytest.mark.asyncio
async def test_validate_an_answer_that_ends_the_referral_sets_requested_slot_to_none(domain) -> None:
    answers = {k: UP_TO_PHONE[k] for k in (q.REFERRER_TYPE, q.CAREGIVER_NAME, q.RELATIONSHIP)}
    tracker = form_tracker(answers, q.CHILD_AGE, q.CHILD_AGE, "3 years", "3 years")
    events, messages = await run(ValidateReferralForm(), tracker, domain)
    assert events == [SlotSet(q.CHILD_AGE, None), SlotSet("requested_slot", None)]
    assert responses(messages) == ["utter_child_too_old"]


@pytest.mark.asyncio
async def test_validate_no_consent_ends_the_referral(domain) -> None:
    answers = {k: v for k, v in COMPLETE.items() if k not in (q.CONSENT, CONSENT_VERSION_SLOT, CONSENT_GIVEN_AT)}
    tracker = form_tracker(answers, q.CONSENT, q.CONSENT, "No", "No")
    events, messages = await run(ValidateReferralForm(), tracker, domain)
    assert events == [SlotSet(q.CONSENT, "no"), SlotSet("requested_slot", None)]
    assert responses(messages) == ["utter_no_consent"]


@pytest.mark.asyncio
async def test_validate_a_slot_filled_for_another_question_is_reset(domain) -> None:
    forced = '/inform{"postcode": "DN31 1HU"}'
    tracker = form_tracker(UP_TO_PHONE, q.PHONE, q.POSTCODE, "DN31 1HU", forced)
    events, messages = await run(ValidateReferralForm(), tracker, domain)
    assert events == [SlotSet(q.POSTCODE, None), SlotSet("requested_slot", q.PHONE)]
    assert messages == []


@pytest.mark.asyncio
async def test_a_postcode_typed_at_the_phone_question_is_kept_and_the_phone_asked_again(domain) -> None:
    tracker = form_tracker(UP_TO_PHONE, q.PHONE, q.POSTCODE, "DN31 1HU", "DN31 1HU")
    events, messages = await run(ValidateReferralForm(), tracker, domain)
    assert events == [SlotSet(q.POSTCODE, None), SlotSet(q.POSTCODE, "DN31 1HU"), SlotSet("requested_slot", q.PHONE)]
    assert [m["text"] for m in messages] == ["Thanks, I've noted:\n- Postcode: DN31 1HU"]


@pytest.mark.asyncio
async def test_validate_a_programme_question_is_answered_and_the_question_asked_again(domain) -> None:
    answers = {**COMPLETE}
    for slot in (q.POSTCODE, q.EXTRA_SUPPORT, q.ACCESS_NEEDS, q.ACCESS_NEEDS_DETAILS, q.CONSENT):
        answers.pop(slot)
    tracker = form_tracker({**answers, FAILED_ATTEMPTS: 1.0}, q.POSTCODE, q.POSTCODE, "how long is the course",
                           "how long is the course", intent="ask_how_it_runs", confidence=0.9)
    events, messages = await run(ValidateReferralForm(), tracker, domain)
    assert events == [SlotSet(q.POSTCODE, None), SlotSet("requested_slot", q.POSTCODE)]
    assert responses(messages) == ["utter_ask_how_it_runs"]


@pytest.mark.asyncio
async def test_validate_a_low_confidence_question_intent_is_just_an_invalid_answer(domain) -> None:
    tracker = form_tracker(UP_TO_PHONE, q.PHONE, q.PHONE, "where is it", "where is it", intent="ask_where",
                           confidence=0.3)
    events, messages = await run(ValidateReferralForm(), tracker, domain)
    assert SlotSet(FAILED_ATTEMPTS, 1) in events
    assert responses(messages) == ["utter_invalid_phone_format"]


@pytest.mark.asyncio
async def test_validate_the_phone_skipped_then_an_email_sets_preferred_contact(domain) -> None:
    tracker = form_tracker({**UP_TO_PHONE, q.PHONE: q.NOT_GIVEN}, q.EMAIL, q.EMAIL, "amira@example.com",
                           "amira@example.com")
    events, messages = await run(ValidateReferralForm(), tracker, domain)
    slot_events = {e["name"]: e["value"] for e in events[:-1]}
    assert slot_events == {q.EMAIL: "amira@example.com", q.PREFERRED_CONTACT: "email", FAILED_ATTEMPTS: 0}
    assert events[-1] == SlotSet("requested_slot", q.POSTCODE)  # preferred contact set without asking
    assert messages == []


@pytest.mark.asyncio
async def test_validate_with_no_candidate_changes_nothing_but_the_next_question(domain) -> None:
    tracker = make_tracker({**UP_TO_PHONE, "requested_slot": q.PHONE}, [user_event("why?")], text="why?",
                           intent="why_ask")
    events, messages = await run(ValidateReferralForm(), tracker, domain)
    assert events == [SlotSet("requested_slot", q.PHONE)]
    assert messages == []


# --- ExplainQuestion, CancelReferral ----------------------------------------------------------------------


@pytest.mark.asyncio
async def test_explain_question_says_why_for_the_requested_slot(domain) -> None:
    events, messages = await run(ExplainQuestion(), make_tracker({"requested_slot": q.POSTCODE}), domain)
    assert events == []
    assert responses(messages) == ["utter_why_postcode"]


@pytest.mark.asyncio
async def test_explain_question_outside_the_form(domain) -> None:
    events, messages = await run(ExplainQuestion(), make_tracker({}, active_loop={}), domain)
    assert events == []
    assert responses(messages) == ["utter_why_outside_form"]


@pytest.mark.asyncio
async def test_cancel_referral_stops_the_form_and_resets_every_referral_slot(domain) -> None:
    tracker = make_tracker({**COMPLETE, "requested_slot": q.REVIEW, FAILED_ATTEMPTS: 1.0})
    events, messages = await run(CancelReferral(), tracker, domain)
    assert events[0] == ActiveLoop(None)
    assert events[1:] == [SlotSet(name, None) for name in RESET_SLOTS]
    reset = {e["name"] for e in events[1:]}
    assert set(q.REFERRAL_SLOTS) | {FAILED_ATTEMPTS, CONSENT_VERSION_SLOT, CONSENT_GIVEN_AT, "requested_slot"} == reset
    assert responses(messages) == ["utter_referral_cancelled"]


# --- the questions asked by code ----------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_ask_review_lists_every_answer(domain) -> None:
    events, messages = await run(AskReview(), make_tracker({**COMPLETE, "requested_slot": q.REVIEW}), domain)
    assert events == []
    assert len(messages) == 1
    shown = messages[0]["text"]
    assert shown.startswith("Please check your answers:\n")
    lines = shown.split("\n")[1:]
    assert lines == [
        "Type of referral: Self-referral",
        "Parent or caregiver's name: Amira Khan",
        "Relationship to the child: Parent",
        "Child's age: 18 months",
        "What they would like help with: Feeling closer to my baby 😴",
        "Phone: 07911 123456",
        "Email: amira@example.com",
        "Preferred way to be contacted: Text message",
        "Safe to leave a message: No",
        "Postcode: DN31 1HU",
        "Would like extra support before the group: Not sure",
        "Access needs: Interpreter",
        "Access needs (details): An Urdu interpreter, please",
    ]
    assert messages[0]["buttons"] == [
        {"title": "Send referral", "payload": "Send referral"},
        {"title": "Change an answer", "payload": "Change an answer"},
    ]


@pytest.mark.asyncio
async def test_ask_review_lists_the_professional_answers_too(domain) -> None:
    slots = {
        **COMPLETE, q.REFERRER_TYPE: "professional", q.REFERRER_NAME: "Jo Smith", q.REFERRER_ROLE: "Health visitor",
        q.REFERRER_ORGANISATION: "Navigo", q.REFERRER_CONTACT: "jo.smith@nhs.net", q.FAMILY_AGREED: "yes",
    }
    _, messages = await run(AskReview(), make_tracker(slots), domain)
    shown = messages[0]["text"]
    for line in ("Type of referral: Professional referral", "Referrer's name: Jo Smith",
                 "Referrer's role: Health visitor", "Referrer's organisation: Navigo",
                 "Referrer's work phone or email: jo.smith@nhs.net", "Family agreed to the referral: Yes"):
        assert line in shown.split("\n")
    assert len(shown.split("\n")) == 1 + len(q.LABELS)


@pytest.mark.asyncio
@pytest.mark.parametrize("failures, stuck", [(0, False), (1, False), (2, True), (3, False), (4, True)])
async def test_a_typed_question_gives_way_to_what_it_has_so_far_on_the_second_miss(domain, failures, stuck) -> None:
    answers = {k: UP_TO_PHONE[k] for k in (q.REFERRER_TYPE, q.CAREGIVER_NAME, q.RELATIONSHIP)}
    tracker = make_tracker({**answers, FAILED_ATTEMPTS: float(failures), "requested_slot": q.CHILD_AGE})
    events, messages = await run(ASK_ACTIONS[q.CHILD_AGE](), tracker, domain)
    assert events == [] and len(messages) == 1
    if not stuck:
        assert messages[0]["response"] == "utter_ask_child_age"
        return
    said = messages[0]["text"]
    assert said.startswith("So far I have:") and UP_TO_PHONE[q.CAREGIVER_NAME] in said
    assert filled(domain["responses"]["utter_stuck_offer_typed"][0]["text"]) in said
    assert [b["title"] for b in messages[0]["buttons"]] == ["Not born yet"]


@pytest.mark.asyncio
async def test_a_button_question_offers_its_buttons_once_more_when_stuck(domain) -> None:
    tracker = make_tracker({FAILED_ATTEMPTS: 2.0, "requested_slot": q.REFERRER_TYPE})
    _, messages = await run(ASK_ACTIONS[q.REFERRER_TYPE](), tracker, domain)
    assert "I don't have any of your answers yet." in messages[0]["text"]
    assert filled(domain["responses"]["utter_stuck_offer"][0]["text"]) in messages[0]["text"]
    assert [b["title"] for b in messages[0]["buttons"]] == ["Myself or my family", "A professional"]


@pytest.mark.asyncio
@pytest.mark.parametrize("referrer_type", ["self", "professional", None])
async def test_ask_consent_shows_the_wording_with_two_buttons(domain, referrer_type) -> None:
    events, messages = await run(AskConsent(), make_tracker({q.REFERRER_TYPE: referrer_type}), domain)
    assert events == []
    assert len(messages) == 1
    assert messages[0]["text"] == consent_text(referrer_type)
    assert messages[0]["buttons"] == [
        {"title": "Yes, I agree", "payload": "Yes, I agree"},
        {"title": "No", "payload": "No"},
    ]
    for button in messages[0]["buttons"]:
        assert choices.CONSENT.match(button["payload"])  # tapping either is an answer


def test_consent_wording_differs_for_professionals() -> None:
    assert consent_text("professional") != consent_text("self")
    assert "the family" in consent_text("professional")


@pytest.mark.asyncio
async def test_ask_field_to_change_offers_the_asked_answers(domain) -> None:
    _, messages = await run(AskFieldToChange(), make_tracker({**COMPLETE, q.REVIEW: "change"}), domain)
    titles = [b["title"] for b in messages[0]["buttons"]]
    assert titles == ["Name", "Relationship", "Child's age", "Help wanted", "Phone", "Email", "How to contact",
                      "Leaving a message", "Postcode", "Extra support", "Access needs"]


# --- SubmitReferral ----------------------------------------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("COSP_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", "")  # the referral store under COSP_VAR_DIR, never a configured one
    submission_module.referral_store.cache_clear()
    submission_module.settings.cache_clear()
    engine = submission_module.referral_store()
    assert str(engine.url).startswith("sqlite:///") and str(tmp_path) in str(engine.url)
    yield engine
    engine.dispose()
    submission_module.referral_store.cache_clear()
    submission_module.settings.cache_clear()


def referral_count(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM referrals")).scalar_one()


def submit_tracker(slots: Dict[str, Any], sender_id: str = "conversation-1") -> Tracker:
    events = [
        {"event": "action", "name": "action_ask_review", "timestamp": USER_AT - 5},
        user_event("Send referral"),
        SlotSet(q.REVIEW, slots.get(q.REVIEW)),
        {"event": "active_loop", "name": None, "timestamp": USER_AT + 1},
    ]
    return make_tracker(slots, events, text="Send referral", sender_id=sender_id, active_loop={})


@pytest.mark.asyncio
async def test_submit_stores_one_referral_and_says_its_reference(domain, store) -> None:
    events, messages = await run(SubmitReferral(), submit_tracker({**COMPLETE, q.REVIEW: "send"}), domain)

    assert len(messages) == 1
    assert messages[0]["response"] == "utter_referral_sent"
    reference = messages[0]["reference"]
    assert REFERENCE.match(reference)

    reset = [SlotSet(name, None) for name in RESET_SLOTS]
    assert events == [*reset, SlotSet("reference", reference)]

    assert referral_count(store) == 1
    stored = get_referral(store, reference)
    assert stored is not None
    assert stored["referral_type"] == "self"
    assert stored["data"] == {k: v for k, v in COMPLETE.items() if k in q.REFERRAL_SLOTS}
    assert ("Phone", "07911 123456") in stored["answers"]
    assert stored["consent_version"] == CONSENT_VERSION
    assert stored["consent_text"] == consent_text("self")
    jobs = list_deliveries(store)
    assert [(job["reference"], job["channel"], job["status"]) for job in jobs] == [(reference, "email", "pending")]


@pytest.mark.asyncio
async def test_submitting_the_same_tracker_twice_stores_it_once(domain, store) -> None:
    slots = {**COMPLETE, q.REVIEW: "send"}
    _, first = await run(SubmitReferral(), submit_tracker(slots), domain)
    _, second = await run(SubmitReferral(), submit_tracker(slots), domain)
    assert first[0]["reference"] == second[0]["reference"]
    assert responses(second) == ["utter_referral_sent"]
    assert referral_count(store) == 1
    assert len(list_deliveries(store)) == 1


@pytest.mark.asyncio
async def test_two_conversations_store_two_referrals(domain, store) -> None:
    slots = {**COMPLETE, q.REVIEW: "send"}
    _, first = await run(SubmitReferral(), submit_tracker(slots, sender_id="conversation-1"), domain)
    _, second = await run(SubmitReferral(), submit_tracker(slots, sender_id="conversation-2"), domain)
    assert first[0]["reference"] != second[0]["reference"]
    assert referral_count(store) == 2


def test_the_submission_key_is_the_conversation_and_the_moment_consent_was_given() -> None:
    key = submission_key("conversation-1", "2026-11-26T14:03:00.123456+00:00")
    assert key == submission_key("conversation-1", "2026-11-26T14:03:00.123456+00:00")
    assert key != submission_key("conversation-1", "2026-11-26T14:03:00.123457+00:00")  # the next referral
    assert key != submission_key("conversation-2", "2026-11-26T14:03:00.123456+00:00")
    assert len(key) == 64 and "conversation" not in key


@pytest.mark.asyncio
async def test_answers_sent_again_after_a_lost_outcome_are_stored_once(domain, store) -> None:
    """The first try stored the referral but its events were lost (its action server died before
    answering): the form runs again with the answers kept and the parent presses Send again."""
    slots = {**COMPLETE, q.REVIEW: "send"}
    _, first = await run(SubmitReferral(), submit_tracker(slots), domain)
    again_at = USER_AT + 600
    events = [
        *submit_tracker(slots).events,
        {"event": "active_loop", "name": "referral_form", "timestamp": again_at - 10},
        {"event": "action", "name": "action_ask_review", "timestamp": again_at - 5},
        user_event("Send referral", timestamp=again_at),
        {"event": "active_loop", "name": None, "timestamp": again_at + 1},
    ]
    again = make_tracker(slots, events, text="Send referral", active_loop={})

    _, second = await run(SubmitReferral(), again, domain)

    assert second[0]["reference"] == first[0]["reference"]
    assert referral_count(store) == 1
    assert len(list_deliveries(store)) == 1


@pytest.mark.asyncio
async def test_the_next_referral_in_the_same_conversation_is_stored_too(domain, store) -> None:
    slots = {**COMPLETE, q.REVIEW: "send"}
    _, first = await run(SubmitReferral(), submit_tracker(slots), domain)
    next_one = {**slots, CONSENT_GIVEN_AT: "2026-11-26T15:10:00.250000+00:00"}  # consent asked again after a reset
    _, second = await run(SubmitReferral(), submit_tracker(next_one), domain)
    assert first[0]["reference"] != second[0]["reference"]
    assert referral_count(store) == 2


@pytest.mark.asyncio
@pytest.mark.parametrize("review", [None, "change"])
async def test_submit_without_send_stores_nothing_and_says_nothing(domain, store, review) -> None:
    events, messages = await run(SubmitReferral(), submit_tracker({**COMPLETE, q.REVIEW: review}), domain)
    assert events == [SlotSet(name, None) for name in RESET_SLOTS]
    assert messages == []
    assert referral_count(store) == 0


@pytest.mark.asyncio
async def test_submit_after_no_consent_stores_nothing(domain, store) -> None:
    slots = {**COMPLETE, q.CONSENT: "no", CONSENT_VERSION_SLOT: None, CONSENT_GIVEN_AT: None}
    events, messages = await run(SubmitReferral(), submit_tracker(slots), domain)
    assert messages == []
    assert referral_count(store) == 0


@pytest.mark.asyncio
async def test_submit_with_a_forced_invalid_slot_stores_nothing_and_asks_again(domain, store) -> None:
    slots = {**COMPLETE, q.PHONE: "not a number", q.REVIEW: "send"}
    events, messages = await run(SubmitReferral(), submit_tracker(slots), domain)
    assert events == [SlotSet(q.PHONE, None), SlotSet(q.REVIEW, None), FollowupAction("referral_form")]
    assert messages == []
    assert referral_count(store) == 0
    assert list_deliveries(store) == []


@pytest.mark.asyncio
async def test_submit_without_a_consent_version_stores_nothing_and_asks_consent_again(domain, store) -> None:
    slots = {**COMPLETE, CONSENT_VERSION_SLOT: None, q.REVIEW: "send"}
    events, messages = await run(SubmitReferral(), submit_tracker(slots), domain)
    assert events == [SlotSet(q.CONSENT, None), SlotSet(q.REVIEW, None), FollowupAction("referral_form")]
    assert messages == []
    assert referral_count(store) == 0


@pytest.mark.asyncio
async def test_submit_a_referral_whose_age_was_given_as_a_date_of_birth(domain, store) -> None:
    # what take_answer stores for "12/03/2025" (relative to today, so the test does not age)
    from datetime import date, datetime, timezone

    from actions.referral.validators import check_child_age

    today = datetime.now(timezone.utc).astimezone().date()
    born = date(today.year - 1, today.month, min(today.day, 28))
    age = check_child_age(born.strftime("%d/%m/%Y"), today).value
    assert "(born " in age
    slots = {**COMPLETE, q.CHILD_AGE: age, q.REVIEW: "send"}
    _, messages = await run(SubmitReferral(), submit_tracker(slots), domain)
    assert responses(messages) == ["utter_referral_sent"]
    assert referral_count(store) == 1
