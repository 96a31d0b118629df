"""The service profile: the team's name and contact details, its catchment, the age limit and the
upcoming groups, from one YAML file (`service.yml` at the root, or SERVICE_PROFILE=path).

Every text a parent or staff member sees takes the team's details from here: replies through
`bot.service_responses` (placeholders such as {team_phone} in domain.yml), the Telegram bridge,
the demo page and the staff email. Staff edit `groups` while the assistant runs: `ProfileFile`
reads the file again when it changes, and keeps the last good profile (logging the error) if an
edit is malformed. At start a malformed profile stops the process with a message naming the key."""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple

import yaml

from actions.referral import validators
from actions.referral.result import Valid
from bot.settings import ConfigError

log = logging.getLogger(__name__)

DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_DISTRICT = re.compile(r"[A-Z]{1,2}\d[A-Z\d]?")
_SERVICE_KEYS = {"name", "phone", "email", "area", "postcode_districts", "age_limit_months"}
_GROUP_KEYS = {"starts", "day", "time", "venue", "address"}


@dataclass(frozen=True)
class Group:
    starts: date  # the first session
    day: str
    time: str
    venue: str
    address: Optional[str]


@dataclass(frozen=True)
class ServiceProfile:
    name: str
    phone: str  # as the team writes it
    phone_e164: str
    email: str
    area: Optional[str]
    postcode_districts: Tuple[str, ...]
    age_limit_months: int
    groups: Tuple[Group, ...]

    def upcoming(self, today: date) -> List[Group]:
        """Groups whose first session has not passed, soonest first."""
        return sorted((g for g in self.groups if g.starts >= today), key=lambda g: g.starts)

    def in_catchment(self, postcode: str) -> Optional[bool]:
        """None when the profile names no catchment."""
        if not self.postcode_districts:
            return None
        return postcode.upper().split()[0] in self.postcode_districts

    @property
    def age_limit(self) -> str:
        """'2 years old', '18 months old': the limit as parents read it ("up to 2 years old")."""
        months = self.age_limit_months
        if months % 12 == 0:
            years = months // 12
            return f"{years} year{'s' if years > 1 else ''} old"
        return f"{months} months old"

    def reply_values(self) -> Dict[str, str]:
        """What domain.yml's placeholders are filled with."""
        return {"team_name": self.name, "team_phone": self.phone, "team_email": self.email,
                "team_phone_link": f"tel:{self.phone_e164}", "team_age_limit": self.age_limit}


def _text(where: str, value: Any, required: bool = True) -> Optional[str]:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ConfigError(f"{where} is missing")
        return None
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise ConfigError(f"{where} must be text, not {type(value).__name__}")
    text = str(value).strip()
    if len(text) > 200 or "\n" in text or "{" in text or "}" in text:
        raise ConfigError(f"{where} must be one short line of text without braces")
    return text


def _unknown(where: str, data: Mapping[str, Any], known: set) -> None:
    extra = sorted(set(data) - known)
    if extra:
        raise ConfigError(f"{where} has unknown keys {extra}: use {', '.join(sorted(known))}")


def _group(where: str, data: Any) -> Group:
    if not isinstance(data, dict):
        raise ConfigError(f"{where} must be a mapping with starts, day, time, venue and address")
    _unknown(where, data, _GROUP_KEYS)
    starts = data.get("starts")
    if isinstance(starts, str):
        try:
            starts = date.fromisoformat(starts.strip())
        except ValueError:
            raise ConfigError(f"{where}.starts must be a date like 2027-01-12, not {starts!r}") from None
    if not isinstance(starts, date):
        raise ConfigError(f"{where}.starts must be a date like 2027-01-12")
    day = (_text(f"{where}.day", data.get("day")) or "").capitalize()
    if day not in DAYS:
        raise ConfigError(f"{where}.day must be a day of the week, like Tuesday, not {data.get('day')!r}")
    if DAYS[starts.weekday()] != day:
        raise ConfigError(f"{where}.day says {day}, but {starts.isoformat()} (starts) is a {DAYS[starts.weekday()]}")
    return Group(starts=starts, day=day, time=_text(f"{where}.time", data.get("time")) or "",
                 venue=_text(f"{where}.venue", data.get("venue")) or "",
                 address=_text(f"{where}.address", data.get("address"), required=False))


def parse_profile(data: Any, source: str = "service profile") -> ServiceProfile:
    """Checks every key; raises ConfigError naming the key at fault."""
    if not isinstance(data, dict) or not isinstance(data.get("service"), dict):
        raise ConfigError(f"{source}: 'service' is missing (see the README: Adapting it for your service)")
    _unknown(source, data, {"service", "groups"})
    service = data["service"]
    _unknown(f"{source}: service", service, _SERVICE_KEYS)
    name = _text(f"{source}: service.name", service.get("name"))
    phone_text = _text(f"{source}: service.phone", service.get("phone"))
    phone = validators.check_uk_phone(phone_text or "")
    if not isinstance(phone, Valid):
        raise ConfigError(f"{source}: service.phone must be a UK phone number like 01234 567890, not {phone_text!r}")
    email_text = _text(f"{source}: service.email", service.get("email"))
    email = validators.check_email(email_text or "")
    if not isinstance(email, Valid):
        raise ConfigError(f"{source}: service.email must be an email address, not {email_text!r}")
    districts = service.get("postcode_districts") or []
    if not isinstance(districts, list):
        raise ConfigError(f"{source}: service.postcode_districts must be a list like [DN31, DN32]")
    cleaned = tuple(str(d).strip().upper() for d in districts)
    for district in cleaned:
        if not _DISTRICT.fullmatch(district):
            raise ConfigError(f"{source}: service.postcode_districts: {district!r} is not a postcode district like DN31")
    limit = service.get("age_limit_months", 24)
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 60:
        raise ConfigError(f"{source}: service.age_limit_months must be a whole number of months from 1 to 60, not {limit!r}")
    groups = data.get("groups") or []
    if not isinstance(groups, list):
        raise ConfigError(f"{source}: groups must be a list (or left out)")
    return ServiceProfile(
        name=name or "", phone=phone_text or "", phone_e164=phone.value, email=email.value,
        area=_text(f"{source}: service.area", service.get("area"), required=False),
        postcode_districts=cleaned, age_limit_months=limit,
        groups=tuple(_group(f"{source}: groups[{i}]", g) for i, g in enumerate(groups)),
    )


def load_profile(path: Path) -> ServiceProfile:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"SERVICE_PROFILE: cannot read {path} ({type(error).__name__})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path.name}: not valid YAML{at}") from None
    return parse_profile(data, path.name)


class ProfileFile:
    """The profile, read again when the file changes; a bad edit keeps the last good one."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp = self._stat()
        self._profile = load_profile(path)

    def _stat(self) -> Tuple[float, int]:
        try:
            found = self.path.stat()
        except OSError:
            return (0.0, -1)
        return (found.st_mtime, found.st_size)

    def get(self) -> ServiceProfile:
        stamp = self._stat()
        if stamp != self._stamp:
            self._stamp = stamp
            try:
                self._profile = load_profile(self.path)
                log.info("service profile read again: %d groups", len(self._profile.groups))
            except ConfigError as error:
                log.error("service profile not changed, the edit is malformed: %s", error)
        return self._profile


_FILES: Dict[Path, ProfileFile] = {}
_GIVEN: Dict[Path, ProfileFile] = {}


def profile_file(path: Path) -> ProfileFile:
    """One ProfileFile per file in a process, found by the path as given (every reply asks). It reads
    through that path, so a link moved to another file (a Kubernetes ConfigMap) is read again."""
    found = _GIVEN.get(path)
    if found is None:
        found = _GIVEN[path] = _FILES.setdefault(path.resolve(), ProfileFile(path))
    return found


def current() -> ServiceProfile:
    """This process's profile (SERVICE_PROFILE, else service.yml), as the file is now."""
    from bot.settings import service_profile_path

    return profile_file(service_profile_path()).get()


def outside_catchment(postcode: Optional[str]) -> bool:
    """Whether a parent's postcode is outside the profile's districts (never, when it names none)."""
    checked = validators.check_postcode(postcode or "")
    return isinstance(checked, Valid) and current().in_catchment(checked.value) is False


def fill_in(text: str, values: Dict[str, str]) -> str:
    """`text` with the {team_...} placeholders of `values` filled; {reference} and the like stay for Rasa."""
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return text


def filled(text: str) -> str:
    """`text` with this profile's details (for a response an action sends as text)."""
    return fill_in(text, current().reply_values())
