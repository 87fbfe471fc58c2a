"""The averaging ensemble, with and without early exits: the same categories, fewer calls of the later members."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from madoguchi.estimators.ensemble import AveragingEnsemble
from training.backends.ensemble import fit

CLASSES = np.array(["a", "b", "c", "d", "e"])


class TableModel:
    """Text "i" gets row i of a fixed probability table; remembers which texts it was asked about."""

    classes_ = CLASSES

    def __init__(self, proba: np.ndarray) -> None:
        self.proba = proba
        self.asked: list[str] = []

    def predict_proba(self, texts):
        self.asked.extend(texts)
        return self.proba[[int(t) for t in texts]]


def _members(n: int = 400, seed: int = 0) -> tuple[TableModel, TableModel]:
    rng = np.random.default_rng(seed)
    # Sharp rows (settled by the first member alone) and flat ones (not), as a classifier's are.
    sharpness = rng.choice([0.3, 3.0, 30.0], size=(n, 1))
    first, second = (rng.dirichlet(np.ones(len(CLASSES)), size=n) ** sharpness for _ in range(2))
    return TableModel(first / first.sum(1, keepdims=True)), TableModel(second / second.sum(1, keepdims=True))


def test_without_early_exit_every_member_averages_every_text():
    cheap, costly = _members()
    texts = [str(i) for i in range(len(cheap.proba))]
    proba = AveragingEnsemble([cheap, costly], [0.7, 0.3]).predict_proba(texts)
    np.testing.assert_allclose(proba, 0.7 * cheap.proba + 0.3 * costly.proba)
    assert costly.asked == texts


def test_early_exit_keeps_every_category_and_asks_the_later_member_only_about_open_texts():
    cheap, costly = _members()
    texts = [str(i) for i in range(len(cheap.proba))]
    full = 0.7 * cheap.proba + 0.3 * costly.proba
    proba = AveragingEnsemble([cheap, costly], [0.7, 0.3], early_exit=True).predict_proba(texts)
    np.testing.assert_array_equal(proba.argmax(axis=1), full.argmax(axis=1))
    top_two = np.sort(cheap.proba, axis=1)[:, -2:]
    open_rows = 0.7 * (top_two[:, 1] - top_two[:, 0]) <= 0.3
    assert 0 < open_rows.sum() < len(texts)
    assert costly.asked == [t for t, o in zip(texts, open_rows, strict=True) if o]
    np.testing.assert_allclose(proba[~open_rows], cheap.proba[~open_rows])  # the average of the member that ran
    np.testing.assert_allclose(proba[open_rows], full[open_rows])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_training_gets_the_numbers_the_model_serves():
    cheap, costly = _members(seed=1)
    texts = [str(i) for i in range(len(cheap.proba))]
    ensemble = AveragingEnsemble([cheap, costly], [0.6, 0.4], early_exit=True)
    np.testing.assert_allclose(ensemble.combine([cheap.proba, costly.proba]), ensemble.predict_proba(texts))
    plain = AveragingEnsemble([cheap, costly], [0.6, 0.4])
    np.testing.assert_allclose(plain.combine([cheap.proba, costly.proba]), 0.6 * cheap.proba + 0.4 * costly.proba)


def test_all_texts_settled_hands_nothing_out():
    cheap, costly = _members()
    settled = np.eye(len(CLASSES))[[0, 1, 2]]
    cheap.proba = settled
    steps = AveragingEnsemble([cheap, costly], [0.7, 0.3], early_exit=True).predict_proba_steps(["0", "1", "2"])
    with pytest.raises(StopIteration) as done:
        next(steps)
    np.testing.assert_array_equal(done.value.value, settled)
    assert costly.asked == []


def test_early_exit_survives_saving_and_old_pickles_average_everything(tmp_path):
    from madoguchi.estimators import load_estimator, save_estimator

    cheap, costly = _members()
    save_estimator(AveragingEnsemble([cheap, costly], [0.7, 0.3], early_exit=True), tmp_path / "e")
    assert load_estimator(tmp_path / "e").early_exit is True
    old = AveragingEnsemble([cheap, costly], [0.7, 0.3])
    del old.__dict__["early_exit"]  # as pickled before early exits existed
    assert pickle.loads(pickle.dumps(old)).early_exit is False


def test_unknown_ensemble_params_are_named():
    with pytest.raises(ValueError, match="early_exits"):
        fit({"members": [{"backend": "tfidf-linear"}], "early_exits": True}, [], [], None)


def test_warming_up_asks_every_member_even_of_an_early_exit_ensemble():
    from madoguchi.estimators import warm_up

    cheap, costly = _members()
    cheap.proba = np.eye(len(CLASSES))  # every text settled by the first member
    warm_up(AveragingEnsemble([cheap, costly], [0.7, 0.3], early_exit=True), "3")
    assert cheap.asked == ["3"] and costly.asked == ["3"]
