"""`build_index`: corpus -> a published index build, incrementally."""

from __future__ import annotations

import time

from qa.embedding import Embedder, Progress
from qa.indexing.plan import load_previous, plan, wanted_config
from qa.indexing.report import BuildReport
from qa.indexing.rows import group_copies, make_rows
from qa.indexing.scan import diff, fingerprint, require_corpus, scan
from qa.settings import Settings
from qa.store import DeltaBase, NewBuild, build_lock, remove_stale, write_build


def build_index(settings: Settings, embedder: Embedder, *, full: bool = False,
                progress: Progress | None = None, wait: bool = False) -> BuildReport:
    """Build or update the index of `settings.corpus_dir` in `settings.index_dir` and publish it.

    Only new or changed articles are read and embedded; an update writes a delta beside the
    previous build's base. `full` rebuilds everything; `wait` queues behind a running build
    instead of refusing (`BuildLockedError`). Unreadable files are reported in the returned
    `BuildReport` and skipped; the previous build stays active until the new one is complete."""
    started = time.perf_counter()
    require_corpus(settings.corpus_dir)
    with build_lock(settings.index_dir, wait=wait):
        remove_stale(settings.index_dir)
        previous, reason = (None, "requested (--full)") if full else load_previous(settings, embedder)
        found = scan(settings.corpus_dir, settings.max_file_bytes, previous.catalog if previous else None)
        changes = diff(found.articles, previous.catalog.articles if previous else {})
        corpus = fingerprint((f.path, f.size, f.mtime_ns) for f in found.files)
        build_id, embedded, groups, delta = None, 0, 0, False
        if previous is not None and not changes and previous.manifest.corpus_fingerprint == corpus:
            counts = previous.manifest
        else:
            todo = plan(found.articles, previous)
            copy_groups, shingles = group_copies(found.articles, previous, todo)
            config = wanted_config(settings, embedder, previous.manifest if previous else None)
            rows = make_rows(settings, embedder, todo, previous, config.dimension, shingles, progress)
            base = None if not todo.delta else DeltaBase(previous.build_dir, previous.manifest, todo.removed,
                                                         todo.base_sentences, todo.base_chunks)
            counts = write_build(settings.index_dir, NewBuild(
                rows=rows.rows, sentence_vectors=rows.sentence_vectors, chunk_vectors=rows.chunk_vectors,
                files=found.files, copy_groups=copy_groups, config=config, corpus_fingerprint=corpus,
                articles=len(found.articles)), delta=base, exact_limit=settings.exact_limit,
                keep_builds=settings.keep_builds)
            build_id, embedded, groups, delta = counts.build_id, rows.embedded, len(copy_groups), todo.delta
        return BuildReport(build_id=build_id, added=changes.added, changed=changes.changed,
                           removed=changes.removed, unchanged=changes.unchanged, skipped=found.skipped,
                           duplicates=found.duplicates,
                           full_rebuild_reason=reason, articles=counts.articles, sentences=counts.sentences,
                           chunks=counts.chunks, embedded=embedded, copy_groups=groups, delta=delta,
                           seconds=time.perf_counter() - started)
