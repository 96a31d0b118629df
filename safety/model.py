"""The trained risk model: one logistic regression per kind of risk, over word and character
n-grams, so misspellings and unseen wordings of a kind still score. Plain scikit-learn."""
from __future__ import annotations

import pickle
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import MultiLabelBinarizer

from safety.kinds import KINDS, NONE
from safety.text import normalise


class RiskModel:
    def __init__(self, pipeline: Pipeline) -> None:
        self._pipeline = pipeline
        # The same arithmetic as the pipeline's predict_proba without its FeatureUnion (which
        # stacks the two feature matrices on every call): half the time of a turn's check.
        (_, words), (_, chars) = pipeline.named_steps["features"].transformer_list
        estimators = pipeline.named_steps["kinds"].estimators_
        weights = np.vstack([e.coef_ for e in estimators])
        split = len(words.vocabulary_)
        self._words, self._chars = words, chars
        self._word_weights = np.ascontiguousarray(weights[:, :split].T)
        self._char_weights = np.ascontiguousarray(weights[:, split:].T)
        self._bias = np.array([e.intercept_[0] for e in estimators])
        # for direct_scores: TfidfVectorizer.transform for one short text is mostly scikit-learn's
        # checks and sparse bookkeeping; the arithmetic done directly (counts, 1 + log, idf, l2 norm,
        # weights) gives the same scores to within rounding (tests/test_safety.py), in a fifth of the time
        self._parts = [(v.build_analyzer(), v.vocabulary_, v.idf_, w)
                       for v, w in ((words, self._word_weights), (chars, self._char_weights))]
        for vectorizer in (words, chars):
            assert vectorizer.sublinear_tf and vectorizer.norm == "l2" and vectorizer.use_idf and not vectorizer.binary

    @classmethod
    def train(cls, examples: Sequence[Tuple[str, str]], seed: int = 0) -> "RiskModel":
        """examples: (label, text), label a kind or "none"."""
        texts = [normalise(text) for _, text in examples]
        labels = [[label] if label != NONE else [] for label, _ in examples]
        targets = MultiLabelBinarizer(classes=list(KINDS)).fit_transform(labels)
        features = FeatureUnion(
            [
                ("words", TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True, token_pattern=r"(?u)\b\w[\w']*\b")),
                ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2)),
            ]
        )
        classifier = OneVsRestClassifier(
            LogisticRegression(C=4.0, class_weight="balanced", max_iter=2000, random_state=seed)
        )
        pipeline = Pipeline([("features", features), ("kinds", classifier)])
        pipeline.fit(texts, targets)
        return cls(pipeline)

    def scores(self, normalised: Sequence[str]) -> List[Dict[str, float]]:
        """Per text, each kind's probability."""
        texts = list(normalised)
        logits = self._words.transform(texts) @ self._word_weights + self._chars.transform(texts) @ self._char_weights
        probabilities = 1.0 / (1.0 + np.exp(-(logits + self._bias)))
        return [dict(zip(KINDS, map(float, row))) for row in probabilities]

    def direct_scores(self, normalised: Sequence[str]) -> List[Dict[str, float]]:
        """The same as `scores`, the arithmetic done directly (a speed lever: bot/speed/lean_safety.py)."""
        if not normalised:
            return []
        logits = np.zeros((len(normalised), len(self._bias)))
        for row, text in enumerate(normalised):
            for analyse, vocabulary, idf, weights in self._parts:
                counts: Dict[int, int] = {}
                for feature in analyse(text):
                    column = vocabulary.get(feature)
                    if column is not None:
                        counts[column] = counts.get(column, 0) + 1
                if counts:
                    columns = np.fromiter(counts.keys(), dtype=np.intp, count=len(counts))
                    values = (np.log(np.fromiter(counts.values(), dtype=float, count=len(counts))) + 1.0) * idf[columns]
                    logits[row] += (values / np.sqrt(values @ values)) @ weights[columns]
        probabilities = 1.0 / (1.0 + np.exp(-(logits + self._bias)))
        return [dict(zip(KINDS, map(float, row))) for row in probabilities]

    def pipeline_scores(self, normalised: Sequence[str]) -> List[Dict[str, float]]:
        """The same through scikit-learn's pipeline (for the benchmark's ablation and the tests)."""
        probabilities = np.atleast_2d(self._pipeline.predict_proba(list(normalised)))
        return [dict(zip(KINDS, map(float, row))) for row in probabilities]

    def save(self, path: Path) -> None:
        path.write_bytes(pickle.dumps(self._pipeline, protocol=pickle.HIGHEST_PROTOCOL))

    @classmethod
    def load(cls, path: Path) -> "RiskModel":
        return cls(pickle.loads(path.read_bytes()))
