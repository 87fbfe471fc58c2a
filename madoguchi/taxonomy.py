"""The label taxonomy: standard category codes shared by every municipality.

The codes are a contract (datasets, models, routing tables and evaluation
sets all use them), so loading validates the file instead of trusting it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from madoguchi.paths import DATASETS_DIR

OUT_OF_SCOPE = "out_of_scope"
DEFAULT_TAXONOMY_PATH = DATASETS_DIR / "taxonomy.yaml"


class TaxonomyError(ValueError):
    """The taxonomy file is malformed."""


@dataclass(frozen=True)
class Category:
    code: str
    name: str
    standard: bool
    procedures: tuple[str, ...] = ()


@dataclass(frozen=True)
class LifeEvent:
    code: str
    name: str
    categories: tuple[str, ...]


@dataclass(frozen=True)
class Taxonomy:
    version: int
    categories: dict[str, Category]
    reserved_labels: tuple[str, ...] = (OUT_OF_SCOPE,)
    life_events: dict[str, LifeEvent] = field(default_factory=dict)

    @property
    def codes(self) -> list[str]:
        """Category codes in file order (routable codes only)."""
        return list(self.categories)

    @property
    def labels(self) -> list[str]:
        """Everything a data row may carry: category codes plus reserved labels."""
        return [*self.categories, *self.reserved_labels]

    def name(self, code: str) -> str:
        if code in self.categories:
            return self.categories[code].name
        if code == OUT_OF_SCOPE:
            return "対象外"
        raise KeyError(code)


def load_taxonomy(path: Path | str = DEFAULT_TAXONOMY_PATH) -> Taxonomy:
    path = Path(path)
    with path.open(encoding="utf-8") as fh:
        raw = yaml.safe_load(fh)
    if not isinstance(raw, dict) or "categories" not in raw:
        raise TaxonomyError(f"{path}: expected a mapping with 'version' and 'categories'")
    categories: dict[str, Category] = {}
    for entry in raw["categories"]:
        code = entry.get("code")
        if not code or code in categories:
            raise TaxonomyError(f"{path}: missing or duplicate category code {code!r}")
        categories[code] = Category(
            code=code,
            name=entry["name"],
            standard=bool(entry.get("standard", False)),
            procedures=tuple(entry.get("procedures") or ()),
        )
    events: dict[str, LifeEvent] = {}
    for entry in raw.get("life_events") or ():
        unknown = [c for c in entry["categories"] if c not in categories]
        if unknown:
            raise TaxonomyError(f"{path}: life event {entry['code']!r} names unknown codes {unknown}")
        events[entry["code"]] = LifeEvent(entry["code"], entry["name"], tuple(entry["categories"]))
    return Taxonomy(
        version=int(raw["version"]),
        categories=categories,
        reserved_labels=tuple(raw.get("reserved_labels") or (OUT_OF_SCOPE,)),
        life_events=events,
    )


@lru_cache(maxsize=1)
def default_taxonomy() -> Taxonomy:
    return load_taxonomy()
