"""Japanese word tokenising with fugashi and the unidic-lite dictionary.

Lemmas rather than surface forms, so that 引っ越した / 引っ越します / 引越し
count as one feature. The tokenizer is a small picklable class (not a lambda)
so it can ride inside a scikit-learn Pipeline and an MLflow model; the MeCab
tagger itself is not picklable and is rebuilt lazily after unpickling.

Speed: building fugashi's node objects costs more than MeCab's analysis, so
the tagger prints only what is needed — "part of speech<TAB>lemma" per token
(the surface for unknown words) — and one regular expression, run in C, picks
the kept tokens' lemmas out of that text: 75 µs a corpus text, against 99 µs
for splitting unidic-lite's full output line by line in Python and ~180 µs
through the node API. The result is checked against the node API on a probe
sentence at start-up, with a fall-back to the node API should a dictionary
lay its features out differently.

Memory: MeCab reads the dictionary through a file mapping, and unidic-lite's
26 feature fields per entry made 110–140 MB of it resident in a serving
process. The tagger therefore uses a compact copy that holds only the two
fields it prints (madoguchi.mecab_dictionary), checked against the node API
when it is built; unidic-lite itself where no copy can be made.
"""

from __future__ import annotations

import contextlib
import re
import shlex
from pathlib import Path
from typing import Any

from madoguchi.mecab_dictionary import compact_unidic
from madoguchi.paths import cache_dir

# UniDic part-of-speech tags whose tokens carry no routing signal.
_SKIP_POS = frozenset({"補助記号", "空白"})
_PROBE = "引っ越したのでマイナンバーカードの住所を変えたい。"
_PROBES = (_PROBE, "粗大ごみ、出したいんやけど", "ﾏｲﾅﾝﾊﾞｰｶｰﾄﾞ 𠮷野家 ｘｙｚ 12345", "E-mail: [EMAIL] TEL [PHONE]",
           "ケ📫\n\u3000−鱴6🙁－\u3000-鰟\t-\u3000", "国民健康保険の保険料を口座振替にしたいのですが、窓口はどこですか")
# MeCab output formats (MeCab decodes the \t and \n; fugashi splits the arguments like a shell):
# part of speech, tab, lemma (UniDic feature 7) for known words, the surface for unknown ones. The EOS line
# stays: fugashi strips the output, which would cut a last token ending in an ideographic space.
_TAGGER_ARGS = r'-O "" -F%f[0]\\t%f[7]\\n -U%f[0]\\t%m\\n'
# The same lines from the compact copy of the dictionary (madoguchi.mecab_dictionary), whose features are
# "part of speech,lemma"; unknown words still come from unidic-lite's own unk.dic.
_COMPACT_ARGS = r'-d {dicdir} -r {dicdir}/mecabrc -O "" -F%f[0]\\t%f[1]\\n -U%f[0]\\t%m\\n'
_SKIPPED = "|".join(f"{pos}\t" for pos in sorted(_SKIP_POS))
_KEPT_LEMMA = re.compile(rf"^(?!{_SKIPPED})[^\t\n]*\t([^\n]+)$", re.MULTILINE)


def _lemmas(parsed: str) -> list[str]:
    """The kept tokens' lemmas from MeCab's "part of speech<TAB>lemma" lines."""
    # _clean written out: a function call per token costs as much as the regular expression.
    return [lemma.split("-", 1)[0] if "-" in lemma[1:] else lemma for lemma in _KEPT_LEMMA.findall(parsed)]


def _clean(lemma: str) -> str:
    # UniDic writes loanwords as "カード-card"; the gloss part is noise.
    return lemma.split("-", 1)[0] if "-" in lemma[1:] else lemma


def _node_lemmas(tagger: Any, text: str) -> list[str]:
    """The reference: fugashi's node API over unidic-lite's named features."""
    tokens = []
    for word in tagger(text):
        feature = word.feature
        if feature.pos1 in _SKIP_POS:
            continue
        tokens.append(_clean(getattr(feature, "lemma", None) or word.surface))
    return tokens


def _compact_args(folder: Path) -> str:
    return _COMPACT_ARGS.format(dicdir=shlex.quote(str(folder)))


def _agrees_with_unidic_lite(folder: Path) -> bool:
    """Whether a newly built compact copy gives the node API's lemmas on the probe sentences."""
    import fugashi

    full, compact = fugashi.Tagger(_TAGGER_ARGS), fugashi.GenericTagger(_compact_args(folder))
    return all(_lemmas(compact.parse(text)) == _node_lemmas(full, text) for text in _PROBES)


class JapaneseLemmaTokenizer:
    """Callable: text -> list of lemmas (surface form for unknown words)."""

    def __init__(self) -> None:
        self._tagger: Any = None
        self._fast = False
        self.dictionary: Path | None = None  # the compact copy in use; None: unidic-lite itself

    def _get_tagger(self) -> Any:
        if self._tagger is None:
            import fugashi  # imported here so that unpickling does not need a tagger yet

            # The compact copy first (checked against unidic-lite when it was built): unidic-lite itself would
            # stay mapped, and its pages resident, once opened. Its dictionary is found by fugashi from the
            # installed package: no download step.
            compact = compact_unidic(cache_dir(), check=_agrees_with_unidic_lite)
            if compact is not None:
                with contextlib.suppress(RuntimeError):  # a damaged copy: unidic-lite itself still serves
                    self._tagger = fugashi.GenericTagger(_compact_args(compact))
                    self._fast = True
                    self.dictionary = compact
                    return self._tagger
            try:
                self._tagger = fugashi.Tagger(_TAGGER_ARGS)
                self._fast = _lemmas(self._tagger.parse(_PROBE)) == _node_lemmas(self._tagger, _PROBE)
            except RuntimeError:  # a MeCab that refuses the formats: the node API needs none
                self._tagger = fugashi.Tagger()
        return self._tagger

    def _from_nodes(self, text: str) -> list[str]:
        return _node_lemmas(self._tagger, text)

    def _from_text(self, text: str) -> list[str]:
        return _lemmas(self._tagger.parse(text))

    def __call__(self, text: str) -> list[str]:
        self._get_tagger()
        return self._from_text(text) if self._fast else self._from_nodes(text)

    def __getstate__(self) -> dict[str, Any]:
        return {}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__()

    def __repr__(self) -> str:
        return "JapaneseLemmaTokenizer()"
