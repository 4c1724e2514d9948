"""The rows of a new build: sentences, chunks, their vectors and BM25 terms, and the copy groups.

An article whose text is unchanged keeps its stored rows, vectors and terms; the others are split,
chunked and embedded (in one call, so the embedder batches them together). Syndicated copies are
regrouped only around the articles added, changed or removed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import numpy as np

from qa import syndication
from qa.articles import Article
from qa.chunking import Chunk, chunk_article, tiktoken_counter
from qa.embedding import Embedder, Progress
from qa.indexing.plan import Plan, Previous
from qa.sentences import Sentence, split_sentences
from qa.settings import Settings
from qa.store import RowSet, load_snapshot_dir, read_delta, read_postings, read_signatures
from qa.store.vectors import CombinedVectors, DiskVectors
from qa.terms import terms


@dataclass(frozen=True, kw_only=True)
class Reusable:
    """Stored rows that a new build may reuse, by article, with their vectors and BM25 terms."""
    sentences: dict[str, list[tuple[int, Sentence]]]  # article id -> (row, sentence)
    chunks: dict[str, list[tuple[int, Chunk]]]
    sentence_vectors: np.ndarray | DiskVectors | CombinedVectors
    chunk_vectors: np.ndarray | DiskVectors | CombinedVectors
    sentence_terms: list[str]  # by row
    chunk_terms: list[str]


@dataclass(frozen=True, kw_only=True)
class Rows:
    """A build's rows with their vectors, and how many texts were embedded for it."""
    rows: RowSet
    sentence_vectors: np.ndarray
    chunk_vectors: np.ndarray
    embedded: int


def reusable(previous: Previous, plan: Plan) -> Reusable:
    """The rows a build can reuse: every row for a whole build, the delta's for a delta."""
    if not plan.delta:
        snap = load_snapshot_dir(previous.build_dir, counts=False)
        sentences, chunks = snap.sentences, snap.chunks
        sentence_vectors, chunk_vectors = snap.sentence_vectors, snap.chunk_vectors
        sentence_terms, chunk_terms = snap.terms("sentences"), snap.terms("chunks")
    else:
        d = read_delta(previous.build_dir, previous.manifest.dimension)
        sentences, chunks = d.sentences, d.chunks
        sentence_vectors, chunk_vectors = d.sentence_vectors, d.chunk_vectors
        sentence_terms, chunk_terms = d.sentence_terms, d.chunk_terms
    by_sentence: dict[str, list[tuple[int, Sentence]]] = {}
    for row, x in enumerate(sentences):
        by_sentence.setdefault(x.article_id, []).append((row, x))
    by_chunk: dict[str, list[tuple[int, Chunk]]] = {}
    for row, c in enumerate(chunks):
        by_chunk.setdefault(c.article_id, []).append((row, c))
    return Reusable(sentences=by_sentence, chunks=by_chunk, sentence_vectors=sentence_vectors,
                    chunk_vectors=chunk_vectors, sentence_terms=sentence_terms, chunk_terms=chunk_terms)


def make_rows(settings: Settings, embedder: Embedder, plan: Plan, previous: Previous | None, dimension: int,
              shingles: dict[str, np.ndarray], progress: Progress | None) -> Rows:
    """The rows of `plan.write`: reused where an article is unchanged, new (embedded) otherwise."""
    count_tokens = tiktoken_counter(settings.tiktoken_encoding)
    sentences: list[Sentence] = []
    chunks: list[Chunk] = []
    sentence_src: list[int] = []  # row in the reused rows' vectors, or -1: embed it
    chunk_src: list[int] = []
    old_articles = previous.catalog.articles if previous else {}
    old = reusable(previous, plan) if previous else None
    for a in plan.write:
        before = old_articles.get(a.id)
        if old is not None and before is not None and before.content_hash == a.content_hash \
                and a.id in old.sentences:
            for row, x in old.sentences[a.id]:
                sentences.append(x)
                sentence_src.append(row)
            for row, c in old.chunks.get(a.id, []):
                chunks.append(c)
                chunk_src.append(row)
            continue
        own = split_sentences(a.id, a.text)
        own_chunks = chunk_article(a.id, a.text, own, count_tokens=count_tokens,
                                   max_tokens=settings.chunk_tokens, overlap=settings.chunk_overlap,
                                   fits=embedder.fits)
        sentences.extend(own)
        sentence_src.extend([-1] * len(own))
        chunks.extend(own_chunks)
        chunk_src.extend([-1] * len(own_chunks))
    text_of = {a.id: a.text for a in plan.write}

    def sentence_text(i: int) -> str:
        s = sentences[i]
        return text_of[s.article_id][s.start:s.end]

    todo_s = [i for i, src in enumerate(sentence_src) if src < 0]
    todo_c = [i for i, src in enumerate(chunk_src) if src < 0]
    texts = [sentence_text(i) for i in todo_s] + [chunks[i].text for i in todo_c]
    fresh = embedder.encode(texts, batch_size=settings.batch_size, progress=progress)
    rows = RowSet(articles=plan.write, sentences=sentences, chunks=chunks,
                  sentence_terms=_terms(sentence_src, old.sentence_terms if old else None, sentence_text),
                  chunk_terms=_terms(chunk_src, old.chunk_terms if old else None, lambda i: chunks[i].text),
                  shingles={a.id: shingles[a.id] for a in plan.write})
    return Rows(rows=rows, embedded=len(texts),
                sentence_vectors=_assemble(sentence_src, todo_s, fresh[:len(todo_s)],
                                           old.sentence_vectors if old else None, dimension),
                chunk_vectors=_assemble(chunk_src, todo_c, fresh[len(todo_s):],
                                        old.chunk_vectors if old else None, dimension))


def group_copies(articles: list[Article], previous: Previous | None,
                 plan: Plan) -> tuple[list[list[str]], dict[str, np.ndarray]]:
    """Every group of syndicated copies, and the shingles of (at least) the articles written.

    Only the articles added, changed or removed since the previous build are regrouped, with the
    members of the groups they touch. A delta build reads the stored shingles of those and of the
    delta's articles only; the base's other articles are found through its postings."""
    by_id = {a.id: a for a in articles}
    order = cited_first(by_id)
    if previous is None:
        signatures = {a.id: syndication.shingles(a.text) for a in articles}
        return syndication.copy_groups(signatures, order=order), signatures
    old = previous.catalog.articles
    touched = {i for i, a in by_id.items() if i not in old or old[i].content_hash != a.content_hash}
    touched |= old.keys() - by_id.keys()
    earlier = list(set(previous.catalog.copies.values()))
    base = read_postings(previous.build_dir, plan.removed) if plan.delta else None
    wanted = set(by_id) if base is None else (
        ({a.id for a in plan.write} | syndication.affected(earlier, touched)) & by_id.keys())
    stored = read_signatures(previous.build_dir, None if base is None else wanted - touched)
    signatures = {i: stored[i] if i in stored and i not in touched else syndication.shingles(by_id[i].text)
                  for i in wanted}
    return syndication.copy_groups(signatures, order=order, known=(earlier, touched), base=base), signatures


def cited_first(articles: dict[str, Article]) -> Callable[[str], tuple[object, ...]]:
    """Order of syndicated copies: the earliest published is the one cited, then the longest."""
    def key(article_id: str) -> tuple[object, ...]:
        a = articles[article_id]
        return (a.published is None, a.published or date.min, -len(a.text), a.location)
    return key


def _terms(sources: list[int], old: list[str] | None, text: Callable[[int], str]) -> list[str]:
    """BM25 terms per row: reused from the previous build where the row was, computed from the
    row's text (`text(row)`) otherwise."""
    return [old[src] if old is not None and src >= 0 else " ".join(terms(text(i)))
            for i, src in enumerate(sources)]


def _assemble(sources: list[int], todo: list[int], fresh: np.ndarray,
              old: np.ndarray | DiskVectors | CombinedVectors | None, dim: int) -> np.ndarray:
    out = np.zeros((len(sources), dim), dtype=np.float32)
    src = np.asarray(sources, dtype=np.int64)
    keep = np.flatnonzero(src >= 0)
    if len(keep) and old is not None:
        out[keep] = old[src[keep]]
    if todo:
        out[np.asarray(todo)] = fresh
    return out
