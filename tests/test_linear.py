"""The compiled linear classifier gives scikit-learn's own probabilities, faster."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from madoguchi.estimators.linear import CompiledLinearClassifier, _Vectorizer
from madoguchi.estimators.ngram_index import CharNgramIndex, WordNgramIndex
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
    assert all(v.index is not None for v in compiled.vectorizers)  # the integer index, not the dict path
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


TRICKY = ["", " ", "a", "ab c", "  住民票\t の  写し ", "ＡＢＣ Def", "住民票\n\n写し",
          "𠮷野家で、マイナンバー", "-", "--a-b", "ア" * 300]


def _dict_twin(vectorizer: _Vectorizer, fitted_vectorizer) -> _Vectorizer:
    """The same vectoriser reading terms through scikit-learn's vocabulary dict, as before the index."""
    return _Vectorizer(vectorizer.analyze, dict(fitted_vectorizer.vocabulary_), vectorizer.idf, vectorizer.offset,
                       vectorizer.sublinear, None)


def test_integer_index_and_dict_lookups_find_the_same_terms(fitted):
    pipeline, test = fitted
    compiled = CompiledLinearClassifier.from_pipeline(pipeline)
    for vectorizer, (_, theirs) in zip(compiled.vectorizers, pipeline.steps[0][1].transformer_list, strict=True):
        # Lone surrogates: only the character analyzer takes them (MeCab refuses them; normalising drops them).
        surrogates = ["x\ud83d\ude00y", "\udfff"] if isinstance(vectorizer.index, CharNgramIndex) else []
        batch = [*test, *TRICKY, *surrogates]
        by_index = vectorizer.transform(batch)
        by_dict = _dict_twin(vectorizer, theirs).transform(batch)
        assert by_index.nnz == by_dict.nnz > 0
        assert abs(by_index - by_dict).max() == 0


def test_index_replaces_the_vocabulary_and_answers_each_term_as_it_did(fitted):
    pipeline, _ = fitted
    compiled = CompiledLinearClassifier.from_pipeline(pipeline)
    for vectorizer, (_, theirs) in zip(compiled.vectorizers, pipeline.steps[0][1].transformer_list, strict=True):
        assert vectorizer.vocabulary is None  # not kept twice: the index holds it
        for term, column in theirs.vocabulary_.items():
            assert vectorizer.index.column(term) == column, term
        for unknown in ["", "𠮷𠮷", "zzz zzz", "a b c", "住民 "]:
            assert vectorizer.index.column(unknown) is None, unknown


def test_tokens_holding_spaces_are_read_as_scikit_learn_reads_them():
    from sklearn.feature_extraction.text import TfidfVectorizer

    # Trained on tokens without spaces, the vocabulary holds the bigram "a b"; a token "a b" at
    # prediction time is that term to scikit-learn, though no token numbers can say so.
    vectorizer = TfidfVectorizer(tokenizer=lambda text: text.split("|"), token_pattern=None, lowercase=False,
                                 ngram_range=(1, 2)).fit(["a|b", "b|c"])
    compiled = _Vectorizer.from_tfidf(vectorizer, 0)
    assert isinstance(compiled.index, WordNgramIndex)
    texts = ["a b", "a b|c", "c|a"]
    np.testing.assert_allclose(compiled.transform(texts).toarray(), vectorizer.transform(texts).toarray())


def test_model_compiled_before_the_index_builds_it_when_loaded(fitted):
    compiled = CompiledLinearClassifier.from_pipeline(fitted[0])
    expected = compiled.predict_proba(fitted[1])
    # As pickled by the version before the index: scikit-learn's vocabulary dict, no index.
    for vectorizer, (_, theirs) in zip(compiled.vectorizers, fitted[0].steps[0][1].transformer_list, strict=True):
        del vectorizer.index
        vectorizer.vocabulary = dict(theirs.vocabulary_)
    clone = pickle.loads(pickle.dumps(compiled))
    assert all(v.index is not None and v.vocabulary is None for v in clone.vectorizers)
    np.testing.assert_array_equal(clone.predict_proba(fitted[1]), expected)


def test_vocabularies_without_an_integer_index_keep_exact_features():
    rows = load_corpus(SMALL_CORPUS, default_taxonomy())
    train = [r for r in rows if r.split == "train"]
    test = [r.text for r in rows if r.split == "test"] + TRICKY
    # Word trigrams and four-character n-grams do not fit the integer codes: the dict path answers.
    pipeline = build_estimator({"word_ngram_max": 3, "char_ngram_max": 4}).fit(
        [r.text for r in train], [r.label for r in train])
    compiled = CompiledLinearClassifier.from_pipeline(pipeline)
    assert [v.index for v in compiled.vectorizers] == [None, None]
    assert all(v.vocabulary for v in compiled.vectorizers)
    np.testing.assert_allclose(compiled.transform(test).toarray(),
                               pipeline.steps[0][1].transform(test).toarray(), atol=1e-6)


def test_softmax_head_equals_logistic_regression():
    from sklearn.linear_model import LogisticRegression

    from madoguchi.estimators.linear import SoftmaxHead

    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 16))
    y = np.array(["a", "b", "c", "d"])[rng.integers(0, 4, size=120)]
    model = LogisticRegression(max_iter=500).fit(x, y)
    np.testing.assert_allclose(SoftmaxHead.from_logistic(model).predict_proba(x), model.predict_proba(x), atol=1e-5)
