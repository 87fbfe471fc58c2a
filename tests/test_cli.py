"""The `madoguchi` command as a user runs it: a real process, a real store, real files."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow


def run(env, *args, check=False):
    proc = subprocess.run([sys.executable, "-m", "madoguchi.cli", *args], env=env, capture_output=True,
                          text=True, timeout=300)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_classify_prints_category_and_route(trained_store):
    out = run(trained_store.env, "classify", "粗大ごみを出したい", "--municipality", "takamatsu", check=True)
    answer = json.loads(out.stdout)
    assert answer["category"]["code"] == "gomi"
    assert answer["route"] == "環境局環境業務課"
    assert answer["model"].endswith("/1")


def test_predict_keeps_input_columns_and_adds_answers(trained_store, tmp_path):
    src = tmp_path / "in.csv"
    rows = [{"id": "1", "body": "住民票の写しがほしい", "memo": "窓口"},
            {"id": "2", "body": "粗大ごみを出したい", "memo": ""},
            {"id": "3", "body": "   ", "memo": "空"}]
    with src.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["id", "body", "memo"])
        writer.writeheader()
        writer.writerows(rows)
    dst = tmp_path / "out.csv"
    run(trained_store.env, "predict", str(src), "--text-column", "body", "--output", str(dst),
        "--municipality", "sample-town", "--quiet", check=True)
    with dst.open(encoding="utf-8") as fh:
        out = list(csv.DictReader(fh))
    assert [r["id"] for r in out] == ["1", "2", "3"]
    assert list(out[0])[:3] == ["id", "body", "memo"]
    assert out[0]["code"] == "juki" and out[0]["name"] == "住民基本台帳" and out[0]["department"] == "住民課"
    assert out[1]["code"] == "gomi"
    assert out[2]["error"] == "empty_text" and out[2]["needs_review"] == "True" and out[2]["code"] == ""


def test_predict_in_worker_processes_gives_the_same_file_as_one_process(trained_store, tmp_path):
    from madoguchi.batch import CHUNK

    texts = ["住民票の写しがほしい", "粗大ごみを出したい", "", "児童手当の申請", "x" * 9000, "保育園に入りたい"]
    src = tmp_path / "many.csv"
    with src.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "text"])
        writer.writerows([i, f"{texts[i % len(texts)]}{'' if i % 3 else i}"] for i in range(2 * CHUNK + 7))
    one, two = tmp_path / "one.csv", tmp_path / "two.csv"
    run(trained_store.env, "predict", str(src), "--output", str(one), "--workers", "1", "--quiet", check=True)
    run(trained_store.env, "predict", str(src), "--output", str(two), "--workers", "2", "--quiet", check=True)
    first = one.read_text(encoding="utf-8")
    assert first == two.read_text(encoding="utf-8")
    rows = list(csv.DictReader(first.splitlines()))
    assert len(rows) == 2 * CHUNK + 7 and rows[-1]["id"] == str(2 * CHUNK + 6)
    assert {r["error"] for r in rows} == {"", "empty_text", "text_too_long"}


def test_predict_reads_shift_jis_when_told(trained_store, tmp_path):
    src = tmp_path / "sjis.csv"
    src.write_bytes("text\n住民票の写しがほしい\n".encode("cp932"))
    dst = tmp_path / "out.csv"
    bad = run(trained_store.env, "predict", str(src), "--output", str(dst))
    assert bad.returncode == 2
    assert str(src) in bad.stderr and "--encoding cp932" in bad.stderr
    assert not dst.exists()
    run(trained_store.env, "predict", str(src), "--output", str(dst), "--encoding", "cp932", "--quiet", check=True)
    assert "juki" in dst.read_text(encoding="utf-8")


def test_predict_refuses_malformed_csv_and_missing_column_naming_the_file(trained_store, tmp_path):
    src = tmp_path / "bad.csv"
    src.write_text('text,memo\n"住民票",a\n"ごみ",b,c,d\n', encoding="utf-8")
    proc = run(trained_store.env, "predict", str(src), "--output", str(tmp_path / "o.csv"))
    assert proc.returncode == 2 and str(src) in proc.stderr and "line 3" in proc.stderr
    ok = tmp_path / "ok.csv"
    ok.write_text("body\n住民票\n", encoding="utf-8")
    proc = run(trained_store.env, "predict", str(ok), "--output", str(tmp_path / "o.csv"))
    assert proc.returncode == 2 and "no column 'text'" in proc.stderr and "body" in proc.stderr


def test_unknown_municipality_is_a_one_line_error(trained_store):
    proc = run(trained_store.env, "classify", "住民票", "--municipality", "atlantis")
    assert proc.returncode == 2
    assert "unknown municipality 'atlantis'" in proc.stderr and "Traceback" not in proc.stderr


def test_serve_refuses_a_worker_count_out_of_range_in_one_line(trained_store):
    for args, env in ((("--workers", "0"), {}), ((), {"MADOGUCHI_WORKERS": "65"})):
        proc = run({**trained_store.env, **env}, "serve", "--no-train", *args)
        assert proc.returncode == 2, proc.stderr
        assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
        assert "workers: Input should be" in proc.stderr
