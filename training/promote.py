"""The promotion gate: `@champion` moves to a challenger only when it is at least as good.

Both versions are measured on the same held-out rows, now, with the same
code: the challenger must not lose macro-F1, and no category may lose more
than `MAX_CATEGORY_DROP` F1 — an overall gain must not hide a department that
would suddenly receive the wrong inquiries. `--force` overrides, and says so
in the version's tags.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from evaluation.labelled import LabelledSet
from evaluation.metrics import heldout_metrics
from madoguchi.registry import load_uri
from madoguchi.settings import Settings
from madoguchi.tracking import configure

MAX_CATEGORY_DROP = 0.05
CHAMPION, CHALLENGER = "champion", "challenger"


class PromotionError(ValueError):
    pass


def category_f1(metrics: dict[str, Any], code: str) -> float:
    """F1 of one category; 0 where a model does not predict that label at all."""
    return metrics["per_category"].get(code, {}).get("f1", 0.0)


@dataclass
class GateResult:
    champion_version: str
    challenger_version: str
    champion: dict[str, Any]
    challenger: dict[str, Any]
    drops: dict[str, float]  # category → F1 change (challenger − champion)
    passed: bool
    reasons: list[str]

    def table(self, names: dict[str, str]) -> str:
        lines = [f"{'category':<34} {'champion':>9} {'challenger':>10} {'change':>8}"]
        for code, delta in sorted(self.drops.items(), key=lambda kv: kv[1]):
            mark = f"  <-- more than -{MAX_CATEGORY_DROP:.2f}" if delta < -MAX_CATEGORY_DROP else ""
            old, new = category_f1(self.champion, code), category_f1(self.challenger, code)
            lines.append(f"{names.get(code, code)[:16]:<16} {code:<17} {old:>9.3f} {new:>10.3f} {delta:>+8.3f}{mark}")
        lines.append(f"{'macro-F1':<34} {self.champion['macro_f1']:>9.3f} {self.challenger['macro_f1']:>10.3f} "
                     f"{self.challenger['macro_f1'] - self.champion['macro_f1']:>+8.3f}")
        lines.append(f"{'accuracy':<34} {self.champion['accuracy']:>9.3f} {self.challenger['accuracy']:>10.3f} "
                     f"{self.challenger['accuracy'] - self.champion['accuracy']:>+8.3f}")
        return "\n".join(lines)


def evaluate_gate(settings: Settings, data: LabelledSet, challenger: str | None = None) -> GateResult:
    """Measure @champion and the challenger (default @challenger) on `data` and apply the gate."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    configure(settings)
    client = MlflowClient()
    name = settings.model_name
    try:
        champion_version = str(client.get_model_version_by_alias(name, CHAMPION).version)
    except MlflowException:
        raise PromotionError(f"{name} has no @{CHAMPION} to compare with; train one first") from None
    if challenger is None:
        try:
            challenger = str(client.get_model_version_by_alias(name, CHALLENGER).version)
        except MlflowException:
            raise PromotionError(f"{name} has no @{CHALLENGER}; train a new version or name one with --version") \
                from None
    if challenger == champion_version:
        raise PromotionError(f"version {challenger} already is @{CHAMPION}")
    results = {}
    for version in (champion_version, challenger):
        model, info = load_uri(f"models:/{name}/{version}")
        results[version] = heldout_metrics(data.labels, model.predict_proba(data.texts), model.labels,
                                           info.review_threshold)
    old, new = results[champion_version], results[challenger]
    codes = old["per_category"].keys() | new["per_category"].keys()
    drops = {code: category_f1(new, code) - category_f1(old, code) for code in codes}
    reasons = []
    if new["macro_f1"] < old["macro_f1"]:
        reasons.append(f"macro-F1 {new['macro_f1']:.3f} is below the champion's {old['macro_f1']:.3f}")
    worse = {c: d for c, d in drops.items() if d < -MAX_CATEGORY_DROP}
    if worse:
        listed = ", ".join(f"{c} {d:+.3f}" for c, d in sorted(worse.items(), key=lambda kv: kv[1]))
        reasons.append(f"F1 drops by more than {MAX_CATEGORY_DROP} in {listed}")
    return GateResult(champion_version, challenger, old, new, drops, not reasons, reasons)


def apply_gate(settings: Settings, result: GateResult, data: LabelledSet, force: bool = False) -> bool:
    """Record the gate on the challenger's tags; move @champion if it passed (or if forced)."""
    from mlflow import MlflowClient

    client = MlflowClient()
    name, version = settings.model_name, result.challenger_version
    verdict = "passed" if result.passed else ("forced" if force else "failed")
    tags = {
        "gate": verdict,
        "gate.compared_with": result.champion_version,
        "gate.data": data.name,
        "gate.data_digest": data.digest,
        "gate.macro_f1": f"{result.challenger['macro_f1']:.4f}",
        "gate.champion_macro_f1": f"{result.champion['macro_f1']:.4f}",
        "gate.worst_category_change": "{} {:+.4f}".format(*min(result.drops.items(), key=lambda kv: kv[1])),
        "gate.reasons": "; ".join(result.reasons) or "none",
    }
    if force and not result.passed:
        tags["gate.forced"] = "true"
    for key, value in tags.items():
        client.set_model_version_tag(name, version, key, value)
    if result.passed or force:
        client.set_registered_model_alias(name, CHAMPION, version)
        try:
            if str(client.get_model_version_by_alias(name, CHALLENGER).version) == version:
                client.delete_registered_model_alias(name, CHALLENGER)
        except Exception:
            pass
        return True
    return False
