"""Corpus -> index, incrementally: only new or changed articles are parsed and embedded.

A file whose size and modification time match the previous build is not even read; an article
whose text is unchanged keeps its sentences, chunks and vectors. An update writes only a delta
(the articles added or changed, and which base articles they replace) beside the previous build's
base files, until the delta outgrows `DELTA_ARTICLES` + `DELTA_SHARE` of the base; then a whole
base is written again, reusing every vector. Identical texts under two names are indexed once. A
different model or chunk setting forces a full rebuild, and the report says why. Bad files are
reported with their reason and skipped; the build goes on, and the previous index stays active
until the new one is complete.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np

from qa.articles import Article, read_file, scan_corpus
from qa.chunking import Chunk, chunk_article, tiktoken_counter
from qa.embedding import Embedder, Progress
from qa.errors import ArticleError, IndexCorruptError, IndexMismatchError, IndexMissingError
from qa.sentences import Sentence, split_sentences
from qa.settings import Settings
from qa.terms import terms
from qa import store, syndication

SEGMENTER = "syntok-1"


@dataclass
class BuildReport:
    build_id: str | None = None  # None: nothing changed, no new build written
    added: list[str] = field(default_factory=list)  # article locations
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # (file, same text as)
    full_rebuild_reason: str | None = None
    articles: int = 0
    sentences: int = 0
    chunks: int = 0
    embedded: int = 0  # texts embedded in this build
    copy_groups: int = 0  # stories carried by several articles (syndicated copies)
    delta: bool = False  # True: only the changes were written, beside the previous build's base
    seconds: float = 0.0


@dataclass
class _Previous:
    manifest: store.Manifest
    build_dir: Path
    catalog: store.Catalog

    @property
    def articles(self) -> dict[str, Article]:
        return self.catalog.articles

    @property
    def files(self) -> dict[str, store.FileRecord]:
        return self.catalog.files


@dataclass
class _Rows:
    """Stored rows that a new build may reuse, by article, with their vectors and BM25 terms."""
    sentences: dict[str, list[tuple[int, Sentence]]]  # article id -> (row, sentence)
    chunks: dict[str, list[tuple[int, Chunk]]]
    sentence_vectors: np.ndarray | store.DiskVectors | store.CombinedVectors
    chunk_vectors: np.ndarray | store.DiskVectors | store.CombinedVectors
    sentence_terms: list[str]  # by row
    chunk_terms: list[str]


@dataclass
class _Plan:
    """What a build writes: the whole index, or a delta beside the previous build's base."""
    write: list[Article]  # articles whose rows are written
    delta: bool
    removed: set[str] = field(default_factory=set)  # delta: base articles replaced or removed
    base_sentences: int = 0  # delta: base rows still current
    base_chunks: int = 0


def corpus_fingerprint(corpus_dir: Path) -> str:
    """Names, sizes and modification times of the corpus's readable files, hashed."""
    return _fingerprint((f.rel, f.size, f.mtime_ns) for f in scan_corpus(corpus_dir)[0])


def _fingerprint(files: Iterable[tuple[str, int, int]]) -> str:
    digest = hashlib.sha256()
    for rel, size, mtime_ns in files:
        digest.update(f"{rel}\0{size}\0{mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def build_index(settings: Settings, embedder: Embedder, *, full: bool = False,
                progress: Progress | None = None, wait: bool = False) -> BuildReport:
    started = time.perf_counter()
    if not settings.corpus_dir.is_dir():  # a typo'd path must not empty the index
        raise ArticleError(str(settings.corpus_dir), "the corpus folder does not exist; create it "
                           "and add articles, or point --corpus / QA_CORPUS_DIR at it")
    with store.build_lock(settings.index_dir, wait=wait):
        store.remove_stale(settings.index_dir)
        report = BuildReport()
        previous = None if full else _load_previous(settings, embedder, report)
        if full:
            report.full_rebuild_reason = "requested (--full)"
        articles, files = _scan(settings, previous, report)
        _diff(articles, previous, report)
        fingerprint = _fingerprint((f.path, f.size, f.mtime_ns) for f in files)
        up_to_date = (previous is not None and not (report.added or report.changed or report.removed)
                      and previous.manifest.corpus_fingerprint == fingerprint)
        if not up_to_date:
            report.build_id = _write(settings, embedder, articles, files, previous, fingerprint,
                                     _plan(articles, previous), report, progress)
        else:
            report.articles, report.sentences, report.chunks = (
                previous.manifest.articles, previous.manifest.sentences, previous.manifest.chunks)
        report.seconds = time.perf_counter() - started
        return report


def _load_previous(settings: Settings, embedder: Embedder, report: BuildReport) -> _Previous | None:
    try:
        build_dir = store.current_build_dir(settings.index_dir)
        manifest = store.read_manifest(build_dir)
        # The dimension belongs to the model: only load the model to check it if the model changed.
        dimension = manifest.dimension if manifest.model == embedder.model_id else embedder.dimension
        wanted = (store.FORMAT_VERSION, embedder.model_id, dimension,
                  settings.tiktoken_encoding, settings.chunk_tokens, settings.chunk_overlap, SEGMENTER)
        if manifest.settings_key() != wanted:
            report.full_rebuild_reason = _what_changed(manifest, wanted)
            return None
        store.check_base(build_dir, manifest)
        return _Previous(manifest, build_dir, store.read_catalog(build_dir))
    except IndexMissingError:
        report.full_rebuild_reason = "no previous index"
    except (IndexCorruptError, IndexMismatchError, sqlite3.DatabaseError) as exc:
        report.full_rebuild_reason = f"previous index unusable ({exc})"
    return None


# A delta may hold up to this many articles plus this share of the base before the next build
# writes the whole index again (and a delta again starts empty).
DELTA_ARTICLES, DELTA_SHARE = 50, 0.1


def _plan(articles: list[Article], previous: _Previous | None) -> _Plan:
    if previous is None:
        return _Plan(articles, delta=False)
    catalog = previous.catalog
    kept = {a.id for a in articles if a.id in catalog.base_ids and a.id not in catalog.removed
            and catalog.articles[a.id].content_hash == a.content_hash}
    write = [a for a in articles if a.id not in kept]
    removed = catalog.base_ids - kept
    limit = DELTA_ARTICLES + DELTA_SHARE * len(catalog.base_ids)
    if len(write) > limit or len(removed) > limit:
        return _Plan(articles, delta=False)
    return _Plan(write, True, removed, sum(catalog.base_sentences.get(a, 0) for a in kept),
                 sum(catalog.base_chunks.get(a, 0) for a in kept))


def _previous_rows(previous: _Previous, plan: _Plan) -> _Rows:
    """The rows a build can reuse: every row for a whole build, the delta's for a delta."""
    if not plan.delta:
        snap = store.load_snapshot_dir(previous.build_dir, bm25=False)
        sentence_vectors, chunk_vectors = snap.sentence_vectors, snap.chunk_vectors
        sentence_terms, chunk_terms = snap.terms("sentences"), snap.terms("chunks")
        sentences, chunks = snap.sentences, snap.chunks
    else:
        sentences, chunks, sentence_vectors, chunk_vectors, sentence_terms, chunk_terms = \
            store.read_delta(previous.build_dir, previous.manifest.dimension)
    by_sentence: dict[str, list[tuple[int, Sentence]]] = {}
    for row, x in enumerate(sentences):
        by_sentence.setdefault(x.article_id, []).append((row, x))
    by_chunk: dict[str, list[tuple[int, Chunk]]] = {}
    for row, c in enumerate(chunks):
        by_chunk.setdefault(c.article_id, []).append((row, c))
    return _Rows(by_sentence, by_chunk, sentence_vectors, chunk_vectors, sentence_terms, chunk_terms)


def _what_changed(manifest: store.Manifest, wanted: tuple[object, ...]) -> str:
    names = ("index format", "embedding model", "embedding dimension", "tokenizer",
             "chunk_tokens", "chunk_overlap", "sentence segmenter")
    changes = [f"{n} {old} -> {new}" for n, old, new in zip(names, manifest.settings_key(), wanted)
               if old != new]
    return "settings changed: " + ", ".join(changes)


def _scan(settings: Settings, previous: _Previous | None,
          report: BuildReport) -> tuple[list[Article], list[store.FileRecord]]:
    """Read the corpus (reusing unchanged files' articles); dedupe identical texts."""
    listed, unsupported = scan_corpus(settings.corpus_dir)
    report.skipped.extend((e.path, e.reason) for e in unsupported)
    max_bytes = int(settings.max_file_mb * 1_000_000)
    by_hash: dict[str, Article] = {}
    files: list[store.FileRecord] = []
    for f in listed:
        old = previous.files.get(f.rel) if previous else None
        if old and old.status != "skipped" and old.size == f.size and old.mtime_ns == f.mtime_ns \
                and all(map(previous.articles.__contains__, old.article_ids)):  # unchanged: not read again
            for a in map(previous.articles.__getitem__, old.article_ids):
                first = by_hash.setdefault(a.content_hash, a)
                if first.id != a.id:
                    report.duplicates.append((a.location, first.location))
            files.append(old)
            continue
        results = read_file(Path(f.path), settings.corpus_dir, max_bytes)
        ids, reasons, status = [], [], "indexed"
        for item in results:
            if isinstance(item, ArticleError):
                report.skipped.append((item.path, item.reason))
                reasons.append(item.reason)
            elif item.content_hash in by_hash and by_hash[item.content_hash].id != item.id:
                report.duplicates.append((item.location, by_hash[item.content_hash].location))
                ids.append(item.id)
            else:
                by_hash[item.content_hash] = item
                ids.append(item.id)
        if not ids:
            status = "skipped"
        files.append(store.FileRecord(f.rel, f.size, f.mtime_ns, status, "; ".join(reasons), ids))
    return list(by_hash.values()), files


def _diff(articles: list[Article], previous: _Previous | None, report: BuildReport) -> None:
    old = previous.articles if previous else {}
    new_ids = {a.id for a in articles}
    for a in articles:
        if a.id not in old:
            report.added.append(a.location)
        elif old[a.id].content_hash != a.content_hash:
            report.changed.append(a.location)
        else:
            report.unchanged += 1
    report.removed = [a.location for a in old.values() if a.id not in new_ids]


def _write(settings: Settings, embedder: Embedder, articles: list[Article],
           files: list[store.FileRecord], previous: _Previous | None, fingerprint: str, plan: _Plan,
           report: BuildReport, progress: Progress | None) -> str:
    count_tokens = tiktoken_counter(settings.tiktoken_encoding)
    sentences: list[Sentence] = []
    chunks: list[Chunk] = []
    sentence_src: list[int] = []  # row in the reused rows' vectors, or -1: embed it
    chunk_src: list[int] = []
    reusable = previous.articles if previous else {}
    rows = _previous_rows(previous, plan) if previous else None
    for a in plan.write:
        old = reusable.get(a.id)
        if rows is not None and old is not None and old.content_hash == a.content_hash and a.id in rows.sentences:
            for row, x in rows.sentences[a.id]:
                sentences.append(x)
                sentence_src.append(row)
            for row, c in rows.chunks.get(a.id, []):
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
    todo_s = [i for i, src in enumerate(sentence_src) if src < 0]
    todo_c = [i for i, src in enumerate(chunk_src) if src < 0]
    texts = [text_of[sentences[i].article_id][sentences[i].start:sentences[i].end] for i in todo_s]
    texts += [chunks[i].text for i in todo_c]
    fresh = embedder.encode(texts, batch_size=settings.batch_size, progress=progress)
    dim = previous.manifest.dimension if previous else embedder.dimension
    sentence_vectors = _assemble(sentence_src, todo_s, fresh[:len(todo_s)], rows.sentence_vectors if rows else None, dim)
    chunk_vectors = _assemble(chunk_src, todo_c, fresh[len(todo_s):], rows.chunk_vectors if rows else None, dim)
    sentence_terms = _terms(sentence_src, rows.sentence_terms if rows else None,
                            lambda i: text_of[sentences[i].article_id][sentences[i].start:sentences[i].end])
    chunk_terms = _terms(chunk_src, rows.chunk_terms if rows else None, lambda i: chunks[i].text)
    groups, signatures = _group_copies(articles, previous, plan)

    with store.writing(settings.index_dir):
        tmp = store.new_build_dir(settings.index_dir)
        build_id = tmp.name.removeprefix(".tmp-")
        if plan.delta:  # the previous build's base files, linked; this build's rows beside them
            store.link_base(previous.build_dir, tmp)
            (tmp / store.DELTA).mkdir()
            db = store.create_db(tmp / store.DELTA)
            store.insert_rows(db, plan.write, sentences, chunks, files, sentence_terms, chunk_terms,
                              {a.id: signatures[a.id] for a in plan.write}, groups, sorted(plan.removed))
            db.close()
            store.write_delta_vectors(tmp / store.DELTA, "sentences", sentence_vectors)
            store.write_delta_vectors(tmp / store.DELTA, "chunks", chunk_vectors)
            base = previous.manifest
            kind, base_build, base_files = base.faiss_index, base.base_build, base.base_files
            base_sentences, base_chunks = base.base_sentences, base.base_chunks
            total_sentences, total_chunks = plan.base_sentences + len(sentences), plan.base_chunks + len(chunks)
        else:
            db = store.create_db(tmp)
            store.insert_rows(db, articles, sentences, chunks, files, sentence_terms, chunk_terms, signatures, groups)
            db.close()
            store.write_postings(tmp, syndication.Postings.of({a.id: signatures[a.id] for a in articles}))
            kind = store.write_vectors(tmp, "sentences", sentence_vectors, exact_limit=settings.exact_limit)
            store.write_vectors(tmp, "chunks", chunk_vectors, exact_limit=settings.exact_limit)
            store.write_bm25(tmp, "sentences", sentence_terms)
            store.write_bm25(tmp, "chunks", chunk_terms)
            base_build, base_files = build_id, store.base_file_sizes(tmp)
            base_sentences = total_sentences = len(sentences)
            base_chunks = total_chunks = len(chunks)
        manifest = store.Manifest(
            format_version=store.FORMAT_VERSION, build_id=build_id,
            built_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"), model=embedder.model_id, dimension=dim,
            tiktoken_encoding=settings.tiktoken_encoding, chunk_tokens=settings.chunk_tokens,
            chunk_overlap=settings.chunk_overlap, segmenter=SEGMENTER, articles=len(articles),
            sentences=total_sentences, chunks=total_chunks, corpus_fingerprint=fingerprint, faiss_index=kind,
            base_build=base_build, base_sentences=base_sentences, base_chunks=base_chunks, base_files=base_files)
        store.publish(settings.index_dir, tmp, manifest, keep=settings.keep_builds)
    report.articles, report.sentences, report.chunks = len(articles), total_sentences, total_chunks
    report.embedded = len(texts)
    report.copy_groups = len(groups)
    report.delta = plan.delta
    return build_id


def _group_copies(articles: list[Article], previous: _Previous | None,
                  plan: _Plan) -> tuple[list[list[str]], dict[str, np.ndarray]]:
    """Every group of syndicated copies, and the shingles of (at least) the articles written.

    Only the articles added, changed or removed since the previous build are regrouped, with the
    members of the groups they touch. A delta build reads the stored shingles of those and of the
    delta's articles only; the base's other articles are found through its postings."""
    by_id = {a.id: a for a in articles}
    order = _cited_first(by_id)
    if previous is None:
        signatures = {a.id: syndication.shingles(a.text) for a in articles}
        return syndication.copy_groups(signatures, order=order), signatures
    old = previous.articles
    touched = {i for i, a in by_id.items() if i not in old or old[i].content_hash != a.content_hash}
    touched |= old.keys() - by_id.keys()
    earlier = list(set(previous.catalog.copies.values()))
    base = store.read_postings(previous.build_dir, plan.removed) if plan.delta else None
    wanted = set(by_id) if base is None else (
        ({a.id for a in plan.write} | syndication.affected(earlier, touched)) & by_id.keys())
    stored = store.read_signatures(previous.build_dir, None if base is None else wanted - touched)
    signatures = {i: stored[i] if i in stored and i not in touched else syndication.shingles(by_id[i].text)
                  for i in wanted}
    return syndication.copy_groups(signatures, order=order, known=(earlier, touched), base=base), signatures


def _cited_first(articles: dict[str, Article]) -> Callable[[str], tuple[object, ...]]:
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
              old: np.ndarray | None, dim: int) -> np.ndarray:
    out = np.zeros((len(sources), dim), dtype=np.float32)
    src = np.asarray(sources, dtype=np.int64)
    keep = np.flatnonzero(src >= 0)
    if len(keep) and old is not None:
        out[keep] = old[src[keep]]
    if todo:
        out[np.asarray(todo)] = fresh
    return out
