"""The compiled linear classifier gives scikit-learn's own probabilities, faster."""

from __future__ import annotations

import numpy as np
import pytest

from madoguchi.estimators.linear import CompiledLinearClassifier
from madoguchi.taxonomy import default_taxonomy
from tests.conftest import SMALL_CORPUS
from training.backends.tfidf_linear import build_estimator
from training.corpus import load_corpus


@pytest.fixture(scope="module")
def fitted():
    rows = load_corpus(SMALL_CORPUS, default_taxonomy())
    train = [r for r in rows if r.split == "train"]
    test = [r.text for r in rows if r.split == "test"]
    pipeline = build_estimator({}).fit([r.text for r in train], [r.label for r in train])
    return pipeline, test


def test_compiled_probabilities_equal_scikit_learn(fitted):
    pipeline, test = fitted
    compiled = CompiledLinearClassifier.from_pipeline(pipeline)
    assert list(compiled.classes_) == list(pipeline.classes_)
    np.testing.assert_allclose(compiled.predict_proba(test), pipeline.predict_proba(test), atol=1e-5)


def test_compiled_features_equal_scikit_learn(fitted):
    pipeline, test = fitted
    compiled = CompiledLinearClassifier.from_pipeline(pipeline)
    theirs = pipeline.steps[0][1].transform([*test, "", "𠮷"])
    mine = compiled.transform([*test, "", "𠮷"])
    assert mine.shape == theirs.shape
    np.testing.assert_allclose(mine.toarray(), theirs.toarray(), atol=1e-6)


def test_sigmoid_calibration_is_not_compiled(fitted):
    pipeline = build_estimator({"calibration": "sigmoid"})
    with pytest.raises(ValueError, match="temperature"):
        CompiledLinearClassifier.from_pipeline(pipeline.fit(["住民票", "ごみ", "税金"] * 3, ["a", "b", "c"] * 3))


def test_single_text_and_batch_paths_agree(fitted):
    pipeline, test = fitted
    compiled = CompiledLinearClassifier.from_pipeline(pipeline)
    batch = compiled.predict_proba(test[:20])
    single = np.vstack([compiled.predict_proba([t]) for t in test[:20]])
    np.testing.assert_allclose(single, batch, atol=1e-6)


def test_text_with_no_known_feature_gets_the_intercept_answer(fitted):
    compiled = CompiledLinearClassifier.from_pipeline(fitted[0])
    proba = compiled.predict_proba(["𠮷𠮷𠮷"])
    assert proba.shape == (1, len(compiled.classes_)) and np.isclose(proba.sum(), 1.0)


def test_own_analyzers_match_scikit_learn_on_the_corpus(fitted):
    pipeline, test = fitted
    compiled = CompiledLinearClassifier.from_pipeline(pipeline)
    for (_, vectorizer), mine in zip(pipeline.steps[0][1].transformer_list, compiled.vectorizers, strict=True):
        theirs = vectorizer.build_analyzer()
        for text in [*test[:200], "a", "ab c", "  住民票\\t の  写し ", "ＡＢＣ"]:
            assert mine.analyze(text) == theirs(text), text


def test_softmax_head_equals_logistic_regression():
    from sklearn.linear_model import LogisticRegression

    from madoguchi.estimators.linear import SoftmaxHead

    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 16))
    y = np.array(["a", "b", "c", "d"])[rng.integers(0, 4, size=120)]
    model = LogisticRegression(max_iter=500).fit(x, y)
    np.testing.assert_allclose(SoftmaxHead.from_logistic(model).predict_proba(x), model.predict_proba(x), atol=1e-5)
