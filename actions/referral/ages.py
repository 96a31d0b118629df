"""Reading a child's age or date of birth as a parent would type it."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Optional

from dateutil import parser as date_parser
from dateutil.relativedelta import relativedelta


_NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
    "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17,
    "eighteen": 18, "nineteen": 19, "twenty": 20,
}
_UNIT_MONTHS = {"day": 1 / 30.44, "week": 12 / 52.18, "month": 1.0, "year": 12.0}
_UNBORN = re.compile(
    r"\b(pregnant|expecting|unborn|antenatal|bump|due)\b|weeks? gestation"
    r"|\bnot (yet )?(been )?born|\b(isn'?t|isnt|hasn'?t|hasnt|has not|is not|aren'?t|arent) (yet )?(been )?born"
    r"|\byet to be born",
)
_UNITS = r"(?P<unit>days?|weeks?|wks?|months?|mths?|mos?|years?|yrs?|[dwmy])\b"
_QUANTITY = re.compile(
    r"\b(?:(?P<digits>\d+(?:\.\d+)?)(?P<half1>\s*(?:and a half|½))?\s*"
    r"|(?P<word>" + "|".join(_NUMBER_WORDS) + r")(?P<half2>\s+and a half)?\s+)" + _UNITS,
)
_UNIT_ALIASES = {"d": "day", "w": "week", "wk": "week", "m": "month", "mth": "month", "mo": "month", "y": "year", "yr": "year"}


@dataclass(frozen=True)
class ChildAge:
    months: float
    date_of_birth: Optional[date] = None

    def describe(self) -> str:
        if self.months < 0.23:
            days = round(self.months * 30.44)
            text = f"{days} day{'s' if days != 1 else ''}"
        elif self.months < 3:
            weeks = round(self.months * 52.18 / 12)
            text = f"{weeks} week{'s' if weeks != 1 else ''}"
        elif self.months < 24 or self.months % 12:
            whole = int(self.months)
            text = f"{whole} month{'s' if whole != 1 else ''}"
        else:
            years = int(self.months // 12)
            text = f"{years} year{'s' if years != 1 else ''}"
        if self.date_of_birth:
            return f"{text} (born {self.date_of_birth.strftime('%d/%m/%Y')})"
        return text


class AgeProblem(Exception):
    """Why an answer is not a usable age; `reason` names the re-ask response."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def is_unborn(text: str) -> bool:
    return bool(_UNBORN.search(text.lower()))


def parse_child_age(text: str, today: date) -> ChildAge:
    """Returns the child's age; raises AgeProblem('age_unit' | 'age_future' | 'age_implausible' | 'age_format')."""
    cleaned = " ".join(text.lower().replace(",", " ").split())
    if not cleaned:
        raise AgeProblem("age_format")
    if re.fullmatch(r"\d+(\.\d+)?", cleaned):
        raise AgeProblem("age_unit")  # "3": months or years? ask, don't guess
    half_only = re.fullmatch(r"(a )?(year and a half|half a year|six months)", cleaned)
    if half_only:
        return ChildAge(18.0 if "year and" in cleaned else 6.0)
    total = 0.0
    found = False
    for m in _QUANTITY.finditer(cleaned):
        value = float(m.group("digits")) if m.group("digits") else float(_NUMBER_WORDS[m.group("word")])
        if m.group("half1") or m.group("half2"):
            value += 0.5
        unit = m.group("unit")
        unit = unit[:-1] if len(unit) > 2 and unit.endswith("s") else unit
        unit = _UNIT_ALIASES.get(unit, unit)
        total += value * _UNIT_MONTHS[unit]
        found = True
    if not found:
        bare_half = re.fullmatch(r"(\d+|one|two|three|four|five)\s+and a half", cleaned)
        if bare_half:
            if bare_half.group(1) in {"1", "one"}:
                return ChildAge(18.0)  # "one and a half" means years when no unit is given
            raise AgeProblem("age_unit")
        dob = _parse_date(cleaned)
        if dob is None:
            raise AgeProblem("age_format")
        if dob > today:
            raise AgeProblem("age_future")
        months = relativedelta(today, dob).years * 12 + relativedelta(today, dob).months + relativedelta(today, dob).days / 30.44
        if months > 18 * 12:
            raise AgeProblem("age_implausible")
        return ChildAge(months, dob)
    if total > 18 * 12:
        raise AgeProblem("age_implausible")
    return ChildAge(total)


def _parse_date(text: str) -> Optional[date]:
    if not re.search(r"\d", text):
        return None
    if not re.search(r"[/\-.]|\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)", text):
        return None
    text = re.sub(r"\b(born( on)?|dob|date of birth|on|the|is|he was|she was|they were|was)\b", " ", text)
    text = re.sub(r"(\d)(st|nd|rd|th)\b", r"\1", text)
    try:
        iso = re.search(r"\b\d{4}-\d{1,2}-\d{1,2}\b", text)
        parsed = date_parser.parse(iso.group(0), yearfirst=True) if iso else date_parser.parse(text, dayfirst=True)
    except (ValueError, OverflowError):
        return None
    return parsed.date()


def is_eligible(age: ChildAge, limit_months: int) -> bool:
    return age.months < limit_months + 1  # "up to 2": a child who has just turned 2 is still welcome
