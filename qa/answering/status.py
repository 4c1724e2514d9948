"""What the index holds, for `qa status` and the web Library: one `IndexStatus`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from qa import store
from qa.answering.compose import source
from qa.answering.model import Source
from qa.articles import Article
from qa.errors import QAError
from qa.indexing import corpus_fingerprint
from qa.settings import Settings
from qa.store import IndexConfig

if TYPE_CHECKING:
    from qa.postgres.view import PgView


@dataclass(frozen=True, kw_only=True)
class IndexStatus:
    backend: str  # "folder index" or "PostgreSQL + pgvector"
    location: str  # where the active build is
    build_id: str
    built_at: str
    articles: int
    sentences: int
    chunks: int
    model: str
    dimension: int
    chunking: str
    vector_index: str
    corpus_changed: str  # "no", "yes - run `qa index` to update", or "unknown (why)"
    updates: str | None  # what a delta build holds beside its base
    copy_groups: tuple[tuple[Source, ...], ...]  # syndicated stories, each group cited copy first
    not_english: tuple[tuple[Source, str], ...]  # articles in another language (or none detected), and it

    @property
    def backend_at(self) -> str:
        """The backend, and for a database where it is (a folder index is where the app runs)."""
        return self.backend if self.backend == "folder index" else f"{self.backend} at {self.location}"

    @property
    def warnings(self) -> list[str]:
        """What a user should know about the index's contents."""
        if not self.not_english:
            return []
        names = ", ".join(f"{s.location} ({lang or 'language unknown'})" for s, lang in self.not_english[:5])
        more = f" and {len(self.not_english) - 5} more" if len(self.not_english) > 5 else ""
        return [f"{len(self.not_english)} articles are not in English: {names}{more}. The embedding model "
                "reads English, so answers from them may be poor."]

    def rows(self) -> list[tuple[str, str]]:
        rows = [("backend", self.backend), ("index", self.location), ("articles", str(self.articles)),
                ("sentences", str(self.sentences)), ("chunks", str(self.chunks)),
                ("model", f"{self.model} ({self.dimension} dimensions)"), ("chunking", self.chunking),
                ("vector index", self.vector_index), ("built at", self.built_at),
                ("corpus changed since", self.corpus_changed)]
        if self.updates:
            rows.append(("updates", self.updates))
        groups = self.copy_groups
        rows.append(("syndicated stories", f"{len(groups)} (carried by {sum(map(len, groups))} articles)"))
        rows += [("warning", w) for w in self.warnings]
        return rows


def folder_status(settings: Settings) -> IndexStatus:
    """The status of the folder index in `settings.index_dir`."""
    build_dir = store.current_build_dir(settings.index_dir)
    m = store.read_manifest(build_dir)
    catalog = store.read_catalog(build_dir)
    articles = catalog.articles
    updates = None
    if m.base_build != m.build_id:
        updated = len(articles) - len(catalog.base_ids - catalog.removed)
        updates = (f"{updated} articles added or changed, {len(catalog.removed)} replaced or removed since "
                   f"the base build {m.base_build}")
    return _status(settings, articles, set(catalog.copies.values()), m.config, backend="folder index",
                   location=str(build_dir), build_id=m.build_id, built_at=m.built_at, articles=m.articles,
                   sentences=m.sentences, chunks=m.chunks, vector_index=m.faiss_index, updates=updates,
                   fingerprint=m.corpus_fingerprint)


def database_status(settings: Settings, view: PgView, where: str) -> IndexStatus:
    """The status of the PostgreSQL index at `where`, read through `view`."""
    b = view.build
    articles = {s.article.id: s.article for s in view.summaries()}
    return _status(settings, articles, {view.copies(i) for i in articles} - {()}, view.config,
                   backend="PostgreSQL + pgvector", location=where, build_id=b.build_id,
                   built_at=b.built_at, articles=b.articles, sentences=b.sentences, chunks=b.chunks,
                   vector_index=view.vector_index, updates=None, fingerprint=b.corpus_fingerprint)


def _status(settings: Settings, by_id: dict[str, Article], groups: set[tuple[str, ...]],
            config: IndexConfig, *, fingerprint: str, **fields: object) -> IndexStatus:
    """The status fields every backend fills alike: the config, whether the corpus changed, the
    syndicated stories and the articles not in English."""
    try:
        changed = "no" if corpus_fingerprint(settings.corpus_dir) == fingerprint else \
            "yes - run `qa index` to update"
    except QAError as exc:
        changed = f"unknown ({exc})"
    ordered = sorted(groups, key=lambda g: by_id[g[0]].location)
    return IndexStatus(model=config.model, dimension=config.dimension, corpus_changed=changed,
                       chunking=f"{config.chunk_tokens} tokens ({config.tiktoken_encoding}), "
                                f"{config.chunk_overlap} sentence overlap",
                       copy_groups=tuple(tuple(source(by_id[i]) for i in g) for g in ordered),
                       not_english=tuple((source(a), a.language) for a in by_id.values()
                                         if a.language != "en"), **fields)
