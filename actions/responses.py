"""The assistant's responses, read from domain.yml once. Actions that look a response up (its buttons,
whether it exists) use Rasa's domain when it is sent, else this copy: Rasa sends the domain (37 KB)
only where it must (`enable_selective_domain`, bot/speed/selective_domain.py)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict

import yaml
from rasa_sdk.types import DomainDict

DOMAIN_FILE = Path(__file__).resolve().parent.parent / "domain.yml"
RESPONSES: Dict[str, Any] = yaml.safe_load(DOMAIN_FILE.read_text(encoding="utf-8"))["responses"]


def responses(domain: DomainDict) -> Dict[str, Any]:
    return (domain or {}).get("responses") or RESPONSES
