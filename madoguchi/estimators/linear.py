"""A fitted, calibrated TF-IDF linear classifier reduced to what prediction needs.

Why not call scikit-learn at serving time: CalibratedClassifierCV validates
its input once per class and fold, and FeatureUnion/TfidfVectorizer add
parameter checks and joblib dispatch — about 10–15 ms for one inquiry, most
of it bookkeeping, against a sub-millisecond budget. Trained with one final
classifier and temperature scaling (`ensemble=False, method="temperature"`),
the model's prediction is softmax(β · (x·W + b)) where x is the TF-IDF
vector (sublinear tf × idf, l2-normalised per vectoriser, vectorisers side by
side). This class computes exactly that from the fitted vocabularies, idf
weights, coefficients and β; the tests check it against scikit-learn's own
`predict_proba`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from operator import add
from typing import Any

import numpy as np
from scipy import sparse

from madoguchi.estimators.ngram_index import CharNgramIndex, Hits, WordNgramIndex


def softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax, computed in float64 on a copy (the linear scores come in float32)."""
    z = z.astype(np.float64)
    z -= z.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z


class CharWbNgrams:
    """scikit-learn's `analyzer="char_wb"`: character n-grams inside space-padded words."""

    def __init__(self, min_n: int, max_n: int, lowercase: bool) -> None:
        self.min_n, self.max_n, self.lowercase = min_n, max_n, lowercase

    def index(self, vocabulary: dict[str, int]) -> CharNgramIndex | None:
        return CharNgramIndex.build(vocabulary, self.min_n, self.max_n, self.lowercase)

    def __call__(self, text: str) -> list[str]:
        if self.lowercase:
            text = text.lower()
        grams: list[str] = []
        for word in text.split():
            w = f" {word} "
            size = len(w)
            for n in range(self.min_n, self.max_n + 1):
                if size <= n:  # a short word counts once, as the whole padded word
                    grams.append(w)
                    break
                grams.extend(_windows(w, n))
        return grams


def _windows(w: str, n: int) -> Iterable[str]:
    """The n-character windows of w, built in C for the usual n (a slice per window costs twice as much)."""
    if n == 1:
        return w
    if n == 2:
        return map(add, w, w[1:])
    if n == 3:
        return map(add, map(add, w, w[1:]), w[2:])
    return (w[i:i + n] for i in range(len(w) - n + 1))


class WordNgrams:
    """scikit-learn's word analyzer with a custom tokenizer: tokens, then space-joined n-grams."""

    def __init__(self, tokenizer: Callable[[str], list[str]], min_n: int, max_n: int, lowercase: bool) -> None:
        self.tokenizer, self.min_n, self.max_n, self.lowercase = tokenizer, min_n, max_n, lowercase

    def tokens(self, text: str) -> list[str]:
        return self.tokenizer(text.lower() if self.lowercase else text)

    def index(self, vocabulary: dict[str, int]) -> WordNgramIndex | None:
        return WordNgramIndex.build(vocabulary, self.min_n, self.max_n, self.tokens)

    def __call__(self, text: str) -> list[str]:
        tokens = self.tokens(text)
        grams = list(tokens) if self.min_n == 1 else []
        for n in range(max(self.min_n, 2), min(self.max_n, len(tokens)) + 1):
            # zip stops at the shortest shifted copy: exactly the n-token windows
            grams.extend(map(" ".join, zip(*(tokens[k:] for k in range(n)), strict=False)))
        return grams


def _analyzer(vectorizer: Any) -> Callable[[str], list[str]]:
    """The same analysis as the fitted vectoriser, without keeping scikit-learn (or the vectoriser) around."""
    if vectorizer.strip_accents is not None or vectorizer.preprocessor is not None or vectorizer.stop_words:
        raise ValueError("accent stripping, preprocessors and stop words are not supported when compiling")
    min_n, max_n = vectorizer.ngram_range
    if vectorizer.analyzer == "char_wb":
        return CharWbNgrams(min_n, max_n, vectorizer.lowercase)
    if vectorizer.analyzer == "word" and vectorizer.tokenizer is not None:
        return WordNgrams(vectorizer.tokenizer, min_n, max_n, vectorizer.lowercase)
    raise ValueError(f"analyzer {vectorizer.analyzer!r} cannot be compiled")


@dataclass
class _Vectorizer:
    analyze: Callable[[str], list[str]]
    # The fitted vocabulary, kept only where no integer index holds it: as a dict of 210k strings it took
    # 16-30 MB of a serving process, and the index answers one text within ~10 % of the dict's time.
    vocabulary: dict[str, int] | None
    idf: np.ndarray
    offset: int
    sublinear: bool
    # The vocabulary as sorted integers (ngram_index); None where its shape has none.
    index: CharNgramIndex | WordNgramIndex | None = None

    @classmethod
    def from_tfidf(cls, vectorizer: Any, offset: int) -> _Vectorizer:
        if vectorizer.norm != "l2" or not vectorizer.use_idf or vectorizer.binary:
            raise ValueError("only l2-normalised tf-idf without binary counts can be compiled")
        analyze, vocabulary = _analyzer(vectorizer), dict(vectorizer.vocabulary_)
        index = analyze.index(vocabulary)
        return cls(analyze, None if index is not None else vocabulary,
                   np.asarray(vectorizer.idf_, dtype=np.float64), offset, bool(vectorizer.sublinear_tf), index)

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        if "index" not in state:  # compiled before the index existed: build it once, here
            self.index = self.analyze.index(self.vocabulary)
        if self.index is not None:
            self.vocabulary = None

    @property
    def size(self) -> int:
        return len(self.idf)

    def transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """TF-IDF rows of many texts at once: the index finds the terms, numpy does the arithmetic.

        Per-text numpy calls cost more than the analysis for a batch; here one
        sort of (row, column) keys gives every text's distinct terms and counts
        in CSR order, weighted and normalised in a few whole-array operations,
        and the matrix is built once (scipy's own duplicate summing took three
        times as long for a batch of 16).
        """
        rows, columns = self._hits(texts)
        keys, counts = np.unique(rows * self.size + columns, return_counts=True)
        rows, columns = np.divmod(keys, self.size)
        tf = counts.astype(np.float64)
        if self.sublinear:
            tf = np.log(tf) + 1.0
        w = tf * self.idf[columns]
        w /= np.sqrt(np.bincount(rows, weights=w * w, minlength=len(texts)))[rows]
        indptr = np.searchsorted(rows, np.arange(len(texts) + 1))
        return sparse.csr_matrix((w.astype(np.float32), columns.astype(np.int32), indptr.astype(np.int32)),
                                 shape=(len(texts), self.size))

    def _hits(self, texts: Sequence[str]) -> Hits:
        hits = self.index.hits(texts) if self.index is not None else None
        if hits is not None:
            return hits
        # Term by term: vocabularies the index cannot hold, and tokens holding spaces.
        column = self.vocabulary.get if self.vocabulary is not None else self.index.column
        rows: list[int] = []
        columns: list[int] = []
        for row, text in enumerate(texts):
            found = [i for i in map(column, self.analyze(text)) if i is not None]
            columns.extend(found)
            rows.extend([row] * len(found))
        return np.asarray(rows, dtype=np.int64), np.asarray(columns, dtype=np.int64)

    def weights(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """Feature indices (offset into the joint space) and TF-IDF weights of one text.

        Without the sparse matrix of `transform`, whose construction costs more than the analysis of one text.
        """
        columns = self._hits([text])[1]
        if not len(columns):
            return columns, np.zeros(0)
        columns, counts = np.unique(columns, return_counts=True)
        tf = counts.astype(np.float64)
        if self.sublinear:
            tf = np.log(tf) + 1.0
        w = tf * self.idf[columns]
        w /= math.sqrt(w @ w)
        return columns + self.offset, w


class CompiledLinearClassifier:
    def __init__(self, vectorizers: list[_Vectorizer], n_features: int, coef: np.ndarray, intercept: np.ndarray,
                 beta: float, classes: Sequence[str]) -> None:
        self.vectorizers = vectorizers
        self.n_features = n_features
        self.coef = np.ascontiguousarray(coef.T, dtype=np.float32)  # (n_features, n_classes)
        self.intercept = np.asarray(intercept, dtype=np.float32)
        self.beta = float(beta)
        self.classes_ = np.asarray(list(classes))

    @classmethod
    def from_pipeline(cls, pipeline: Any) -> CompiledLinearClassifier:
        """From Pipeline([FeatureUnion of TfidfVectorizers, CalibratedClassifierCV(linear, temperature)])."""
        union, calibrated = pipeline.steps[0][1], pipeline.steps[-1][1]
        if calibrated.method != "temperature" or len(calibrated.calibrated_classifiers_) != 1:
            raise ValueError("only CalibratedClassifierCV(method='temperature', ensemble=False) can be compiled")
        (fitted,) = calibrated.calibrated_classifiers_
        if len(fitted.classes) < 3:
            raise ValueError("compiling needs three or more classes")
        vectorizers, offset = [], 0
        for _, vectorizer in union.transformer_list:
            vectorizers.append(_Vectorizer.from_tfidf(vectorizer, offset))
            offset += len(vectorizer.vocabulary_)
        linear = fitted.estimator
        return cls(vectorizers, offset, linear.coef_, linear.intercept_, fitted.calibrators[0].beta_,
                   calibrated.classes_)

    def transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        return sparse.hstack([vectorizer.transform(texts) for vectorizer in self.vectorizers], format="csr")

    def decision_function(self, texts: Sequence[str]) -> np.ndarray:
        if len(texts) == 1:  # the front-desk case: gather the few rows the text touches
            parts = [vectorizer.weights(texts[0]) for vectorizer in self.vectorizers]
            index = np.concatenate([i for i, _ in parts])
            w = np.concatenate([w for _, w in parts]).astype(np.float32)
            return (w @ self.coef[index] + self.intercept)[None, :]
        scores = np.tile(self.intercept, (len(texts), 1))
        for vectorizer in self.vectorizers:  # block by block: no stacked copy of the features
            scores += vectorizer.transform(texts) @ self.coef[vectorizer.offset:vectorizer.offset + vectorizer.size]
        return scores

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return softmax(self.beta * self.decision_function(texts).astype(np.float64))


class SoftmaxHead:
    """A fitted multinomial logistic regression as plain arrays: softmax(x·W + b), no scikit-learn at serving."""

    def __init__(self, coef: np.ndarray, intercept: np.ndarray, classes: Sequence[str]) -> None:
        self.coef = np.ascontiguousarray(coef.T, dtype=np.float32)
        self.intercept = np.asarray(intercept, dtype=np.float32)
        self.classes_ = np.asarray(list(classes))

    @classmethod
    def from_logistic(cls, model: Any) -> SoftmaxHead:
        if len(model.classes_) < 3:
            raise ValueError("a softmax head needs three or more classes")
        return cls(model.coef_, model.intercept_, model.classes_)

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        return softmax(np.asarray(x, dtype=np.float32) @ self.coef + self.intercept)
