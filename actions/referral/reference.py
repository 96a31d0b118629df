"""Short referral references that people can read out on the phone: COSP-7KQ2M."""
from __future__ import annotations

import re
import secrets

_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I, easy to read aloud
PATTERN = re.compile(r"^COSP-[A-Z0-9]{5}$")


def new_reference() -> str:
    return "COSP-" + "".join(secrets.choice(_ALPHABET) for _ in range(5))
