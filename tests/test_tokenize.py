import json
import pickle
import random
from pathlib import Path

import pytest

from madoguchi import tokenize
from madoguchi.mecab_dictionary import compact_sys_dic, compact_unidic
from madoguchi.paths import DATASETS_DIR
from madoguchi.tokenize import JapaneseLemmaTokenizer

CORPUS = DATASETS_DIR / "corpus" / "inquiries.jsonl"


def test_inflected_forms_share_a_lemma():
    tok = JapaneseLemmaTokenizer()
    assert "引っ越す" in tok("先月引っ越しました")
    assert "引っ越す" in tok("来週引っ越す予定です")


def test_punctuation_is_dropped():
    assert "。" not in JapaneseLemmaTokenizer()("住民票をください。")


def test_loanword_lemmas_lose_their_english_gloss():
    tokens = JapaneseLemmaTokenizer()("カードをなくした")
    assert "カード" in tokens
    assert not any("-" in t for t in tokens)


def test_tokenizer_pickles_without_its_tagger_and_works_after():
    tok = JapaneseLemmaTokenizer()
    before = tok("住民票の写し")
    clone = pickle.loads(pickle.dumps(tok))
    assert clone._tagger is None
    assert clone("住民票の写し") == before


def _full_dictionary_tokenizer(monkeypatch: pytest.MonkeyPatch) -> JapaneseLemmaTokenizer:
    monkeypatch.setattr(tokenize, "compact_unidic", lambda cache_dir, check=None: None)
    tok = JapaneseLemmaTokenizer()
    tok("x")
    monkeypatch.undo()
    assert tok.dictionary is None
    return tok


def test_fast_text_path_equals_the_node_api(monkeypatch):
    tok = _full_dictionary_tokenizer(monkeypatch)
    assert tok._fast
    for text in ["先月引っ越しました。住民票は？", "ﾏｲﾅﾝﾊﾞｰｶｰﾄﾞ 𠮷野家 ｘｙｚ 12345", "粗大ごみ、出したいんやけど",
                 "E-mail: [EMAIL] TEL [PHONE]",
                 # a last token ending in an ideographic space, and tabs and line breaks inside the text
                 "ケ📫\n\u3000−鱴6🙁－\u3000-鰟\t-\u3000"]:
        assert tok._from_text(text) == tok._from_nodes(text)


def test_compact_dictionary_gives_unidic_lites_lemmas(monkeypatch):
    full = _full_dictionary_tokenizer(monkeypatch)
    compact = JapaneseLemmaTokenizer()
    compact("x")
    assert compact.dictionary is not None and (compact.dictionary / "sys.dic").stat().st_size < 50_000_000
    texts = [json.loads(line)["text"] for line in CORPUS.read_text(encoding="utf-8").splitlines()]
    rnd = random.Random(7)
    alphabet = [chr(c) for c in [*range(0x20, 0x7F), *range(0x3041, 0x3097), *range(0x30A1, 0x30FB),
                                 *range(0x4E00, 0x4E00 + 4000), *range(0xFF01, 0xFF5F), 0x3000, 0x9, 0xA, 0x1F600]]
    texts += ["".join(rnd.choices(alphabet, k=rnd.randint(1, 60))) for _ in range(3000)]
    differing = [t for t in texts if compact(t) != full(t)]
    assert differing == [], differing[:3]


def test_a_cache_that_cannot_be_written_leaves_the_full_dictionary(tmp_path, monkeypatch):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("", encoding="utf-8")
    assert compact_unidic(blocked) is None
    monkeypatch.setenv("MADOGUCHI_CACHE_DIR", str(blocked))
    tok = JapaneseLemmaTokenizer()
    assert tok("住民票をください") == ["住民", "票", "を", "下さる"]
    assert tok.dictionary is None


@pytest.mark.parametrize("data", [b"", b"garbage" * 20, bytes(200)])
def test_compacting_refuses_what_is_not_a_mecab_dictionary(data):
    with pytest.raises(ValueError):
        compact_sys_dic(data)


def test_compacting_refuses_a_dictionary_with_a_changed_size():
    import unidic_lite

    with (Path(unidic_lite.DICDIR) / "sys.dic").open("rb") as handle:
        head = handle.read(1_000_000)
    with pytest.raises(ValueError, match="version 102"):
        compact_sys_dic(head)


def test_a_copy_that_fails_its_check_is_not_kept(tmp_path):
    assert compact_unidic(tmp_path, check=lambda folder: False) is None
    assert [p.name for p in (tmp_path / "mecab").iterdir()] == []
