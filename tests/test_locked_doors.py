"""The configuration keeps the doors locked: nothing reachable from outside that could post as a
conversation, read one, or submit a referral."""
from __future__ import annotations

import yaml

from tests.support import ROOT


def procfile() -> dict:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(":", 1) for line in lines if line.strip() and not line.startswith("#"))


def test_production_channels_have_no_plain_rest_channel():
    channels = yaml.safe_load((ROOT / "credentials.prod.yml").read_text())
    assert "rest" not in channels and "callback" not in channels
    assert set(channels) == {"bot.webchat.channel.WebchatInput", "bot.telegram.rasa_channel.TelegramBridgeInput",
                             "bot.health.HealthInput", "bot.metrics.MetricsChannel"}


def test_rasa_and_the_action_server_listen_on_loopback_and_the_http_api_is_off():
    processes = procfile()
    assert "-i 127.0.0.1" in processes["rasa"]
    assert "--enable-api" not in processes["rasa"]
    assert "SANIC_HOST=127.0.0.1" in processes["actions"]


def test_endpoints_take_addresses_from_the_environment_not_from_the_file():
    endpoints = (ROOT / "endpoints.yml").read_text()
    assert "${ACTION_SERVER_URL}" in endpoints and "password" not in endpoints.lower()
