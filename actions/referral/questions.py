"""The referral's questions: slot names, the order they are asked in, and what staff see for each."""
from __future__ import annotations

from typing import Any, Dict, List, Mapping, Tuple

from actions.referral import choices

REFERRER_TYPE = "referrer_type"
REFERRER_NAME = "referrer_name"
REFERRER_ROLE = "referrer_role"
REFERRER_ORGANISATION = "referrer_organisation"
REFERRER_CONTACT = "referrer_contact"
FAMILY_AGREED = "family_agreed"
CAREGIVER_NAME = "caregiver_name"
RELATIONSHIP = "relationship"
CHILD_AGE = "child_age"
HELP_WITH = "help_with"
PHONE = "phone"
EMAIL = "email"
PREFERRED_CONTACT = "preferred_contact"
SAFE_TO_LEAVE_MESSAGE = "safe_to_leave_message"
POSTCODE = "postcode"
EXTRA_SUPPORT = "extra_support"
ACCESS_NEEDS = "access_needs"
ACCESS_NEEDS_DETAILS = "access_needs_details"
CONSENT = "consent"
REVIEW = "review"
FIELD_TO_CHANGE = "field_to_change"

NOT_GIVEN = "not given"  # phone or email skipped on purpose

PROFESSIONAL_SLOTS = [REFERRER_NAME, REFERRER_ROLE, REFERRER_ORGANISATION, REFERRER_CONTACT, FAMILY_AGREED]

# Every slot the form fills; reset together when a referral ends.
REFERRAL_SLOTS = [
    REFERRER_TYPE, *PROFESSIONAL_SLOTS, CAREGIVER_NAME, RELATIONSHIP, CHILD_AGE, HELP_WITH, PHONE, EMAIL,
    PREFERRED_CONTACT, SAFE_TO_LEAVE_MESSAGE, POSTCODE, EXTRA_SUPPORT, ACCESS_NEEDS, ACCESS_NEEDS_DETAILS,
    CONSENT, REVIEW, FIELD_TO_CHANGE,
]

# What staff read beside each answer, in the order they read them.
LABELS: Dict[str, str] = {
    REFERRER_TYPE: "Type of referral",
    REFERRER_NAME: "Referrer's name",
    REFERRER_ROLE: "Referrer's role",
    REFERRER_ORGANISATION: "Referrer's organisation",
    REFERRER_CONTACT: "Referrer's work phone or email",
    FAMILY_AGREED: "Family agreed to the referral",
    CAREGIVER_NAME: "Parent or caregiver's name",
    RELATIONSHIP: "Relationship to the child",
    CHILD_AGE: "Child's age",
    HELP_WITH: "What they would like help with",
    PHONE: "Phone",
    EMAIL: "Email",
    PREFERRED_CONTACT: "Preferred way to be contacted",
    SAFE_TO_LEAVE_MESSAGE: "Safe to leave a message",
    POSTCODE: "Postcode",
    EXTRA_SUPPORT: "Would like extra support before the group",
    ACCESS_NEEDS: "Access needs",
    ACCESS_NEEDS_DETAILS: "Access needs (details)",
}

# Which answers can be changed from the summary, with the button shown for each.
CHANGEABLE: Dict[str, str] = {
    CAREGIVER_NAME: "Name",
    RELATIONSHIP: "Relationship",
    CHILD_AGE: "Child's age",
    HELP_WITH: "Help wanted",
    PHONE: "Phone",
    EMAIL: "Email",
    PREFERRED_CONTACT: "How to contact",
    SAFE_TO_LEAVE_MESSAGE: "Leaving a message",
    POSTCODE: "Postcode",
    EXTRA_SUPPORT: "Extra support",
    ACCESS_NEEDS: "Access needs",
    REFERRER_NAME: "Your name",
    REFERRER_ROLE: "Your role",
    REFERRER_ORGANISATION: "Your organisation",
    REFERRER_CONTACT: "Your work contact",
}

# Changing one answer can make another question (not) apply; these are asked again.
DEPENDENTS: Dict[str, List[str]] = {
    PHONE: [EMAIL, PREFERRED_CONTACT, SAFE_TO_LEAVE_MESSAGE],
    EMAIL: [PREFERRED_CONTACT],
    ACCESS_NEEDS: [ACCESS_NEEDS_DETAILS],
}

_CHOICE_LABELS = {
    REFERRER_TYPE: {"self": "Self-referral", "professional": "Professional referral"},
    RELATIONSHIP: choices.RELATIONSHIP,
    PREFERRED_CONTACT: choices.PREFERRED_CONTACT,
    SAFE_TO_LEAVE_MESSAGE: {"yes": "Yes", "no": "No"},
    EXTRA_SUPPORT: {"yes": "Yes", "no": "No", "not_sure": "Not sure"},
    ACCESS_NEEDS: choices.ACCESS_NEEDS,
    FAMILY_AGREED: {"yes": "Yes", "no": "No"},
}


def given(value: Any) -> bool:
    return value not in (None, "", NOT_GIVEN)


def required_slots(values: Mapping[str, Any]) -> List[str]:
    """The questions still to ask, in order, given the answers so far."""
    slots = [REFERRER_TYPE]
    if values.get(REFERRER_TYPE) == "professional":
        slots += PROFESSIONAL_SLOTS
    slots += [CAREGIVER_NAME, RELATIONSHIP, CHILD_AGE, HELP_WITH, PHONE, EMAIL]
    has_phone, has_email = given(values.get(PHONE)), given(values.get(EMAIL))
    if has_phone or has_email:
        slots.append(PREFERRED_CONTACT)  # set without asking when email is the only way
    if has_phone:
        slots.append(SAFE_TO_LEAVE_MESSAGE)
    slots += [POSTCODE, EXTRA_SUPPORT, ACCESS_NEEDS]
    if values.get(ACCESS_NEEDS) not in (None, "none"):
        slots.append(ACCESS_NEEDS_DETAILS)
    slots += [CONSENT, REVIEW]
    if values.get(REVIEW) == "change":
        slots.append(FIELD_TO_CHANGE)
    return slots


def display(slot: str, value: Any) -> str:
    from actions.referral.validators import format_phone

    if value in (None, ""):
        return "not asked"
    if slot in (PHONE, REFERRER_CONTACT) and str(value).startswith("+"):
        return format_phone(value)
    labels = _CHOICE_LABELS.get(slot)
    if isinstance(labels, choices.ChoiceSet):
        return labels.label(value)
    if isinstance(labels, dict):
        return labels.get(value, str(value))
    return str(value)


def answers(values: Mapping[str, Any], with_type: bool = True) -> List[Tuple[str, str]]:
    """(label, answer) for every question that applies, in the order staff read them.
    `with_type=False` leaves out the type of referral, for where it is shown on its own."""
    asked = set(required_slots(values)) - (set() if with_type else {REFERRER_TYPE})
    return [(LABELS[slot], display(slot, values.get(slot))) for slot in LABELS if slot in asked]
