"""Vocabulary hits of a whole batch of texts as integer arrays.

Why: looking every n-gram up in a Python dict — about 240 per inquiry, 180
character n-grams and 60 word n-grams — cost more than MeCab's own analysis.
A character n-gram of up to three code points fits one 63-bit integer (21 bits
per code point) and a word bigram is a pair of token numbers, so a vocabulary
becomes sorted integer arrays, and one `np.searchsorted` per n-gram length
answers a whole batch. The hits are exactly those of the dict look-ups (the
tests compare the features with scikit-learn's transform). Vocabularies of
other shapes (longer character n-grams, word trigrams) get no index and keep
the dict path.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import chain, repeat

import numpy as np

_BITS = 21  # enough for any Unicode code point
_MAX_CHARS = 3  # 3 × 21 bits fit a signed 64-bit integer
# Joins words and texts: str.split() never leaves it inside a word, so no vocabulary term holds it
# and a window across a word or text boundary, which does, finds nothing.
_SEPARATOR = "\n"

Hits = tuple[np.ndarray, np.ndarray]  # (row of the text in the batch, vocabulary column), one pair per hit


def _no_hits() -> Hits:
    return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)


def _char_code(term: str) -> int:
    return sum(ord(char) << (_BITS * k) for k, char in enumerate(term))


class _CodeTable:
    """Integer codes and the vocabulary column of each.

    Small codes (single characters) are looked up in a dense array; others by
    binary search, over the distinct queries only: a batch repeats most of its
    n-grams, and sorted needles keep the search in cache — 2.5 times faster.
    """

    _DENSE_LIMIT = 1 << 18
    # Sorting pays only for long query lists: with 64 a single text took 366 µs against 297 with 512, and
    # batches of 4 to 64 texts were as fast or faster (fifth round, benchmarks/README.md).
    _SORT_FROM = 512

    def __init__(self, pairs: list[tuple[int, int]]) -> None:
        pairs.sort()
        self.codes = np.asarray([c for c, _ in pairs], dtype=np.int64)
        self.columns = np.asarray([col for _, col in pairs], dtype=np.int64)
        self.dense: np.ndarray | None = None
        if len(self.codes) and self.codes[-1] < self._DENSE_LIMIT:
            self.dense = np.full(int(self.codes[-1]) + 2, -1, dtype=np.int64)  # the last slot: any larger code
            self.dense[self.codes] = self.columns

    def find(self, queries: np.ndarray) -> np.ndarray:
        """The column of each query, -1 where it is not in the table."""
        if not len(self.codes):
            return np.full(len(queries), -1, dtype=np.int64)
        if self.dense is not None:
            return self.dense[np.minimum(queries, len(self.dense) - 1)]
        if len(queries) < self._SORT_FROM:
            return self._search(queries)
        distinct, inverse = np.unique(queries, return_inverse=True)
        return self._search(distinct)[inverse]

    def column(self, code: int) -> int | None:
        found = int(self.find(np.asarray([code], dtype=np.int64))[0])
        return found if found >= 0 else None

    def _search(self, queries: np.ndarray) -> np.ndarray:
        at = np.searchsorted(self.codes, queries)
        at[at == len(self.codes)] = 0
        return np.where(self.codes[at] == queries, self.columns[at], -1)


class CharNgramIndex:
    """scikit-learn's char_wb n-grams (1 to at most 3 characters) of a batch, looked up as integers."""

    def __init__(self, vocabulary: dict[str, int], max_n: int, lowercase: bool) -> None:
        self.max_n, self.lowercase = max_n, lowercase
        by_length: dict[int, list[tuple[int, int]]] = {n: [] for n in range(1, max_n + 1)}
        for term, column in vocabulary.items():
            by_length[len(term)].append((_char_code(term), column))
        self.tables = {n: _CodeTable(pairs) for n, pairs in by_length.items()}

    @classmethod
    def build(cls, vocabulary: dict[str, int], min_n: int, max_n: int, lowercase: bool) -> CharNgramIndex | None:
        # With min_n = 1 every padded word (" w ", three or more characters) yields exactly the
        # windows of each length up to max_n that fit in it; no short-word special case remains.
        if min_n != 1 or max_n > _MAX_CHARS or \
                not all(1 <= len(t) <= max_n and _SEPARATOR not in t for t in vocabulary):
            return None
        return cls(vocabulary, max_n, lowercase)

    def column(self, term: str) -> int | None:
        """The vocabulary's column of one term, as the fitted vocabulary dict would give it."""
        table = self.tables.get(len(term))
        return table.column(_char_code(term)) if table is not None else None

    def hits(self, texts: Sequence[str]) -> Hits:
        pieces = []
        for text in texts:
            words = (text.lower() if self.lowercase else text).split()
            pieces.append(f" {f' {_SEPARATOR} '.join(words)} " if words else "")
        joined = _SEPARATOR.join(pieces)
        if not joined:
            return _no_hits()
        # utf-32 gives one integer per code point, as Python's str indexing counts them.
        chars = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.int64)
        row_of = np.repeat(np.arange(len(texts)), [len(p) + 1 for p in pieces])[:len(chars)]
        rows, columns = [], []
        for n, table in self.tables.items():
            starts = len(chars) - n + 1
            if starts <= 0:
                continue
            codes = chars[:starts].copy()
            for k in range(1, n):
                codes |= chars[k:k + starts] << (_BITS * k)
            found = table.find(codes)
            rows.append(row_of[:starts][found >= 0])
            columns.append(found[found >= 0])
        return np.concatenate(rows), np.concatenate(columns)


class WordNgramIndex:
    """Word unigrams and bigrams of a batch: tokens become numbers, bigrams pairs of numbers."""

    def __init__(self, vocabulary: dict[str, int], min_n: int, max_n: int,
                 tokens: Callable[[str], list[str]]) -> None:
        self.min_n, self.max_n, self.tokens = min_n, max_n, tokens
        self.numbers: dict[str, int] = {}
        unigrams: list[tuple[int, int]] = []
        bigrams: list[tuple[int, int]] = []
        for term, column in vocabulary.items():
            parts = term.split(" ")
            if len(parts) == 1:
                unigrams.append((self._number(term), column))
            else:
                bigrams.append(((self._number(parts[0]) << 32) | self._number(parts[1]), column))
        # One number more than the vocabulary's tokens stands for any other token.
        self.unknown = len(self.numbers)
        self.unigram_column = np.full(self.unknown + 1, -1, dtype=np.int64)
        for number, column in unigrams:
            self.unigram_column[number] = column
        self.bigrams = _CodeTable(bigrams)

    def _number(self, token: str) -> int:
        return self.numbers.setdefault(token, len(self.numbers))

    @classmethod
    def build(cls, vocabulary: dict[str, int], min_n: int, max_n: int,
              tokens: Callable[[str], list[str]]) -> WordNgramIndex | None:
        # A bigram term is two tokens joined by one space; a term of three parts or with an empty
        # part can only come from tokens that hold spaces, which the index does not read.
        if not 1 <= min_n <= max_n <= 2:
            return None
        for term in vocabulary:
            parts = term.split(" ")
            if len(parts) > 2 or "" in parts or (len(parts) == 2 and max_n < 2) or \
                    (len(parts) == 1 and min_n > 1):
                return None
        return cls(vocabulary, min_n, max_n, tokens)

    def column(self, term: str) -> int | None:
        """The vocabulary's column of one term ("token" or "token token"), as the fitted vocabulary dict
        would give it: the dict path reads tokens holding spaces through this."""
        numbers = [self.numbers.get(part) for part in term.split(" ")]
        if None in numbers or len(numbers) > 2:  # no vocabulary term has an unknown or empty part
            return None
        if len(numbers) == 1:
            found = int(self.unigram_column[numbers[0]])
            return found if found >= 0 else None
        return self.bigrams.column((numbers[0] << 32) | numbers[1])

    def hits(self, texts: Sequence[str]) -> Hits | None:
        """None when a token holds a space (MeCab's never do): then only the dict path reads the terms right."""
        token_lists = [self.tokens(text) for text in texts]
        flat = list(chain.from_iterable(token_lists))
        if not flat:
            return _no_hits()
        if " " in _SEPARATOR.join(flat):
            return None
        unknown = self.unknown
        numbers = np.fromiter(map(self.numbers.get, flat, repeat(unknown)), dtype=np.int64, count=len(flat))
        row_of = np.repeat(np.arange(len(texts)), [len(t) for t in token_lists])
        rows, columns = [], []
        if self.min_n == 1:
            unigram = self.unigram_column[numbers]
            rows.append(row_of[unigram >= 0])
            columns.append(unigram[unigram >= 0])
        if self.max_n == 2 and len(flat) > 1:
            pair = (row_of[:-1] == row_of[1:]) & (numbers[:-1] != unknown) & (numbers[1:] != unknown)
            found = self.bigrams.find(((numbers[:-1] << 32) | numbers[1:])[pair])
            rows.append(row_of[:-1][pair][found >= 0])
            columns.append(found[found >= 0])
        return np.concatenate(rows), np.concatenate(columns)
