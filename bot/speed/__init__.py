"""The avoidable costs of a Rasa 3.6 turn, each removed by one lever, installed once when a Rasa
server starts (bot/tracker_store.guard_on_start, which each of our channels calls). None changes
what the assistant does. SPEED_LEVERS (bot/settings.py) names the levers that are on, for the
benchmark's ablation; every lever is on by default."""
from __future__ import annotations

from typing import Any, Callable, Dict, Iterable, List

from bot.speed import (action_http, action_payload, action_result_check, action_session, debug_copies, empty_domain,
                       gc_freeze, graph_run, lean_classifier, lean_featurizer, lean_safety, rule_keys, rule_states,
                       selective_domain, slot_copy, sqlite_wal, tracker_cache, tracker_copy, tracker_store)

# In the order they are installed; gc_freeze last, once everything else has been built.
LEVERS: Dict[str, Callable[[Any], None]] = {
    action_result_check.NAME: action_result_check.install,
    tracker_store.PLAIN_RETRIEVE: tracker_store.install_plain_retrieve,
    tracker_store.APPEND_SAVE: tracker_store.install_append_save,
    sqlite_wal.NAME: sqlite_wal.install,
    tracker_cache.NAME: tracker_cache.install,
    selective_domain.NAME: selective_domain.install,
    action_session.NAME: action_session.install,
    action_http.NAME: action_http.install,
    action_payload.NAME: action_payload.install,
    empty_domain.NAME: empty_domain.install,
    lean_featurizer.NAME: lean_featurizer.install,
    lean_classifier.NAME: lean_classifier.install,
    lean_safety.NAME: lean_safety.install,
    graph_run.NAME: graph_run.install,
    rule_states.NAME: rule_states.install,
    rule_keys.NAME: rule_keys.install,
    slot_copy.NAME: slot_copy.install,
    tracker_copy.NAME: tracker_copy.install,
    debug_copies.NAME: debug_copies.install,
    gc_freeze.NAME: gc_freeze.install,
}
_INSTALLED = "_cosp_speed_levers"


def install(agent: Any, names: Iterable[str]) -> List[str]:
    """Installs the named levers on this server's agent, once; returns those installed now."""
    done = getattr(agent, _INSTALLED, None)
    if done is not None:
        return []
    chosen = [name for name in LEVERS if name in set(names)]
    for name in chosen:
        LEVERS[name](agent)
    setattr(agent, _INSTALLED, chosen)
    return chosen
