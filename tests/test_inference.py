"""The answer logic (review flag, out of scope, alternatives, routes) over a model with fixed probabilities."""

from __future__ import annotations

import numpy as np
import pytest

from madoguchi.inference import Classifier, ModelInfo
from madoguchi.model import InquiryClassifierModel
from madoguchi.paths import DATASETS_DIR
from madoguchi.routing import UnknownMunicipalityError, load_routing_tables
from madoguchi.taxonomy import default_taxonomy
from madoguchi.text import EmptyTextError


class FixedEstimator:
    """Returns the probabilities it is told to, keyed by text."""

    def __init__(self, labels, answers):
        self.classes_ = np.asarray(labels)
        self.answers = answers

    def predict_proba(self, texts):
        rows = []
        for text in texts:
            row = np.full(len(self.classes_), 0.0)
            for code, p in self.answers[text].items():
                row[list(self.classes_).index(code)] = p
            rows.append(row)
        return np.vstack(rows)


LABELS = default_taxonomy().labels


def make(answers, threshold=0.5, taxonomy_version=1):
    model = InquiryClassifierModel().attach(FixedEstimator(LABELS, answers))
    info = ModelInfo("m", "7", None, threshold, taxonomy_version, "fixed")
    taxonomy = default_taxonomy()
    return Classifier(model, info, taxonomy, load_routing_tables(DATASETS_DIR / "routing", taxonomy), 100)


def test_confident_answer_is_routed_without_review():
    c = make({"住民票": {"juki": 0.9, "koseki": 0.06, "inkan": 0.04}})
    r = c.classify(["住民票"], "takamatsu", top_k=2)[0]
    assert (r.category.code, r.confidence, r.needs_review, r.review_reason) == ("juki", 0.9, False, None)
    assert [a.code for a in r.alternatives] == ["koseki", "inkan"]
    assert r.alternatives[0].department.name == "市民局市民課"


def test_low_confidence_needs_review():
    r = make({"何か": {"juki": 0.4, "koseki": 0.35, "inkan": 0.25}}).classify(["何か"])[0]
    assert r.category.code == "juki" and r.needs_review and r.review_reason == "low_confidence"


def test_out_of_scope_has_no_category_and_no_route():
    r = make({"天気": {"out_of_scope": 0.8, "bosai_anzen": 0.2}}).classify(["天気"], "takamatsu")[0]
    assert r.category is None and r.needs_review and r.review_reason == "out_of_scope"
    assert [a.code for a in r.alternatives] == ["bosai_anzen", "juki", "koseki_fuhyo"][: len(r.alternatives)]
    assert all(a.code != "out_of_scope" for a in r.alternatives)


def test_text_is_normalised_before_the_model_sees_it():
    c = make({"マイナンバーカード [PHONE]": {"mynumber": 1.0}})
    assert c.classify(["ﾏｲﾅﾝﾊﾞｰｶｰﾄﾞ　090-1234-5678"])[0].category.code == "mynumber"


def test_unknown_municipality_and_empty_text_raise_domain_errors():
    c = make({})
    with pytest.raises(UnknownMunicipalityError):
        c.classify(["住民票"], "atlantis")
    with pytest.raises(EmptyTextError):
        c.classify([" "])


def test_model_for_another_taxonomy_version_is_refused():
    with pytest.raises(ValueError, match="taxonomy v2"):
        make({}, taxonomy_version=2)
