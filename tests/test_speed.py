"""The speed levers (bot/speed): each does what it says, and takes nothing away. Each test fails when
its lever is removed (not installed, or installed as a no-op)."""
from __future__ import annotations

import gc
import json
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any, List

import jsonschema
import pytest
from aiohttp import web
from rasa.core.actions.action import RemoteAction
from rasa.core.tracker_store import AwaitableTrackerStore, FailSafeTrackerStore, SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered
from rasa.utils.endpoints import EndpointConfig
from sqlalchemy import event, text

from bot import speed
from bot.settings import SPEED_LEVERS, ConfigError, load_settings
from bot.speed import (action_result_check, action_session, gc_freeze, selective_domain, sqlite_wal, tracker_cache,
                       tracker_store as levers)
from bot.tracker_store import GuardedSQLTrackerStore

ROOT = Path(__file__).resolve().parent.parent
DOMAIN = Domain.load(str(ROOT / "domain.yml"))


def test_every_lever_is_on_by_default_and_can_be_named(monkeypatch) -> None:
    assert list(speed.LEVERS) == list(SPEED_LEVERS) and load_settings({}).speed_levers == list(SPEED_LEVERS)
    assert load_settings({"SPEED_LEVERS": "none"}).speed_levers == []
    assert load_settings({"SPEED_LEVERS": "gc_freeze, append_save"}).speed_levers == ["gc_freeze", "append_save"]
    with pytest.raises(ConfigError, match="SPEED_LEVERS"):
        load_settings({"SPEED_LEVERS": "turbo"})


# --- action_result_check --------------------------------------------------------------------------
@pytest.fixture
def stock_validation():
    action_result_check.uninstall()  # another test's agent may have installed it in this process
    yield
    action_result_check.uninstall()


def test_the_reply_check_builds_its_validator_once_and_judges_alike(stock_validation, monkeypatch) -> None:
    checks: List[Any] = []
    original = jsonschema.Draft202012Validator.check_schema
    monkeypatch.setattr(jsonschema.Draft202012Validator, "check_schema",
                        classmethod(lambda cls, schema, *a, **k: (checks.append(1), original(schema))))
    action = RemoteAction("action_x", None)
    good = {"events": [{"event": "slot", "name": "x", "value": 1}], "responses": [{"text": "hi"}]}
    bad = {"events": [{"event": "slot", "name": 3}], "responses": "hi"}
    with pytest.raises(jsonschema.ValidationError) as stock_error:
        action._validate_action_result(bad)
    assert action._validate_action_result(good) and checks  # Rasa's own check re-checks the schema
    action_result_check.install()
    checks.clear()
    for _ in range(5):
        assert action._validate_action_result(good)
    with pytest.raises(jsonschema.ValidationError) as error:
        action._validate_action_result(bad)
    assert checks == [] and error.value.message == stock_error.value.message


def replies() -> List[Any]:
    """Action server replies, good and bad: every kind of event Rasa has, and each spoiled."""
    from rasa.shared.core import events as ev

    good = [e.as_dict() for e in (
        UserUttered("hi", {"name": "greet", "confidence": 1.0}, [{"entity": "x", "value": 1}]),
        ev.ActionExecuted("utter_greet", policy="RulePolicy", confidence=1.0), SlotSet("x", [1, 2]),
        ev.EntitiesAdded([{"entity": "x", "value": "y"}]), ev.ReminderScheduled("greet", datetime.now()),
        ev.ReminderCancelled(), ev.ActionExecutionRejected("referral_form"), ev.ActiveLoop("referral_form"),
        ev.LoopInterrupted(True), ev.AllSlotsReset(), ev.ConversationResumed(), ev.ConversationPaused(),
        ev.FollowupAction("action_listen"), ev.Restarted(), ev.ActionReverted(), ev.UserUtteranceReverted(),
        ev.BotUttered("hello", {"buttons": []}), ev.SessionStarted(), ev.AgentUttered("hi"),
        ev.DefinePrevUserUtteredFeaturization(True), ev.StoryExported())]
    spoiled = [{**good[0], "text": 3}, {**good[2], "name": None}, {"event": "slot", "value": 1}, {"event": "nope"},
               {"name": "x"}, {**good[1], "timestamp": "soon"}, {**good[3], "entities": [{"value": 1}]}, "slot", None,
               {**good[0], "parse_data": {"intent": {"name": 1}}}, {**good[1], "hide_rule_turn": "no"}]
    out: List[Any] = [{"events": good, "responses": [{"text": "hi"}]}, {}, {"events": []}, {"responses": [{}]},
                      {"events": "slot"}, {"responses": "hi"}, [], "no", {"events": good, "responses": ["hi"]}]
    out += [{"events": [e]} for e in good + spoiled] + [{"events": good + [e]} for e in spoiled]
    return out


def test_the_reply_check_by_event_kind_accepts_exactly_what_rasas_schema_does(stock_validation, monkeypatch) -> None:
    whole = action_result_check._VALIDATOR
    expected = [whole.is_valid(reply) for reply in replies()]
    assert 20 < sum(expected) < len(expected) - 20  # good and bad alike
    assert [action_result_check._accepted(reply) for reply in replies()] == expected
    action_result_check.install()
    monkeypatch.setattr(whole, "iter_errors", lambda *a: pytest.fail("a good reply went through the whole schema"))
    action = RemoteAction("action_x", None)
    for reply, good in zip(replies(), expected):
        if good:
            assert action._validate_action_result(reply)


# --- slot_copy ------------------------------------------------------------------------------------
def test_slots_copy_themselves_as_pythons_generic_copy_would(monkeypatch) -> None:
    import copy
    import copyreg

    from rasa.shared.core.slots import Slot

    from rasa.shared.core.trackers import DialogueStateTracker

    from bot.speed import slot_copy

    monkeypatch.delattr(Slot, "__copy__", raising=False)  # another test's agent may have installed it
    generic = [copy.copy(slot) for slot in DOMAIN.slots]
    slot_copy.install()
    monkeypatch.setattr(copyreg, "__newobj__", lambda *a: pytest.fail("copied the generic way"))
    for slot, before, now in zip(DOMAIN.slots, generic, [copy.copy(slot) for slot in DOMAIN.slots]):
        assert type(now) is type(before) is type(slot) and now is not slot
        assert vars(now) == vars(before) and all(vars(now)[k] is v for k, v in vars(slot).items())  # shallow
    tracker = DialogueStateTracker("copied", DOMAIN.slots)
    tracker.update(SlotSet("caregiver_name", "Sam"))
    assert DOMAIN.slots[[s.name for s in DOMAIN.slots].index("caregiver_name")].value is None  # the domain's untouched
    assert len({type(s) for s in DOMAIN.slots}) >= 3 and all(slot_copy.plain(c) for c in slot_copy.slot_classes())


# --- the tracker store levers ---------------------------------------------------------------------
def agent_with_store(tmp_path: Path, monkeypatch) -> SimpleNamespace:
    monkeypatch.setenv("TRACKER_DATABASE_URL", f"sqlite:///{tmp_path / 'tracker.db'}")
    store = GuardedSQLTrackerStore(domain=DOMAIN)
    return SimpleNamespace(tracker_store=FailSafeTrackerStore(AwaitableTrackerStore(store)), store=store,
                           action_endpoint=None)


def statements(store: SQLTrackerStore) -> List[str]:
    said: List[str] = []
    event.listen(store.engine, "before_cursor_execute", lambda conn, cur, sql, *a: said.append(sql.split()[0].upper()))
    return said


def turn(text_: str) -> list:
    return [UserUttered(text_, {"name": "greet", "confidence": 1.0}), SlotSet("failed_attempts", 1.0),
            BotUttered("Hello 🙂 <b>"), ActionExecuted("action_listen")]


def untimed(data: dict) -> dict:
    return {k: v for k, v in data.items() if k != "timestamp"}


async def conversation(outer: Any, sender: str, turns: int) -> None:
    for i in range(turns):
        tracker = await outer.get_or_create_tracker(sender)
        if i == 0:
            tracker.update(SessionStarted())
        for e in turn(f"message {i}"):
            tracker.update(e)
        await outer.save(tracker)


@pytest.mark.asyncio
async def test_a_conversation_reads_back_the_same_with_and_without_the_store_levers(tmp_path, monkeypatch) -> None:
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    stock, fast = agent_with_store(tmp_path / "a", monkeypatch), agent_with_store(tmp_path / "b", monkeypatch)
    levers.install_plain_retrieve(fast)
    levers.install_append_save(fast)
    for agent in (stock, fast):
        await conversation(agent.tracker_store, "parent-1", 6)
    read = [await agent.tracker_store.retrieve("parent-1") for agent in (stock, fast)]
    assert [untimed(e.as_dict()) for e in read[0].events] == [untimed(e.as_dict()) for e in read[1].events]
    assert {k: v.value for k, v in read[1].slots.items()} == {k: v.value for k, v in read[0].slots.items()} and len(read[1].events) == 1 + 6 * 4  # from SessionStarted on
    for agent in (stock, fast):  # the same rows, column by column
        with agent.store.engine.connect() as conn:
            agent.rows = conn.execute(text("SELECT sender_id, type_name, timestamp, intent_name, action_name, data "
                                           "FROM events ORDER BY id")).all()
    assert [r[:2] + r[3:5] for r in stock.rows] == [r[:2] + r[3:5] for r in fast.rows]
    assert [untimed(json.loads(r[5])) for r in stock.rows] == [untimed(json.loads(r[5])) for r in fast.rows]
    assert all(isinstance(r[2], float) and json.loads(r[5])["timestamp"] == r[2] for r in fast.rows)


@pytest.mark.asyncio
async def test_a_turn_appends_its_events_in_one_insert_and_no_count(tmp_path, monkeypatch) -> None:
    agent = agent_with_store(tmp_path, monkeypatch)
    levers.install_plain_retrieve(agent)
    levers.install_append_save(agent)
    said = statements(agent.store)
    tracker = await agent.tracker_store.get_or_create_tracker("parent-2")
    assert said == ["SELECT"]  # the read finds nothing; a new conversation is not written before its turn
    said.clear()
    tracker.update(SessionStarted())
    await agent.tracker_store.save(tracker)
    assert said == ["INSERT"]
    said.clear()
    tracker = await agent.tracker_store.retrieve("parent-2")
    for e in turn("hello"):
        tracker.update(e)
    await agent.tracker_store.save(tracker)
    assert said == ["SELECT", "INSERT"]  # the read, then one statement for four events
    said.clear()
    await agent.tracker_store.save(tracker)
    assert said == []  # nothing new: nothing written


@pytest.mark.asyncio
async def test_the_sqlite_store_keeps_its_connections_and_journals_ahead(tmp_path, monkeypatch) -> None:
    agent = agent_with_store(tmp_path, monkeypatch)
    for install in (levers.install_plain_retrieve, levers.install_append_save, sqlite_wal.install):
        install(agent)
    opened: List[Any] = []
    event.listen(agent.store.engine, "connect", lambda conn, record: opened.append(conn))
    await conversation(agent.tracker_store, "parent-1", 8)  # 8 reads and 8 saves
    assert len(opened) == 1
    with agent.store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL: a commit is on disk
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() > 0
    assert len((await agent.tracker_store.retrieve("parent-1")).events) == 1 + 8 * 4


def test_the_sqlite_lever_leaves_other_stores_alone(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TRACKER_DATABASE_URL", "sqlite://")
    store = GuardedSQLTrackerStore(domain=DOMAIN)
    engine = store.engine
    sqlite_wal.install(SimpleNamespace(tracker_store=store))
    assert store.engine is engine


def with_every_store_lever(tmp_path: Path, monkeypatch) -> SimpleNamespace:
    agent = agent_with_store(tmp_path, monkeypatch)
    for install in (levers.install_plain_retrieve, levers.install_append_save, sqlite_wal.install, tracker_cache.install):
        install(agent)
    return agent


def state(tracker: Any) -> tuple:
    return ([e.as_dict() for e in tracker.events], {k: v.value for k, v in tracker.slots.items()},
            tracker.active_loop_name, tracker.latest_message.text)


@pytest.mark.asyncio
async def test_a_kept_tracker_is_the_one_a_fresh_read_builds(tmp_path, monkeypatch) -> None:
    agent = with_every_store_lever(tmp_path, monkeypatch)
    reader = GuardedSQLTrackerStore(domain=DOMAIN)  # another process's view of the same file
    said: List[str] = []
    event.listen(agent.store.engine, "before_cursor_execute", lambda conn, cur, sql, *a: said.append(sql))
    for i in range(6):
        tracker = kept if i else await agent.tracker_store.get_or_create_tracker("parent-1")
        if i in (0, 3):  # a new conversation, then a new session within it
            tracker.update(SessionStarted())
        for e in turn(f"message {i}"):
            tracker.update(e)
        await agent.tracker_store.save(tracker)
        said.clear()
        kept = await agent.tracker_store.retrieve("parent-1")
        assert len(said) == 1 and said[0].startswith("SELECT max(id), count(*)")  # the stamp, not the events
        assert await agent.tracker_store.retrieve("parent-1") is not kept  # handed out once
        assert state(kept) == state(await reader.retrieve("parent-1"))
    assert len([e for e in kept.events if isinstance(e, SessionStarted)]) == 1


@pytest.mark.asyncio
async def test_a_kept_tracker_is_not_used_once_anything_else_touched_the_conversation(tmp_path, monkeypatch) -> None:
    agent = with_every_store_lever(tmp_path, monkeypatch)
    other = GuardedSQLTrackerStore(domain=DOMAIN)  # the other Rasa server, or the worker
    await conversation(agent.tracker_store, "parent-1", 2)
    theirs = await other.retrieve("parent-1")
    theirs.update(UserUttered("from the other server", {"name": "greet", "confidence": 1.0}))
    await other.save(theirs)
    assert (await agent.tracker_store.retrieve("parent-1")).latest_message.text == "from the other server"

    await conversation(agent.tracker_store, "parent-2", 2)
    with other.engine.begin() as conn:  # "delete my data"
        conn.execute(text("DELETE FROM events WHERE sender_id = 'parent-2'"))
    assert await agent.tracker_store.retrieve("parent-2") is None

    await conversation(agent.tracker_store, "parent-3", 1)
    during = await agent.tracker_store.retrieve("parent-3")
    with other.engine.begin() as conn:  # deleted while its turn runs
        conn.execute(text("DELETE FROM events WHERE sender_id = 'parent-3'"))
    during.update(UserUttered("after the erasure", {"name": "greet", "confidence": 1.0}))
    await agent.tracker_store.save(during)
    assert await agent.tracker_store.retrieve("parent-3") is None


@pytest.mark.asyncio
async def test_a_turn_that_failed_before_its_save_leaves_nothing_kept(tmp_path, monkeypatch) -> None:
    agent = with_every_store_lever(tmp_path, monkeypatch)
    await conversation(agent.tracker_store, "parent-1", 2)
    taken = await agent.tracker_store.retrieve("parent-1")
    taken.update(UserUttered("never saved", {"name": "greet", "confidence": 1.0}))  # the turn fails here
    again = await agent.tracker_store.retrieve("parent-1")
    assert again is not taken and again.latest_message.text == "message 1"


def test_kept_trackers_are_few_and_recent() -> None:
    kept = tracker_cache.Kept(size=2, seconds=600)
    trackers = [SimpleNamespace(sender_id=f"p{i}", events=[]) for i in range(3)]
    for t in trackers:
        kept.put(t, (1, 1))
    assert "p0" not in kept and len(kept) == 2
    stale = tracker_cache.Kept(size=10, seconds=0)
    stale.put(trackers[0], (1, 1))
    assert stale.take("p0", (1, 1)) is None


@pytest.mark.asyncio
async def test_a_conversation_deleted_during_its_turn_stays_deleted(tmp_path, monkeypatch) -> None:
    agent = agent_with_store(tmp_path, monkeypatch)
    levers.install_append_save(agent)
    await conversation(agent.tracker_store, "parent-3", 2)
    tracker = await agent.tracker_store.retrieve("parent-3")
    with agent.store.engine.begin() as conn:  # retention or erasure, mid-turn
        conn.execute(text("DELETE FROM events WHERE sender_id = 'parent-3'"))
    for e in turn("still here?"):
        tracker.update(e)
    await agent.tracker_store.save(tracker)
    with agent.store.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM events")).scalar() == 0


@pytest.mark.asyncio
async def test_a_tracker_the_store_did_not_read_is_saved_the_stock_way(tmp_path, monkeypatch) -> None:
    agent = agent_with_store(tmp_path, monkeypatch)
    levers.install_append_save(agent)
    await conversation(agent.tracker_store, "parent-4", 1)
    copy = (await agent.tracker_store.retrieve("parent-4")).copy()  # a copy carries no count
    for e in turn("again"):
        copy.update(e)
    await agent.tracker_store.save(copy)
    assert len((await agent.tracker_store.retrieve("parent-4")).events) == len(copy.events)


@pytest.mark.asyncio
async def test_reading_a_conversation_finds_event_classes_in_a_table(tmp_path, monkeypatch) -> None:
    import rasa.shared.utils.common as common

    agent = agent_with_store(tmp_path, monkeypatch)
    await conversation(agent.tracker_store, "parent-5", 3)
    levers.install_plain_retrieve(agent)
    await agent.tracker_store.retrieve("parent-5")  # the table is built once
    walks: List[Any] = []
    original = common.all_subclasses
    monkeypatch.setattr(common, "all_subclasses", lambda cls: (walks.append(cls), original(cls))[1])
    tracker = await agent.tracker_store.retrieve("parent-5")
    assert len(tracker.events) == 1 + 3 * 4 and walks == []  # Rasa's way walks every Event class per event


def test_the_event_class_table_finds_what_rasa_finds() -> None:
    from rasa.shared.core.events import Event
    from rasa.shared.utils.common import all_subclasses

    for cls in all_subclasses(Event):
        if getattr(cls, "type_name", None):
            assert levers._resolve_by_type(cls.type_name) is levers._STOCK_RESOLVE(cls.type_name)
    with pytest.raises(ValueError):
        levers._resolve_by_type("no_such_event")


# --- selective_domain -----------------------------------------------------------------------------
def test_only_the_actions_that_need_the_domain_get_it() -> None:
    from rasa.shared.core.trackers import DialogueStateTracker

    endpoint = EndpointConfig("http://127.0.0.1:1/webhook")
    agent = SimpleNamespace(action_endpoint=endpoint)
    tracker = DialogueStateTracker("p", DOMAIN.slots)
    assert "domain" in RemoteAction("action_ask_child_age", endpoint)._action_call_format(tracker, DOMAIN)
    selective_domain.install(agent)
    assert "domain" not in RemoteAction("action_ask_child_age", endpoint)._action_call_format(tracker, DOMAIN)
    assert "domain" in RemoteAction("validate_referral_form", endpoint)._action_call_format(tracker, DOMAIN)


@pytest.mark.asyncio
async def test_the_actions_say_the_same_without_the_domain() -> None:
    import yaml
    from rasa_sdk.executor import CollectingDispatcher

    from actions.conversation import ExplainQuestion
    from actions.referral import questions as q
    from actions.referral_form import ASK_ACTIONS, AskConsent, AskReview
    from tests.test_actions import make_tracker

    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    for failures in (0.0, 2.0):
        for action in [ASK_ACTIONS[q.CHILD_AGE](), ASK_ACTIONS[q.REFERRER_TYPE](), AskConsent(), AskReview(), ExplainQuestion()]:
            said = []
            for given in (domain, {}):
                dispatcher = CollectingDispatcher()
                tracker = make_tracker({"failed_attempts": failures, "requested_slot": q.CHILD_AGE})
                await action.run(dispatcher, tracker, given)
                said.append(dispatcher.messages)
            assert said[0] == said[1], action.name()


# --- action_session -------------------------------------------------------------------------------
async def _server(routes: Any) -> Any:
    app = web.Application()
    for path, handler in routes.items():
        app.router.add_post(path, handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, site._server.sockets[0].getsockname()[1]


@pytest.mark.asyncio
async def test_action_calls_share_one_session_and_its_connections() -> None:
    peers: List[Any] = []
    bodies: List[bytes] = []

    async def webhook(request: web.Request) -> web.Response:
        peers.append(request.transport.get_extra_info("peername"))
        bodies.append(await request.read())
        return web.json_response({"events": [], "responses": []})

    runner, port = await _server({"/webhook": webhook})
    try:
        endpoint = EndpointConfig(f"http://127.0.0.1:{port}/webhook")
        for _ in range(3):
            await endpoint.request(json={}, method="post")
        assert len(set(peers)) == 3  # Rasa's way: a new connection per call
        action_session.install(SimpleNamespace(action_endpoint=endpoint))
        peers.clear()
        for _ in range(3):
            assert await endpoint.request(json={}, method="post") == {"events": [], "responses": []}
        assert len(set(peers)) == 1
        body = {"tracker": {"events": [{"event": "user", "timestamp": 1733290000.1234567, "text": "Cześć 🙂 </b> \\ \"x\""}],
                            "slots": {"n": 0.1, "none": None, "yes": True}}, "next_action": "action_x"}
        bodies.clear()
        await endpoint.request(json=body, method="post")
        assert json.loads(bodies[0]) == body and bodies[0] != json.dumps(body).encode()  # ujson's writing, same values
        await endpoint.session.close()
    finally:
        await runner.cleanup()


# --- action_http ----------------------------------------------------------------------------------
@pytest.mark.asyncio
async def test_action_calls_are_posted_directly_and_answer_rasa_as_aiohttp_does() -> None:
    import asyncio

    import aiohttp
    from rasa.utils.endpoints import ClientResponseError

    from bot.speed import action_http

    peers: List[Any] = []
    bodies: List[bytes] = []
    headers: List[Any] = []

    async def ok(request: web.Request) -> web.Response:
        peers.append(request.transport.get_extra_info("peername"))
        bodies.append(await request.read())
        headers.append(request.headers)
        return web.json_response({"events": [{"event": "slot", "name": "n", "value": "Zofia 🙂"}], "responses": []})

    async def rejected(request: web.Request) -> web.Response:
        return web.json_response({"action_name": "validate_x", "error": "no"}, status=400)

    async def broken(request: web.Request) -> web.Response:
        return web.Response(status=500, text="boom")

    async def not_json(request: web.Request) -> web.Response:
        return web.Response(text="<html>hi</html>", content_type="text/html")

    async def chunked(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        for part in (b'{"events": [], ', b'"responses": [{"text": "hi"}]}'):
            await response.write(part)
        await response.write_eof()
        return response

    async def closing(request: web.Request) -> web.Response:
        peers.append(request.transport.get_extra_info("peername"))
        return web.json_response({"events": [], "responses": []}, headers={"Connection": "close"})

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.json_response({})

    async def hang_up(request: web.Request) -> web.Response:
        request.transport.close()
        await asyncio.sleep(1)
        return web.json_response({})

    runner, port = await _server({"/ok": ok, "/rejected": rejected, "/broken": broken, "/not_json": not_json,
                                  "/chunked": chunked, "/closing": closing, "/slow": slow, "/hang_up": hang_up})
    try:
        def endpoint(path: str) -> EndpointConfig:
            return EndpointConfig(f"http://127.0.0.1:{port}{path}", headers={"X-Team": "cosp"})

        outcomes = []
        for lean in (False, True):  # the same answers both ways
            made = {path: endpoint(path) for path in ("/ok", "/rejected", "/broken", "/not_json", "/chunked")}
            if lean:
                for e in made.values():
                    action_http.install(SimpleNamespace(action_endpoint=e))
                    action_http.install(SimpleNamespace(action_endpoint=e))  # once
            body = {"next_action": "action_x", "tracker": {"slots": {"n": 0.1, "t": "Cześć 🙂 </b>"}}}
            got = [await made["/ok"].request(json=body, method="post", timeout=300)]
            got.append(await made["/ok"].request(data=json.dumps(body).encode(), method="post"))
            for path in ("/rejected", "/broken"):
                with pytest.raises(ClientResponseError) as error:
                    await made[path].request(json=body, method="post")
                got.append((error.value.status, error.value.message, error.value.text))
            got.append(await made["/not_json"].request(json=body, method="post"))
            got.append(await made["/chunked"].request(json=body, method="post"))
            assert json.loads(bodies[-1]) == body and headers[-1]["X-Team"] == "cosp"
            assert headers[-1]["Content-Type"] == "application/json"
            outcomes.append(got)
        assert outcomes[0] == outcomes[1] and outcomes[1][0]["events"][0]["value"] == "Zofia 🙂"
        assert outcomes[1][2][0] == 400 and json.loads(outcomes[1][2][2])["error"] == "no"

        lean_ok = endpoint("/ok")
        action_http.install(SimpleNamespace(action_endpoint=lean_ok))
        peers.clear()
        for _ in range(4):
            await lean_ok.request(json={}, method="post")
        assert len(set(peers)) == 1  # one connection, kept open
        with pytest.raises(ClientResponseError) as error:
            await lean_ok.request(method="get")  # not covered: Rasa's own way
        assert error.value.status == 405
        closing_endpoint = endpoint("/closing")
        action_http.install(SimpleNamespace(action_endpoint=closing_endpoint))
        peers.clear()
        for _ in range(2):
            assert await closing_endpoint.request(json={}, method="post") == {"events": [], "responses": []}
        assert len(set(peers)) == 2  # the server said close: a new connection next time
        slow_endpoint = endpoint("/slow")
        action_http.install(SimpleNamespace(action_endpoint=slow_endpoint))
        with pytest.raises(asyncio.TimeoutError):
            await slow_endpoint.request(json={}, method="post", timeout=0.3)
        hang_endpoint = endpoint("/hang_up")
        action_http.install(SimpleNamespace(action_endpoint=hang_endpoint))
        with pytest.raises(aiohttp.ClientConnectionError):
            await hang_endpoint.request(json={}, method="post")
    finally:
        await runner.cleanup()
    gone = EndpointConfig(f"http://127.0.0.1:{port}/ok")  # the server has stopped
    action_http.install(SimpleNamespace(action_endpoint=gone))
    with pytest.raises(aiohttp.ClientConnectionError):
        await gone.request(json={}, method="post")


# --- action_payload -------------------------------------------------------------------------------
def _form_tracker() -> Any:
    from rasa.shared.core.events import ActiveLoop
    from rasa.shared.core.trackers import DialogueStateTracker

    return DialogueStateTracker.from_events("payload", [
        ActionExecuted("action_listen"), UserUttered("refer me", {"name": "start_referral", "confidence": 0.9},
                                                    [{"entity": "x", "value": "y", "start": 0, "end": 1}]),
        ActionExecuted("referral_form"), ActiveLoop("referral_form"), SlotSet("requested_slot", "caregiver_name"),
        ActionExecuted("action_listen"), UserUttered("Zofia 🙂", {"name": "inform", "confidence": 0.8})],
        DOMAIN.slots)


@pytest.fixture
def stock_call_format():
    from bot.speed import action_payload

    action_payload.uninstall()
    yield action_payload
    action_payload.uninstall()


def test_the_action_call_is_written_as_rasa_writes_it_without_copying_the_form_trigger(stock_call_format) -> None:
    from rasa.shared.core.trackers import DialogueStateTracker

    action_payload = stock_call_format
    endpoint = EndpointConfig("http://127.0.0.1:1/webhook", enable_selective_domain=True)
    cases = [(RemoteAction(name, endpoint), tracker) for name in ("validate_referral_form", "action_ask_phone")
             for tracker in (_form_tracker(), DialogueStateTracker("empty", DOMAIN.slots))]
    expected = [json.loads(json.dumps(action._action_call_format(tracker, DOMAIN))) for action, tracker in cases]
    action_payload.install(SimpleNamespace(action_endpoint=endpoint))
    for (action, tracker), want in zip(cases, expected):
        written = action._action_call_format(tracker, DOMAIN)
        assert json.loads(json.dumps(written)) == want
        assert ("domain" in written) == (action.name() == "validate_referral_form")
        if tracker.active_loop:
            trigger = written["tracker"]["active_loop"]["trigger_message"]
            assert trigger is tracker.active_loop.trigger_message and trigger["intent"]["name"] == "start_referral"
            assert written["tracker"]["active_loop"]["name"] == "referral_form" and tracker.active_loop.name


def test_the_domain_is_written_once_and_put_into_each_call_as_those_bytes(stock_call_format, monkeypatch) -> None:
    action_payload = stock_call_format
    domain = DOMAIN.as_dict()
    payload = {"next_action": "validate_referral_form", "sender_id": "s", "domain": domain,
               "tracker": {"events": [{"event": "user", "text": "Cześć 🙂 </b> \\ \"x\""}], "slots": {"n": 0.1}}}
    written: List[Any] = []
    dumps = action_payload.ujson.dumps
    monkeypatch.setattr(action_payload.ujson, "dumps", lambda value, *a, **k: written.append(value) or dumps(value))
    for _ in range(3):
        assert json.loads(action_payload.body(payload)) == payload
    assert sum(1 for value in written if value is domain) == 1
    other = {**payload, "domain": {**domain}}  # another domain (a new model): written afresh
    assert json.loads(action_payload.body(other)) == other and written[-1] is other["domain"]
    assert json.loads(action_payload.body({"domain": {}})) == {"domain": {}}
    assert action_payload.body({"next_action": "action_ask_phone"}) is None and action_payload.body([]) is None


@pytest.mark.asyncio
async def test_a_call_carrying_the_domain_reaches_the_action_server_with_the_same_json(stock_call_format) -> None:
    action_payload = stock_call_format
    bodies: List[bytes] = []

    async def webhook(request: web.Request) -> web.Response:
        bodies.append(await request.read())
        assert request.content_type == "application/json"
        return web.json_response({"events": [], "responses": []})

    runner, port = await _server({"/webhook": webhook})
    try:
        endpoint = EndpointConfig(f"http://127.0.0.1:{port}/webhook", enable_selective_domain=True)
        action_payload.install(SimpleNamespace(action_endpoint=endpoint))
        action_payload.install(SimpleNamespace(action_endpoint=endpoint))  # once, however often it is asked
        tracker = _form_tracker()
        for name in ("validate_referral_form", "action_ask_phone"):
            action = RemoteAction(name, endpoint)
            sent = action._action_call_format(tracker, DOMAIN)
            assert await endpoint.request(json=sent, method="post") == {"events": [], "responses": []}
            assert json.loads(bodies[-1]) == json.loads(json.dumps(sent))
        assert b'"domain":' in bodies[0] and b'"domain":' not in bodies[1]
    finally:
        await runner.cleanup()


# --- empty_domain ---------------------------------------------------------------------------------
def test_whether_the_domain_is_empty_is_answered_without_building_an_empty_domain(monkeypatch) -> None:
    from bot.speed import empty_domain

    try:
        empty_domain.install()
        built: List[int] = []
        stock_from_dict = Domain.from_dict.__func__
        monkeypatch.setattr(Domain, "from_dict", classmethod(lambda cls, data: built.append(1) or stock_from_dict(cls, data)))
        assert not DOMAIN.is_empty() and not built
        assert Domain.from_dict({}).is_empty() and built == [1]
        assert not Domain.from_dict({"intents": ["greet"]}).is_empty()
    finally:
        empty_domain.uninstall()


# --- debug_copies ---------------------------------------------------------------------------------
def test_what_rasa_logs_at_debug_is_copied_only_when_debug_lines_are_written() -> None:
    import copy
    import logging

    import structlog
    from rasa.core import processor
    from rasa.core.actions import forms
    from rasa.core.policies import rule_policy
    from rasa.utils.log_utils import configure_structlog

    from bot.speed import debug_copies

    saved = structlog.get_config()
    events = [SlotSet("caregiver_name", "Zofia")]
    try:
        debug_copies.install()
        for module in (processor, forms, rule_policy):
            configure_structlog(logging.INFO)
            assert module.copy.deepcopy(events) is events  # dropped by the logger: no copy made
            configure_structlog(logging.DEBUG)
            copied = module.copy.deepcopy(events)
            assert copied == events and copied is not events and copied[0] is not events[0]
            assert module.copy.copy is copy.copy
    finally:
        debug_copies.uninstall()
        structlog.configure(**saved)
    assert processor.copy is copy


# --- gc_freeze and installing ---------------------------------------------------------------------
def test_the_loaded_model_is_moved_out_of_the_collectors_sight() -> None:
    try:
        gc.unfreeze()
        gc_freeze.install()
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def test_levers_are_installed_once_and_only_those_named(monkeypatch) -> None:
    done: List[str] = []
    monkeypatch.setattr(speed, "LEVERS", {name: (lambda agent, n=name: done.append(n)) for name in SPEED_LEVERS})
    agent = SimpleNamespace()
    assert speed.install(agent, ["gc_freeze", "append_save"]) == ["append_save", "gc_freeze"]
    assert speed.install(agent, SPEED_LEVERS) == [] and done == ["append_save", "gc_freeze"]
