"""The plain Rasa build beside which ours is measured (issue 13): a `rasa init`-style project with this
assistant's content and none of its machinery. The same light pipeline without our components
(question focus, safety net), MemoizationPolicy and RulePolicy, the in-memory tracker store, no action
server: the programme and chit-chat rules, and a minimal referral form whose slots take the text typed
(Rasa's own form, no validation). Built from this repository's files into a folder, and trained there."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List

import yaml

from bench.options import ROOT

NLU_FILES = ["programme.yml", "programme_written.yml", "chitchat.yml", "referral.yml", "referral_written.yml"]
RULE_FILES = ["programme.yml", "chitchat.yml"]
FORM_SLOTS = ["referrer_type", "caregiver_name", "relationship", "child_age", "help_with", "phone"]
RASA = Path(sys.executable).parent / "rasa"

CONFIG = {
    "recipe": "default.v1", "language": "en", "assistant_id": "peer",
    "pipeline": [
        {"name": "WhitespaceTokenizer"},
        {"name": "CountVectorsFeaturizer", "analyzer": "word", "min_ngram": 1, "max_ngram": 2},
        {"name": "CountVectorsFeaturizer", "analyzer": "char_wb", "min_ngram": 2, "max_ngram": 4},
        {"name": "LogisticRegressionClassifier", "max_iter": 1000, "solver": "lbfgs", "tol": 0.0001,
         "random_state": 42, "ranking_length": 5},
        {"name": "FallbackClassifier", "threshold": 0.25, "ambiguity_threshold": 0.1},
    ],
    "policies": [{"name": "MemoizationPolicy", "max_history": 4}, {"name": "RulePolicy"}],
}

FORM_RULES = [
    {"rule": "start the referral", "condition": [{"active_loop": None}],
     "steps": [{"intent": "start_referral"}, {"action": "utter_referral_intro"}, {"action": "referral_form"},
               {"active_loop": "referral_form"}]},
    {"rule": "the referral is complete", "condition": [{"active_loop": "referral_form"}],
     "steps": [{"action": "referral_form"}, {"active_loop": None}, {"slot_was_set": [{"requested_slot": None}]},
               {"action": "utter_peer_done"}], "wait_for_user_input": True},
]


def _domain() -> Dict[str, Any]:
    ours = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    intents: List[str] = []
    for name in NLU_FILES:
        for block in yaml.safe_load((ROOT / "data" / "nlu" / name).read_text(encoding="utf-8")).get("nlu", []):
            if "intent" in block and block["intent"] not in intents:
                intents.append(block["intent"])
    slots = {slot: {"type": "text", "influence_conversation": False, "mappings": [
        {"type": "from_text", "conditions": [{"active_loop": "referral_form", "requested_slot": slot}]}]}
        for slot in FORM_SLOTS}
    # one variant each: the one without a condition (a parent's wording), as the peer has no such slots
    responses = {name: [{k: v for k, v in next((v for v in variants if "condition" not in v), variants[-1]).items()
                         if k != "condition"}] for name, variants in ours["responses"].items()}
    responses["utter_peer_done"] = [{"text": "Thank you."}]
    return {"version": "3.1", "session_config": ours["session_config"], "intents": intents,
            "entities": ours.get("entities", []), "slots": slots,
            "forms": {"referral_form": {"required_slots": FORM_SLOTS}}, "responses": responses}


def build(folder: Path) -> Path:
    """Writes the project into `folder` and trains it; returns the model."""
    (folder / "data" / "nlu").mkdir(parents=True, exist_ok=True)
    (folder / "data" / "rules").mkdir(parents=True, exist_ok=True)
    (folder / "config.yml").write_text(yaml.safe_dump(CONFIG, sort_keys=False))
    (folder / "domain.yml").write_text(yaml.safe_dump(_domain(), sort_keys=False, allow_unicode=True))
    for name in NLU_FILES:
        shutil.copy(ROOT / "data" / "nlu" / name, folder / "data" / "nlu" / name)
    for name in RULE_FILES:  # the rules that need no custom action
        rules = yaml.safe_load((ROOT / "data" / "rules" / name).read_text(encoding="utf-8"))["rules"]
        plain = [rule for rule in rules if all(str(step.get("action", "utter_")).startswith("utter_") for step in rule["steps"])]
        (folder / "data" / "rules" / name).write_text(yaml.safe_dump({"version": "3.1", "rules": plain}, sort_keys=False, allow_unicode=True))
    (folder / "data" / "rules" / "form.yml").write_text(yaml.safe_dump({"version": "3.1", "rules": FORM_RULES}, sort_keys=False))
    models = folder / "models"
    subprocess.run([str(RASA), "train", "--fixed-model-name", "peer", "--out", str(models), "--quiet"],
                   cwd=folder, check=True, stdout=subprocess.DEVNULL)
    return models / "peer.tar.gz"
