"""The accuracy report administrators read: one self-contained HTML page and the same numbers as JSON.

Per-category precision/recall/F1, a confusion matrix, a reliability diagram,
a coverage–accuracy curve with the current threshold, and the most confused
category pairs with (masked) example texts — for one model version on one
labelled data set, both named in the page.
"""

from __future__ import annotations

import base64
import html
import json
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from evaluation.labelled import LabelledSet
from evaluation.metrics import heldout_metrics
from evaluation.plots import confusion_matrix_png, coverage_png, reliability_png
from madoguchi.inference import ModelInfo
from madoguchi.model import InquiryClassifierModel
from madoguchi.taxonomy import Taxonomy

EXAMPLES_PER_PAIR = 3
PAIRS = 10


@dataclass
class Report:
    numbers: dict[str, Any]
    html_path: Path
    json_path: Path


def coverage_curve(confidence: np.ndarray, correct: np.ndarray) -> dict[str, list[float]]:
    thresholds = np.round(np.linspace(0, 1, 101), 2)
    coverage, accuracy = [], []
    for t in thresholds:
        auto = confidence >= t
        coverage.append(float(auto.mean()))
        accuracy.append(float(correct[auto].mean()) if auto.any() else float("nan"))
    return {"threshold": thresholds.tolist(), "coverage": coverage, "accuracy": accuracy}


def confused_pairs(y_true: list[str], y_pred: list[str], texts: list[str]) -> list[dict[str, Any]]:
    counts = Counter((t, p) for t, p in zip(y_true, y_pred, strict=True) if t != p)
    pairs = []
    for (true, pred), n in counts.most_common(PAIRS):
        examples = [x for x, t, p in zip(texts, y_true, y_pred, strict=True) if t == true and p == pred]
        pairs.append({"true": true, "predicted": pred, "count": n,
                      "examples": [e[:200] for e in examples[:EXAMPLES_PER_PAIR]]})
    return pairs


def _numbers(proba: np.ndarray, y_pred: list[str], confidence: np.ndarray, correct: np.ndarray,
             labels: list[str], info: ModelInfo, taxonomy: Taxonomy, data: LabelledSet) -> dict[str, Any]:
    numbers = heldout_metrics(data.labels, proba, labels, info.review_threshold)
    numbers.update({
        "model": {"name": info.name, "version": info.version, "backend": info.backend, "run_id": info.run_id},
        "data": {"name": data.name, "digest": data.digest, "rows": len(data.texts)},
        "taxonomy_version": taxonomy.version,
        "coverage_curve": coverage_curve(confidence, correct),
        "confused_pairs": confused_pairs(data.labels, y_pred, data.texts),
    })
    return numbers


def _img(path: Path, alt: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _html(numbers: dict[str, Any], taxonomy: Taxonomy, images: dict[str, Path]) -> str:
    esc = html.escape
    m = numbers
    rows = "".join(
        f"<tr><td>{esc(code)}</td><td>{esc(taxonomy.name(code))}</td><td>{v['precision']:.3f}</td>"
        f"<td>{v['recall']:.3f}</td><td>{v['f1']:.3f}</td><td>{v['support']}</td></tr>"
        for code, v in sorted(m["per_category"].items(), key=lambda kv: kv[1]["f1"]))
    pairs = "".join(
        f"<tr><td>{esc(taxonomy.name(p['true']))}</td><td>{esc(taxonomy.name(p['predicted']))}</td>"
        f"<td>{p['count']}</td><td>{'<br>'.join(esc(e) for e in p['examples'])}</td></tr>"
        for p in m["confused_pairs"])
    model, data = m["model"], m["data"]
    return f"""<!doctype html>
<html lang="ja"><head><meta charset="utf-8">
<title>振り分け精度レポート {esc(model['name'])} v{esc(model['version'])}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1100px}}table{{border-collapse:collapse;margin:1em 0}}
td,th{{border:1px solid #ccc;padding:4px 8px;font-size:13px}}th{{background:#f0f0f0}}img{{max-width:100%}}
.kpi td{{font-size:16px}}</style></head><body>
<h1>振り分け精度レポート</h1>
<p>モデル <b>{esc(model['name'])}</b> バージョン <b>{esc(str(model['version']))}</b>（{esc(model['backend'])}）／
データ <b>{esc(data['name'])}</b>（{data['rows']} 件、digest <code>{esc(data['digest'])}</code>）／
分類体系 v{m['taxonomy_version']}</p>
<table class="kpi"><tr><th>正解率 accuracy</th><th>macro-F1</th><th>weighted F1</th><th>較正誤差 ECE</th>
<th>しきい値</th><th>職員確認に回る割合</th><th>自動振り分け分の正解率</th></tr>
<tr><td>{m['accuracy']:.3f}</td><td>{m['macro_f1']:.3f}</td><td>{m['weighted_f1']:.3f}</td><td>{m['ece']:.3f}</td>
<td>{m['review_threshold']:.2f}</td><td>{m['review_share']:.1%}</td><td>{m['auto_accuracy']:.3f}</td></tr></table>
<h2>カテゴリ別の精度（F1 の低い順）</h2>
<table><tr><th>コード</th><th>カテゴリ</th><th>適合率</th><th>再現率</th><th>F1</th><th>件数</th></tr>{rows}</table>
<h2>混同行列</h2>{_img(images['confusion'], '混同行列')}
<h2>信頼度図</h2><p>確信度がそのまま正解率になっているほど、点は対角線に近づきます。</p>
{_img(images['reliability'], '信頼度図')}
<h2>カバー率と正解率</h2><p>しきい値を上げると職員の確認が増え、自動で振り分けた分の正解率が上がります。</p>
{_img(images['coverage'], 'カバー率と正解率')}
<h2>よく取り違えるカテゴリの組</h2>
<table><tr><th>正解</th><th>予測</th><th>件数</th><th>例（個人番号・電話・メールは伏せ字）</th></tr>{pairs}</table>
</body></html>"""


def write_report(model: InquiryClassifierModel, info: ModelInfo, taxonomy: Taxonomy, data: LabelledSet,
                 out_dir: Path) -> Report:
    proba = model.predict_proba(data.texts)
    labels = model.labels
    y_pred = [labels[i] for i in proba.argmax(axis=1)]
    confidence = proba.max(axis=1)
    correct = (np.asarray(y_pred) == np.asarray(data.labels)).astype(float)
    numbers = _numbers(proba, y_pred, confidence, correct, labels, info, taxonomy, data)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        seen = set(data.labels) | set(y_pred)
        present = [c for c in taxonomy.labels if c in seen]  # taxonomy order groups related areas
        images = {
            "confusion": confusion_matrix_png(data.labels, y_pred, present, [taxonomy.name(c) for c in present],
                                              Path(tmp) / "confusion.png"),
            "reliability": reliability_png(confidence, correct, Path(tmp) / "reliability.png"),
            "coverage": coverage_png(np.asarray(numbers["coverage_curve"]["threshold"]),
                                     np.asarray(numbers["coverage_curve"]["coverage"]),
                                     np.asarray(numbers["coverage_curve"]["accuracy"]),
                                     info.review_threshold, Path(tmp) / "coverage.png"),
        }
        for key, path in images.items():
            (out_dir / f"{key}.png").write_bytes(path.read_bytes())
        html_path = out_dir / "report.html"
        html_path.write_text(_html(numbers, taxonomy, images), encoding="utf-8")
    json_path = out_dir / "report.json"
    json_path.write_text(json.dumps(numbers, ensure_ascii=False, indent=1, allow_nan=True), encoding="utf-8")
    return Report(numbers, html_path, json_path)
