"""Every referral validator with good and bad input. Plain Python: no Rasa, no model."""
from __future__ import annotations

from datetime import date

import pytest

from actions.referral import choices
from actions.referral import validators as v
from actions.referral.result import Invalid, Valid

TODAY = date(2026, 11, 26)

LONG = "x" * 10_000
SCRIPT = "<script>alert(1)</script>"
FORCED_INFORM = '/inform{"phone":"x"}'


# --- clean -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, cleaned",
    [
        (None, ""),
        ("", ""),
        ("   ", ""),
        ("  Sam\t\t Taylor  ", "Sam Taylor"),
        ("Sam\u0000 Taylor\u200b", "Sam Taylor"),  # control and format characters dropped
        ("Zoe\u0301", "Zoé"),  # NFC: e + combining acute -> é
        ("Sam 😀", "Sam 😀"),
    ],
)
def test_clean_normalises_and_trims_but_keeps_scripts_and_emoji(raw, cleaned) -> None:
    assert v.clean(raw) == cleaned


# --- names -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Sam Taylor", "Sam Taylor"),
        ("  Sam   Taylor ", "Sam Taylor"),
        ("Mary-Jane O'Neil", "Mary-Jane O'Neil"),
        ("Sam 😀 Taylor", "Sam 😀 Taylor"),  # emoji in a name: kept, the name has letters
        ("محمد علي", "محمد علي"),  # Arabic
        ("王小明", "王小明"),  # Chinese
        ("Łucja Wójcik-Żółć", "Łucja Wójcik-Żółć"),  # Polish diacritics
        ("x" * v.MAX_NAME, "x" * v.MAX_NAME),
    ],
)
def test_check_name_accepts(text, expected) -> None:
    assert v.check_name(text) == Valid(expected)


@pytest.mark.parametrize(
    "text, reason",
    [
        ("", "name_empty"),
        ("   ", "name_empty"),
        ("x" * (v.MAX_NAME + 1), "name_too_long"),
        (LONG, "name_too_long"),
        ("😀😀", "name_format"),  # emoji only: no letter
        (SCRIPT, "name_format"),
        (FORCED_INFORM, "name_format"),
        ("Sam2", "name_format"),
        ("sam@example.com", "name_format"),
        ("www.example.com", "name_format"),
        ("Sam\nTaylor", "name_format"),
        ("What is COSP?", "name_format"),
        ("-- '", "name_format"),
    ],
)
def test_check_name_rejects(text, reason) -> None:
    assert v.check_name(text) == Invalid(reason)


# --- short text: role, organisation ---------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Health visitor", "Health visitor"),
        ("  Health   visitor ", "Health visitor"),
        ("Health visitor 😀", "Health visitor 😀"),
        ("أخصائية اجتماعية", "أخصائية اجتماعية"),
        ("社工", "社工"),
        ("Pielęgniarka środowiskowa", "Pielęgniarka środowiskowa"),
        ("Navigo, 0-19 team (Grimsby)", "Navigo, 0-19 team (Grimsby)"),
        ("x" * v.MAX_SHORT_TEXT, "x" * v.MAX_SHORT_TEXT),
    ],
)
def test_check_short_text_accepts(text, expected) -> None:
    assert v.check_short_text(text) == Valid(expected)


@pytest.mark.parametrize(
    "text, reason",
    [
        ("", "text_empty"),
        ("   ", "text_empty"),
        ("😀", "text_empty"),
        ("12345", "text_empty"),
        ("x" * (v.MAX_SHORT_TEXT + 1), "text_too_long"),
        (LONG, "text_too_long"),
        ("Health\nvisitor", "text_too_long"),
        (SCRIPT, "text_markup"),
        (FORCED_INFORM, "text_markup"),
        ("GP [surgery]", "text_markup"),
    ],
)
def test_check_short_text_rejects(text, reason) -> None:
    assert v.check_short_text(text) == Invalid(reason)


# --- free text: help wanted, access needs details -----------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Feeling closer to my baby", "Feeling closer to my baby"),
        ("Bedtimes 😴", "Bedtimes 😴"),
        ("😢😢", "😢😢"),  # emoji only is still something said
        ("التواصل مع طفلي", "التواصل مع طفلي"),
        ("和宝宝更亲近", "和宝宝更亲近"),
        ("Zasypianie, płacz", "Zasypianie, płacz"),
        ("Line one\nline two", "Line one\nline two"),
        (SCRIPT, SCRIPT),  # stored as typed; escaped where it is shown (the email template)
        ("x" * v.MAX_FREE_TEXT, "x" * v.MAX_FREE_TEXT),
    ],
)
def test_check_free_text_accepts(text, expected) -> None:
    assert v.check_free_text(text) == Valid(expected)


@pytest.mark.parametrize(
    "text, reason",
    [
        ("", "help_empty"),
        ("   ", "help_empty"),
        ("123", "help_empty"),
        ("?!", "help_empty"),
        (FORCED_INFORM, "help_empty"),
        ("/start_referral", "help_empty"),
        ("x" * (v.MAX_FREE_TEXT + 1), "help_too_long"),
        (LONG, "help_too_long"),
    ],
)
def test_check_free_text_rejects(text, reason) -> None:
    assert v.check_free_text(text) == Invalid(reason)


# --- UK phone ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, e164",
    [
        ("+44 7911 123456", "+447911123456"),
        ("07911 123456", "+447911123456"),
        ("07911123456", "+447911123456"),
        ("  07911  123456 ", "+447911123456"),
        ("07911-123-456", "+447911123456"),
        ("0044 7911 123456", "+447911123456"),
        ("(0113) 496 0123", "+441134960123"),  # landline
        ("0113 496 0123", "+441134960123"),
        ("020 7946 0958", "+442079460958"),
        ("+44 1481 712345", "+441481712345"),  # Guernsey: a +44 number
    ],
)
def test_check_uk_phone_accepts_and_normalises_to_e164(text, e164) -> None:
    assert v.check_uk_phone(text) == Valid(e164)


@pytest.mark.parametrize(
    "text, reason",
    [
        ("+1 212 555 0100", "phone_not_uk"),
        ("+353 1 234 5678", "phone_not_uk"),
        ("12345", "phone_format"),
        ("07911 12345", "phone_format"),  # one digit short
        ("07911 1234567", "phone_format"),  # one digit too many
        ("", "phone_format"),
        ("   ", "phone_format"),
        (LONG, "phone_format"),
        ("1" * 41, "phone_format"),
        ("📞", "phone_format"),
        ("07911 123456 😀", "phone_format"),
        (SCRIPT, "phone_format"),
        (FORCED_INFORM, "phone_format"),
        ("call me on 07911 123456", "phone_format"),
        ("sam@example.com", "phone_format"),
    ],
)
def test_check_uk_phone_rejects(text, reason) -> None:
    assert v.check_uk_phone(text) == Invalid(reason)


@pytest.mark.parametrize("e164, shown", [("+447911123456", "07911 123456"), ("+441134960123", "0113 496 0123")])
def test_format_phone_shows_the_national_form(e164, shown) -> None:
    assert v.format_phone(e164) == shown


# --- email -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("sam@example.com", "sam@example.com"),
        ("  sam@example.com  ", "sam@example.com"),
        ("sam.taylor+cosp@nhs.net", "sam.taylor+cosp@nhs.net"),
        ("Sam@Example.COM", "Sam@example.com"),  # the domain is lower-cased, the local part kept
        ("łucja@example.pl", "łucja@example.pl"),
    ],
)
def test_check_email_accepts(text, expected) -> None:
    assert v.check_email(text) == Valid(expected)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "sam",
        "sam@",
        "@example.com",
        "sam@example",
        "sam @example.com",
        "sam@exa mple.com",
        "a@b@c.com",
        "sam@example..com",
        "x" * 250 + "@example.com",
        LONG,
        "😀",
        SCRIPT,
        FORCED_INFORM,
    ],
)
def test_check_email_rejects(text) -> None:
    assert v.check_email(text) == Invalid("email_format")


# --- professional's work contact ---------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [("0113 496 0123", "+441134960123"), ("+44 7911 123456", "+447911123456"), ("hv.team@nhs.net", "hv.team@nhs.net")],
)
def test_check_phone_or_email_accepts(text, expected) -> None:
    assert v.check_phone_or_email(text) == Valid(expected)


@pytest.mark.parametrize(
    "text", ["", "   ", "nope", "+1 212 555 0100", "12345", "sam@", LONG, "😀", SCRIPT, FORCED_INFORM]
)
def test_check_phone_or_email_rejects(text) -> None:
    assert v.check_phone_or_email(text) == Invalid("work_contact_format")


# --- postcode ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("dn311hu", "DN31 1HU"),
        ("DN31 1HU", "DN31 1HU"),
        ("  dn31   1hu ", "DN31 1HU"),
        ("SW1A 1AA", "SW1A 1AA"),
        ("EC1A1BB", "EC1A 1BB"),
        ("W1A 0AX", "W1A 0AX"),
        ("M1 1AE", "M1 1AE"),
        ("B33 8TH", "B33 8TH"),
        ("gir0aa", "GIR 0AA"),
    ],
)
def test_check_postcode_accepts_and_formats(text, expected) -> None:
    assert v.check_postcode(text) == Valid(expected)


@pytest.mark.parametrize(
    "text", ["ABC", "12345", "DN31", "DN31 1H", "DN31 1HUU", "", "   ", LONG, "😀", SCRIPT, FORCED_INFORM, "DN31 1HU 😀"]
)
def test_check_postcode_rejects(text) -> None:
    assert v.check_postcode(text) == Invalid("postcode_format")


# --- child's age -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, described",
    [
        ("18 months", "18 months"),
        ("1 and a half", "18 months"),
        ("one and a half", "18 months"),
        ("a year and a half", "18 months"),
        ("1 year 6 months", "18 months"),
        ("1.5 years", "18 months"),
        ("18mths", "18 months"),
        ("11 weeks", "11 weeks"),
        ("3 wks", "3 weeks"),
        ("6 months", "6 months"),
        ("six months", "6 months"),
        ("2 years", "2 years"),  # "up to 2": still eligible
        ("24 months", "2 years"),
        ("12/03/2025", "20 months (born 12/03/2025)"),  # day first, as in the UK
        ("2025-03-12", "20 months (born 12/03/2025)"),  # ISO is year first
        ("03/12/2025", "11 months (born 03/12/2025)"),
        ("12 March 2025", "20 months (born 12/03/2025)"),
        ("born on the 12th March 2025", "20 months (born 12/03/2025)"),
        ("26/11/2024", "2 years (born 26/11/2024)"),  # second birthday today
        ("26/11/2026", "0 days (born 26/11/2026)"),  # born today
    ],
)
def test_check_child_age_accepts_an_eligible_child(text, described) -> None:
    assert v.check_child_age(text, TODAY) == Valid(described)


@pytest.mark.parametrize(
    "text, reason",
    [
        ("3", "age_unit"),  # months or years? ask, don't guess
        ("2.5", "age_unit"),
        ("2 and a half", "age_unit"),
        ("3 years", "child_too_old"),
        ("25 months", "child_too_old"),
        ("2 years 1 month", "child_too_old"),
        ("26/10/2024", "child_too_old"),  # 2 years and 1 month
        ("12/03/2027", "age_future"),
        ("2026-11-27", "age_future"),  # tomorrow
        ("26/11/1996", "age_implausible"),  # 30 years ago
        ("1996-11-26", "age_implausible"),
        ("30 years", "age_implausible"),
        ("", "age_format"),
        ("   ", "age_format"),
        ("not sure", "age_format"),
        (LONG, "age_format"),
        ("👶", "age_format"),
        (SCRIPT, "age_format"),
        (FORCED_INFORM, "age_format"),
        ("32/13/2025", "age_format"),
        ("I'm pregnant", "child_unborn"),
        ("not born yet", "child_unborn"),
        ("Not born yet", "child_unborn"),  # the button
        ("due in March", "child_unborn"),
        ("She's due on 3rd March", "child_unborn"),
        ("we're expecting", "child_unborn"),
        ("unborn", "child_unborn"),
    ],
)
def test_check_child_age_rejects(text, reason) -> None:
    assert v.check_child_age(text, TODAY) == Invalid(reason)


@pytest.mark.parametrize("text", ["not yet born", "she isn't born yet", "he hasn't been born yet"])
def test_check_child_age_other_ways_of_saying_not_born_yet(text) -> None:
    assert v.check_child_age(text, TODAY) == Invalid("child_unborn")


def test_check_child_age_uses_the_given_day_not_the_clock() -> None:
    assert v.check_child_age("26/11/2024", date(2026, 11, 26)) == Valid("2 years (born 26/11/2024)")
    assert v.check_child_age("26/11/2024", date(2027, 11, 26)) == Invalid("child_too_old")
    assert v.check_child_age("26/11/2024", date(2024, 11, 25)) == Invalid("age_future")


def test_ends_referral_reasons() -> None:
    assert v.ENDS_REFERRAL == {"child_unborn", "child_too_old"}


# --- choices: typed and tapped ------------------------------------------------------------------

# (choice set, what was typed or tapped, stored value). Button titles come from domain.yml and choices.py.
CHOICE_CASES = [
    # referrer type
    (choices.REFERRER_TYPE, "Myself or my family", "self"),
    (choices.REFERRER_TYPE, "A professional", "professional"),
    (choices.REFERRER_TYPE, "myself", "self"),
    (choices.REFERRER_TYPE, "for me", "self"),
    (choices.REFERRER_TYPE, "I'm a health visitor", "professional"),
    (choices.REFERRER_TYPE, "I'm referring a family I work with", "professional"),
    # relationship
    (choices.RELATIONSHIP, "Parent", "parent"),
    (choices.RELATIONSHIP, "Foster carer", "foster_carer"),
    (choices.RELATIONSHIP, "Grandparent", "grandparent"),
    (choices.RELATIONSHIP, "Other", "other"),
    (choices.RELATIONSHIP, "I'm his nan", "grandparent"),
    (choices.RELATIONSHIP, "I’m his nan", "grandparent"),  # curly apostrophe, as phones type it
    (choices.RELATIONSHIP, "MUM", "parent"),
    (choices.RELATIONSHIP, "I'm her dad", "parent"),
    (choices.RELATIONSHIP, "foster parent", "foster_carer"),
    (choices.RELATIONSHIP, "grandad", "grandparent"),
    (choices.RELATIONSHIP, "I am the baby's aunt", "other"),
    (choices.RELATIONSHIP, "adoptive parent", "other"),
    # preferred contact
    (choices.PREFERRED_CONTACT, "Phone call", "call"),
    (choices.PREFERRED_CONTACT, "Text message", "text"),
    (choices.PREFERRED_CONTACT, "Email", "email"),
    (choices.PREFERRED_CONTACT, "ring me", "call"),
    (choices.PREFERRED_CONTACT, "by text please", "text"),
    (choices.PREFERRED_CONTACT, "e-mail", "email"),
    # safe to leave a message
    (choices.SAFE_TO_LEAVE_MESSAGE, "Yes, that's fine", "yes"),
    (choices.SAFE_TO_LEAVE_MESSAGE, "No, please don't", "no"),
    (choices.SAFE_TO_LEAVE_MESSAGE, "yep", "yes"),
    (choices.SAFE_TO_LEAVE_MESSAGE, "not safe", "no"),
    # extra support
    (choices.EXTRA_SUPPORT, "Yes, please", "yes"),
    (choices.EXTRA_SUPPORT, "No, thanks", "no"),
    (choices.EXTRA_SUPPORT, "Not sure", "not_sure"),
    (choices.EXTRA_SUPPORT, "maybe", "not_sure"),
    # access needs
    (choices.ACCESS_NEEDS, "No, none", "none"),
    (choices.ACCESS_NEEDS, "Interpreter", "interpreter"),
    (choices.ACCESS_NEEDS, "Disability or accessibility", "disability"),
    (choices.ACCESS_NEEDS, "Something else", "other"),
    (choices.ACCESS_NEEDS, "I need a Polish interpreter", "interpreter"),
    (choices.ACCESS_NEEDS, "wheelchair access", "disability"),
    (choices.ACCESS_NEEDS, "nothing", "none"),
    # consent
    (choices.CONSENT, "Yes, I agree", "yes"),
    (choices.CONSENT, "No", "no"),
    (choices.CONSENT, "I agree", "yes"),
    (choices.CONSENT, "i don't agree", "no"),
    (choices.CONSENT, "I do not agree", "no"),
    # family agreed
    (choices.FAMILY_AGREED, "Yes, they agreed", "yes"),
    (choices.FAMILY_AGREED, "No, not yet", "no"),
    (choices.FAMILY_AGREED, "they have", "yes"),
    # review
    (choices.REVIEW, "Send referral", "send"),
    (choices.REVIEW, "Change an answer", "change"),
    (choices.REVIEW, "looks good", "send"),
    (choices.REVIEW, "I need to change something", "change"),
    # yes/no
    (choices.YES_NO, "Yes", "yes"),
    (choices.YES_NO, "nope", "no"),
]


@pytest.mark.parametrize("choice_set, text, key", CHOICE_CASES)
def test_choice_checker_accepts_typed_and_tapped(choice_set, text, key) -> None:
    assert v.choice_checker(choice_set)(text) == Valid(key)


@pytest.mark.parametrize(
    "choice_set",
    [
        choices.REFERRER_TYPE, choices.RELATIONSHIP, choices.PREFERRED_CONTACT, choices.SAFE_TO_LEAVE_MESSAGE,
        choices.EXTRA_SUPPORT, choices.ACCESS_NEEDS, choices.CONSENT, choices.FAMILY_AGREED, choices.REVIEW,
    ],
)
def test_every_button_title_and_stored_value_is_accepted(choice_set) -> None:
    check = v.choice_checker(choice_set)
    for key, forms in choice_set.options.items():
        assert check(forms[0]) == Valid(key)  # the button
        assert check(forms[0].upper()) == Valid(key)
        assert check(key) == Valid(key)  # the stored value, checked again before sending


@pytest.mark.parametrize(
    "choice_set",
    [
        choices.REFERRER_TYPE, choices.RELATIONSHIP, choices.PREFERRED_CONTACT, choices.SAFE_TO_LEAVE_MESSAGE,
        choices.EXTRA_SUPPORT, choices.ACCESS_NEEDS, choices.CONSENT, choices.FAMILY_AGREED, choices.REVIEW,
    ],
)
@pytest.mark.parametrize("text", ["", "   ", LONG, "😀", SCRIPT, "/affirm", "banana"])
def test_choice_checker_rejects_with_the_sets_reason(choice_set, text) -> None:
    assert v.choice_checker(choice_set)(text) == Invalid(choice_set.invalid_reason)


@pytest.mark.parametrize(
    "choice_set", [choices.REFERRER_TYPE, choices.RELATIONSHIP, choices.ACCESS_NEEDS, choices.CONSENT]
)
def test_choice_checker_rejects_a_forced_inform_naming_another_slot(choice_set) -> None:
    assert v.choice_checker(choice_set)(FORCED_INFORM) == Invalid(choice_set.invalid_reason)


@pytest.mark.parametrize(
    "choice_set, text",
    [
        (choices.PREFERRED_CONTACT, FORCED_INFORM),
        (choices.CONSENT, '/inform{"consent":"yes"}'),
        (choices.FAMILY_AGREED, '/inform{"family_agreed":"yes"}'),
        (choices.REVIEW, '/inform{"review":"send"}'),
    ],
)
def test_choice_checker_rejects_a_forced_inform(choice_set, text) -> None:
    assert v.choice_checker(choice_set)(text) == Invalid(choice_set.invalid_reason)


def test_buttons_offer_the_first_form_of_each_option() -> None:
    assert choices.buttons(choices.CONSENT) == [
        {"title": "Yes, I agree", "payload": "Yes, I agree"},
        {"title": "No", "payload": "No"},
    ]
    assert [b["title"] for b in choices.buttons(choices.REVIEW)] == ["Send referral", "Change an answer"]


def test_domain_buttons_are_understood_by_their_question(domain_buttons) -> None:
    """Every button the domain offers for a question is a valid answer to that question."""
    from actions.referral.form import _CHECKS

    for slot, titles in domain_buttons.items():
        if slot not in _CHECKS:
            continue  # phone/email/child_age buttons are handled in form.check (skip, "Not born yet")
        for title in titles:
            assert isinstance(_CHECKS[slot](title), Valid), (slot, title)


@pytest.fixture
def domain_buttons():
    from pathlib import Path

    import yaml

    domain = yaml.safe_load((Path(__file__).resolve().parent.parent / "domain.yml").read_text(encoding="utf-8"))
    found = {}
    for name, variants in domain["responses"].items():
        if name.startswith("utter_ask_"):
            slot = name[len("utter_ask_"):]
            found[slot] = [b["payload"] for variant in variants for b in variant.get("buttons", [])]
    return found


# Typed answers that say "no" (or something else): read as what they say, or asked again when
# unclear, but never read as the option they deny.
NEGATION_CASES = [
    (choices.CONSENT, "no I don't agree", "no"),
    (choices.FAMILY_AGREED, "they haven't agreed yet", "no"),
    (choices.FAMILY_AGREED, "no they have not agreed", "no"),
    (choices.SAFE_TO_LEAVE_MESSAGE, "it's not safe", "no"),
    (choices.SAFE_TO_LEAVE_MESSAGE, "that's not fine", "no"),
    (choices.EXTRA_SUPPORT, "I'm not sure", "not_sure"),
    (choices.REVIEW, "that's not correct", "change"),
    (choices.ACCESS_NEEDS, "no I don't need an interpreter", "none"),
    (choices.PREFERRED_CONTACT, "please don't call, text me", "text"),
]


@pytest.mark.parametrize("choice_set, text, key", NEGATION_CASES)
def test_choice_checker_respects_negation(choice_set, text, key) -> None:
    checked = v.choice_checker(choice_set)(text)
    assert checked == Valid(key) or checked == Invalid(choice_set.invalid_reason)


@pytest.mark.parametrize("choice_set, text, denied", [
    (choices.CONSENT, "no I don't agree", "yes"),
    (choices.SAFE_TO_LEAVE_MESSAGE, "that's not fine", "yes"),
    (choices.REVIEW, "that's not correct", "send"),
    (choices.PREFERRED_CONTACT, "please don't call, text me", "call"),
    (choices.FAMILY_AGREED, "they haven't agreed yet", "yes"),
])
def test_a_denied_option_is_never_chosen(choice_set, text, denied) -> None:
    assert v.choice_checker(choice_set)(text) != Valid(denied)


@pytest.mark.parametrize(
    "choice_set, text, key",
    [
        (choices.RELATIONSHIP, "I'm a foster parent", "foster_carer"),
        (choices.RELATIONSHIP, "I'm her foster mum", "foster_carer"),
        (choices.RELATIONSHIP, "I'm an adoptive parent", "other"),
        (choices.REFERRER_TYPE, "I'm a social worker referring a parent", "professional"),
    ],
)
def test_choice_checker_prefers_the_more_specific_option(choice_set, text, key) -> None:
    assert v.choice_checker(choice_set)(text) == Valid(key)


@pytest.mark.parametrize("text", ["=SUM(A)", "=HYPERLINK(\"http://x\",\"Sam\")", "+Sam", "-Sam"])
def test_a_spreadsheet_formula_is_not_a_name(text) -> None:
    assert v.check_name(text) == Invalid("name_format")
