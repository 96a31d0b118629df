"""Whether a message typed at a referral question is worded as a question of its own, with or without
a question mark ("not sure if my partner can come too", "can my mum come with me"). Only the shape
is read here; what it asks is the NLU's job. A bare statement ("I'm struggling to bond with her",
"how to settle him at night") is not a question: it stays an answer."""
from __future__ import annotations

import re

_WHO = r"(?:i|we|my|me|you|they|he|she|it|the|there|this|that|a|an|our|your|his|her|their|someone|anyone|people|partners?|dads?|mums?|grand\w+|babies|kids)"
_SHAPES = re.compile(
    r"\?\s*$"
    r"|^(?:what|when|where|who|whom|whose|which|why)\b"
    r"|^how\s+(?:do|does|did|can|could|long|many|much|often|is|are|will|would|should|old|far|soon|big)\b"
    rf"|^(?:can|could|will|would|do|does|did|is|are|was|were|should|shall|may|might|has|have|am)\s+{_WHO}\b"
    r"|\b(?:not sure|unsure|wondering|wonder|want to know|wanna know|like to know|need to know|curious)\s+"
    r"(?:if|whether|what|when|where|who|how|why|about)\b"
    r"|^(?:just\s+)?(?:tell me|do you know|any idea|is it ok|is it okay)\b",
    re.IGNORECASE,
)


def is_question_shaped(text: str) -> bool:
    said = " ".join(text.replace("’", "'").split())
    said = re.sub(r"^(?:hi|hello|hiya|hey|sorry|um+|er+|also|and|but|oh|ok|okay|so)\b[,.! ]*", "", said, flags=re.IGNORECASE)
    return bool(_SHAPES.search(said))
