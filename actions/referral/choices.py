"""Questions answered by picking one of a few options: the options, the buttons that offer them,
and the typed words that mean each one."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple


@dataclass(frozen=True)
class ChoiceSet:
    options: Dict[str, Tuple[str, ...]]  # stored value -> typed forms (the first is the button title)
    invalid_reason: str

    def match(self, text: str) -> Optional[str]:
        if text.strip().startswith("/"):
            return None  # a forced intent such as /inform{"consent":"yes"} is never an answer
        return self.exact(text) or self._match_within(_normalise(text))

    def exact(self, text: str) -> Optional[str]:
        """The option the whole answer is ("Not sure", "nope"), not one it mentions."""
        if text.strip().startswith("/"):
            return None  # a forced intent such as /inform{"consent":"yes"} is never an answer
        said = _normalise(text)
        if not said:
            return None
        for key, forms in self.options.items():
            if said == _normalise(key) or any(said == _normalise(f) for f in forms):
                return key
        return None

    def _match_within(self, said: str) -> Optional[str]:
        """'I'm his nan' -> grandparent: the option whose words appear in the answer, the longest
        such words winning ('foster parent' over 'parent'). An answer that says no or not only
        matches words that say no themselves, so 'no I don't agree' is never read as yes."""
        negated = bool(_NEGATION.search(said))
        best: Dict[str, int] = {}
        for key, forms in self.options.items():
            for form in forms[1:]:
                form = _normalise(form)
                if len(form) <= 2 and form != "no":
                    continue
                if negated and not _NEGATION.search(form):
                    continue
                if re.search(rf"\b{re.escape(form)}\b", said):
                    best[key] = max(best.get(key, 0), len(form))
        if not best:
            return None
        ranked = sorted(best.items(), key=lambda item: item[1], reverse=True)
        if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
            return None  # two options fit equally well: ask again rather than guess
        return ranked[0][0]

    def label(self, key: str) -> str:
        return self.options[key][0]


_NEGATION = re.compile(r"\b(no|not|never|nope|none|nothing)\b|n't\b|\b(dont|havent|hasnt|isnt|didnt|wont|cant|doesnt)\b")


def _normalise(text: str) -> str:
    text = text.lower().replace("’", "'")
    text = re.sub(r"[^\w\s']", " ", text)
    return " ".join(text.split())


YES = (
    "Yes", "yes", "y", "yeah", "yep", "yes please", "ok", "okay", "sure", "i agree", "agree", "i do", "correct",
    "go on", "yeah go on", "yes go on", "go ahead", "alright", "yes that's fine", "please do",
)
NO = ("No", "no", "n", "nope", "no thanks", "no thank you", "i don't agree", "don't agree", "i do not agree", "not really")

REFERRER_TYPE = ChoiceSet(
    {
        "self": (
            "Myself or my family", "myself", "me", "for me", "it's me", "self", "self referral", "parent", "my family",
            "i'm the parent", "carer", "for myself", "referring myself", "my baby", "my son", "my daughter",
            "my child", "my little one", "me and my baby", "us", "our family",
        ),
        "professional": (
            "A professional", "professional", "health visitor", "social worker", "midwife", "gp", "nurse", "on behalf",
            "a family i work with", "family i work with", "a family you work with", "a family i support", "for a family",
            "a family", "practitioner", "worker", "professional referral", "i'm a professional", "referring a family",
        ),
    },
    "choice_referrer_type",
)
RELATIONSHIP = ChoiceSet(
    {
        "parent": ("Parent", "mum", "mother", "mom", "dad", "father", "parent", "mummy", "daddy", "step parent", "stepmum", "stepdad"),
        "foster_carer": ("Foster carer", "foster", "foster parent", "foster mum", "foster dad", "fostering"),
        "grandparent": ("Grandparent", "grandparent", "nan", "nana", "nanna", "gran", "granny", "grandma", "grandmother", "grandad", "grandpa", "grandfather"),
        "other": ("Other", "other", "someone else", "aunt", "auntie", "uncle", "sister", "brother", "kinship carer", "guardian", "special guardian", "adoptive parent"),
    },
    "choice_relationship",
)
PREFERRED_CONTACT = ChoiceSet(
    {
        "call": ("Phone call", "call", "phone", "ring", "ring me", "call me", "a call", "phone me", "by phone", "telephone"),
        "text": ("Text message", "text", "sms", "text me", "message", "by text"),
        "email": ("Email", "email", "e-mail", "by email", "mail"),
    },
    "choice_preferred_contact",
)
YES_NO = ChoiceSet({"yes": YES, "no": NO}, "choice_yes_no")
SAFE_TO_LEAVE_MESSAGE = ChoiceSet(
    {
        "yes": ("Yes, that's fine",) + YES + ("fine", "that's fine", "safe"),
        "no": ("No, please don't",) + NO + ("don't", "please don't", "no messages", "not safe"),
    },
    "choice_yes_no",
)
EXTRA_SUPPORT = ChoiceSet(
    {
        "yes": ("Yes, please",) + YES,
        "no": ("No, thanks",) + NO,
        "not_sure": ("Not sure", "not sure", "maybe", "don't know", "dont know", "unsure", "possibly"),
    },
    "choice_extra_support",
)
ACCESS_NEEDS = ChoiceSet(
    {
        "none": ("No, none", "none", "no", "nope", "nothing", "n/a", "na", "no thanks", "skip", "not really", "no access needs"),
        "interpreter": ("Interpreter", "interpreter", "translator", "translation", "language", "bsl", "sign language"),
        "disability": ("Disability or accessibility", "disability", "disabled", "accessibility", "wheelchair", "access", "hearing", "deaf", "blind", "visual", "autism", "learning disability"),
        "other": ("Something else", "other", "something else", "another need"),
    },
    "choice_access_needs",
)
CONSENT = ChoiceSet({"yes": ("Yes, I agree",) + YES, "no": ("No",) + NO}, "choice_consent")
FAMILY_AGREED = ChoiceSet(
    {"yes": ("Yes, they agreed",) + YES + ("they agreed", "agreed", "they have"), "no": ("No, not yet",) + NO + ("not yet", "they haven't")},
    "choice_family_agreed",
)
REVIEW = ChoiceSet(
    {
        "send": ("Send referral", "send", "send it", "submit", "yes send", "that's right", "all correct", "looks good", "correct", "yes"),
        "change": ("Change an answer", "change", "edit", "change something", "fix", "wrong", "no", "that's wrong", "amend"),
    },
    "choice_review",
)
SKIP = (
    "Skip", "skip", "not given", "none", "no", "nope", "no thanks", "no thank you", "no ta", "not now", "no phone",
    "no email", "i don't have one", "don't have one", "i dont have one", "dont have one", "i don't have an email",
    "rather not", "i'd rather not", "id rather not", "n/a", "prefer not to say", "not really",
)


def buttons(choice_set: ChoiceSet) -> List[Dict[str, str]]:
    return [{"title": forms[0], "payload": forms[0]} for forms in choice_set.options.values()]
