"""Pictures for administrators, with Japanese labels that render.

matplotlib's default fonts have no Japanese glyphs and draw tofu boxes; the
IPAex Gothic font that the japanize-matplotlib wheel carries is registered
by file path, without importing that package (its import patches global
state and needs distutils).
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib.util import find_spec
from pathlib import Path

import numpy as np


def _japanese_font() -> str:
    from matplotlib import font_manager

    spec = find_spec("japanize_matplotlib")
    if spec is None or spec.origin is None:
        raise RuntimeError("install japanize-matplotlib: it carries the Japanese font used in reports")
    font_path = Path(spec.origin).parent / "fonts" / "ipaexg.ttf"
    font_manager.fontManager.addfont(str(font_path))
    return font_manager.FontProperties(fname=str(font_path)).get_name()


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["font.family"] = _japanese_font()
    plt.rcParams["axes.unicode_minus"] = False
    return plt


def _save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=130)
    fig.clf()
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path


def _finish_unit_square(fig, ax, path: Path, *, xlabel: str, ylabel: str, title: str, legend: str,
                        ytop: float) -> Path:
    """Axes of a picture whose x and y are both shares in [0, 1]."""
    ax.set_xlim(0, 1)
    ax.set_ylim(0, ytop)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(loc=legend)
    fig.tight_layout()
    return _save(fig, path)


def confusion_matrix_png(y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str],
                         names: Sequence[str], path: Path) -> Path:
    """Row-normalised confusion matrix: each row shows where one true category's inquiries went."""
    from sklearn.metrics import confusion_matrix

    plt = _pyplot()
    matrix = confusion_matrix(y_true, y_pred, labels=list(labels)).astype(float)
    rows = matrix.sum(axis=1, keepdims=True)
    share = np.divide(matrix, rows, out=np.zeros_like(matrix), where=rows > 0)
    size = max(6.0, 0.32 * len(labels) + 3)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    image = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    ticks = np.arange(len(labels))
    ax.set_xticks(ticks, labels=names, rotation=90, fontsize=7)
    ax.set_yticks(ticks, labels=names, fontsize=7)
    ax.set_xlabel("予測されたカテゴリ")
    ax.set_ylabel("正解カテゴリ")
    ax.set_title("混同行列（行ごとの割合、数字は件数）")
    for i, j in zip(*np.nonzero(matrix), strict=True):
        ax.text(j, i, int(matrix[i, j]), ha="center", va="center", fontsize=5,
                color="white" if share[i, j] > 0.5 else "black")
    fig.colorbar(image, ax=ax, fraction=0.04)
    fig.tight_layout()
    return _save(fig, path)


def reliability_png(confidence: np.ndarray, correct: np.ndarray, path: Path, bins: int = 10) -> Path:
    """Accuracy per confidence bin against the diagonal of perfect calibration."""
    plt = _pyplot()
    edges = np.linspace(0, 1, bins + 1)
    index = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    centers, accuracy, counts = [], [], []
    for b in range(bins):
        mask = index == b
        if mask.any():
            centers.append(confidence[mask].mean())
            accuracy.append(correct[mask].mean())
            counts.append(int(mask.sum()))
    fig, ax = plt.subplots(figsize=(5.5, 5))
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="完全な較正")
    ax.plot(centers, accuracy, marker="o", label="実際の正解率")
    for x, y, n in zip(centers, accuracy, counts, strict=True):
        ax.annotate(str(n), (x, y), textcoords="offset points", xytext=(0, 6), ha="center", fontsize=7)
    return _finish_unit_square(fig, ax, path, xlabel="確信度（confidence）", ylabel="正解率",
                               title="信頼度図（点の数字は件数）", legend="upper left", ytop=1.05)


def coverage_png(thresholds: np.ndarray, coverage: np.ndarray, accuracy: np.ndarray, current: float,
                 path: Path) -> Path:
    """Share routed automatically and their accuracy at each threshold; the current threshold is marked."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    ax.plot(thresholds, coverage, label="自動振り分けの割合")
    ax.plot(thresholds, accuracy, label="自動振り分け分の正解率")
    ax.axvline(current, color="red", linestyle="--", label=f"現在のしきい値 {current:.2f}")
    return _finish_unit_square(fig, ax, path, xlabel="しきい値（これ未満は職員が確認）", ylabel="割合",
                               title="カバー率と正解率", legend="lower left", ytop=1.02)
