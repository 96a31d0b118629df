"""Staff are told when a safety reply was given in the conversation a referral came from: the kinds,
never the words; the consent says so."""
from datetime import datetime, timezone

from actions.delivery.email import build_referral_email
from actions.delivery.telegram_staff import staff_notification
from actions.referral import signposting
from actions.referral.consent import CONSENT_VERSION, consent_text

WORDS = "he grabbed my throat again"


def user(intent, entities=(), text=WORDS):
    return {"event": "user", "text": text, "parse_data": {"intent": {"name": intent}, "entities": list(entities)}}


def test_the_kinds_of_every_safety_reply_in_order_once_each():
    events = [
        user("ask_where", text="where is it"),
        user("safety_risk", [{"entity": "risk_kind", "value": "domestic_abuse"}]),
        {"event": "bot", "text": "..."},
        user("safety_risk", [{"entity": "risk_kind", "value": "not_coping"}]),
        user("safety_risk", [{"entity": "risk_kind", "value": "domestic_abuse"}]),
        user("safety_risk"),  # forced /safety_risk: no kind
    ]
    assert signposting.kinds_signposted(events) == ["domestic_abuse", "not_coping", "unspecified"]


def test_no_safety_reply_no_notice():
    assert signposting.kinds_signposted([user("ask_where")]) == []
    assert signposting.staff_notice([]) == ""


def referral(kinds):
    moment = datetime(2026, 12, 3, 9, 0, tzinfo=timezone.utc)
    return {
        "reference": "COSP-7KQ2M", "referral_type": "self", "created_at": moment, "consent_given_at": moment,
        "answers": [("Parent or caregiver's name", "Sam")], "consent_version": CONSENT_VERSION,
        "consent_text": consent_text("self"), "data": {}, "safety_kinds": kinds,
    }


def test_the_email_and_staff_chat_say_so_with_the_kind_never_the_words(settings):
    for message in (build_referral_email(referral(["domestic_abuse"]), settings).as_string(),
                    staff_notification(referral(["domestic_abuse"]), full_details=False)):
        assert "Safety signposting was given in this conversation" in message.replace("=\n", "")
        assert "domestic abuse" in message.replace("=\n", "")
        assert WORDS not in message
    email = build_referral_email(referral(["domestic_abuse"]), settings)
    assert "Safety" not in email["Subject"]


def test_without_a_safety_reply_neither_mentions_it(settings):
    assert "Safety signposting" not in build_referral_email(referral([]), settings).as_string()
    assert "Safety signposting" not in staff_notification(referral([]), full_details=True)


def test_the_record_carries_the_kinds_and_only_when_there_were_some():
    from actions.referral.submission import build_record
    from tests.test_form import SELF_REFERRAL, TODAY

    flagged = build_record(SELF_REFERRAL, "COSP-ABCDE", "key-1", TODAY, safety_kinds=["not_coping"])
    assert flagged.safety_kinds == ("not_coping",)
    assert build_record(SELF_REFERRAL, "COSP-ABCDE", "key-1", TODAY).safety_kinds == ()


def test_the_consent_tells_the_parent():
    assert "safety" in consent_text("self") and "not what you wrote" in consent_text("professional")


def test_the_store_keeps_the_kinds_beside_the_answers_not_in_them(tmp_path):
    from actions.delivery.migrate import upgrade
    from actions.delivery.store import get_referral, make_engine, save_referral
    from actions.referral.submission import build_record
    from tests.test_form import SELF_REFERRAL, TODAY

    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    upgrade(engine)
    record = build_record(SELF_REFERRAL, "COSP-ABCDE", "key-1", TODAY, safety_kinds=["domestic_abuse"])
    save_referral(engine, record, ("email",))
    stored = get_referral(engine, "COSP-ABCDE")
    assert stored["safety_kinds"] == ["domestic_abuse"]
    assert "domestic_abuse" not in str(stored["answers"]) + str(stored["data"])
