"""End to end on Telegram: the real bridge (python-telegram-bot), Rasa, action server and worker,
against a fake Telegram Bot API HTTP server on loopback."""
from __future__ import annotations

import email
import email.policy
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, Iterator, Optional

import pytest

from tests.fakes.telegram_api import FakeTelegram
from tests.support import MODEL, QuestionWatch, Stack, free_port, wait_for_port

pytestmark = [
    pytest.mark.needs_model,
    pytest.mark.skipif(not MODEL.exists(), reason="needs the trained model: run `make train`"),
]

TOKEN = "123456:TEST-token-abcdefghijklmnop"
STAFF_CHAT = -1001234
PARENT = 5001
STRANGER = 5002


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[Dict]:
    fake = FakeTelegram().start()
    stack = Stack(
        tmp_path_factory.mktemp("telegram"),
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE_URL=fake.base_url,
        TELEGRAM_STAFF_CHAT_ID=str(STAFF_CHAT),
    )
    try:
        stack.start_assistant()
        stack.start("telegram", [sys.executable, "-m", "bot.telegram"])
        deadline = time.time() + 60
        while not fake.calls("getUpdates") and time.time() < deadline:
            time.sleep(0.2)
        yield {"fake": fake, "stack": stack}
        watch = QuestionWatch()  # every chat here: no referral question three times running
        chats = {message.get("chat_id") for message in fake.sent()}
        asked = {str(chat): watch.check_transcript(str(chat), fake.sent_texts(chat)) for chat in chats}
        assert asked[str(PARENT)] > 0, "the check saw the parent's questions"
    finally:
        stack.stop()
        fake.stop()


class Parent:
    """A person in one private chat, typing and tapping."""

    def __init__(self, fake: FakeTelegram, chat_id: int) -> None:
        self.fake, self.chat_id = fake, chat_id

    def says(self, text: str, expect: str, timeout: float = 30) -> dict:
        start = len(self.fake.sent(self.chat_id))
        self.fake.push_message(self.chat_id, text)
        return self.fake.wait_for_sent(self.chat_id, lambda t, m: expect in (t or ""), timeout, start=start)

    def taps(self, message: dict, title: str, expect: str, timeout: float = 30) -> dict:
        data = next(b["callback_data"] for row in message["reply_markup"]["inline_keyboard"] for b in row if b["text"] == title)
        start = len(self.fake.sent(self.chat_id))
        self.fake.push_callback(self.chat_id, message["message_id"], data)
        return self.fake.wait_for_sent(self.chat_id, lambda t, m: expect in (t or ""), timeout, start=start)


def count_sent(fake: FakeTelegram, chat_id: int, text: str) -> int:
    return sum(text in (t or "") for t in fake.sent_texts(chat_id))


def test_a_referral_typed_and_tapped_reaches_staff_once(world):
    fake, stack = world["fake"], world["stack"]
    parent = Parent(fake, PARENT)
    parent.says("/start", "Hello!")
    assert any("Privacy" in t for t in fake.sent_texts(PARENT))
    who = parent.says("I'd like to make a referral", "Are you referring yourself, or a family you work with?")
    name_q = parent.taps(who, "Myself or my family", "What's your name?")
    # the tapped keyboard is gone and the message shows the answer chosen
    assert fake.message(PARENT, who["message_id"]).get("reply_markup") in (None, {})
    assert "Myself or my family" in fake.message(PARENT, who["message_id"])["text"]
    relationship = parent.says("Zofia Exampleńska", "relationship")
    parent.taps(relationship, "Foster carer", "How old")
    parent.says("11 weeks", "what would you like help with")
    parent.says("help with settling at night", "phone number")
    email_q = parent.says("07911 123456", "email address")
    contact = parent.taps(email_q, "Skip", "prefer the team")
    safe = parent.taps(contact, "Text message", "leave a message")
    parent.taps(safe, "Yes, that's fine", "postcode")
    extra = parent.says("DN31 1HU", "additional sessions")
    access = parent.taps(extra, "No, thanks", "take part")
    consent = parent.taps(access, "No, none", "Do you agree")
    summary = parent.taps(consent, "Yes, I agree", "Please check your answers")
    assert "Zofia Exampleńska" in summary["text"] and "Foster carer" in summary["text"]
    sent = parent.taps(summary, "Send referral", "your referral has been sent")
    reference = sent["text"].split("Your reference is ")[1][:10]

    # tapping the old keyboard again sends nothing a second time: by the reply to the next message
    # (updates are handled one at a time, in order), the tap has been handled
    before = len(fake.sent(PARENT))
    fake.push_callback(PARENT, summary["message_id"], next(
        b["callback_data"] for row in summary["reply_markup"]["inline_keyboard"] for b in row if b["text"] == "Send referral"))
    parent.says("how long is each session", "2 hours")
    assert ["2 hours" in (text or "") for text in fake.sent_texts(PARENT)[before:]] == [True]

    stack.wait_until_delivered(reference, ["email", "telegram"])
    notice = fake.wait_for_sent(STAFF_CHAT, lambda t, m: reference in (t or ""), 30)
    assert "Self-referral" in notice["text"] and "Zofia" not in notice["text"]  # no health data on Telegram
    mail = Path(stack.tmp) / "mail" / f"{reference}.eml"
    body = email.message_from_bytes(mail.read_bytes(), policy=email.policy.default).get_body(("plain",)).get_content()
    assert reference in body and "Zofia Exampleńska" in body and "Foster carer" in body
    assert count_sent(fake, STAFF_CHAT, reference) == 1
    assert len(list((Path(stack.tmp) / "mail").glob("*.eml"))) == 1
    world["reference"] = reference


def test_status_is_told_to_the_parent_only_and_contacted_only_from_the_staff_chat(world):
    fake, reference = world["fake"], world["reference"]
    parent, stranger = Parent(fake, PARENT), Parent(fake, STRANGER)
    parent.says("any news on my referral?", "will be in touch")
    stranger.says("has my referral been received", "can't find a referral made in this chat")
    stranger.says(f"/contacted {reference}", "only for the team's staff chat")
    parent.says("what's happening with my referral", "will be in touch")  # the stranger changed nothing
    start = len(fake.sent(STAFF_CHAT))
    fake.push_message(STAFF_CHAT, f"/contacted {reference}", chat_type="supergroup", user_id=9001)
    fake.wait_for_sent(STAFF_CHAT, lambda t, m: "marked as contacted" in (t or ""), 30, start=start)
    parent.says("any update on my referral", "has been in touch")
    start = len(fake.sent(STAFF_CHAT))
    fake.push_message(STAFF_CHAT, "/referrals", chat_type="supergroup", user_id=9001)
    listing = fake.wait_for_sent(STAFF_CHAT, lambda t, m: "Latest referrals" in (t or ""), 30, start=start)
    assert f"{reference}" in listing["text"] and "contacted" in listing["text"]


def test_repeated_updates_and_other_content_get_one_polite_reply(world):
    fake = world["fake"]
    chat = 5003
    message = fake.build_message(chat, "how many sessions are there")
    update = {"update_id": 990001, "message": message}
    start = len(fake.sent(chat))
    fake.push_update(dict(update))
    fake.push_update(dict(update))
    fake.wait_for_sent(chat, lambda t, m: "6-8" in (t or ""), 30, start=start)
    Parent(fake, chat).says("who runs the groups", "facilitators")  # handled after both copies
    assert count_sent(fake, chat, "6-8") == 1

    sticker = fake.build_message(chat, "")
    sticker.pop("text", None)
    sticker["sticker"] = {"file_id": "s1", "file_unique_id": "u1", "type": "regular", "width": 512, "height": 512,
                          "is_animated": False, "is_video": False}
    fake.push_update({"message": sticker})
    fake.wait_for_sent(chat, lambda t, m: "only read typed messages" in (t or ""), 30)
    fake.push_update({"edited_message": {**fake.build_message(chat, "edited text"), "edit_date": int(time.time())}})
    fake.wait_for_sent(chat, lambda t, m: "can't see changes" in (t or ""), 30)
    fake.push_message(-5555, "/start", chat_type="group")
    fake.wait_for_sent(-5555, lambda t, m: "only chat one to one" in (t or ""), 30)


def test_telegram_failing_for_a_while_loses_and_doubles_nothing(world):
    fake = world["fake"]
    parent = Parent(fake, 5004)
    fake.fail_next("sendMessage", 429, 2, retry_after=1)
    parent.says("what is circle of security", "attachment", timeout=60)
    fake.fail_next("sendMessage", 500, 2)
    parent.says("how long is each session", "2 hours", timeout=60)
    texts = fake.sent_texts(5004)
    assert sum("attachment" in t for t in texts) == 1
    assert sum("2 hours" in t for t in texts) == 1


def test_webhook_mode_refuses_a_forged_request(world, tmp_path):
    fake, stack = world["fake"], world["stack"]
    port = free_port()
    secret = "a-long-webhook-secret-1234"
    stack.start("telegram-webhook", [sys.executable, "-m", "bot.telegram"],
                TELEGRAM_WEBHOOK_URL=f"http://127.0.0.1:{port}", TELEGRAM_WEBHOOK_SECRET=secret,
                TELEGRAM_WEBHOOK_PORT=str(port))
    url = f"http://127.0.0.1:{port}/telegram"
    deadline = time.time() + 60
    while not (fake.webhook or {}).get("url") and time.time() < deadline:
        time.sleep(0.2)
    wait_for_port(port)
    chat = 5005
    forged = {"update_id": 880001, "message": fake.build_message(chat, "how long is each session")}
    assert fake.post_webhook_update(url, forged, secret_token="wrong-secret-0000000") == 403
    assert fake.post_webhook_update(url, {**forged, "update_id": 880002}) == 403
    genuine = {"update_id": 880003, "message": fake.build_message(chat, "what is cosp")}
    assert fake.post_webhook_update(url, genuine, secret_token=secret) == 200
    fake.wait_for_sent(chat, lambda t, m: "attachment" in (t or ""), 30)
    assert [text for text in fake.sent_texts(chat) if "2 hours" in (text or "")] == []  # the forged ones: never answered
    stack.procs["telegram-webhook"].terminate()


def test_no_token_or_personal_data_in_the_logs(world):
    logs = world["stack"].log_text()
    assert "Telegram bridge: long polling" in logs
    for secret in [TOKEN, "Exampleńska", "07911", "DN31"]:
        assert secret not in logs


def test_when_the_assistant_is_down_the_parent_is_told_to_try_again(tmp_path):
    with FakeTelegram() as fake:
        stack = Stack(tmp_path, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_BASE_URL=fake.base_url)
        stack.env["RASA_URL"] = f"http://127.0.0.1:{free_port()}"  # nothing listens there
        stack.start("telegram", [sys.executable, "-m", "bot.telegram"])
        try:
            Parent(fake, 5006).says("what is cosp", "try again in a few minutes", timeout=60)
        finally:
            stack.stop()


def test_only_the_bridge_can_post_as_a_telegram_chat(world):
    import json
    import urllib.error
    import urllib.request

    from bot.bridge_secret import bridge_secret
    from bot.settings import load_settings

    stack = world["stack"]
    url = f"http://127.0.0.1:{stack.rasa_port}/webhooks/telegram_bridge/webhook"
    secret = bridge_secret(load_settings({"COSP_VAR_DIR": str(stack.tmp)}))

    def post(sender: str, authorization: Optional[str]) -> int:
        headers = {"Content-Type": "application/json", **({"Authorization": authorization} if authorization else {})}
        request = urllib.request.Request(url, data=json.dumps({"sender": sender, "message": "hi"}).encode(), headers=headers)
        try:
            return urllib.request.urlopen(request, timeout=30).status
        except urllib.error.HTTPError as error:
            return error.code

    assert post(f"telegram:{PARENT}", None) == 401
    assert post(f"telegram:{PARENT}", "Bearer not-the-secret") == 401
    assert post("web:0123456789abcdef0123456789abcdef", f"Bearer {secret}") == 400
    assert post("telegram:424242", f"Bearer {secret}") == 200


def test_the_running_bridge_keeps_its_heartbeat_for_the_probe(world):
    stack = world["stack"]
    probe = subprocess.run([sys.executable, "-m", "bot.heartbeat", "telegram"], env=stack.env, capture_output=True, text=True)
    assert probe.returncode == 0, probe.stdout
    assert "ok" in probe.stdout
