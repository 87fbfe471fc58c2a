import pickle

from madoguchi.tokenize import JapaneseLemmaTokenizer


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


def test_fast_text_path_equals_the_node_api():
    tok = JapaneseLemmaTokenizer()
    tok("x")
    assert tok._fast
    for text in ["先月引っ越しました。住民票は？", "ﾏｲﾅﾝﾊﾞｰｶｰﾄﾞ 𠮷野家 ｘｙｚ 12345", "粗大ごみ、出したいんやけど",
                 "E-mail: [EMAIL] TEL [PHONE]",
                 # a last token ending in an ideographic space, and tabs and line breaks inside the text
                 "ケ📫\n\u3000−鱴6🙁－\u3000-鰟\t-\u3000"]:
        assert tok._from_text(text) == tok._from_nodes(text)
