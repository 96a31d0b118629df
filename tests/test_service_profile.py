"""The service profile (issue 14): another team adopts the assistant by writing one YAML file.

Unit checks of the parser and the next-group answer, the start-up refusals as `make run` meets
them, and a made-up second team ("Riverside Little Steps") run through the real Rasa server, action
server, delivery worker, SMTP server and demo page: no reply, email or page shows the leaflet team's
phone or email; the next group's date and venue are given, a past group's never; a group staff add
while it runs is offered without a restart."""
from __future__ import annotations

import subprocess
import sys
import urllib.request
from datetime import date, timedelta
from pathlib import Path
from typing import Dict, Iterator, List

import pytest
import yaml
from aiosmtpd.controller import Controller

from actions import group_dates
from bot import service_profile
from bot.service_profile import DAYS, ProfileFile, load_profile, parse_profile
from bot.settings import ConfigError
from deploy.cluster import wait_until
from tests.environment import process_env
from tests.support import BIN, MODEL, ROOT, Stack, free_port, wait_for
from tests.test_end_to_end import Inbox, body_text, emails_for

LEAFLET = service_profile.load_profile(ROOT / "service.yml")
LEAFLET_DETAILS = [LEAFLET.phone, LEAFLET.phone.replace(" ", ""), LEAFLET.email, LEAFLET.name]
TODAY = date.today()


SOON = TODAY + timedelta(days=10)
LATER = TODAY + timedelta(days=40)
PAST = date(2020, 1, 7)  # a Tuesday


def group(starts: date, venue: str, address: str = "") -> Dict[str, object]:
    entry: Dict[str, object] = {"starts": starts.isoformat(), "day": DAYS[starts.weekday()],
                                "time": "9:30 to 11:30", "venue": venue}
    if address:
        entry["address"] = address
    return entry


def riverside(groups: List[Dict[str, object]]) -> Dict[str, object]:
    return {"service": {"name": "Riverside Little Steps", "phone": "0113 496 0123",
                        "email": "riverside.families@nhs.example", "area": "Riverside",
                        "postcode_districts": ["LS6", "LS7"], "age_limit_months": 18},
            "groups": groups}


RIVERSIDE = riverside([group(PAST, "Old Chapel Hall"), group(LATER, "Meadow Family Hub", "4 Meadow Lane"),
                       group(SOON, "Quayside Community Base", "2 Quay Street")])


# --- the parser ---------------------------------------------------------------------------------

def test_the_default_profile_is_the_leaflets_service():
    assert LEAFLET.name == "Growing Well Together" and LEAFLET.email.endswith("@nhs.net")
    assert LEAFLET.age_limit == "2 years old" and not LEAFLET.postcode_districts


def test_a_second_profile_reads_every_key():
    profile = parse_profile(RIVERSIDE)
    assert profile.name == "Riverside Little Steps" and profile.phone_e164 == "+441134960123"
    assert profile.age_limit == "18 months old" and profile.in_catchment("LS6 1AN") and not profile.in_catchment("DN31 1HU")
    assert [g.venue for g in profile.upcoming(TODAY)] == ["Quayside Community Base", "Meadow Family Hub"]


def broken(path: str, value: object) -> Dict[str, object]:
    data = yaml.safe_load(yaml.safe_dump(RIVERSIDE))
    section, _, key = path.partition(".")
    target = data[section][0] if section == "groups" else data[section]
    if value is KeyError:
        del target[key]
    else:
        target[key] = value
    return data


@pytest.mark.parametrize("path, value, named", [
    ("service.name", KeyError, "service.name"),
    ("service.phone", "call us", "service.phone"),
    ("service.phone", KeyError, "service.phone"),
    ("service.email", "riverside at nhs", "service.email"),
    ("service.age_limit_months", "two years", "service.age_limit_months"),
    ("service.postcode_districts", ["Leeds"], "service.postcode_districts"),
    ("service.colour", "blue", "colour"),
    ("service.name", "Riverside {team_phone}", "service.name"),
    ("groups.starts", "next Tuesday", "groups[0].starts"),
    ("groups.day", "Wednesday", "groups[0].day"),
    ("groups.venue", KeyError, "groups[0].venue"),
])
def test_a_malformed_value_is_refused_naming_the_key(path, value, named):
    with pytest.raises(ConfigError, match=named.replace("[", r"\[").replace("]", r"\]")):
        parse_profile(broken(path, value))


def test_a_file_that_is_not_yaml_is_refused_with_the_line(tmp_path: Path):
    path = tmp_path / "service.yml"
    path.write_text("service:\n  name: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML at line"):
        load_profile(path)
    with pytest.raises(ConfigError, match="SERVICE_PROFILE: cannot read"):
        load_profile(tmp_path / "missing.yml")


def test_the_file_is_read_again_when_it_changes_and_a_bad_edit_keeps_the_last_good_one(tmp_path: Path):
    path = tmp_path / "service.yml"
    path.write_text(yaml.safe_dump(riverside([])))
    profile = ProfileFile(path)
    assert profile.get().groups == ()
    path.write_text(yaml.safe_dump(riverside([group(SOON, "Quayside Community Base")])))
    assert [g.venue for g in profile.get().groups] == ["Quayside Community Base"]
    path.write_text(yaml.safe_dump(riverside([group(SOON, "Quayside Community Base")])) + "groups: [unclosed\n")
    assert [g.venue for g in profile.get().groups] == ["Quayside Community Base"]  # kept, not lost


def test_a_profile_behind_a_link_is_read_again_when_the_link_moves_and_its_path_is_resolved_once(
        tmp_path: Path, monkeypatch):
    for name, venue in (("first", "Quayside Community Base"), ("second", "Riverside Library")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "service.yml").write_text(yaml.safe_dump(riverside([group(SOON, venue)])))
    link = tmp_path / "service.yml"
    link.symlink_to(tmp_path / "first" / "service.yml")
    monkeypatch.setenv("SERVICE_PROFILE", str(link))
    assert [g.venue for g in service_profile.current().groups] == ["Quayside Community Base"]
    resolved: List[Path] = []
    stock_resolve = Path.resolve
    monkeypatch.setattr(Path, "resolve", lambda self, *a: resolved.append(self) or stock_resolve(self, *a))
    (tmp_path / "next").symlink_to(tmp_path / "second" / "service.yml")
    (tmp_path / "next").replace(link)  # how a ConfigMap update swaps the file
    assert [g.venue for g in service_profile.current().groups] == ["Riverside Library"]
    assert [g.venue for g in service_profile.current().groups] == ["Riverside Library"] and not resolved


def test_a_postcode_outside_the_districts_is_taken_and_marked_for_staff(tmp_path: Path, monkeypatch):
    from actions.referral.submission import _marked

    path = tmp_path / "riverside.yml"
    path.write_text(yaml.safe_dump(RIVERSIDE))
    monkeypatch.setenv("SERVICE_PROFILE", str(path))
    assert service_profile.outside_catchment("dn31 1hu") and not service_profile.outside_catchment("LS6 1AN")
    assert not service_profile.outside_catchment("I'd rather not say") and not service_profile.outside_catchment(None)
    monkeypatch.setenv("SERVICE_PROFILE", str(ROOT / "service.yml"))
    assert not service_profile.outside_catchment("DN31 1HU")  # no districts named: no catchment
    answers = [("Name", "Sam"), ("Postcode", "DN31 1HU")]
    assert _marked(answers, True) == [("Name", "Sam"), ("Postcode", "DN31 1HU (outside the catchment)")]
    assert _marked(answers, False) == answers


def test_the_chat_bridges_own_texts_name_the_profiles_team(tmp_path: Path, monkeypatch):
    """What the web chat and the Telegram bridge say when Rasa can't answer: the profile's phone."""
    from bot import replies
    from bot.telegram import parents

    path = tmp_path / "riverside.yml"
    path.write_text(yaml.safe_dump(RIVERSIDE))
    monkeypatch.setenv("SERVICE_PROFILE", str(path))
    for text in (replies.try_again(), replies.no_reply(), parents.try_again()):
        assert "0113 496 0123" in text and "999" in text
        shows_no_leaflet_detail(text)


# --- the next group -----------------------------------------------------------------------------

def test_the_next_groups_are_offered_soonest_first_and_a_past_one_never():
    name, values = group_dates.reply("ask_next_group", parse_profile(RIVERSIDE), TODAY)
    assert name == "utter_next_groups"
    listed = values["group_list"]
    assert listed.index("Quayside") < listed.index("Meadow") and "Old Chapel" not in listed
    assert f"{SOON.day} {SOON:%B %Y}" in listed and "2 Quay Street" in listed and "9:30 to 11:30" in listed
    assert group_dates.reply("ask_where", parse_profile(RIVERSIDE), TODAY)[0] == "utter_where_next_groups"


def test_a_group_starting_today_is_still_offered_and_none_coming_up_sends_to_the_team():
    profile = parse_profile(riverside([group(TODAY, "Quayside Community Base"), group(PAST, "Old Chapel Hall")]))
    assert "Quayside" in group_dates.reply("ask_next_group", profile, TODAY)[1]["group_list"]
    assert group_dates.reply("ask_next_group", profile, TODAY + timedelta(days=1)) == ("utter_ask_next_group", {})
    assert group_dates.reply("ask_where", profile, TODAY + timedelta(days=1)) == ("utter_ask_where", {})


# --- start-up -----------------------------------------------------------------------------------

def start_up(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "python"), "-m", "bot.processes"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env=process_env(COSP_VAR_DIR=str(tmp_path), **env))


def test_make_run_stops_on_a_malformed_profile_naming_the_key(tmp_path: Path):
    bad = tmp_path / "profile.yml"
    bad.write_text(yaml.safe_dump(broken("service.phone", "call us")))
    refused = start_up(tmp_path, SERVICE_PROFILE=str(bad))
    assert refused.returncode == 2 and "service.phone" in refused.stderr and not refused.stdout
    good = tmp_path / "good.yml"
    good.write_text(yaml.safe_dump(RIVERSIDE))
    assert start_up(tmp_path, SERVICE_PROFILE=str(good)).returncode == 0


def test_make_run_stops_when_smtp_is_set_without_the_teams_mailbox(tmp_path: Path):
    refused = start_up(tmp_path, SMTP_HOST="127.0.0.1", REFERRAL_EMAIL_TO="")
    assert refused.returncode == 2 and "REFERRAL_EMAIL_TO" in refused.stderr


def test_only_the_default_profile_holds_the_teams_phone_and_email():
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    holding = []
    for name in tracked.decode().split("\0"):
        path = ROOT / name
        if not name or not path.is_file() or name == "service.yml":
            continue
        text = path.read_bytes().decode("utf-8", errors="ignore")
        if any(detail in text for detail in (LEAFLET.phone, LEAFLET.phone.replace(" ", ""), LEAFLET.phone[-6:], LEAFLET.email)):
            holding.append(name)
    assert holding == [], f"the team's phone or email outside service.yml: {holding}"


# --- a second team, end to end ------------------------------------------------------------------

@pytest.fixture(scope="module")
def second_team(tmp_path_factory) -> Iterator[Dict]:
    if not MODEL.exists():
        pytest.skip("needs the trained model: run `make train`")
    tmp = tmp_path_factory.mktemp("riverside")
    profile = tmp / "riverside.yml"
    profile.write_text(yaml.safe_dump(RIVERSIDE, sort_keys=False))
    smtp_port, web_port = free_port(), free_port()
    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    stack = Stack(tmp, SERVICE_PROFILE=str(profile), SMTP_HOST="127.0.0.1", SMTP_PORT=str(smtp_port),
                  REFERRAL_EMAIL_TO="staff@example.org", WEBCHAT_PORT=str(web_port))
    try:
        stack.start_assistant()
        stack.start("web", [sys.executable, "-m", "bot.webchat.serve"])
        wait_for(f"http://127.0.0.1:{web_port}/health")
        yield {"rasa_port": stack.rasa_port, "stack": stack, "inbox": inbox, "profile": profile,
               "page": f"http://127.0.0.1:{web_port}/"}
    finally:
        stack.stop()
        smtp.stop()


def say(team: Dict, sender: str, text: str) -> str:
    from tests.test_end_to_end import say as rest_say

    return " ".join(r.get("text", "") for r in rest_say(team, sender, text))


def shows_no_leaflet_detail(text: str) -> None:
    for detail in LEAFLET_DETAILS:
        assert detail not in text, detail


@pytest.mark.needs_model
def test_a_second_team_answers_with_its_own_details_and_groups(second_team):
    said = {text: say(second_team, "riverside-1", text) for text in [
        "when is the next group", "where will it be held", "how do I refer", "I want to talk to someone",
        "is there a creche", "who is it for"]}
    for reply in said.values():
        shows_no_leaflet_detail(reply)
    soon = f"{DAYS[SOON.weekday()]} {SOON.day} {SOON:%B %Y}"
    assert soon in said["when is the next group"] and "Quayside Community Base" in said["when is the next group"]
    assert "Old Chapel" not in said["when is the next group"] + said["where will it be held"]
    assert "Meadow Family Hub" in said["where will it be held"] and "family hub" in said["where will it be held"]
    for question in ("how do I refer", "I want to talk to someone", "is there a creche"):
        assert "0113 496 0123" in said[question] and "riverside.families@nhs.example" in said[question]
    assert "up to 18 months old" in said["who is it for"]


@pytest.mark.needs_model
def test_a_second_teams_referral_email_and_page_show_none_of_the_leaflets_details(second_team):
    """The referral's postcode (DN31) is outside Riverside's districts: still taken, the parent told
    before consent, staff told in the email."""
    from tests.test_end_to_end import ANSWERS

    sender = "riverside-2"
    turns = [say(second_team, sender, "I'd like to make a referral")]
    turns += [say(second_team, sender, answer) for answer, _ in ANSWERS]
    for reply in turns:
        shows_no_leaflet_detail(reply)
    asked_consent = next(i for i, reply in enumerate(turns) if "Do you agree" in reply)
    told = [i for i, reply in enumerate(turns) if "outside the area Riverside Little Steps covers" in reply]
    assert told == [asked_consent], "told once, with the consent question, before agreeing"
    sent = say(second_team, sender, "Send referral")
    shows_no_leaflet_detail(sent)
    assert "0113 496 0123" in sent and "your referral has been sent" in sent
    reference = sent.split("Your reference is ")[1][:10]
    second_team["stack"].wait_until_delivered(reference)
    mails = emails_for(second_team["inbox"], reference)
    assert len(mails) == 1
    body = body_text(mails[0], "text/plain")
    shows_no_leaflet_detail(body)
    assert "DN31 1HU (outside the catchment)" in body
    with urllib.request.urlopen(second_team["page"], timeout=30) as response:
        page = response.read().decode("utf-8")
    shows_no_leaflet_detail(page)
    assert "Riverside Little Steps" in page and "0113 496 0123" in page and "tel:+441134960123" in page
    assert "riverside.families@nhs.example" in page and "up to 18 months old" in page


@pytest.mark.needs_model
def test_a_group_staff_add_while_it_runs_is_offered_without_a_restart(second_team):
    added = TODAY + timedelta(days=5)
    profile = second_team["profile"]
    profile.write_text(yaml.safe_dump(riverside(RIVERSIDE["groups"] + [group(added, "Willow Children's Centre")])))
    wait_until(lambda: "Willow Children's Centre" in say(second_team, "riverside-3", "when's the next group?"),
               "the added group offered", 30)
    profile.write_text("groups: [unclosed\n")  # a bad edit: the groups offered stay as they were
    wait_until(lambda: "Willow Children's Centre" in say(second_team, "riverside-4", "when's the next group?"),
               "the last good profile kept", 30)
