"""Text normalisation at the edge, and masking of personal numbers.

Every text that enters the system (HTTP, CLI, corpus build, training) passes
through `normalize` exactly once, so the model sees the same form of a text at
training and at serving time: full-width digits and half-width katakana are
folded by NFKC, control characters and binary garbage are dropped, and runs of
whitespace become one space.
"""

from __future__ import annotations

import re
import unicodedata

DEFAULT_MAX_CHARS = 4000

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff\ufeff\u200b-\u200f\u2028\u2029]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_SPACE = re.compile(r"\s+")
# NFKC maps each of these to one fixed character (full-width ASCII to ASCII, the ideographic space to a
# space) that nothing further decomposes, so mapping them first leaves NFKC's result unchanged.
_FULL_WIDTH_RUN = re.compile("[\uff01-\uff5e\u3000]+")
_FULL_WIDTH = str.maketrans({**{chr(0xFF01 + i): chr(0x21 + i) for i in range(94)}, "\u3000": " "})

# Order matters: e-mail first (it may contain digits), then the 12-digit My
# Number, then phone numbers. Tokens are ASCII so they survive NFKC unchanged.
_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
_MYNUMBER = re.compile(r"(?<!\d)\d{4}[ \-]?\d{4}[ \-]?\d{4}(?!\d)")
# A phone number: starts with 0 (or +81), digits with optional - ( ) or space
# between them; accepted when it holds 10 or 11 digits as Japanese numbers do.
_PHONE_CANDIDATE = re.compile(r"(?<![\d+])(?:\+81|\(?0)[\d\-() ]{7,16}\d(?!\d)")

MASK_EMAIL = "[EMAIL]"
MASK_MYNUMBER = "[MYNUMBER]"
MASK_PHONE = "[PHONE]"


class TextError(ValueError):
    """A text that cannot be classified; `code` is the machine-readable reason."""

    code = "invalid_text"

    def __init__(self, message: str) -> None:
        super().__init__(message)


class EmptyTextError(TextError):
    code = "empty_text"


class TextTooLongError(TextError):
    code = "text_too_long"


def normalize(text: str, max_chars: int = DEFAULT_MAX_CHARS) -> str:
    """Return the canonical form of an inquiry, or raise a `TextError`.

    The length limit is checked on the raw text too, so a megabyte of input is
    refused before NFKC spends time on it.
    """
    if not isinstance(text, str):
        raise TextError(f"expected text as a string, found {type(text).__name__}")
    if len(text) > max_chars * 2:
        raise TextTooLongError(f"text has {len(text)} characters; the limit is {max_chars}")
    text = _nfkc(_SURROGATE.sub("", text))
    text = _CONTROL.sub(" ", text)
    text = _SPACE.sub(" ", text).strip()
    if not text:
        raise EmptyTextError("text is empty or contains only whitespace or control characters")
    if len(text) > max_chars:
        raise TextTooLongError(f"text has {len(text)} characters; the limit is {max_chars}")
    return text


def _nfkc(text: str) -> str:
    """unicodedata.normalize("NFKC", text), 4 to 6 times faster for an inquiry with full-width characters.

    CPython answers quickly for a text that is already normal, but decomposes and
    recomposes every character of one that is not — and one full-width bracket or
    digit, common in what residents type, is enough. Those characters are mapped
    first; what remains is usually normal already.
    """
    if unicodedata.is_normalized("NFKC", text):
        return text
    text = _FULL_WIDTH_RUN.sub(lambda run: run.group().translate(_FULL_WIDTH), text)
    return text if unicodedata.is_normalized("NFKC", text) else unicodedata.normalize("NFKC", text)


def mask_pii(text: str) -> str:
    """Replace e-mail addresses, My Numbers and phone numbers by fixed tokens.

    Applied wherever a resident's text is stored (corpus, imported logs,
    reports), and before classification, so masked and unmasked texts look
    the same to the model.
    """
    text = _EMAIL.sub(MASK_EMAIL, text)
    text = _MYNUMBER.sub(MASK_MYNUMBER, text)
    return _PHONE_CANDIDATE.sub(_mask_phone, text)


def _mask_phone(match: re.Match[str]) -> str:
    candidate = match.group(0)
    digits = sum(ch.isdigit() for ch in candidate)
    if candidate.startswith("+81"):
        digits -= 1  # "81" stands for the leading 0
    return MASK_PHONE if digits in (10, 11) else candidate


def prepare(text: str, max_chars: int = DEFAULT_MAX_CHARS) -> str:
    """Normalise then mask: the one form in which texts are stored and classified."""
    return mask_pii(normalize(text, max_chars))
