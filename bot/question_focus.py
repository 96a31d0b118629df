"""Rasa NLU component, first in the pipeline: in a long message the question decides the intent,
not the story around it ("My son is 14 months and we moved here in May... how many sessions are
there?"). The classifier reads the question sentence(s); the safety net reads the whole message
(kept as `full_text`), and the conversation keeps the whole text as typed."""
from __future__ import annotations

import re
from typing import Any, Dict, List, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

FULL_TEXT = "full_text"
_SENTENCES = re.compile(r"(?<=[.!?])\s+|\n+")
_QUESTION_START = re.compile(
    r"^(what|whats|what's|how|who|whos|who's|where|wheres|when|why|which|can|could|is|are|do|does|did|will|"
    r"would|should|shall|may|am|any|anyone|tell me|i'd like to know|i want to know|i wanted to know|"
    r"i was wondering|wondering)\b",
    re.IGNORECASE,
)
MIN_WORDS = 15  # shorter messages are read whole
MIN_QUESTION_WORDS = 4  # "can you help?" alone says too little: the message is read whole


def focus(text: str) -> str:
    """The question sentence(s) of a long message, or the message itself."""
    if len(text.split()) < MIN_WORDS:
        return text
    sentences = [s.strip() for s in _SENTENCES.split(text) if s.strip()]
    if len(sentences) < 2:
        return text
    questions = [s for s in sentences if s.endswith("?") or _QUESTION_START.match(s)]
    if not questions or len(questions) == len(sentences):
        return text
    asked = " ".join(questions)
    return asked if len(asked.split()) >= MIN_QUESTION_WORDS else text


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False)
class QuestionFocus(GraphComponent):
    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "QuestionFocus":
        return cls()

    def _focus(self, message: Message) -> None:
        text = message.get(TEXT)
        if isinstance(text, str):
            focused = focus(text)
            if focused != text:
                message.set(FULL_TEXT, text)
                message.set(TEXT, focused)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        for example in training_data.training_examples:
            self._focus(example)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            self._focus(message)
        return messages
