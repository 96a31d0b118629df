"""The intent classifier's two avoidable costs on every parse (Rasa's LogisticRegressionClassifier):

- scikit-learn scores a message as `X @ coef_.T`. The weights (intents × 18k features) are stored row
  by row, so the transposed view is column-ordered and scipy copies all 3 MB of it to multiply by one
  sparse row: 1.6 ms, for a product that takes microseconds. Stored column by column instead, the
  view needs no copy.
- its input row is built by Rasa's generic feature combination: a deep copy of each featurizer's
  sparse matrices, sequence features it never reads, and three rounds of scipy stacking (1.4 ms).
  Here the sentence features are laid side by side directly, in the same order.

The same numbers in the same order, so the probabilities are identical, bit for bit."""
from __future__ import annotations

from typing import Any, Iterator, List

import numpy as np
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, TEXT
from rasa.shared.nlu.training_data.message import Message
from scipy.sparse import csr_matrix

NAME = "lean_classifier"


def components(agent: Any) -> Iterator[Any]:
    """The loaded graph's components (empty if the agent has no model)."""
    runner = getattr(getattr(agent, "processor", None), "graph_runner", None)
    for node in getattr(runner, "_instantiated_nodes", {}).values():
        if getattr(node, "_component", None) is not None:
            yield node._component


def side_by_side(stock: Any) -> Any:
    def create_X(messages: List[Message]) -> csr_matrix:
        data, indices, indptr, width = [], [], [0], None
        count = 0
        for message in messages:
            sentence = [f for f in message.features if f.attribute == TEXT and f.type == FEATURE_TYPE_SENTENCE]
            if not sentence or not all(f.is_sparse() for f in sentence):
                return stock(messages)  # dense features, or none: Rasa's own way
            offset = 0
            for feature in sentence:
                block = feature.features.tocsr()
                block.sum_duplicates()
                data.append(block.data)
                indices.append(block.indices + offset)
                offset += block.shape[1]
                count += len(block.data)
            if width not in (None, offset):
                return stock(messages)
            width = offset
            indptr.append(count)
        return csr_matrix((np.concatenate(data), np.concatenate(indices), np.array(indptr)),
                          shape=(len(messages), width))

    return create_X


def install(agent: Any) -> None:
    for component in components(agent):
        clf = getattr(component, "clf", None)
        if isinstance(component, LogisticRegressionClassifier) and hasattr(clf, "coef_"):
            clf.coef_ = np.asfortranarray(clf.coef_)
            component._create_X = side_by_side(component._create_X)
