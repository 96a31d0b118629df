"""The consent question. Its wording is versioned: each referral stores the version and the exact
words the person agreed to, with the time. Change the wording only by adding a new version."""
from __future__ import annotations

from typing import Dict

CONSENT_VERSION = "2026-12-v1"
_SAFETY = (
    " If I gave safety advice in this chat, the team will be told that (not what you wrote), so they can "
    "get in touch sooner."
)

_WORDING: Dict[str, Dict[str, str]] = {"2026-11-v1": {
    "self": (
        "Do you agree to us sharing the details you've given here with the NHS team that runs "
        "the COSP groups, so they can contact you about this referral? They are kept securely and used only "
        "for your referral."
    ),
    "professional": (
        "Do you agree to us sharing the details you've given here with the NHS team that runs "
        "the COSP groups, so they can contact you and the family about this referral? They are kept securely "
        "and used only for this referral."
    ),
}}
_WORDING[CONSENT_VERSION] = {who: words + _SAFETY for who, words in _WORDING["2026-11-v1"].items()}


def is_known_version(version: object) -> bool:
    return isinstance(version, str) and version in _WORDING


def consent_text(referrer_type: str | None, version: str = CONSENT_VERSION) -> str:
    """The words of `version` shown to this kind of referrer."""
    return _WORDING[version]["professional" if referrer_type == "professional" else "self"]
