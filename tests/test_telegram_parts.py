"""The Telegram pieces on their own: message splitting, callback data, staff notifications over a
fake Bot API server, and which processes `make run` starts."""
from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timezone

import pytest

from actions.delivery.telegram_staff import TelegramSendFailed, TelegramStaffChannel, staff_notification
from bot.settings import load_settings
from bot.telegram.render import MAX_CALLBACK_BYTES, callback_data, payload_of, split_text
from tests.environment import process_env
from tests.fakes.telegram_api import FakeTelegram
from tests.support import ROOT

TOKEN = "123456:TEST-token-abcdefghijklmnop"
REFERRAL = {
    "reference": "COSP-ABCDE",
    "referral_type": "self",
    "created_at": datetime(2026, 11, 26, 14, 5, tzinfo=timezone.utc),
    "answers": [("Parent or caregiver's name", "_*[]()~`> <b>Sam</b> & co"), ("Postcode", "DN31 1HU")],
}


def test_long_replies_are_split_under_telegrams_limit_without_losing_text():
    text = ("A sentence about the group. " * 400).strip()
    parts = split_text(text)
    assert len(parts) > 1 and all(len(p) <= 4096 for p in parts)
    assert " ".join(parts).split() == text.split()


def test_long_payloads_fit_telegrams_callback_limit():
    store = {}
    for payload in ["Yes, I agree", "x" * 300, "émoji 🙂" * 20]:
        data = callback_data(payload, store)
        assert len(data.encode()) <= MAX_CALLBACK_BYTES
        assert payload_of(data, store) == payload


def test_the_staff_notification_holds_no_answers_by_default():
    text = staff_notification(REFERRAL, full_details=False)
    assert "COSP-ABCDE" in text and "Self-referral" in text
    assert "Sam" not in text and "DN31" not in text


def test_full_details_are_escaped_for_html():
    text = staff_notification(REFERRAL, full_details=True)
    assert "_*[]()~`&gt; &lt;b&gt;Sam&lt;/b&gt; &amp; co" in text
    assert "<b>Sam</b>" not in text


@pytest.fixture
def fake():
    with FakeTelegram() as server:
        yield server


def channel(fake: FakeTelegram, full: str = "false") -> TelegramStaffChannel:
    settings = load_settings({"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": fake.base_url,
                              "TELEGRAM_STAFF_CHAT_ID": "-100777", "TELEGRAM_STAFF_FULL_DETAILS": full})
    return TelegramStaffChannel(settings)


def test_a_name_full_of_markup_characters_arrives_as_written(fake):
    channel(fake, full="true")(REFERRAL)
    sent = fake.sent(-100777)
    assert len(sent) == 1 and sent[0]["parse_mode"] == "HTML"
    assert "&lt;b&gt;Sam&lt;/b&gt;" in sent[0]["text"]


def test_a_429_is_reported_with_how_long_to_wait_and_nothing_sent(fake):
    fake.fail_next("sendMessage", 429, 1, retry_after=7)
    with pytest.raises(TelegramSendFailed) as failure:
        channel(fake)(REFERRAL)
    assert failure.value.code == 429 and failure.value.retry_after == 7
    assert fake.sent(-100777) == []


def test_make_run_starts_the_bridge_only_with_a_token():
    def processes(**env):
        result = subprocess.run([sys.executable, "-m", "bot.processes"], cwd=ROOT, capture_output=True, text=True,
                                env=process_env(TELEGRAM_API_BASE_URL="http://127.0.0.1:9/bot", **env))
        return result.returncode, result.stdout.split(), result.stderr

    code, names, said = processes()
    assert code == 0 and "telegram" not in names and "TELEGRAM_BOT_TOKEN is not set" in said
    code, names, _ = processes(TELEGRAM_BOT_TOKEN=TOKEN)
    assert code == 0 and names == ["rasa", "actions", "worker", "web", "telegram"]
    code, _, said = processes(TELEGRAM_BOT_TOKEN="change-me")
    assert code == 2 and "TELEGRAM_BOT_TOKEN" in said
