"""Checking a referral reference before it goes into an email header or a file name."""
from __future__ import annotations

from actions.referral.reference import PATTERN


class InvalidReference(ValueError):
    """A reference that is not of the form COSP-XXXXX (refused: it could inject headers or paths)."""


def check_reference(reference: object) -> str:
    """Returns the reference unchanged if it is exactly 'COSP-' and five of A-Z/0-9; raises otherwise.

    `fullmatch`, not `match`: the pattern's `$` would also accept a trailing newline.
    """
    if not isinstance(reference, str) or not PATTERN.fullmatch(reference):
        raise InvalidReference("a referral reference must be COSP- followed by five of A-Z and 0-9")
    return reference
