"""Signs that a risky-looking part of a message is one of content.md's harmless look-alikes: an
idiom, a negation, a reassurance, the past and now safe, or a question asked as information (often by a
professional). A cue never silences a risk: it only turns "sure" into "unsure", which still shows
999 and NHS 111 beside the answer."""
from __future__ import annotations

import re
from typing import Dict, List, Pattern

_CUES: Dict[str, List[str]] = {
    "idiom": [
        r"\b(could|would|i'?d|id) (kill|murder|die) for\b",
        r"\b(dying|dyin|desperate) (for|to)\b",
        r"\bdying (of|from) (laughter|laughing|embarrassment|boredom|shame|cringe|heat)\b",
        r"\b(is|are|'s|s|was|were) (literally )?killing me\b",
        r"\bto die for\b",
        r"\b(made|make|makes) me (laugh|cry) to death\b",
        r"\b(bored|scared|worried|tired|knackered) to death\b",
        r"\b(kill|killed|murder|murdered) (a|the|some|my) (brew|coffee|tea|pint|curry|pizza|takeaway|burger|cake|nap|bath)\b",
        r"\blittle (monster|terror|devil|horror|menace)\b",
        r"\b(lol|lmao|haha+|😂|🤣)\b",
    ],
    "negation": [
        r"\b(would|will|could) never (hurt|harm|hit|shake)\b",
        r"\b(i'?d|id|i'?ll) never (hurt|harm|hit|shake)\b",
        r"\b(not|isn'?t|isnt|aren'?t|never been|wasn'?t) (at|in) (any )?(risk|danger)\b",
        r"\bno (risk|danger|safeguarding (concerns?|issues?))\b",
        r"\b(no one|nobody|noone) (is )?(hitting|hurting|harming|threatening)\b",
        r"\b(no|not having|never had|don'?t have|dont have) (any )?(thoughts|urges) (of|about|to)\b",
        r"\b(not|never) (going|gonna) to (hurt|harm)\b",
        r"\bnot (suicidal|in crisis)\b",
        r"\b(i'?m|im|i am) (safe|ok|okay|fine) (now|though|honestly|don'?t worry)\b",
    ],
    "reassurance": [
        r"\b(i'?m|im|i am|we'?re|were|we are|but|just) (still )?(coping|managing|managin|fine|ok|okay|safe|well|doing ok|doing fine|alright)\b",
        r"\b(she'?s|shes|he'?s|hes|they'?re|baby'?s|babys) (a )?(good colour|feeding (well|normally|fine)|fine now|safe now|settled|happy|ok now)\b",
        r"\b(not for|not since) (years|ages|a long time)\b",
        r"\b(it'?s|its|that'?s|thats) (all )?(over|behind (me|us))\b",
        r"\b(completely |fully )?recovered\b",
    ],
    "past_safe": [
        r"\b(years|months|yrs) ago\b",
        r"\bwhen i was (a )?(child|kid|little|younger|teenager|teen|young)\b",
        r"\b(in the past|as a child|growing up|my childhood)\b",
        r"\b(left|got away from|escaped) (him|her|them|my ex|that relationship)\b",
        r"\b(safe|well|better|recovered) now\b",
        r"\b(with|after) my (first|last|eldest|older)\b",
    ],
    "information": [
        r"^(what|whats|what's|wat) (is|are|does|do|counts as|happens)\b",
        r"^(how|hw) (do|can|would|should) (i|you|we|they|parents|a parent) (know|tell|spot|recognise|recognize|report|refer)\b",
        r"\b(signs|symptoms|warning signs|risk factors) of\b",
        r"\b(tell me|info|information|leaflet|leaflets) (about|on)\b",
        r"^(is|are) (it|there) (normal|common)\b",
        r"\b(do|does|would|will) (you|the service|your service|the team|the group) (accept|take|work with|see|support)\b",
        r"\b(referral|safeguarding) (pathway|policy|procedure|criteria|threshold)s?\b",
        r"\b(asking|ask) (for|about) (a|my) (leaflet|course|essay|training|friend in general)\b",
        r"\bshaken baby syndrome\b",
    ],
}

CUES: Dict[str, List[Pattern[str]]] = {name: [re.compile(p) for p in ps] for name, ps in _CUES.items()}


def cues(said: str) -> List[str]:
    """The kinds of look-alike cue in an already normalised text."""
    return [name for name, patterns in CUES.items() if any(p.search(said) for p in patterns)]
