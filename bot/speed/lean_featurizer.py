"""Rasa's CountVectorsFeaturizer turns each message into counts twice per featurizer (each word on its
own, then the whole text) with scikit-learn's `transform`, and then converts the result: a checked
row-ordered sparse matrix, sorted, then copied into coordinate form, with the analyzer built anew
each call. That bookkeeping is most of the featurizers' 16 % of a question turn; the counting
itself is a few dictionary lookups.

Here the same analyzer (built once) and the same vocabulary give the same counts, written straight
into the coordinate matrix Rasa keeps: the same rows, columns, values and types, in the same order."""
from __future__ import annotations

from array import array
from typing import Any, Callable, Dict, List, Optional, Sequence, Text, Tuple

import numpy as np
import scipy.sparse
from rasa.nlu.constants import DENSE_FEATURIZABLE_ATTRIBUTES
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer
from sklearn.feature_extraction.text import CountVectorizer

from bot.speed.lean_classifier import components

NAME = "lean_featurizer"
_INT32_MAX = np.iinfo(np.int32).max
COO = scipy.sparse.coo_matrix


def checked(data: np.ndarray, rows: np.ndarray, cols: np.ndarray, shape: Tuple[int, int]) -> COO:
    return COO((data, (rows, cols)), shape=shape, dtype=data.dtype)


def _attributes(matrix: COO) -> Dict[str, Any]:
    return {key: (value.dtype, value.tolist()) if isinstance(value, np.ndarray) else value
            for key, value in vars(matrix).items()}


def _direct_or_checked() -> Callable[[np.ndarray, np.ndarray, np.ndarray, Tuple[int, int]], COO]:
    """scipy checks each new matrix's arrays (20 us, four matrices a message). Ours are right by
    construction, so the matrix is put together directly, when that gives what scipy's constructor
    gives (this scipy: the same attributes); otherwise through the constructor."""
    sample = (np.array([1, 2], dtype=np.int64), np.array([0, 1], dtype=np.int32), np.array([3, 0], dtype=np.int32))
    reference = checked(*sample, (2, 5))
    rest = {key: value for key, value in vars(reference).items() if key not in ("_shape", "row", "col", "data")}

    def direct(data: np.ndarray, rows: np.ndarray, cols: np.ndarray, shape: Tuple[int, int]) -> COO:
        matrix = COO.__new__(COO)
        matrix.__dict__.update(rest, _shape=shape, row=rows, col=cols, data=data)
        return matrix

    return direct if _attributes(direct(*sample, (2, 5))) == _attributes(reference) else checked


make_coo = _direct_or_checked()


class Counter:
    """`CountVectorizer.transform(docs).sort_indices().tocoo()`, for one fitted vectorizer."""

    def __init__(self, vectorizer: CountVectorizer) -> None:
        self.analyze: Callable[[Text], Sequence[Text]] = vectorizer.build_analyzer()
        self.vocabulary: Dict[Text, int] = vectorizer.vocabulary_
        self.width = len(self.vocabulary)
        self.dtype = vectorizer.dtype
        self.binary = bool(vectorizer.binary)

    def __call__(self, docs: List[Text]) -> scipy.sparse.coo_matrix:
        vocabulary, rows, cols, values = self.vocabulary, array("i"), array("i"), array("q")
        for row, doc in enumerate(docs):
            counts: Dict[int, int] = {}
            for feature in self.analyze(doc):
                index = vocabulary.get(feature)
                if index is not None:
                    counts[index] = counts.get(index, 0) + 1
            for index in sorted(counts):
                rows.append(row)
                cols.append(index)
                values.append(1 if self.binary else counts[index])
        data = np.frombuffer(values, dtype=np.int64).astype(self.dtype, copy=False)
        arrays = (data, np.frombuffer(rows, dtype=np.int32), np.frombuffer(cols, dtype=np.int32))
        build = make_coo if self.width <= _INT32_MAX else checked  # wider: scipy picks 64-bit indices
        return build(*arrays, (len(docs), self.width))


def counting(component: CountVectorsFeaturizer) -> Callable[..., Tuple[List[Any], List[Any]]]:
    counters: Dict[Text, Counter] = {}
    stock = component._create_features

    def _create_features(attribute: Text, all_tokens: List[List[Text]]
                         ) -> Tuple[List[Optional[Any]], List[Optional[Any]]]:
        vectorizer = component.vectorizers.get(attribute)
        if type(vectorizer) is not CountVectorizer or not getattr(vectorizer, "vocabulary_", None):
            return stock(attribute, all_tokens)  # none, or not fitted: Rasa's own answer or error
        count = counters.get(attribute)
        if count is None or count.vocabulary is not vectorizer.vocabulary_:
            count = counters[attribute] = Counter(vectorizer)
        sequence: List[Optional[Any]] = []
        sentence: List[Optional[Any]] = []
        for tokens in all_tokens:
            if not tokens:
                sequence.append(None)
                sentence.append(None)
                continue
            sequence.append(count(tokens))
            sentence.append(count([" ".join(tokens)]) if attribute in DENSE_FEATURIZABLE_ATTRIBUTES else None)
        return sequence, sentence

    return _create_features


def install(agent: Any) -> None:
    for component in components(agent):
        if isinstance(component, CountVectorsFeaturizer) and isinstance(component.vectorizers, dict):
            component._create_features = counting(component)
