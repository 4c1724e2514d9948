"""The embedder: ONNX Runtime for questions gives torch's vectors without loading torch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from qa.embedding import SentenceTransformerEmbedder, use_bf16
from qa.errors import ConfigError
from qa.settings import Settings

TEXTS = ["How many North Korean troops are in Russia?", "Kim said the deployment could escalate threats.",
         "Zorblax harbour", "Ukraine's allies will meet in Brussels on December 5, a diplomat said."]


def test_questions_use_onnx_with_the_same_vectors_as_torch(tmp_path):
    fast = SentenceTransformerEmbedder(cache_dir=tmp_path)
    questions = fast.encode(TEXTS)
    assert not fast._torch.loaded  # answering never loads torch
    assert list(tmp_path.glob("onnx/*/model.onnx"))  # exported once, cached
    slow = SentenceTransformerEmbedder(onnx=False, bf16="0").encode(TEXTS)
    assert questions.shape == slow.shape == (4, 384) and questions.dtype == np.float32
    assert np.allclose(np.linalg.norm(questions, axis=1), 1, atol=1e-5)
    assert np.min(np.sum(questions * slow, axis=1)) > 0.9999
    again = SentenceTransformerEmbedder(cache_dir=tmp_path)
    assert np.allclose(again.encode(TEXTS), questions, atol=1e-6)  # the cached export is reused


def test_questions_embed_once_each_on_the_int8_model_close_to_fp32(tmp_path):
    fast = SentenceTransformerEmbedder(cache_dir=tmp_path)
    questions = fast.encode_questions([TEXTS[0], TEXTS[2], TEXTS[0]])
    assert not fast._torch.loaded and list(tmp_path.glob("onnx/*/model.int8.onnx"))
    fp32 = fast.encode([TEXTS[0], TEXTS[2], TEXTS[0]])
    assert questions.shape == (3, 384) and questions.dtype == np.float32
    assert np.allclose(np.linalg.norm(questions, axis=1), 1, atol=1e-5)
    assert np.min(np.sum(questions * fp32, axis=1)) > 0.98
    assert np.array_equal(questions[0], questions[2])
    assert np.array_equal(fast.encode_questions([TEXTS[2]])[0], questions[1])  # the recent ones are kept


def test_batches_in_bfloat16_stay_close_to_fp32():
    many = TEXTS * 3  # more than a question batch: torch
    fp32 = SentenceTransformerEmbedder(onnx=False, bf16="0").encode(many)
    bf16 = SentenceTransformerEmbedder(onnx=False, bf16="1").encode(many)
    assert np.allclose(np.linalg.norm(bf16, axis=1), 1, atol=1e-5)
    assert np.min(np.sum(fp32 * bf16, axis=1)) > 0.999


def test_bf16_setting():
    assert use_bf16("1") and not use_bf16("0")
    with pytest.raises(ConfigError, match="bf16 must be auto, 1 or 0"):
        Settings(bf16="yes")


def test_a_small_update_never_imports_torch(tmp_path):
    """`qa index` adding an article embeds on ONNX Runtime: no torch import, the same vectors."""
    import json
    import subprocess
    import sys

    from tests.conftest import DATA

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    seed = DATA / "news" / "2024-10-31-us-skorea-call-for-north-to-withdraw-troops.txt"
    (corpus / "seed.txt").write_bytes(seed.read_bytes())
    script = ("import sys, json; from qa.cli import main; code = main(['index', '--quiet']); "
              "print(json.dumps({'code': code, 'torch': 'torch' in sys.modules}))")
    env = {"QA_CORPUS_DIR": str(corpus), "QA_INDEX_DIR": str(tmp_path / "index"), "HF_HUB_OFFLINE": "1",
           "PATH": "/usr/bin:/bin", "HOME": str(Path.home())}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True)
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"code": 0, "torch": False}
    from qa import store

    snap = store.load_snapshot(tmp_path / "index")
    texts = [snap.sentence_text(r) for r in range(len(snap.sentences))]
    torch_vectors = SentenceTransformerEmbedder(onnx=False, bf16="0").encode(texts)
    assert len(texts) > 8 and np.min(np.sum(snap.sentence_vectors * torch_vectors, axis=1)) > 0.9999


def test_token_count_without_torch_matches_the_model_tokenizer():
    fast, slow = SentenceTransformerEmbedder(), SentenceTransformerEmbedder(onnx=False)
    for words in (10, 180, 200, 230, 260, 400):
        text = " ".join(["reporters"] * words) + " said."
        assert fast.fits(text) == slow.fits(text)
    assert not fast._torch.loaded
