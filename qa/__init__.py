"""qa: ask questions about news articles; answers are sentences quoted from them, with citations.

The stages, in order (`STAGES`): each module imports only from itself, its own package, and the
stages before it (tests/test_layering.py checks it), so data flows one way, from files to answers:

    errors, settings, terms                what every stage may use (terms: words -> BM25 terms)
    normalize .. articles                  files and pages -> Article (pages: saved HTML news pages)
    fetch, sources, feeds                  web pages and feeds -> files in the corpus folder
    sentences, chunking                    Article -> sentences, chunks
    embedding, syndication                 texts -> vectors; articles -> groups of copies
    store, indexing                        corpus -> a published index build
    figures, question                      figures in text; a question analysed once
    retrieval                              question -> ranked sentences (through the IndexView seam)
    postgres                               the index in PostgreSQL + pgvector (the same seam)
    answering                              ranked sentences -> an Answer (the Engine facade)
    render, library, evaluation, cli       the edges: HTML, uploads, `qa eval`, the command line

The public API is `__all__`, imported on first use (the package itself loads nothing heavy).
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

STAGES = ("errors", "settings", "terms",
          "normalize", "dateline", "pages", "formats", "articles",
          "fetch", "sources", "feeds",
          "sentences", "chunking", "embedding", "syndication",
          "store", "indexing", "figures", "question", "retrieval", "postgres", "answering",
          "api", "mcp_tools", "render", "library", "ingest_eval", "evaluation", "cli")

_PUBLIC = {
    "Settings": "qa.settings", "QAError": "qa.errors",
    "Article": "qa.articles", "read_file": "qa.articles",
    "split_sentences": "qa.sentences", "chunk_article": "qa.chunking",
    "Embedder": "qa.embedding", "SentenceTransformerEmbedder": "qa.embedding",
    "build_index": "qa.indexing", "BuildReport": "qa.indexing",
    "Question": "qa.question", "analyze": "qa.question",
    "IndexView": "qa.retrieval", "Scope": "qa.retrieval",
    "Engine": "qa.answering", "AnswerOptions": "qa.answering", "Answer": "qa.answering",
    "Citation": "qa.answering", "Source": "qa.answering", "IndexStatus": "qa.answering",
}
__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> object:
    if name in _PUBLIC:
        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'qa' has no attribute {name!r}")
