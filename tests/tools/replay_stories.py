"""Replays the test stories through the trained model and the real action server, and fails on any
step the assistant did not really take.

`rasa test core` never calls the action server: it replays the story's own events, so every
`slot_was_set` step is put into the tracker, not checked, and a validation that stores a wrong value
(or none) still passes. Here each story's user messages are sent, one by one, for a fresh
conversation, to an agent whose actions run on a real rasa-sdk action server; after each message the
turn's new events must show:
- the story's intent for the message (the real NLU, safety net included), unless the form was asking
  a question: then the form reads the text, not the intent ("No, thanks" is read as the answer
  whether the model calls it deny or inform), and what the message did shows in the actions;
- the story's actions, all and in order (action_listen aside);
- each `slot_was_set` slot set to exactly the story's value by the action the story puts it after
  (its last value from that action; slots the story does not list may change freely);
- the form the story says is active (`active_loop:`, its last in the turn) active when the turn ends
  (`active_loop: null`: none). In a story, `active_loop: referral_form` after the form runs again
  mid-form says the form goes on; Rasa writes no event for that, so the state is compared.

    python -m tests.tools.replay_stories [stories.yml ...]   (default: tests/test_stories.yml)
"""
from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import tempfile
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, List, Optional, Sequence, Tuple

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "models" / "cosp.tar.gz"
STORIES = ROOT / "tests" / "test_stories.yml"
NOT_COMPARED = {"action_listen", "action_extract_slots"}  # Rasa runs these around every turn itself


@dataclass(frozen=True)
class Mismatch:
    story: str
    turn: int  # 1-based: the n-th user message of the story
    message: str
    what: str
    expected: Any
    actual: Any

    def __str__(self) -> str:
        return (f"{self.story!r}, message {self.turn} ({self.message!r}): {self.what}\n"
                f"    expected: {self.expected!r}\n    actual:   {self.actual!r}")


@dataclass
class Turn:
    """One user message of a story and what must follow it."""
    text: str
    intent: Optional[str]
    steps: List[Tuple[str, Any, Any]]  # ("action", name, None), ("slot", name, value), ("loop", name, None)


def read_stories(path: Path, domain: Any) -> List[Tuple[str, List[Turn]]]:
    from rasa.shared.core.events import ActionExecuted, ActiveLoop, SlotSet, UserUttered
    from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader

    stories = []
    for step in YAMLStoryReader(domain).read_from_file(path):
        turns: List[Turn] = []
        for event in step.events:
            if isinstance(event, UserUttered):
                if not event.text:
                    raise ValueError(f"story {step.block_name!r}: every user step needs its text (`user:`)")
                turns.append(Turn(event.text.strip(), event.intent_name, []))
            elif not turns:
                raise ValueError(f"story {step.block_name!r} must start with a user message")
            elif isinstance(event, ActionExecuted):
                turns[-1].steps.append(("action", event.action_name, None))
            elif isinstance(event, SlotSet):
                turns[-1].steps.append(("slot", event.key, event.value))
            elif isinstance(event, ActiveLoop):
                turns[-1].steps.append(("loop", event.name, None))
        stories.append((step.block_name, turns))
    return stories


def compare(story: str, number: int, turn: Turn, events: Sequence[Any], loop_before: Optional[str],
            active_loop: Optional[str]) -> List[Mismatch]:
    """What differs between a story's turn and the events the assistant really produced for it."""
    from rasa.shared.core.events import ActionExecuted, SlotSet, UserUttered

    def mismatch(what: str, expected: Any, actual: Any) -> Mismatch:
        return Mismatch(story, number, turn.text, what, expected, actual)

    found: List[Mismatch] = []
    user = next(e for e in events if isinstance(e, UserUttered))
    if turn.intent and not loop_before and user.intent_name != turn.intent:
        found.append(mismatch("intent", turn.intent, user.intent_name))
    actual = _segments([("action", e.action_name, None) if isinstance(e, ActionExecuted) else ("slot", e.key, e.value)
                        for e in events if isinstance(e, (ActionExecuted, SlotSet))])
    expected = _segments(turn.steps)
    actions, expected_actions = [a for a, _ in actual[1:]], [a for a, _ in expected[1:]]
    if actions != expected_actions:
        return found + [mismatch("actions", expected_actions, actions)]
    for (action, wanted), (_, got) in zip(expected, actual):
        for slot, value in wanted.items():
            if slot not in got or got[slot] != value:
                by = f" by {action}" if action else " from the message"
                found.append(mismatch(f"slot {slot}{by}", value, got.get(slot, "(not set)")))
    loops = [name for kind, name, _ in turn.steps if kind == "loop"]
    if loops and loops[-1] != active_loop:
        found.append(mismatch("active loop at the end of the turn", loops[-1], active_loop))
    return found


def _segments(steps: Sequence[Tuple[str, Any, Any]]) -> List[Tuple[Optional[str], dict]]:
    """The turn as [(None, slots set from the message), (action, slots it set last), ...]."""
    segments: List[Tuple[Optional[str], dict]] = [(None, {})]
    for kind, name, value in steps:
        if kind == "action" and name not in NOT_COMPARED:
            segments.append((name, {}))
        elif kind == "slot":
            segments[-1][1][name] = value
    return segments


async def replay(agent: Any, stories: List[Tuple[str, List[Turn]]]) -> List[Mismatch]:
    from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
    from rasa.shared.core.events import UserUttered

    found: List[Mismatch] = []
    for name, turns in stories:
        sender = f"story-{uuid.uuid4().hex[:12]}"
        seen, loop = 0, None
        for number, turn in enumerate(turns, start=1):
            await agent.handle_message(UserMessage(turn.text, CollectingOutputChannel(), sender))
            tracker = await agent.tracker_store.retrieve(sender)
            events = list(tracker.events)[seen:]
            seen += len(events)
            start = max(i for i, e in enumerate(events) if isinstance(e, UserUttered))
            mismatches = compare(name, number, turn, events[start:], loop, tracker.active_loop_name)
            loop = tracker.active_loop_name
            if mismatches:
                found.extend(mismatches)
                break  # the rest of this story would follow from a turn that already went wrong
    return found


@contextmanager
def action_server() -> Iterator[str]:
    """rasa-sdk's action server with our actions, its stores in a temporary folder; its webhook URL."""
    from deploy.cluster import free_port, stop_all
    from tests.environment import process_env
    from tests.support import BIN, wait_for

    with tempfile.TemporaryDirectory(prefix="cosp-stories-") as var:
        port = free_port()
        log = open(Path(var) / "actions.log", "w+")
        proc = subprocess.Popen([str(BIN / "rasa"), "run", "actions", "--actions", "actions", "-p", str(port)],
                                cwd=ROOT, env=process_env(COSP_VAR_DIR=var), stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for(f"http://127.0.0.1:{port}/health", 120)
            yield f"http://127.0.0.1:{port}/webhook"
        finally:
            stop_all([proc])
            log.close()


def load_agent(action_url: str, tracker_db: Path) -> Any:
    """The agent as a Rasa server of ours runs it: the SQL tracker store (SQLite here) and the speed
    levers SPEED_LEVERS names (all by default), so the stories also show the levers change nothing."""
    from rasa.core.agent import Agent
    from rasa.utils.endpoints import EndpointConfig
    from rasa.utils.log_utils import configure_structlog

    from bot import speed
    from bot.settings import load_settings
    from bot.tracker_store import GuardedSQLTrackerStore, guard

    configure_structlog(logging.WARNING)  # Rasa logs each message's text at DEBUG
    logging.getLogger("rasa").setLevel(logging.WARNING)
    store = GuardedSQLTrackerStore(url=f"sqlite:///{tracker_db}")
    agent = Agent.load(str(MODEL), action_endpoint=EndpointConfig(url=action_url), tracker_store=store,
                       generator=EndpointConfig(type="bot.service_responses.ServiceResponses"))  # as endpoints.yml
    guard(agent.tracker_store)
    speed.install(agent, load_settings().speed_levers)
    return agent


def run(paths: Sequence[Path], agent: Any) -> Tuple[List[Mismatch], int]:
    """The mismatches of every story in `paths`, and how many stories there were."""
    stories = [story for path in paths for story in read_stories(path, agent.domain)]
    return asyncio.run(replay(agent, stories)), len(stories)


def main(argv: Optional[Sequence[str]] = None) -> int:
    paths = [Path(p) for p in (argv if argv is not None else sys.argv[1:])] or [STORIES]
    with action_server() as url, tempfile.TemporaryDirectory(prefix="cosp-stories-") as tmp:
        found, count = run(paths, load_agent(url, Path(tmp) / "tracker.db"))
    for mismatch in found:
        print(f"FAILED: {mismatch}")
    failed = len({m.story for m in found})
    print(f"{count - failed} of {count} stories replayed as written, with the real actions")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
