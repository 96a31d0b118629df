"""One check per referral question. Each takes the text a person typed (or tapped) and
returns Valid(normalised value) or Invalid(reason). Plain Python: no Rasa here."""
from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Callable, Dict, Optional

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from actions.referral import choices
from actions.referral.ages import AgeProblem, is_eligible, is_unborn, parse_child_age
from actions.referral.result import Checked, Invalid, Valid

MAX_NAME = 100
MAX_SHORT_TEXT = 200
MAX_FREE_TEXT = 2000

_UK_POSTCODE = re.compile(r"^(GIR ?0AA|[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2})$")
_MARKUP = re.compile(r"<[^>]*>|[<>{}\[\]\\]|^/")


def clean(text: Optional[str]) -> str:
    """Normalises Unicode, drops control characters and trims spaces; keeps every script and emoji."""
    text = unicodedata.normalize("NFC", text or "")
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C")
    return re.sub(r"[ \t]+", " ", text).strip()


def _has_letter(text: str) -> bool:
    return any(unicodedata.category(ch).startswith("L") for ch in text)


def check_name(text: str) -> Checked:
    value = clean(text)
    if not value:
        return Invalid("name_empty")
    if len(value) > MAX_NAME:
        return Invalid("name_too_long")
    if "\n" in value or _MARKUP.search(value) or re.search(r"\d|@|https?:|www\.|\?|^[=+\-]", value) or not _has_letter(value):
        return Invalid("name_format")  # ^[=+-]: a spreadsheet formula is nobody's name
    return Valid(value)


_NAME_LEAD = re.compile(
    r"^(?:(?:hi|hello|hiya|hey)\b[,!. ]*)?"
    r"(?:my name is|my name's|my names|name is|name's|it's|it is|this is|i'm called|i am called|call me|i'm|i am|(?-i:im))\s+"
    r"(?!(?:his|her|their|the|a|an|not|just|so|ok|okay|fine|good|here|sure|unsure|struggling|mum|dad)\b)"
    r"(.+?)[.!]*$",
    re.IGNORECASE,
)


def name_in(text: str) -> str:
    """'I'm Sam', 'my name is Sam Example', 'it's Sam' -> the name alone; anything else unchanged."""
    value = clean(text)
    said = _NAME_LEAD.match(value.replace("’", "'"))
    return said.group(1) if said else value


def check_short_text(text: str) -> Checked:
    """A role or an organisation: a line of ordinary text."""
    value = clean(text)
    if not value or not _has_letter(value):
        return Invalid("text_empty")
    if len(value) > MAX_SHORT_TEXT or "\n" in value:
        return Invalid("text_too_long")
    if _MARKUP.search(value):
        return Invalid("text_markup")
    return Valid(value)


def check_free_text(text: str) -> Checked:
    value = clean(text)
    if not value or not (_has_letter(value) or any(unicodedata.category(c) == "So" for c in value)):
        return Invalid("help_empty")
    if len(value) > MAX_FREE_TEXT:
        return Invalid("help_too_long")
    if value.startswith("/"):
        return Invalid("help_empty")  # a forced intent such as /inform{...} is not an answer
    return Valid(value)


def check_uk_phone(text: str) -> Checked:
    value = clean(text)
    digits = re.sub(r"[^\d+]", "", value)
    if not value or len(value) > 40 or not re.fullmatch(r"[\d\s()+\-.]+", value):
        return Invalid("phone_format")
    try:
        number = phonenumbers.parse(digits, "GB")
    except phonenumbers.NumberParseException:
        return Invalid("phone_format")
    if phonenumbers.region_code_for_number(number) not in {"GB", "GG", "JE", "IM"} and number.country_code != 44:
        return Invalid("phone_not_uk")
    if not phonenumbers.is_valid_number(number):
        return Invalid("phone_format")
    return Valid(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def format_phone(e164: str) -> str:
    """'+447700900123' -> '07700 900123' for people to read."""
    number = phonenumbers.parse(e164, "GB")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)


def check_email(text: str) -> Checked:
    value = clean(text)
    if not value or len(value) > 254 or " " in value or "\n" in value:
        return Invalid("email_format")
    try:
        result = validate_email(value, check_deliverability=False)
    except EmailNotValidError:
        return Invalid("email_format")
    return Valid(result.normalized)


def check_phone_or_email(text: str) -> Checked:
    value = clean(text)
    if "@" in value:
        checked = check_email(value)
    else:
        checked = check_uk_phone(value)
    return checked if isinstance(checked, Valid) else Invalid("work_contact_format")


def check_postcode(text: str) -> Checked:
    value = re.sub(r"\s+", "", clean(text).upper())
    if not _UK_POSTCODE.match(value):
        return Invalid("postcode_format")
    return Valid(f"{value[:-3]} {value[-3:]}")


def check_child_age(text: str, today: date, limit_months: Optional[int] = None) -> Checked:
    """Valid(description) for an eligible child; Invalid('child_unborn' | 'child_too_old' | age re-ask).
    The age limit is the service profile's (age_limit_months) unless given."""
    value = clean(text)
    if is_unborn(value):
        return Invalid("child_unborn")
    try:
        age = parse_child_age(value, today)
    except AgeProblem as problem:
        return Invalid(problem.reason)
    if limit_months is None:
        from bot import service_profile  # it checks its phone and email with this module

        limit_months = service_profile.current().age_limit_months
    if not is_eligible(age, limit_months):
        return Invalid("child_too_old")
    return Valid(age.describe())


def choice_checker(choice_set: choices.ChoiceSet) -> Callable[[str], Checked]:
    def check(text: str) -> Checked:
        key = choice_set.match(clean(text))
        return Valid(key) if key else Invalid(choice_set.invalid_reason)

    return check


ENDS_REFERRAL = {"child_unborn", "child_too_old"}  # answers that mean this group can't be offered here


_WANTS_TO_PHONE = re.compile(
    r"\b(i'?d|id|i would) (rather|prefer to|prefer|like to) (just )?(phone|call|ring|speak to someone|talk to someone)\b|"
    r"\bcan i (just )?(phone|call|ring)\b|\bi'?ll (just )?(phone|call|ring)\b|"
    r"\b(this is|it'?s|its) (too long|taking too long)\b|\bcan i (speak|talk) to (a person|someone|a human)\b",
    re.IGNORECASE,
)


def wants_to_phone(text: str) -> bool:
    """'I'd prefer to phone', 'can I just call', 'this is too long': leave the form for the phone."""
    return bool(_WANTS_TO_PHONE.search(clean(text)))
