import random
import re
import unicodedata

import pytest

from madoguchi.text import EmptyTextError, TextTooLongError, _nfkc, mask_pii, normalize, prepare


def test_nfkc_folds_full_width_and_half_width_katakana():
    assert normalize("ＡＢＣ１２３　ﾏｲﾅﾝﾊﾞｰ") == "ABC123 マイナンバー"


def test_the_quick_nfkc_equals_unicodedata_on_mixed_scripts():
    # Full-width forms next to combining marks, half-width kana with voicing marks, Hangul jamo,
    # Latin with accents, CJK compatibility ideographs: where mapping first could go wrong.
    blocks = [(0x20, 0x250), (0x300, 0x370), (0x1100, 0x1180), (0x3000, 0x3100), (0x4E00, 0x4E40),
              (0xAC00, 0xAC20), (0xF900, 0xF920), (0xFF00, 0xFFF0)]
    pool = [chr(c) for start, end in blocks for c in range(start, end)]
    rng = random.Random(0)
    for _ in range(20000):
        text = "".join(rng.choice(pool) for _ in range(rng.randint(1, 8)))
        assert _nfkc(text) == unicodedata.normalize("NFKC", text), ascii(text)


def test_whitespace_and_control_characters_are_folded():
    assert normalize("  住民票\t\n\x00の\u200b写し\r\n ") == "住民票 の 写し"


@pytest.mark.parametrize("text", ["", "   ", "\n\t", "\x00\x01\x02", "\u200b\u200b"])
def test_empty_text_is_refused(text):
    with pytest.raises(EmptyTextError, match="empty"):
        normalize(text)


def test_length_limit_names_the_numbers():
    with pytest.raises(TextTooLongError, match=re.escape("text has 101 characters; the limit is 100")):
        normalize("あ" * 101, max_chars=100)


def test_megabytes_are_refused_before_normalising():
    with pytest.raises(TextTooLongError):
        normalize("あ" * 5_000_000)


def test_lone_surrogates_from_broken_encodings_are_dropped():
    assert normalize("住民票\udcff") == "住民票"


def test_normalize_is_idempotent():
    once = prepare("ＴＥＬ：０９０－１２３４－５６７８　ｔａｒｏ＠ｅｘａｍｐｌｅ．ｊｐ")
    assert prepare(once) == once


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("電話は090-1234-5678です", "電話は[PHONE]です"),
        ("TEL 087(839)2011", "TEL [PHONE]"),
        ("連絡先 0878392011", "連絡先 [PHONE]"),
        ("+81 90 1234 5678", "[PHONE]"),
        ("taro.yamada@example.jp まで", "[EMAIL] まで"),
        ("個人番号 1234 5678 9012", "個人番号 [MYNUMBER]"),
        ("番号123456789012", "番号[MYNUMBER]"),
    ],
)
def test_personal_numbers_are_masked(raw, masked):
    assert mask_pii(raw) == masked


@pytest.mark.parametrize("text", ["2025年4月1日 10時に", "郵便番号760-8571", "第3期分 12,300円"])
def test_dates_amounts_and_postcodes_are_not_masked(text):
    assert mask_pii(text) == text


def test_full_width_phone_number_is_masked_after_normalising():
    assert prepare("ＴＥＬ ０９０－１２３４－５６７８") == "TEL [PHONE]"
