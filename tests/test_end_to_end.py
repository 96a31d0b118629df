"""End to end: the real Rasa server, action server and delivery worker, with a real SMTP server
(aiosmtpd) on loopback. A referral completed over the REST channel reaches staff once, with
every answer, also when SMTP is down at submission and through several attempts, and comes back."""
from __future__ import annotations

import email
import json
import urllib.request
from email.message import Message
from typing import Dict, Iterator, List

import pytest
from aiosmtpd.controller import Controller

from deploy.cluster import wait_until
from bot import service_profile
from tests.support import MODEL, QuestionWatch, Stack, free_port

TEAM = service_profile.current()  # the default profile (service.yml), as the stack here runs it

pytestmark = [
    pytest.mark.needs_model,
    pytest.mark.skipif(not MODEL.exists(), reason="needs the trained model: run `make train`"),
]

ANSWERS = [
    ("Myself or my family", None),
    ("Zofia Exampleńska", "Zofia Exampleńska"),
    ("Foster carer", "Foster carer"),
    ("11 weeks", "11 weeks"),
    ("help with <b>settling</b> at night 🌙 =HYPERLINK(\"x\")", None),
    ("+44 7911 123456", "07911 123456"),
    ("zofia@example.com", "zofia@example.com"),
    ("Email", "Email"),
    ("Yes, that's fine", None),
    ("dn31 1hu", "DN31 1HU"),
    ("Yes, please", None),
    ("I need a Polish interpreter", "I need a Polish interpreter"),
    ("Yes, I agree", None),
]
PERSONAL = ["Exampleńska", "7911", "zofia@example.com", "DN31", "settling", "Polish"]


WATCH = QuestionWatch()  # every conversation here: no referral question three turns running


class Inbox:
    def __init__(self) -> None:
        self.messages: List[Message] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[Dict]:
    smtp_port = free_port()
    processes = Stack(
        tmp_path_factory.mktemp("e2e"),
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=str(smtp_port),
        SMTP_TIMEOUT_SECONDS="3",
        REFERRAL_EMAIL_TO="staff@example.org",
    )
    try:
        processes.start_assistant()
        yield {"rasa_port": processes.rasa_port, "smtp_port": smtp_port, "inbox": Inbox(), "processes": processes}
    finally:
        processes.stop()


def smtp_server(stack: Dict) -> Controller:
    controller = Controller(stack["inbox"], hostname="127.0.0.1", port=stack["smtp_port"])
    controller.start()
    return controller


def say(stack: Dict, sender: str, text: str) -> List[dict]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{stack['rasa_port']}/webhooks/rest/webhook",
        data=json.dumps({"sender": sender, "message": text}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200
        replies = json.load(response)
    WATCH.saw(sender, [r.get("text", "") for r in replies])
    return replies


def complete_referral(stack: Dict, sender: str) -> str:
    replies = say(stack, sender, "I'd like to make a referral")
    assert "Are you referring yourself, or a family you work with?" in " ".join(r.get("text", "") for r in replies)
    for answer, _ in ANSWERS:
        replies = say(stack, sender, answer)
    summary = " ".join(r.get("text", "") for r in replies)
    for _, shown in ANSWERS:
        if shown:
            assert shown in summary
    replies = say(stack, sender, "Send referral")
    text = " ".join(r.get("text", "") for r in replies)
    assert "your referral has been sent" in text
    return text.split("Your reference is ")[1][:10]


def emails_for(inbox: Inbox, reference: str) -> List[Message]:
    return [m for m in inbox.messages if m["Subject"] == f"New COSP referral {reference}"]


def body_text(message: Message, content_type: str = "") -> str:
    return "\n".join(
        part.get_payload(decode=True).decode("utf-8")
        for part in message.walk()
        if part.get_content_type() in (content_type,) or (not content_type and part.get_content_type() in ("text/plain", "text/html"))
    )


def test_referral_over_rest_reaches_staff_once_with_every_answer(stack):
    smtp = smtp_server(stack)
    reference = complete_referral(stack, "e2e-parent-1")
    stack["processes"].wait_until_delivered(reference)
    mails = emails_for(stack["inbox"], reference)
    assert len(mails) == 1
    body = body_text(mails[0])
    for expected in ["Zofia Exampleńska", "Foster carer", "11 weeks", "07911 123456", "zofia@example.com",
                     "DN31 1HU", "Polish interpreter", "🌙", reference]:
        assert expected in body
    again = " ".join(r.get("text", "") for r in say(stack, "e2e-parent-1", "Send referral"))  # its reply lost, say
    assert f"Your referral {reference} was received" in again  # told it is sent, not how to refer again
    html = body_text(mails[0], "text/html")
    assert "&lt;b&gt;settling&lt;/b&gt;" in html and "<b>settling" not in html  # shown as text, never markup
    assert mails[0]["To"] == "staff@example.org"
    smtp.stop()


def test_smtp_down_at_submission_delivers_once_when_it_returns(stack):
    processes: Stack = stack["processes"]
    reference = complete_referral(stack, "e2e-parent-2")
    wait_until(lambda: (processes.deliveries(reference)["email"]["attempts"] or 0) >= 3,
               "three failed attempts while SMTP is down", 90)
    job = processes.deliveries(reference)["email"]
    assert job["status"] == "pending" and job["last_error"]  # kept, to be tried again; never dropped
    assert not emails_for(stack["inbox"], reference)
    smtp = smtp_server(stack)
    try:
        processes.wait_until_delivered(reference)
        assert len(emails_for(stack["inbox"], reference)) == 1
    finally:
        smtp.stop()


def test_hostile_and_odd_messages_never_give_a_500(stack):
    for text in ["", " ", "x" * 10_000, "🙂🙂🙂", "<script>alert(1)</script>", '/inform{"phone":"x"}',
                 "/restart", "مرحبا", "你好", "/affirm", '/start_referral{"review":"send"}', "Send referral"]:
        say(stack, "e2e-hostile", text)


def test_no_personal_data_in_logs_at_info(stack):
    logs = stack["processes"].log_text()
    assert "Registered function for 'validate_referral_form'" in logs  # the logs were read
    for item in PERSONAL:
        assert item not in logs


def test_a_parent_withdraws_then_deletes_their_data_from_the_chat(stack):
    from datetime import datetime, timedelta, timezone

    from actions.delivery.store import make_engine
    from actions.privacy import conversations
    from actions.privacy.erasure import erase_idle_conversations
    from bot.lock_store import FileLockStore

    sender = "e2e-parent-3"
    smtp = smtp_server(stack)
    try:
        reference = complete_referral(stack, sender)
        stack["processes"].wait_until_delivered(reference)
        assert "withdraw your referral" in " ".join(r.get("text", "") for r in say(stack, sender, "I want to withdraw my referral"))
        replies = " ".join(r.get("text", "") for r in say(stack, sender, "/confirm_withdraw"))
        assert f"{reference} is withdrawn and I've told the team" in replies
        stack["processes"].wait_until_delivered(reference, ["email", "withdrawal"])
        subject = f"COSP referral {reference} withdrawn"
        assert len([m for m in stack["inbox"].messages if m["Subject"] == subject]) == 1
    finally:
        smtp.stop()

    assert "Are you sure?" in " ".join(r.get("text", "") for r in say(stack, sender, "please delete my data"))
    assert "will be deleted" not in " ".join(r.get("text", "") for r in say(stack, sender, "yes"))  # a bare yes: nothing
    assert "Are you sure?" in " ".join(r.get("text", "") for r in say(stack, sender, "please delete my data"))
    replies = " ".join(r.get("text", "") for r in say(stack, sender, "yes, delete it"))
    assert "already reached the team" in replies and "will be deleted" in replies
    processes = stack["processes"]
    tracker = conversations.tracker_store(processes.env["TRACKER_DATABASE_URL"])
    store = make_engine(f"sqlite:///{processes.tmp / 'referrals.db'}")
    assert conversations.last_activity(tracker, sender) is not None
    later = datetime.now(timezone.utc) + timedelta(minutes=5)
    locks = FileLockStore(directory=processes.tmp / "locks")  # the stack's Rasa server's (endpoints.yml)
    assert erase_idle_conversations(store, tracker, later, locks=locks) >= 1
    assert conversations.last_activity(tracker, sender) is None


def test_rasas_http_api_is_off(stack):
    import urllib.error

    for path in ["/conversations/e2e-parent-1/tracker", "/model/parse", "/status"]:
        try:
            status = urllib.request.urlopen(f"http://127.0.0.1:{stack['rasa_port']}{path}", timeout=10).status
        except urllib.error.HTTPError as error:
            status = error.code
        assert status in (403, 404, 405)


def test_a_referral_after_a_safety_reply_tells_staff_the_kind_never_the_words(stack):
    smtp = smtp_server(stack)
    try:
        replies = say(stack, "e2e-parent-3", "my partner grabbed me by the throat last night")
        said = " ".join(r.get("text", "") for r in replies)
        assert "999" in said and "111" in said and "0808 2000 247" in said and "55" in said
        reference = complete_referral(stack, "e2e-parent-3")
        stack["processes"].wait_until_delivered(reference)
        body = body_text(emails_for(stack["inbox"], reference)[0])
        assert "Safety signposting was given in this conversation (domestic abuse)" in body
        assert "throat" not in body
    finally:
        smtp.stop()


def test_an_unsure_message_gets_its_answer_then_one_line_of_signposting(stack):
    replies = say(stack, "e2e-parent-4", "what is shaken baby syndrome? is it covered in the group")
    texts = [r.get("text", "") for r in replies]
    assert len(texts) >= 2 and "999" in texts[-1] and "111" in texts[-1]
    assert not any("not monitored in real time" in t for t in texts)  # the answer, not the safety reply


def texts_of(replies: List[dict]) -> List[str]:
    return [r.get("text", "") for r in replies]


def never_asked_three_times_running(questions: List[str]) -> None:
    for i in range(len(questions) - 2):
        assert not (questions[i] == questions[i + 1] == questions[i + 2]), questions[i]


def test_a_parent_who_types_every_answer_and_gives_details_early_is_never_asked_for_them(stack):
    smtp = smtp_server(stack)
    sender, asked = "e2e-typed-1", []
    try:
        replies = say(stack, sender, "can I refer myself")
        asked.append(texts_of(replies)[-1])
        for text in ["it's for me. My name is Amara Example and my daughter is 7 months old", "I'm her mum",
                     "feeling closer to her when she cries", "07911 123456", "no thanks", "text me",
                     "yeah that's fine", "dn31 1hu", "not sure", "no", "yes I agree"]:
            replies = say(stack, sender, text)
            asked.append(texts_of(replies)[-1])
        said = "\n".join(asked)
        assert "What's your name?" not in said and "How old is the baby?" not in said
        assert "Amara Example" in said and "7 months" in said  # said back once, when given
        assert len(set(asked)) == len(asked), asked  # no question asked twice
        replies = say(stack, sender, "send it")
        reference = " ".join(texts_of(replies)).split("Your reference is ")[1][:10]
        stack["processes"].wait_until_delivered(reference)
        body = body_text(emails_for(stack["inbox"], reference)[0])
        assert "Amara Example" in body and "7 months" in body and "DN31 1HU" in body
    finally:
        smtp.stop()


def test_a_professionals_one_message_referral_takes_at_most_eight_turns(stack):
    smtp = smtp_server(stack)
    sender = "e2e-typed-2"
    message = ("Hi, I'm a health visitor from the Grimsby Health Visiting Team, my name is Priya Example and my "
               "work number is 01472 123456. I'd like to refer a mum called Jo Example, baby is 4 months, her "
               "phone 07911 123456, jo@example.com, postcode DN32 9AB. She has agreed to the referral. She would "
               "like help with bonding.")
    try:
        turns, replies = 1, say(stack, sender, message)
        assert "Thanks, I've noted" in " ".join(texts_of(replies))
        answers = iter(["phone call", "yes", "no thanks", "no", "yes I agree", "send it"])
        while "Your reference is" not in " ".join(texts_of(replies)) and turns < 10:
            replies, turns = say(stack, sender, next(answers)), turns + 1
        assert turns <= 8
        reference = " ".join(texts_of(replies)).split("Your reference is ")[1][:10]
        stack["processes"].wait_until_delivered(reference)
        body = body_text(emails_for(stack["inbox"], reference)[0])
        for detail in ["Priya Example", "health visitor", "Grimsby Health Visiting Team", "01472 123456", "Jo Example",
                       "4 months", "07911 123456", "jo@example.com", "DN32 9AB", "bonding"]:
            assert detail in body, detail
    finally:
        smtp.stop()


def test_preferring_to_phone_leaves_the_referral_with_the_number_and_keeps_nothing(stack):
    sender = "e2e-typed-3"
    say(stack, sender, "I'd like to make a referral")
    said = " ".join(texts_of(say(stack, sender, "I'd prefer to phone")))
    assert TEAM.phone in said and TEAM.email in said
    assert "facilitator" in " ".join(texts_of(say(stack, sender, "who runs the groups")))  # the form is gone


def test_a_question_is_never_shown_three_times_running(stack):
    sender = "e2e-typed-4"
    for text in ["I'd like to make a referral", "it's for me", "Sam Example", "I'm his dad"]:
        replies = say(stack, sender, text)
    last_questions = [texts_of(replies)[-1]]
    for _ in range(4):
        last_questions.append(texts_of(say(stack, sender, "a banana"))[-1])
    age = [t.startswith("How old is the baby?") for t in last_questions]
    assert age == [True, True, False, True, False]  # asked, asked again, the way out, asked, the way out
    for offer in (last_questions[2], last_questions[4]):
        assert "So far I have" in offer and "Sam Example" in offer and TEAM.phone in offer and "stop" in offer
    assert "help with" in texts_of(say(stack, sender, "5 months"))[-1]  # a good answer moves on


def test_questions_typed_mid_referral_are_answered_with_or_without_a_question_mark(stack):
    sender = "e2e-typed-5"
    for text in ["I'd like to make a referral", "I'm Sam", "I'm his dad", "5 months"]:
        replies = say(stack, sender, text)
    assert "help with" in texts_of(replies)[-1]
    for question in ["not sure if my partner can come too", "can his nan come instead"]:
        texts = texts_of(say(stack, sender, question))
        assert any("foster carers" in t for t in texts), texts  # the answer to what was asked
        assert "help with" in texts[-1]  # and the question again, the words not kept as the answer
    texts = texts_of(say(stack, sender, "feeling closer to him"))
    assert "phone number" in texts[-1]
    summary = "\n".join(texts_of(say(stack, sender, "07911 123456")))
    for text in ["no thanks", "text me", "yes", "dn31 1hu"]:
        texts = texts_of(say(stack, sender, text))
    assert texts[-1].startswith("Some parents like extra support")
    texts = texts_of(say(stack, sender, "not sure if my partner can come too"))
    assert any("foster carers" in t for t in texts) and texts[-1].startswith("Some parents like extra support")
    texts = texts_of(say(stack, sender, "Not sure"))
    assert not texts[-1].startswith("Some parents like extra support")
    for text in ["no", "yes I agree"]:
        texts = texts_of(say(stack, sender, text))
    summary = "\n".join(texts)
    assert "Sam" in summary and "I'm Sam" not in summary and "feeling closer to him" in summary
    assert "partner" not in summary
