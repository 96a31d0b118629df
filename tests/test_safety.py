"""The risk-phrase safety net, held to wordings written apart from it."""
from pathlib import Path

import pytest

from bot.safety import is_risk

DATA = Path(__file__).parent / "data"
RISK = [l.strip() for l in (DATA / "risk_messages.txt").read_text().splitlines() if l.strip()]
NOT_RISK = [l.strip() for l in (DATA / "non_risk_messages.txt").read_text().splitlines() if l.strip()]


@pytest.mark.parametrize("message", RISK)
def test_every_risk_wording_is_caught_without_the_classifier(message):
    assert is_risk(message)


@pytest.mark.parametrize("message", NOT_RISK)
def test_ordinary_messages_are_not_alarms(message):
    assert not is_risk(message)


@pytest.mark.parametrize("message", ["MY BABY ISN’T BREATHING", "i shook him", "took 30 paracetamol, too many pills",
                                     "i want to hurt my baby", "he hits me", "i cant cope"])
def test_case_curly_quotes_and_short_forms(message):
    assert is_risk(message)
