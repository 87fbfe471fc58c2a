"""Japanese word tokenising with fugashi and the unidic-lite dictionary.

Lemmas rather than surface forms, so that 引っ越した / 引っ越します / 引越し
count as one feature. The tokenizer is a small picklable class (not a lambda)
so it can ride inside a scikit-learn Pipeline and an MLflow model; the MeCab
tagger itself is not picklable and is rebuilt lazily after unpickling.
"""

from __future__ import annotations

from typing import Any

# UniDic part-of-speech tags whose tokens carry no routing signal.
_SKIP_POS = frozenset({"補助記号", "空白"})


class JapaneseLemmaTokenizer:
    """Callable: text -> list of lemmas (surface form for unknown words)."""

    def __init__(self) -> None:
        self._tagger: Any = None

    def _get_tagger(self) -> Any:
        if self._tagger is None:
            import fugashi  # imported here so that unpickling does not need a tagger yet

            # unidic-lite's dictionary is found by fugashi from the installed
            # package: no download step.
            self._tagger = fugashi.Tagger()
        return self._tagger

    def __call__(self, text: str) -> list[str]:
        tokens: list[str] = []
        for word in self._get_tagger()(text):
            feature = word.feature
            if feature.pos1 in _SKIP_POS:
                continue
            lemma = getattr(feature, "lemma", None) or word.surface
            # UniDic writes loanwords as "カード-card"; the reading part is noise.
            tokens.append(lemma.split("-", 1)[0] if "-" in lemma[1:] else lemma)
        return tokens

    def __getstate__(self) -> dict[str, Any]:
        return {}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._tagger = None

    def __repr__(self) -> str:
        return "JapaneseLemmaTokenizer()"
