"""The Kubernetes files in deploy/helm/: they parse, configure only what this repository has, and hold no
secrets. They cannot be installed here (no cluster, no helm), so these checks are what keeps them honest."""
from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Any, Dict, Iterator, List, Set, Tuple

import pytest
import yaml

from bot.settings import _SECRET_FIELDS

ROOT = Path(__file__).resolve().parent.parent
HELM = ROOT / "deploy" / "helm"
RASA_VALUES = HELM / "rasa-values.yaml"
ACTION_VALUES = HELM / "action-server-values.yaml"
PROCESSES = HELM / "cosp-processes.yaml"

# Read by Python or Rasa themselves, not by bot/settings.py, so not in .env.example.
RUNTIME_VARIABLES = {"PYTHONPATH", "RASA_TELEMETRY_ENABLED", "SQL_POOL_SIZE", "SQL_MAX_OVERFLOW"}
# Variables whose value is a secret or may carry a password: only ever from the Secret.
SECRET_VARIABLES = {name.upper() for name in _SECRET_FIELDS} | {"DATABASE_URL", "TRACKER_DATABASE_URL", "REDIS_URL"}
# Keys the rasa chart's own values.yaml gives trackerStore / lockStore, for Rasa's built-in stores; the
# chart copies every one into endpoints.yml, so ours must set each to null (Helm then drops it).
CHART_TRACKER_STORE_KEYS = {"dialect", "url", "port", "username", "password", "db", "login_db"}
CHART_LOCK_STORE_KEYS = {"url", "port", "password", "db"}


def load(path: Path) -> Dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{path.name} is not a YAML mapping"
    return data


def manifests() -> List[Dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(PROCESSES.read_text(encoding="utf-8")) if doc]


def all_documents() -> List[Tuple[str, Any]]:
    return [(RASA_VALUES.name, load(RASA_VALUES)), (ACTION_VALUES.name, load(ACTION_VALUES))] + [
        (f"{PROCESSES.name}:{doc['kind']}/{doc['metadata']['name']}", doc) for doc in manifests()
    ]


def walk(node: Any, path: str = "") -> Iterator[Tuple[str, Any, Any]]:
    """(path, key, value) for every mapping entry and list item, depth first."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield path, key, value
            yield from walk(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield path, index, value
            yield from walk(value, f"{path}[{index}]")


def env_entries(doc: Any) -> List[Dict[str, Any]]:
    """Every container env entry: the charts' `extraEnv` and the manifests' `env` lists."""
    found = []
    for _, key, value in walk(doc):
        if key in ("extraEnv", "env") and isinstance(value, list):
            found.extend(entry for entry in value if isinstance(entry, dict) and "name" in entry)
    return found


def referenced_variables(doc: Any) -> Set[str]:
    names = {entry["name"] for entry in env_entries(doc)}
    for _, key, value in walk(doc):
        if key == "secretKeyRef" and isinstance(value, dict):
            names.add(value["key"])  # a key of the Secret made from .env.example
        if isinstance(value, str):
            names.update(re.findall(r"\$\{([A-Z][A-Z0-9_]*)\}", value))
    return names


def documented_variables() -> Set[str]:
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    return set(re.findall(r"^([A-Z][A-Z0-9_]*)=", text, flags=re.MULTILINE))


def test_every_file_parses_as_yaml() -> None:
    assert load(RASA_VALUES) and load(ACTION_VALUES)
    kinds = sorted(doc["kind"] for doc in manifests())
    assert kinds == ["Deployment", "Deployment", "Deployment", "Ingress", "Job", "Service"]


@pytest.mark.parametrize("name,doc", all_documents(), ids=[name for name, _ in all_documents()])
def test_every_variable_used_is_documented_in_env_example(name: str, doc: Any) -> None:
    undocumented = referenced_variables(doc) - documented_variables() - RUNTIME_VARIABLES
    assert not undocumented, f"{name} uses variables that .env.example does not list: {sorted(undocumented)}"


def configured_channels() -> List[str]:
    return list(load(RASA_VALUES)["applicationSettings"]["credentials"]["additionalChannelCredentials"])


def test_channels_are_those_of_credentials_prod() -> None:
    prod = yaml.safe_load((ROOT / "credentials.prod.yml").read_text(encoding="utf-8"))
    assert set(configured_channels()) == set(prod)
    assert "rest" not in configured_channels()


@pytest.mark.parametrize("path", configured_channels())
def test_each_configured_channel_is_a_class_in_this_repository(path: str) -> None:
    from rasa.core.channels.channel import InputChannel

    module_name, _, class_name = path.rpartition(".")
    module = importlib.import_module(module_name)
    channel = getattr(module, class_name, None)
    assert isinstance(channel, type) and issubclass(channel, InputChannel), f"{path} is not an InputChannel"


def test_endpoints_are_those_of_endpoints_prod() -> None:
    prod = yaml.safe_load((ROOT / "endpoints.prod.yml").read_text(encoding="utf-8"))
    values = load(RASA_VALUES)
    endpoints = values["applicationSettings"]["endpoints"]
    tracker, lock = endpoints["trackerStore"], endpoints["lockStore"]
    assert tracker["enabled"] and tracker["type"] == prod["tracker_store"]["type"]
    assert lock["enabled"] and lock["type"] == prod["lock_store"]["type"]
    # The chart's defaults for Rasa's own stores would land in endpoints.yml (with ${DB_HOST} and the
    # like, which Rasa refuses when unset) unless each is nulled out.
    assert {key for key, value in tracker.items() if value is None} == CHART_TRACKER_STORE_KEYS
    assert {key for key, value in lock.items() if value is None} == CHART_LOCK_STORE_KEYS
    assert set(tracker) - CHART_TRACKER_STORE_KEYS == {"enabled", "type"}
    assert set(lock) - CHART_LOCK_STORE_KEYS == {"enabled", "type"}
    broker = endpoints["eventBroker"]
    assert broker["enabled"] and broker["type"] == prod["event_broker"]["type"]
    assert {key for key, value in broker.items() if value is not None} == {"enabled", "type"}
    assert prod["action_endpoint"]["url"] == "${ACTION_SERVER_URL}"  # what the chart writes too
    actions = load(ACTION_VALUES)
    expected = f"http://{actions['fullnameOverride']}:{actions['service']['port']}/webhook"
    assert values["rasa-action-server"]["external"] == {"enabled": True, "url": expected}


def test_production_shape() -> None:
    rasa, actions = load(RASA_VALUES), load(ACTION_VALUES)
    assert rasa["replicaCount"] == 2 and actions["replicaCount"] == 2
    assert "--enable-api" not in rasa["args"] and not rasa["applicationSettings"]["enableAPI"]
    assert rasa["applicationSettings"]["telemetry"]["enabled"] is False
    assert rasa["applicationSettings"]["initialModel"] == ""  # no download of the chart's example model
    assert {"name": "RASA_TELEMETRY_ENABLED", "value": "false"} in actions["extraEnv"]
    for probe in ("readinessProbe", "livenessProbe"):
        assert rasa[probe]["httpGet"]["path"] == "/webhooks/health/"
        assert actions[probe]["httpGet"]["path"] == "/health"
    assert not rasa["postgresql"]["install"] and not rasa["redis"]["install"]
    assert rasa["ingress"]["path"] == "/socket.io"
    bridge = next(doc for doc in manifests() if doc["metadata"]["name"] == "cosp-telegram")
    assert bridge["spec"]["replicas"] == 1 and bridge["spec"]["strategy"]["type"] == "Recreate"


SECRET_KEY_NAME = re.compile(r"password|secret|token", re.IGNORECASE)
REFERENCE_KEYS = {"secretKeyRef", "secretRef", "secretName"}  # naming a Secret, not holding one
CREDENTIALS_IN_URL = re.compile(r"[a-z+]+://[^/\s:@]+:[^@\s]+@", re.IGNORECASE)
TELEGRAM_TOKEN = re.compile(r"\d{6,}:[A-Za-z0-9_-]{20,}")


@pytest.mark.parametrize("name,doc", all_documents(), ids=[name for name, _ in all_documents()])
def test_no_secret_values_only_references(name: str, doc: Any) -> None:
    for entry in env_entries(doc):
        if entry["name"] in SECRET_VARIABLES:
            assert "value" not in entry, f"{name}: {entry['name']} has a literal value"
            assert entry["valueFrom"]["secretKeyRef"]["key"] == entry["name"], f"{name}: {entry['name']}"
    for path, key, value in walk(doc):
        if isinstance(key, str) and SECRET_KEY_NAME.search(key) and key not in REFERENCE_KEYS:
            assert value in (None, {}, "") or isinstance(value, bool), f"{name}: {path}.{key} holds a value"
        if isinstance(value, str):
            assert not CREDENTIALS_IN_URL.search(value), f"{name}: {path}.{key} has credentials in a URL"
            assert not TELEGRAM_TOKEN.search(value), f"{name}: {path}.{key} looks like a bot token"


def test_processes_take_their_environment_from_the_secret() -> None:
    for doc in manifests():
        containers = doc["spec"].get("template", {}).get("spec", {}).get("containers", [])
        for container in containers:
            assert {"secretRef": {"name": "cosp-env"}} in container["envFrom"], doc["metadata"]["name"]
