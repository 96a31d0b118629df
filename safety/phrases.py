"""The risk phrases: the floor under the trained model. A wording they catch keeps being caught
(`tests/data/risk_messages.txt`), whatever the model learns; look-alike cues only soften a match to
"unsure", which still shows 999 and NHS 111."""
from __future__ import annotations

import re
from typing import Dict, List, Pattern, Tuple

from safety.kinds import (
    BABY_EMERGENCY,
    DOMESTIC_ABUSE,
    HARM_TO_CHILD,
    NEGLECT,
    NOT_COPING,
    SUICIDE_SELF_HARM,
)

_CHILD = r"(baby|babies|bby|babe|child|kid|kids|son|daughter|newborn|infant|little one|lo|toddler|him|her|them|twins?)"
_HARM_VERBS = (
    r"(hurt|hurting|harm|harming|hit|hitting|smack|smacking|shake|shaking|shook|suffocat\w*|smother\w*|"
    r"strangl\w*|kill|killing|drown\w*|throw|throwing|threw|chuck|chucking|batter\w*|punch\w*|slap\w*|"
    r"squeez\w*|stab\w*|injur\w*|do something to)"
)
_CANT = r"(can'?t|cant|cannot|can not|cnt|couldn'?t|unable to|not able to)"

STRONG = "(?#strong)"  # marks an explicit phrase

_PATTERNS: Dict[str, List[str]] = {
    BABY_EMERGENCY: [
        r"\b(not|isn'?t|isnt|stopped|stop|won'?t|wont|struggling to|hardly|barely|can'?t|cant)\s+(be\s+)?breath",
        STRONG + r"\bno(t)? breathing\b",
        STRONG + r"\b(unresponsive|unconscious|not responding|won'?t wake|wont wake|can'?t wake|cant wake|not waking)\b",
        rf"\b({_CHILD[1:-1]}|lips|face|skin|he|she|he'?s|she'?s)\b.{{0,15}}\b(turn\w*|gone|going|go|goes|went|is|are|looks?|looking)\s+(\w+\s+)?(blue|purple|grey)\b",
        r"\b(blue|purple|grey) (lips|face|skin)\b",
        r"\b(floppy|limp)\b",
        STRONG + r"\b(fitting|having a fit|seizure|convuls\w*)\b",
        r"\b(choking|chocking)\b",
        r"\b(head injury|fell|dropped|banged).{0,40}\b(not (moving|responding|waking|crying)|unresponsive|floppy|vomit\w*)",
    ],
    HARM_TO_CHILD: [
        rf"\b{_HARM_VERBS}\b.{{0,30}}\b{_CHILD}\b",
        rf"\b(urge|urges|tempted|thoughts?|thinking|scared|afraid|frightened|worried|fear)\b.{{0,40}}\b(hurt|harm|shak|kill|smother|suffocat|do something|what i might do)",
        r"\bwhat i (might|could|would|will) do\b",
        r"\bpillow over\b",
        r"\b(throw|chuck|drop)\w*\b.{0,30}\b(out (of )?the window|down the stairs|against the wall)",
        r"\b(shaken baby|shake the baby|shook the baby)\b",
    ],
    SUICIDE_SELF_HARM: [
        STRONG + r"\bsuicid\w*",
        STRONG + r"\b(kill|killing|hurt|hurting|harm|harming|cut|cutting|hang|hanging|end|ending)\s+(my\s?self|meself|myslef)\b",
        STRONG + r"\bself[\s-]?harm\w*",
        STRONG + r"\bunalive\w*",
        r"\b(want|wanna|wish|wishing|going|ready)\s+(to\s+)?(die|be dead|end it|end my life|end it all|disappear for ever|disappear forever)\b",
        r"\bend(ing)? (it all|my life|everything|things)\b",
        r"\b(want|wanna|wish|need)\s+(it all|everything|things|it|this|all this|the pain)\s+to\s+(end|stop|be over)\b",
        r"\b(jump\w*|throw\w* myself|step\w*|walk\w*)\s+(off|in front of|from)\s+(a|the|my)?\s*(bridge|train|car|bus|lorry|roof|building|cliff|balcony|window)",
        r"\b(hit|hitting|bang|banged|banging|punch\w*|scratch\w*|burn\w*)\s+my\s?(self|head|arms?|legs?)\b.{0,40}\b(bled|bleed|blood|until|against)",
        r"\b(hit|hitting|bang|banged|banging)\s+my\s+head\s+(against|on|off)\b",
        r"\b(better off|be better) (dead|without me)\b",
        r"\b(don'?t|dont|do not|no longer)\s+want to\s+(be here|be alive|live|exist|wake up|carry on|go on)\b",
        r"\bno (point|reason) (in )?(living|to live|going on|carrying on)\b",
        r"\bnot (want|wanting) to (live|be here|be alive)\b",
        STRONG + r"\bover\s?dos\w*|\bod'?d\b|\bod on\b",
        STRONG + r"\b(took|taken|take|taking|swallowed|had)\b.{0,20}\b(too many|a lot of|loads of|lots of|all (my|of my|the)|a load of|a packet of|a whole|a box of|double|a bunch of|handful of)\b.{0,25}\b(pills?|tablets?|meds|medication|paracetamol|ibuprofen|sertraline|antidepressants?|co-?codamol|painkillers?)",
        r"\b(pills?|tablets?|meds)\b.{0,20}\b(end it|die|overdose|all at once)\b",
    ],
    DOMESTIC_ABUSE: [
        STRONG + r"\bdomestic (abuse|violence)\b",
        r"\b(partner|husband|boyfriend|wife|girlfriend|fiance|ex|he|she|they)\s+(\w+\s+){0,2}(hits?|hitting|beats?|beating|beat me|punch\w*|kick\w*|chok\w*|strangl\w*|slap\w*|push\w*|threaten\w*|hurts? me|abus\w*|attack\w*|raped?|controls? (me|my))",
        r"\b(hits|beats|hurts|hurt|kicks|punches|chokes|strangles|slaps|threatens|attacked|raped) me\b",
        r"\b(scared|afraid|frightened|terrified) (of|to go home|at home|to be at home)\b.{0,20}\b(partner|husband|boyfriend|wife|girlfriend|him|her|home|ex)?",
        r"\b(not|don'?t|dont|never) (feel )?safe (at home|in my (own )?(home|house)|with (him|her|my partner|my husband|my boyfriend))",
        r"\b(unsafe|not safe) (at home|in (my|the) house)\b",
        r"\babusive\b",
        r"\bthreaten\w* to (kill|hurt|take)\b",
    ],
    NOT_COPING: [
        rf"\b{_CANT}\s+(cope|coping|go on|carry on|do this any ?more|take (it|this|any more|anymore)|keep (him|her|them|my baby|the baby|baby|my child) safe|look after (him|her|them|my baby|the baby))",
        r"\b(not|isn'?t|no longer) coping\b",
        r"\bcope (wiv|with) it all no more\b",
        r"\bbreaking point\b",
        r"\bend of my tether\b",
        r"\b(at|reached) (my|the) limit\b",
        r"\bfalling apart\b",
        rf"\b{_CANT}\s+(face|stand|bear|look at)\s+{_CHILD}\b",
        r"\b(losing|lost) (it|my mind|control)\b.{0,30}\b(baby|him|her|them)\b",
        r"\bcan'?t stop crying and\b.{0,30}\b(hurt|harm|die|end)",
    ],
    NEGLECT: [
        r"\b(neglect\w*)\b",
        r"\b(haven'?t|havent|not|didn'?t|didnt)\s+(been\s+)?(fed|feed|feeding|given)\b.{0,30}\b(baby|him|her|them|milk|bottle|all day|for hours|since)",
        r"\bleft (the |my )?(baby|child|kids?|him|her|them) (alone|on (his|her|their) own)\b",
        r"\b(no one|nobody|noone)\s+(has\s+)?(fed|feeds|changed|looked after|checked on)\b",
        r"\b(hasn'?t|hasnt|has not|hadn'?t|hadnt|had no|not had)\s+(had\s+)?(any\s+)?(milk|food|feed|bottle|anything to eat|eaten|been fed)\b",
        r"\b(leave|leaving|left)\s+(him|her|them|the baby|my baby|baby)\b.{0,30}\b(all day|all night|for hours|for days)\b",
    ],
}

PHRASES: Dict[str, List[Tuple[Pattern[str], bool]]] = {
    kind: [(re.compile(p[len(STRONG):] if p.startswith(STRONG) else p), p.startswith(STRONG)) for p in ps]
    for kind, ps in _PATTERNS.items()
}


def matches(said: str) -> List[Tuple[str, bool]]:
    """(kind, strong) for each kind whose phrases occur in an already normalised text; strong when an
    explicit one does (suicide, self-harm, an overdose, not breathing, a fit…), which needs no model
    to agree."""
    found = []
    for kind, patterns in PHRASES.items():
        hits = [strong for pattern, strong in patterns if pattern.search(said)]
        if hits:
            found.append((kind, any(hits)))
    return found
