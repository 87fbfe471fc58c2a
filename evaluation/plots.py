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
    ax.set_title("混同行列（行ごとの割合）")
    for i, j in zip(*np.nonzero(matrix), strict=True):
        ax.text(j, i, int(matrix[i, j]), ha="center", va="center", fontsize=5,
                color="white" if share[i, j] > 0.5 else "black")
    fig.colorbar(image, ax=ax, fraction=0.04)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path
