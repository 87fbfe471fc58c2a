"""Fine-tuning a Hugging Face encoder with the transformers Trainer.

`params.model` is a hub id such as `tohoku-nlp/bert-base-japanese-v3` or a
local folder (network needed for a hub id; its tokenizer is a
BertJapaneseTokenizer over fugashi + unidic-lite). `model: scratch` builds a
small BERT from nothing instead — a WordPiece vocabulary learnt from the
training texts after MeCab word splitting, and a few small layers — so the
whole path (train, log, register, load, predict) runs offline and in CI.

The Trainer uses a GPU when one is present. A stratified slice of the
training rows is held out for validation: the softmax temperature is fitted
on it (calibrated confidences) and the review threshold is chosen on it.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from madoguchi.estimators.transformer import TransformerClassifier, device_name
from training.backends import FitContext, Fitted

DEFAULTS: dict[str, Any] = {
    "model": "scratch",
    "epochs": 3,
    "batch_size": 32,
    "learning_rate": 5e-5,
    "weight_decay": 0.01,
    "warmup_ratio": 0.1,
    "max_length": 128,
    "validation_share": 0.1,
    # only for model: scratch
    "vocab_size": 6000,
    "hidden_size": 128,
    "layers": 2,
    "heads": 2,
    "intermediate_size": 256,
}
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def _mecab_words(texts: list[str]) -> list[str]:
    from transformers.models.bert_japanese.tokenization_bert_japanese import MecabTokenizer

    mecab = MecabTokenizer(mecab_dic="unidic_lite")
    return [" ".join(mecab.tokenize(t)) for t in texts]


def build_scratch_tokenizer(texts: list[str], vocab_size: int, directory: Path) -> Any:
    """A BertJapaneseTokenizer whose WordPiece vocabulary is learnt from `texts`."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import BertJapaneseTokenizer

    wordpiece = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    wordpiece.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=SPECIAL, min_frequency=2,
                                        show_progress=False)
    wordpiece.train_from_iterator(_mecab_words(texts), trainer=trainer)
    vocab = sorted(wordpiece.get_vocab().items(), key=lambda kv: kv[1])
    directory.mkdir(parents=True, exist_ok=True)
    vocab_file = directory / "vocab.txt"
    vocab_file.write_text("".join(token + "\n" for token, _ in vocab), encoding="utf-8")
    return BertJapaneseTokenizer(str(vocab_file), word_tokenizer_type="mecab",
                                 mecab_kwargs={"mecab_dic": "unidic_lite"}, subword_tokenizer_type="wordpiece")


def _model_and_tokenizer(p: dict[str, Any], texts: list[str], classes: list[str], workdir: Path) -> tuple[Any, Any]:
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        BertConfig,
        BertForSequenceClassification,
    )

    id2label = dict(enumerate(classes))
    label2id = {c: i for i, c in id2label.items()}
    if p["model"] == "scratch":
        tokenizer = build_scratch_tokenizer(texts, p["vocab_size"], workdir / "vocab")
        config = BertConfig(vocab_size=len(tokenizer.vocab), hidden_size=p["hidden_size"],
                            num_hidden_layers=p["layers"], num_attention_heads=p["heads"],
                            intermediate_size=p["intermediate_size"], max_position_embeddings=p["max_length"] + 2,
                            num_labels=len(classes), id2label=id2label, label2id=label2id)
        return BertForSequenceClassification(config), tokenizer
    tokenizer = AutoTokenizer.from_pretrained(p["model"])
    model = AutoModelForSequenceClassification.from_pretrained(
        p["model"], num_labels=len(classes), id2label=id2label, label2id=label2id)
    return model, tokenizer


def _split(labels: list[str], share: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.model_selection import train_test_split

    index = np.arange(len(labels))
    counts = Counter(labels)
    stratify = labels if min(counts.values()) >= 2 else None
    n_val = max(round(share * len(labels)), len(counts))
    fit_idx, val_idx = train_test_split(index, test_size=n_val, random_state=seed, stratify=stratify)
    return np.sort(fit_idx), np.sort(val_idx)


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """The softmax temperature that minimises validation log-loss (grid search: robust, no optimiser)."""
    best, best_nll = 1.0, np.inf
    for t in np.exp(np.linspace(np.log(0.25), np.log(8.0), 60)):
        z = logits / t
        z = z - z.max(axis=1, keepdims=True)
        nll = -(z[np.arange(len(y)), y] - np.log(np.exp(z).sum(axis=1))).mean()
        if nll < best_nll:
            best, best_nll = float(t), nll
    return best


class _Encoded:
    """A map-style dataset of tokenised texts, as the Trainer expects."""

    def __init__(self, encodings: dict[str, list], labels: list[int]) -> None:
        self.encodings, self.labels = encodings, labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> dict[str, Any]:
        item = {k: v[i] for k, v in self.encodings.items()}
        item["labels"] = self.labels[i]
        return item


def _unshadow_hf_datasets() -> None:
    """Keep the project's `datasets/` folder from passing for Hugging Face `datasets`.

    When the project root is on sys.path (`python -m …`, pytest), the data
    folder imports as an empty namespace package; transformers then believes
    the `datasets` library is installed and fails on `datasets.Dataset`. The
    library is not a dependency here, so the Trainer is told it is absent.
    """
    import importlib.metadata

    try:
        importlib.metadata.version("datasets")
    except importlib.metadata.PackageNotFoundError:
        import transformers.trainer

        transformers.trainer.is_datasets_available = lambda: False


def fit(params: dict[str, Any], texts: list[str], labels: list[str], ctx: FitContext) -> Fitted:
    try:
        import torch
        from transformers import DataCollatorWithPadding, Trainer, TrainingArguments, set_seed
    except ImportError as exc:
        raise ImportError("the transformer backend needs `pip install 'madoguchi[neural]'`") from exc
    _unshadow_hf_datasets()
    unknown = set(params) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"unknown transformer params {sorted(unknown)}; expected some of {sorted(DEFAULTS)}")
    p = {**DEFAULTS, **params}
    set_seed(ctx.seed)
    classes = sorted(set(labels))
    y = np.asarray([classes.index(label) for label in labels])
    fit_idx, val_idx = _split(labels, p["validation_share"], ctx.seed)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        model, tokenizer = _model_and_tokenizer(p, [texts[i] for i in fit_idx], classes, workdir)
        encodings = tokenizer([texts[i] for i in fit_idx], truncation=True, max_length=p["max_length"])
        args = TrainingArguments(
            output_dir=str(workdir / "trainer"), num_train_epochs=p["epochs"],
            per_device_train_batch_size=p["batch_size"], learning_rate=p["learning_rate"],
            weight_decay=p["weight_decay"], warmup_steps=float(p["warmup_ratio"]), save_strategy="no",
            logging_strategy="no", report_to=[], seed=ctx.seed, disable_tqdm=not ctx.progress,
            use_cpu=not torch.cuda.is_available(), dataloader_pin_memory=False,
        )
        trainer = Trainer(model=model, args=args,
                          train_dataset=_Encoded(dict(encodings), [int(v) for v in y[fit_idx]]),
                          data_collator=DataCollatorWithPadding(tokenizer))
        result = trainer.train()
        model = trainer.model.to(device_name())
    classifier = TransformerClassifier(model, tokenizer, classes, max_length=p["max_length"])
    val_logits = classifier.logits([texts[i] for i in val_idx])
    classifier.temperature = fit_temperature(val_logits, y[val_idx])
    proba = classifier.predict_proba([texts[i] for i in val_idx])
    return Fitted(classifier, proba, [labels[i] for i in val_idx], classes,
                  params={"temperature": round(classifier.temperature, 4), "device": device_name(),
                          "train_loss": round(float(result.training_loss), 4), "n_fit": len(fit_idx),
                          "n_validation": len(val_idx)})
