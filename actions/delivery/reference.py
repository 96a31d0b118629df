"""The shape of a referral reference, the only identifier allowed in subjects, file names and logs."""
from __future__ import annotations

import re

_REFERENCE = re.compile(r"COSP-[A-Z0-9]{5}")


class InvalidReference(ValueError):
    """A reference that is not of the form COSP-XXXXX (refused: it could inject headers or paths)."""


def check_reference(reference: object) -> str:
    """Returns the reference unchanged if it is exactly 'COSP-' and five of A-Z/0-9; raises otherwise.

    `fullmatch` rather than `^...$`: `$` would also accept a trailing newline.
    """
    if not isinstance(reference, str) or not _REFERENCE.fullmatch(reference):
        raise InvalidReference("a referral reference must be COSP- followed by five of A-Z and 0-9")
    return reference
