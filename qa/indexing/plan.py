"""What a build will write: the whole index, or a delta beside the previous build's base.

The previous build is reused only if it was written with the same `IndexConfig`; otherwise the
reason for the full rebuild is said. A delta holds the articles added or changed since the base,
until it outgrows `DELTA_ARTICLES` + `DELTA_SHARE` of the base: then a whole base is written again
(reusing every stored vector).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from qa.articles import Article
from qa.embedding import Embedder
from qa.errors import IndexCorruptError, IndexMismatchError, IndexMissingError
from qa.settings import Settings
from qa.store import (
    Catalog,
    IndexConfig,
    Manifest,
    check_base,
    current_build_dir,
    read_catalog,
    read_manifest,
)

DELTA_ARTICLES, DELTA_SHARE = 50, 0.1


@dataclass(frozen=True)
class Previous:
    """The active build, as an update reuses it."""
    manifest: Manifest
    build_dir: Path
    catalog: Catalog


@dataclass(frozen=True, kw_only=True)
class Plan:
    write: list[Article]  # articles whose rows are written
    delta: bool
    removed: frozenset[str] = frozenset()  # delta: base articles replaced or removed
    base_sentences: int = 0  # delta: base rows still current
    base_chunks: int = 0


def wanted_config(settings: Settings, embedder: Embedder, previous: Manifest | None = None) -> IndexConfig:
    """The config a build writes. The dimension belongs to the model: the model is only asked for
    it (which may load it) when it is not the model of the previous build."""
    same = previous is not None and previous.model == embedder.model_id
    return IndexConfig.of(settings, embedder.model_id, previous.dimension if same else embedder.dimension)


def load_previous(settings: Settings, embedder: Embedder) -> tuple[Previous | None, str | None]:
    """The active build if an update can reuse it, else None and why everything is rebuilt."""
    try:
        build_dir = current_build_dir(settings.index_dir)
        manifest = read_manifest(build_dir)
        if changes := manifest.config.changes(wanted_config(settings, embedder, manifest)):
            return None, "settings changed: " + ", ".join(changes)
        check_base(build_dir, manifest.base_files)
        return Previous(manifest, build_dir, read_catalog(build_dir)), None
    except IndexMissingError:
        return None, "no previous index"
    except (IndexCorruptError, IndexMismatchError, sqlite3.DatabaseError) as exc:
        return None, f"previous index unusable ({exc})"


def plan(articles: list[Article], previous: Previous | None) -> Plan:
    if previous is None:
        return Plan(write=articles, delta=False)
    catalog = previous.catalog
    kept = {a.id for a in articles if a.id in catalog.base_ids and a.id not in catalog.removed
            and catalog.articles[a.id] == a}
    write = [a for a in articles if a.id not in kept]
    removed = catalog.base_ids - kept
    limit = DELTA_ARTICLES + DELTA_SHARE * len(catalog.base_ids)
    if len(write) > limit or len(removed) > limit:
        return Plan(write=articles, delta=False)
    return Plan(write=write, delta=True, removed=frozenset(removed),
                base_sentences=sum(catalog.base_sentences.get(a, 0) for a in kept),
                base_chunks=sum(catalog.base_chunks.get(a, 0) for a in kept))
