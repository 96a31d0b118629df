"""The gate between the tests and the world: what a process started by a test may see."""
from __future__ import annotations

import pytest

from tests.environment import UnsafeTestEnvironment, check_harmless, process_env, scrub

DEPLOYERS_SHELL = {
    "SMTP_HOST": "smtp.nhs.net",
    "SMTP_PASSWORD": "a-real-password",
    "TELEGRAM_BOT_TOKEN": "123456:REAL-token-abcdefghijklmnop",
    "REFERRAL_EMAIL_TO": "the.team@nhs.net",
    "DATABASE_URL": "postgresql://cosp:pw@db.trust.nhs.uk/cosp",
    "AWS_SECRET_ACCESS_KEY": "anything else in the shell",
}


def test_a_started_process_never_sees_the_deployers_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in DEPLOYERS_SHELL.items():
        monkeypatch.setenv(name, value)

    env = process_env(COSP_VAR_DIR="/tmp/x")

    assert not set(DEPLOYERS_SHELL) - {"REFERRAL_EMAIL_TO"} & set(env)
    assert env["REFERRAL_EMAIL_TO"] == "staff@example.org"
    assert env["COSP_ENV_FILE"] == "/dev/null"  # nor the repository's .env
    assert env["RASA_TELEMETRY_ENABLED"] == "false"


@pytest.mark.parametrize("settings, named", [
    ({"SMTP_HOST": "smtp.nhs.net"}, "SMTP_HOST"),
    ({"REFERRAL_EMAIL_TO": "the.team@nhs.net"}, "REFERRAL_EMAIL_TO"),
    ({"TELEGRAM_BOT_TOKEN": "123456:REAL-token-abcdefghijklmnop"}, "TELEGRAM_BOT_TOKEN"),
    ({"TELEGRAM_BOT_TOKEN": "123456:REAL-token-abcdefghijklmnop",
      "TELEGRAM_API_BASE_URL": "https://api.telegram.org/bot"}, "TELEGRAM_BOT_TOKEN"),
    ({"DATABASE_URL": "postgresql://cosp@db.trust.nhs.uk/cosp"}, "DATABASE_URL"),
    ({"REDIS_URL": "redis://cache.trust.nhs.uk:6379/1"}, "REDIS_URL"),
])
def test_anything_that_could_reach_a_real_person_or_server_is_refused(settings: dict, named: str) -> None:
    with pytest.raises(UnsafeTestEnvironment, match=named):
        process_env(**settings)


def test_loopback_servers_and_example_addresses_are_allowed() -> None:
    check_harmless(process_env(SMTP_HOST="127.0.0.1", TELEGRAM_BOT_TOKEN="1:x" * 3,
                               TELEGRAM_API_BASE_URL="http://127.0.0.1:8081/bot", REDIS_URL="redis://127.0.0.1:1/1",
                               DATABASE_URL="postgresql://postgres@127.0.0.1:5433/t", REFERRAL_EMAIL_TO="a@example.org"))


def test_a_stack_refuses_to_start_a_process_with_a_real_smtp_server(tmp_path) -> None:
    from tests.support import Stack

    stack = Stack(tmp_path)
    with pytest.raises(UnsafeTestEnvironment, match="SMTP_HOST"):
        stack.start("worker", ["true"], SMTP_HOST="smtp.nhs.net")
    assert stack.procs == {}


def test_scrub_clears_our_settings_from_the_test_process() -> None:
    environ = {**DEPLOYERS_SHELL, "PATH": "/usr/bin", "HOME": "/root"}
    removed = scrub(environ)
    assert set(removed) == set(DEPLOYERS_SHELL) - {"AWS_SECRET_ACCESS_KEY"}
    assert environ["COSP_ENV_FILE"] == "/dev/null" and environ["PATH"] == "/usr/bin"
