"""Details a parent or professional gives before they are asked ("I'm Sam, my son is 5 months, we're
in DN31 1HU"): each is found, checked exactly as if its question had been asked, and kept, so it is
never asked for. Nothing is guessed: only details with an unmistakable form are taken (a phone number,
an email address, a postcode, an age with its unit, a name after "my name is", a relationship or
role after "I'm his / I'm a"), and a detail that fails its check is simply asked later. Consent is
never taken before its question: the person must see the words they agree to."""
from __future__ import annotations

import re
from datetime import date
from typing import Any, Dict, List, Mapping, Tuple

import phonenumbers

from actions.referral import choices, questions as q
from actions.referral import validators as v
from actions.referral.result import Valid

_EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")
_POSTCODE = re.compile(r"\b([A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2})\b", re.IGNORECASE)
_AGE = re.compile(
    r"\b(\d{1,2}(?:\.\d)?\s*(?:weeks?|wks?|months?|mths?|mnths?|years?|yrs?)(?:\s+old)?|"
    r"(?:born|dob|d\.o\.b\.?|date of birth)\s*:?\s*(?:on\s+)?\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4})",
    re.IGNORECASE,
)
_NAME = re.compile(
    r"\b(?:my name is|my name's|name is|name's|i am called|i'm called|im called|call me|this is)\s+"
    r"([A-Z][\w'-]+(?:\s+[A-Z][\w'-]+){0,2})"
)
_SELF_ROLE = re.compile(r"\b(?:i'm|im|i am)\s+(?:his|her|their|the baby's|baby's|the)\s+([a-z]+(?:\s+[a-z]+)?)", re.IGNORECASE)
_PROFESSIONAL = re.compile(
    r"\b(?:i'm|im|i am)\s+(?:a|an|the)\s+((?:student\s+)?(?:health visitor|social worker|midwife|gp|nurse|"
    r"family support worker|perinatal nurse|practitioner|community nurse|nursery nurse|family hub worker))\b",
    re.IGNORECASE,
)
_ORGANISATION = re.compile(
    r"\b(?:from|at|with)\s+(?:the\s+)?([A-Z][\w&'-]*(?:\s+[A-Z][\w&'-]*){0,5}\s+"
    r"(?i:team|service|practice|surgery|hub|trust|council|centre|center))\b"
)
_FAMILY_NAME = re.compile(
    r"\b(?:refer(?:ring)?|(?:mum|mother|dad|father|parent|carer)(?:'s name is| is called| called| named|:))\s+"
    r"(?:a\s+)?(?:(?:mum|mother|dad|father|parent|carer)\s+)?(?:called\s+|named\s+)?([A-Z][\w'-]+(?:\s+[A-Z][\w'-]+)?)"
)
_FAMILY_MEMBER = re.compile(r"\b(mum|mother|dad|father|foster carer|foster mum|foster dad|grandparent|nan|grandma|grandad)\b", re.IGNORECASE)
_MINE = re.compile(r"\bmy (?:work |own )?(?:number|phone|mobile|email|e-mail|contact)\b[^.\n]{0,25}$", re.IGNORECASE)
_FAMILY_AGREED = re.compile(
    r"\b(?:the family|family|parents?|mum|mom|dad|she|he|they)\s+(?:has|have|is|are)\s+"
    r"(?:agreed|happy|consented|given consent)\b",
    re.IGNORECASE,
)
_HELP_WITH = re.compile(
    r"\b(?:would like (?:some )?(?:help|support) with|wants? (?:some )?(?:help|support) with|needs? (?:some )?(?:help|support) with|"
    r"help with|support with)\s+(.{3,200}?)(?:[.!?\n]|$)",
    re.IGNORECASE,
)


def details_in(text: str, values: Mapping[str, Any], today: date, skip: str = "") -> Dict[str, Any]:
    """{slot: checked value} for each detail in `text` whose question applies, is still unanswered,
    and is not `skip` (the question being answered, which takes the message its own way)."""
    if not isinstance(text, str) or not text.strip() or text.strip().startswith("/"):
        return {}
    text = v.clean(text)
    found: Dict[str, Any] = {}

    def offer(slot: str, value: Any) -> None:
        if slot != skip and slot not in found and values.get(slot) in (None, ""):
            found[slot] = value

    professional = values.get(q.REFERRER_TYPE) == "professional"
    role = _PROFESSIONAL.search(text)
    if role and not values.get(q.REFERRER_TYPE):
        offer(q.REFERRER_TYPE, "professional")
        professional = True
    if professional or found.get(q.REFERRER_TYPE) == "professional":
        if role:
            offer(q.REFERRER_ROLE, role.group(1).strip())
        organisation = _ORGANISATION.search(text)
        if organisation and isinstance(v.check_short_text(organisation.group(1)), Valid):
            offer(q.REFERRER_ORGANISATION, organisation.group(1).strip())
        if _FAMILY_AGREED.search(text):
            offer(q.FAMILY_AGREED, "yes")
    # The question being answered takes its own kind of detail: a landline number typed for the
    # professional's work contact is never also the family's phone.
    takes_phone = skip in (q.PHONE, q.REFERRER_CONTACT)
    takes_email = skip in (q.EMAIL, q.REFERRER_CONTACT)
    takes_name = skip in (q.CAREGIVER_NAME, q.REFERRER_NAME)
    for match in ([] if takes_phone else phonenumbers.PhoneNumberMatcher(text, "GB")):
        checked = v.check_uk_phone(match.raw_string)
        if isinstance(checked, Valid):
            mine = professional and _MINE.search(text[: match.start])
            offer(q.REFERRER_CONTACT if mine else q.PHONE, checked.value)
    for match in ([] if takes_email else _EMAIL.finditer(text)):
        checked = v.check_email(match.group(0))
        if isinstance(checked, Valid):
            mine = professional and _MINE.search(text[: match.start()])
            offer(q.REFERRER_CONTACT if mine else q.EMAIL, checked.value)
    for postcode in _POSTCODE.findall(text)[:1]:
        checked = v.check_postcode(postcode)
        if isinstance(checked, Valid):
            offer(q.POSTCODE, checked.value)
    age = _AGE.search(text)
    if age:
        checked = v.check_child_age(age.group(1), today)
        if isinstance(checked, Valid):
            offer(q.CHILD_AGE, checked.value)
    name = None if takes_name else _NAME.search(text)
    if name:
        checked = v.check_name(name.group(1))
        if isinstance(checked, Valid):
            offer(q.REFERRER_NAME if professional else q.CAREGIVER_NAME, checked.value)
    if professional and not takes_name:
        family = _FAMILY_NAME.search(text)
        family_name = v.check_name(family.group(1)) if family else None
        if isinstance(family_name, Valid):
            offer(q.CAREGIVER_NAME, family_name.value)
        member = _FAMILY_MEMBER.search(text)
        kind = choices.RELATIONSHIP.match(member.group(1)) if member else None
        if kind:
            offer(q.RELATIONSHIP, kind)
    if not professional:
        relation = _SELF_ROLE.search(text)
        kind = choices.RELATIONSHIP.match(relation.group(1)) if relation else None
        if kind:
            offer(q.RELATIONSHIP, kind)
    helped = _HELP_WITH.search(text)
    wanted = v.check_free_text(helped.group(1)) if helped else None
    if isinstance(wanted, Valid):
        offer(q.HELP_WITH, wanted.value)
    asked = set(q.required_slots({**values, **found}))
    return {slot: value for slot, value in found.items() if slot in asked}


def noted(found: Mapping[str, Any]) -> str:
    """The short line that says back what was kept ("" when nothing was)."""
    if not found:
        return ""
    order = [slot for slot in q.LABELS if slot in found]
    shown: List[Tuple[str, str]] = [(q.LABELS[slot], q.display(slot, found[slot])) for slot in order]
    return "Thanks, I've noted:\n" + "\n".join(f"- {label}: {answer}" for label, answer in shown)
