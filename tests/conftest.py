"""Shared fixtures: test corpora copied to tmp, the fake embedder, and the real bundled model."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from qa.settings import Settings  # noqa: E402
from tests.fakes import FakeEmbedder  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
SEED = ROOT / "corpus" / "2024-10-31-us-skorea-call-for-north-to-withdraw-troops.txt"


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A writable copy of the test articles (seed article included)."""
    target = tmp_path / "corpus"
    shutil.copytree(DATA / "articles", target)
    return target


@pytest.fixture
def settings(tmp_path: Path, corpus: Path) -> Settings:
    return Settings(corpus_dir=corpus, index_dir=tmp_path / "index")


@pytest.fixture
def fake() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture(scope="session")
def real_embedder():
    """The bundled all-MiniLM-L6-v2, loaded once per test session (offline)."""
    from qa.embedding import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder()


@pytest.fixture(scope="session")
def engine(tmp_path_factory: pytest.TempPathFactory, real_embedder) -> object:
    """The answer engine with the real model over the test articles plus a syndicated copy of one
    of them: built once per test session, for tests that only ask."""
    from qa.answering import Engine
    from qa.indexing import build_index

    root = tmp_path_factory.mktemp("shared-index")
    shutil.copytree(DATA / "articles", root / "corpus")
    shutil.copy(root / "corpus" / "2024-11-05-pentagon-briefing.md", root / "corpus" / "syndicated-copy.md")
    settings = Settings(corpus_dir=root / "corpus", index_dir=root / "index")
    build_index(settings, real_embedder)
    return Engine(settings, real_embedder)


@pytest.fixture
def site():
    """The standard test site, served on 127.0.0.1 for the test (tests/webserver.py)."""
    from tests.webserver import serve, standard_site

    with serve() as web:
        yield standard_site(web)


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    """An empty corpus folder."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    return folder


def search(view, embedder, text: str, k: int = 10, history: tuple[str, ...] = ()) -> list:
    """The ranking's best `k` sentences for the question `text` (analysed as the engine does)."""
    from qa.question import analyze
    from qa.retrieval import rank

    return rank(view, embedder, analyze(text, history, dated=view.spans_dates), k=k)
