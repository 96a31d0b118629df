"""Hypothesis strategies for messages people (and attackers) type into the assistant.

Two kinds of conversation:
- scripted: a referral answered question by question with valid-looking answers, the next question
  worked out with the form's own rules (`take_answer`, `required_slots`), and hostile messages
  slipped in between, so conversations get deep into the form (consent, summary, changes, sending);
- random: nothing but hostile and random messages.

Personal data is sent only as distinctive markers, so the logs can be searched for it afterwards.
Markers typed inside a forced-intent message ("/inform{...}", anything starting with "/") are a
separate set (SLASH_MARKERS) from the ones typed as ordinary answers (PLAIN_MARKERS), so a leak
can be traced to the kind of message that caused it.
"""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, List, Sequence

import yaml
from hypothesis import strategies as st

from actions.referral import choices, questions as q
from actions.referral.form import take_answer

ROOT = Path(__file__).resolve().parent.parent
MAX_MESSAGES = 40
MAX_LONG = 10_000

# --- personal data markers: (what is sent, what to look for in the logs, case-insensitively) ---
PLAIN_NAME = "Zebedee Quixtar"
PLAIN_PHONE = "07811 654321"  # "07911 654321" is not a valid UK number, so the form would never take it
PLAIN_POSTCODE = "DN34 5QX"  # not DN31 1HU: that one is in the assistant's own example text
PLAIN_EMAIL = "zebedee.quixtar@example.org"
PLAIN_HELP = "Marmalade-Heron feeding worries"
PLAIN_MARKERS: Dict[str, Sequence[str]] = {
    PLAIN_NAME: ("Zebedee", "Quixtar"),
    PLAIN_PHONE: ("7811 654321", "7811654321"),
    PLAIN_POSTCODE: ("DN34 5QX", "DN345QX"),
    PLAIN_EMAIL: ("zebedee.quixtar@", "zebedee.quixtar"),
    PLAIN_HELP: ("Marmalade-Heron", "Marmalade"),
}

SLASH_NAME = "Ottoline Brackwater"
SLASH_PHONE = "07700 900987"
SLASH_POSTCODE = "HU17 9QZ"
SLASH_EMAIL = "ottoline.brackwater@example.net"
SLASH_MARKERS: Dict[str, Sequence[str]] = {
    SLASH_NAME: ("Ottoline", "Brackwater"),
    SLASH_PHONE: ("900987",),
    SLASH_POSTCODE: ("HU17 9QZ", "HU179QZ"),
    SLASH_EMAIL: ("brackwater",),
}


def is_forced_intent(message: str) -> bool:
    """What Rasa's RegexMessageHandler treats as a forced intent (it strips, then looks for "/")."""
    return message.strip().startswith("/")


# --- what the assistant offers as buttons ---
def _domain_payloads() -> List[str]:
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    payloads = set()
    for variations in (domain.get("responses") or {}).values():
        for variation in variations or []:
            for button in variation.get("buttons") or []:
                payloads.add(str(button["payload"]))
    return sorted(payloads)


BUTTON_PAYLOADS: List[str] = sorted(
    set(_domain_payloads())
    | {b["payload"] for cs in (choices.CONSENT, choices.REVIEW) for b in choices.buttons(cs)}
    | set(q.CHANGEABLE.values())
)

# --- valid-looking answers for each question (they may still be refused: that is the form's call) ---
_DOB = (date.today() - timedelta(days=200)).strftime("%d/%m/%Y")
ANSWERS: Dict[str, List[str]] = {
    q.REFERRER_TYPE: ["Myself or my family", "Myself or my family", "A professional", "myself", "I'm a health visitor"],
    q.REFERRER_NAME: [PLAIN_NAME, "Dr Ngozi Okafor", "Siân O'Brien-Smith"],
    q.REFERRER_ROLE: ["Health visitor", "Social worker", "GP", "مرشدة صحية"],
    q.REFERRER_ORGANISATION: ["Navigo", "NHS North East Lincolnshire", "Family Hub 🏠"],
    q.REFERRER_CONTACT: [PLAIN_PHONE, PLAIN_EMAIL, "0113 496 0123", "+44 7811 654321"],
    q.FAMILY_AGREED: ["Yes, they agreed", "Yes, they agreed", "they agreed", "No, not yet"],
    q.CAREGIVER_NAME: [PLAIN_NAME, "Zofia Exampleńska", "زينب الحسن", "José Ñúñez", "李小龙", "Anne-Marie 😊"],
    q.RELATIONSHIP: ["Parent", "Foster carer", "Grandparent", "Other", "I'm his nan", "mum"],
    q.CHILD_AGE: ["18 months", "11 weeks", "1 year", "3 months", "a year and a half", _DOB, "Not born yet", "5 years"],
    q.HELP_WITH: [PLAIN_HELP, "feeling closer to my baby 🌙", "help with <b>settling</b> at night", "sleep?"],
    q.PHONE: [PLAIN_PHONE, "+44 7811 654321", "(07811) 654-321", "0113 496 0123", "No phone", "No phone"],
    q.EMAIL: [PLAIN_EMAIL, "Skip", "Skip", "ZEBEDEE.QUIXTAR@EXAMPLE.ORG"],
    q.PREFERRED_CONTACT: ["Phone call", "Text message", "Email", "ring me"],
    q.SAFE_TO_LEAVE_MESSAGE: ["Yes, that's fine", "No, please don't"],
    q.POSTCODE: [PLAIN_POSTCODE, "dn34 5qx", "DN345QX", "SW1A 1AA"],
    q.EXTRA_SUPPORT: ["Yes, please", "No, thanks", "Not sure"],
    q.ACCESS_NEEDS: ["No, none", "No, none", "Interpreter", "Disability or accessibility", "Something else",
                     "I need a Polish interpreter"],
    q.ACCESS_NEEDS_DETAILS: ["Polish interpreter please", "wheelchair access", "BSL 🤟"],
    q.CONSENT: ["Yes, I agree", "Yes, I agree", "Yes, I agree", "No"],
    q.REVIEW: ["Send referral", "Send referral", "Send referral", "Change an answer"],
    q.FIELD_TO_CHANGE: list(q.CHANGEABLE.values()),
}
VALID_LOOKING = sorted({a for answers in ANSWERS.values() for a in answers})
START = ["I'd like to make a referral", "I'd like to make a referral", "/start_referral", "Make a referral",
         "I'm a health visitor and want to refer a family"]

# --- hostile messages ---
_ANY_CHAR = st.characters(blacklist_categories=("Cs",))  # all of Unicode but lone surrogates (not valid UTF-8)
_CONTROL = st.characters(whitelist_categories=("Cc", "Cf", "Zl", "Zp", "Co", "Cn"), blacklist_categories=("Cs",))

EMOJI_RTL = [
    "👶🏽🍼💤", "🏳️‍🌈👨‍👨‍👧", "👩‍👩‍👦‍👦" * 20, "مرحبا، أريد إحالة", "שלום, אני רוצה להפנות", "\u202eevil\u202c",
    "\u202egnp.exe", "Z̸̡̢̛͔̞a̴̧͎l̵̨̛g̶o̵", "ｆｕｌｌｗｉｄｔｈ", "\ufeffbom", "\u200b\u200c\u200d", "𝕳𝖊𝖑𝖑𝖔", "🇬🇧" * 50,
]
MARKUP = [
    "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "\"><svg/onload=alert(1)>",
    "{{7*7}}", "${7*7}", "{% raw %}", "<b>bold</b>", "[click](javascript:alert(1))", "&lt;script&gt;",
    "<a href='http://evil.example'>help</a>", "]]><!--", "\\u0000", "%00", "../../../../etc/passwd",
]
SQL = [
    "'; DROP TABLE events; --", "' OR '1'='1", "1; DELETE FROM referrals", "\" OR 1=1 --",
    "Robert'); DROP TABLE referrals;--", "UNION SELECT data FROM events",
    "%' AND 1=0 UNION SELECT sql FROM sqlite_master --",
]
HEADERS = [
    "x\r\nBcc: victim@example.com", "hello\r\n\r\n<html>injected</html>", "Subject: hi\nTo: a@b.c",
    "a\rb\nc\r\nd", "name@example.org\r\nBcc: evil@example.com", "\n\n\n", "%0d%0aSet-Cookie: a=b",
]
FORMULAS = [
    '=HYPERLINK("http://evil.example","click")', "=cmd|' /C calc'!A0", "+SUM(1+1)", "@SUM(1)", "-2+3",
    "=1+1", '=IMPORTXML("http://evil.example","//a")', "=SUM(A)", "\t=1+1",
]
SAFETY = ["I want to hurt my baby", "I can't cope, I want to end it all", "my baby won't wake up"]
PROGRAMME = ["What is COSP?", "who is it for", "why do you ask?", "why", "stop", "help", "hi", "thanks", "bye",
             "are you a bot?", "delete my data", "yes", "no", "withdraw my referral", "how is my referral going",
             "Yes", "No", "ok"]
FORCED = [
    '/inform{"phone":"x"}', "/affirm", "/deny", "/restart", "/start_referral", '/inform{"review":"send"}', "/stop",
    '/inform{"consent":"yes"}', "/back", "/session_start", "/nlu_fallback", "/safety_risk", "/delete_my_data",
    "/withdraw_referral", "/referral_status", "/why_ask", "/greet@0.1", "/affirm@2.0", "/affirm@x{}", "/inform[1,2]",
    '/inform{"requested_slot":"review"}', '/inform{"review":"send","consent":"yes"}', "/", "/{}", "//", "/ ",
    '/start_referral{"referrer_type":"professional"}', "/action_submit_referral", "/utter_referral_sent",
    f'/inform{{"phone":"{SLASH_PHONE}"}}', f'/inform{{"caregiver_name":"{SLASH_NAME}"}}',
    f'/inform{{"postcode":"{SLASH_POSTCODE}","email":"{SLASH_EMAIL}"}}', f"/{SLASH_NAME}",
    f'/inform{{"phone":"{SLASH_PHONE}"', f"/start_referral {SLASH_EMAIL}",
]
INTENT_NAMES = ["inform", "affirm", "deny", "start_referral", "stop", "restart", "greet", "review", "not_an_intent",
                "session_start", "back", "ask_what_is_cosp", "delete_my_data"]

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(_ANY_CHAR, max_size=20)
    | st.sampled_from([SLASH_NAME, SLASH_PHONE, SLASH_POSTCODE, "send", "yes", "change"]),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(q.REFERRAL_SLOTS + ["requested_slot", "x", ""]) | st.text(max_size=8),
                      children, max_size=4),
    max_leaves=8,
)


def forced_intent_with_json() -> st.SearchStrategy[str]:
    """A random intent name, an optional confidence, then random JSON (sometimes cut short)."""
    return st.builds(
        lambda intent, confidence, payload, cut: "/" + intent + confidence + (payload[:cut] if cut else payload),
        st.sampled_from(INTENT_NAMES) | st.text(_ANY_CHAR, min_size=1, max_size=12),
        st.sampled_from(["", "", "@0.9", "@1", "@-1", "@1e9", "@"]),
        _json.map(lambda v: json.dumps(v, ensure_ascii=False)),
        st.sampled_from([0, 0, 0, 1, 5, -1]),
    )


def long_text() -> st.SearchStrategy[str]:
    """Long messages, up to MAX_LONG characters, built by repeating a piece (cheap for Hypothesis)."""
    piece = st.text(_ANY_CHAR, min_size=1, max_size=20) | st.sampled_from(
        ["a", "🌙", "é", "مرحبا ", "<b>", "'; --", "18 months ", "\r\n", "interpreter ", "I need an interpreter "])
    return st.builds(lambda p, n, prefix: (prefix + p * (MAX_LONG // len(p) + 1))[:n],
                     piece, st.integers(200, MAX_LONG), st.sampled_from(["", "", "I need an interpreter ", "Parent "]))


def _spiced(base: Sequence[str]) -> st.SearchStrategy[str]:
    """A fixed nasty string, alone or glued to random text."""
    return st.builds(lambda a, b, c: a + b + c,
                     st.sampled_from(["", "", "", "Hi ", "   ", "\n"]),
                     st.sampled_from(list(base)),
                     st.sampled_from(["", "", ""]) | st.text(_ANY_CHAR, max_size=10))


def hostile_message() -> st.SearchStrategy[str]:
    return st.one_of(
        st.text(_ANY_CHAR, max_size=60),
        st.text(_ANY_CHAR, min_size=1, max_size=5),
        st.text(_CONTROL, min_size=1, max_size=20),
        st.builds(lambda a, b: a + b, st.text(_CONTROL, max_size=5), st.sampled_from(VALID_LOOKING)),
        long_text(),
        _spiced(EMOJI_RTL),
        _spiced(MARKUP),
        _spiced(SQL),
        _spiced(HEADERS),
        _spiced(FORMULAS),
        st.sampled_from(SAFETY),
        st.sampled_from(PROGRAMME),
        st.sampled_from(FORCED),
        forced_intent_with_json(),
        st.sampled_from(BUTTON_PAYLOADS),
        st.sampled_from(VALID_LOOKING),
        st.sampled_from(["", " ", "\t", "\u00a0", "\u3000"]),
    )


_PADDING = ["please ", "🌙", "x", "é ", "<b> ", "مرحبا ", "\r\n", "'; -- "]


def answer_variants(answer: str) -> st.SearchStrategy[str]:
    """A valid-looking answer made hostile: padded to thousands of characters, wrapped in markup or
    control characters, shouted, asked as a question."""
    return st.one_of(
        st.builds(lambda pad, n: (answer + " " + pad * (MAX_LONG // len(pad) + 1))[:max(n, len(answer))],
                  st.sampled_from(_PADDING), st.integers(2_001, MAX_LONG)),
        st.builds(lambda c: c + answer, st.text(_CONTROL, min_size=1, max_size=3)),
        st.builds(lambda c: answer + c, st.text(_CONTROL, min_size=1, max_size=3)),
        st.sampled_from([f"<b>{answer}</b>", answer.upper(), answer.lower(), answer + "?", f" \u200b{answer}\u202e ",
                         f"{answer} =HYPERLINK(\"http://evil.example\")", f"{answer}\r\nBcc: evil@example.com"]),
    )


@st.composite
def scripted_conversation(draw) -> List[str]:
    """A referral answered in order (as the form's own rules say it will ask), with noise in between."""
    target = draw(st.integers(5, MAX_MESSAGES))
    messages: List[str] = [draw(st.sampled_from(START))] if draw(st.integers(0, 9)) else []
    values: Dict[str, Any] = {}
    today = date.today()
    now = datetime.now(timezone.utc)
    noise = st.lists(hostile_message(), max_size=3)
    while len(messages) < target:
        if draw(st.integers(0, 2)) == 0:  # a third of the answers come after some noise
            messages += draw(noise)
        slot = next((s for s in q.required_slots(values) if values.get(s) is None), None)
        if slot is None:  # sent (or the form would submit): start again
            values = {}
            messages.append(draw(st.sampled_from(START)))
            continue
        answer = draw(st.sampled_from(ANSWERS[slot]))
        if draw(st.integers(0, 4)) == 0:
            answer = draw(answer_variants(answer))
        messages.append(answer)
        outcome = take_answer(slot, answer, values, today, now)
        values.update(outcome.slots)
        if outcome.ends_referral or values.get(q.REVIEW) == "send":
            values = {}
            if draw(st.booleans()):
                messages.append(draw(st.sampled_from(START)))
    return messages[:MAX_MESSAGES]


def conversations() -> st.SearchStrategy[List[str]]:
    return st.one_of(
        scripted_conversation(),
        scripted_conversation(),
        scripted_conversation(),
        st.builds(lambda start, rest: start + rest,
                  st.sampled_from([[s] for s in START] + [[]]),
                  st.lists(hostile_message(), min_size=5, max_size=MAX_MESSAGES - 1)),
    )


def markers_in(message: str, markers: Dict[str, Sequence[str]]) -> List[str]:
    lowered = message.lower()
    return [m for m, needles in markers.items() if any(n.lower() in lowered for n in needles)]
