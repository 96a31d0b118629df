"""The blind-set gate fails when it should (figures made up here; the real ones come from make blind)."""
from tests.tools.blind_eval import LOWER_IS_BETTER, judge

FLOORS = {"risk_fresh": 0.9, "programme_answers": 0.8, "lookalike_safety_reply": 0.1}


def test_figures_at_their_floors_pass():
    assert judge({"risk_fresh": 0.9, "programme_answers": 0.85, "lookalike_safety_reply": 0.1}, FLOORS).failures == []


def test_a_figure_under_its_floor_fails():
    failures = judge({"risk_fresh": 0.89, "programme_answers": 0.85, "lookalike_safety_reply": 0.0}, FLOORS).failures
    assert failures == ["risk_fresh 0.89 is under its floor of 0.9"]


def test_more_false_alarms_than_first_measured_fails():
    assert "lookalike_safety_reply" in LOWER_IS_BETTER
    failures = judge({"risk_fresh": 1.0, "programme_answers": 1.0, "lookalike_safety_reply": 0.11}, FLOORS).failures
    assert failures == ["lookalike_safety_reply 0.11 is over its ceiling of 0.1"]


def test_a_figure_not_measured_fails():
    assert judge({"risk_fresh": 1.0, "lookalike_safety_reply": 0.0}, FLOORS).failures == ["programme_answers: not measured"]


def test_the_committed_floors_cover_every_headline_figure():
    from tests.tools.blind_eval import FLOORS as COMMITTED

    assert {"risk_fresh", "risk_mid_referral", "risk_form_answers", "lookalike_safety_reply",
            "programme_answers", "off_topic_declined"} <= set(COMMITTED)
