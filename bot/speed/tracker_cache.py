"""Every turn, Rasa reads the whole session back from the store and replays it into a tracker, though
the tracker this server saved at the end of the last turn is that very state. Here the server keeps
the tracker it saved (the last 1,000 conversations, for up to 10 minutes) and, at the next turn,
uses it again only if the store still holds exactly what was saved: the conversation's highest row
id and its number of rows, read in one indexed query, are those seen after the save. Anything else
that touched the conversation (the other Rasa server, retention, "delete my data") changes them, and
the turn reads the store as before. A kept tracker is handed out once: a turn that fails before its
save leaves nothing behind. Before it is handed out, the events a fresh read would not return (those
before the last session start, which the session start reset) are dropped, so the tracker is the one
a fresh read would build, event for event."""
from __future__ import annotations

import itertools
import time
from collections import OrderedDict
from typing import Any, Optional, Text, Tuple

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker

from bot.speed.tracker_store import _EVENTS, _STORED, sql_store

NAME = "tracker_cache"
SIZE = 1000
SECONDS = 600.0
_STAMP = sa.text(f"SELECT max(id), count(*) FROM {_EVENTS.name} WHERE sender_id = :sender_id")

Stamp = Tuple[Optional[int], int]


class Kept:
    """The trackers this server saved last, by conversation."""

    def __init__(self, size: int = SIZE, seconds: float = SECONDS) -> None:
        self.size, self.seconds = size, seconds
        self._kept: "OrderedDict[Text, Tuple[DialogueStateTracker, Stamp, int, float]]" = OrderedDict()

    def put(self, tracker: DialogueStateTracker, stamp: Stamp) -> None:
        now = time.monotonic()
        self._kept.pop(tracker.sender_id, None)
        self._kept[tracker.sender_id] = (tracker, stamp, len(tracker.events), now)
        while self._kept and (len(self._kept) > self.size or next(iter(self._kept.values()))[3] < now - self.seconds):
            self._kept.popitem(last=False)

    def drop(self, sender_id: Text) -> None:
        self._kept.pop(sender_id, None)

    def take(self, sender_id: Text, stamp: Stamp) -> Optional[DialogueStateTracker]:
        kept = self._kept.pop(sender_id, None)
        if kept is None:
            return None
        tracker, saved_stamp, length, when = kept
        if saved_stamp != stamp or len(tracker.events) != length or when < time.monotonic() - self.seconds:
            return None
        return tracker if as_a_fresh_read(tracker) else None

    def __contains__(self, sender_id: Text) -> bool:
        return sender_id in self._kept

    def __len__(self) -> int:
        return len(self._kept)


def as_a_fresh_read(tracker: DialogueStateTracker) -> bool:
    """Drops the events before the last session start, as the store's read does (it returns the events
    from the last SessionStarted's timestamp on). False if the timestamps don't allow that exactly."""
    events = tracker.events
    last = next((i for i in range(len(events) - 1, -1, -1) if isinstance(events[i], SessionStarted)), None)
    if last is None:
        return True
    started = events[last].timestamp
    if any(e.timestamp < started for e in itertools.islice(events, last, None)) or \
            any(e.timestamp >= started for e in itertools.islice(events, 0, last)):
        return False
    for _ in range(last):
        events.popleft()
    if getattr(tracker, _STORED, None) is not None:
        setattr(tracker, _STORED, len(events))
    return True


def _stamp(store: SQLTrackerStore, sender_id: Text) -> Stamp:
    with store.engine.connect() as conn:
        top, count = conn.execute(_STAMP, {"sender_id": sender_id}).one()
    return top, count


def install(agent: Any) -> None:
    store = sql_store(agent)
    if store is None:
        return
    kept = Kept()
    saving, retrieving = store.save, store.retrieve

    async def save(tracker: DialogueStateTracker) -> None:
        kept.drop(tracker.sender_id)
        await saving(tracker)
        stamp = _stamp(store, tracker.sender_id)
        if stamp[1]:  # none stored: deleted while the turn ran, and it stays deleted
            kept.put(tracker, stamp)

    async def retrieve(sender_id: Text) -> Optional[DialogueStateTracker]:
        tracker = kept.take(sender_id, _stamp(store, sender_id)) if sender_id in kept else None
        return tracker if tracker is not None else await retrieving(sender_id)

    store.save, store.retrieve = save, retrieve
    store.kept_trackers = kept
