"""Rasa NLU component: the adapter that puts the `safety` package after the intent classifier.

- sure: the intent becomes `safety_risk` with full confidence and the kind is given as the
  `risk_kind` entity (it picks that kind's safety reply);
- unsure: the classifier's intent stands (never `safety_risk`), and the channel adds one line of
  signposting after the answer (bot/signpost.py);
- none: the classifier's intent stands, but never `safety_risk`: the classifier alone only makes
  it unsure.
The risk model is trained with the NLU model, from safety/corpus/ plus every non-safety NLU
example as a harmless one, and saved in the model archive. Each outcome is logged and counted
with its kind, never with the text.
"""
from __future__ import annotations

import logging
from collections import Counter, OrderedDict
from pathlib import Path
from typing import Any, Dict, List, Optional, Text, Tuple

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.logging_setup import silence_rasa_message_echoes
from bot.question_focus import FULL_TEXT
from safety import NO_RISK, SURE, UNSURE, Assessment, Detector, corpus
from safety.kinds import KIND_ENTITY, NONE, SAFETY_INTENT
from safety.model import RiskModel

logger = logging.getLogger(__name__)

FALLBACK_INTENT = "nlu_fallback"
MODEL_FILE = "risk_model.pkl"
_KEEP = 2000  # recent outcomes kept for the channels, by message id

counts: "Counter[Tuple[str, str]]" = Counter()  # (outcome, kind) -> messages
_recent: "OrderedDict[str, Assessment]" = OrderedDict()


def outcome_of(message_id: Optional[str]) -> Optional[Assessment]:
    """The assessment of a message this process parsed (taken once), for the channel's signpost."""
    return _recent.pop(message_id, None) if message_id else None


def _remember(message_id: Optional[str], assessment: Assessment) -> None:
    if message_id:
        _recent[message_id] = assessment
        while len(_recent) > _KEEP:
            _recent.popitem(last=False)


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class SafetyNet(GraphComponent):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"corpus": str(corpus.CORPUS)}

    @classmethod
    def fingerprint_addon(cls, config: Dict[str, Any]) -> Optional[str]:
        return corpus.fingerprint(Path(config.get("corpus") or corpus.CORPUS))

    def __init__(
        self,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        model: Optional[RiskModel] = None,
    ) -> None:
        self._config = config
        self._model_storage = model_storage
        self._resource = resource
        self._detector = Detector(model)

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "SafetyNet":
        silence_rasa_message_echoes()  # this runs inside the Rasa server
        return cls(config, model_storage, resource)

    @classmethod
    def load(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> "SafetyNet":
        silence_rasa_message_echoes()
        with model_storage.read_from(resource) as directory:
            model = RiskModel.load(Path(directory) / MODEL_FILE)
        return cls(config, model_storage, resource, model)

    def train(self, training_data: TrainingData) -> Resource:
        examples = corpus.load(Path(self._config.get("corpus") or corpus.CORPUS))
        examples += [
            (NONE, example.get(TEXT))
            for example in training_data.intent_examples
            if example.get(INTENT) != SAFETY_INTENT and example.get(TEXT)
        ]
        model = RiskModel.train(examples)
        with self._model_storage.write_to(self._resource) as directory:
            model.save(Path(directory) / MODEL_FILE)
        self._detector = Detector(model)
        return self._resource

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(FULL_TEXT) or message.get(TEXT) or ""
            assessment = self._detector.assess(text)
            others = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get("name") != SAFETY_INTENT]
            classifier_says_risk = (message.get(INTENT) or {}).get("name") == SAFETY_INTENT
            if assessment.outcome == NO_RISK and classifier_says_risk:
                assessment = Assessment(UNSURE, cues=("classifier",))
            if assessment.outcome == SURE:
                top = {"name": SAFETY_INTENT, "confidence": 1.0}
                message.set(INTENT, top, add_to_output=True)
                message.set(INTENT_RANKING_KEY, [top, *others], add_to_output=True)
                kind = {"entity": KIND_ENTITY, "value": assessment.kinds[0], "start": 0, "end": len(text),
                        "confidence_entity": 1.0, "extractor": type(self).__name__}
                message.set(ENTITIES, [*(message.get(ENTITIES) or []), kind], add_to_output=True)
            elif classifier_says_risk:
                self._answer_instead(message, others)
            message.set("safety", {"outcome": assessment.outcome, "kinds": list(assessment.kinds)}, add_to_output=True)
            _remember(message.get("message_id"), assessment)
            for kind in assessment.kinds or (NONE,):
                counts[(assessment.outcome, kind)] += 1
            if assessment.outcome != NO_RISK:
                logger.info("Safety check: %s (%s)", assessment.outcome, ", ".join(assessment.kinds) or "classifier")
        return messages

    @staticmethod
    def _answer_instead(message: Message, others: List[Dict[str, Any]]) -> None:
        """The classifier alone chose safety_risk: answer with its next choice (the fallback if none)."""
        top = others[0] if others else {"name": FALLBACK_INTENT, "confidence": 1.0}
        message.set(INTENT, top, add_to_output=True)
        message.set(INTENT_RANKING_KEY, others or [top], add_to_output=True)
