"""The folder index on disk: builds of manifest.json + db.sqlite + FAISS and BM25 files.

One job per module: `layout` (the index folder's life cycle: CURRENT, builds, the lock, atomic
publish), `manifest` (what a build holds and the `IndexConfig` that invalidates it), `db` (SQLite
rows), `vectors` (FAISS and exact vectors), `bm25` (term counts), `snapshot` (a build loaded for
reading), `catalog` (what an update needs of the previous build), `writer` (the write protocol).
This package stores and loads; it does not decide what goes into a build (`qa.indexing` does).
"""

from qa.store.catalog import Catalog, DeltaRows, read_catalog, read_delta, read_postings, read_signatures
from qa.store.db import FileRecord, RowSet
from qa.store.layout import (
           build_lock,
           builds_dir,
           check_base,
           current_build_dir,
           current_build_id,
           remove_stale,
)
from qa.store.manifest import FORMAT_VERSION, IndexConfig, Manifest, read_manifest
from qa.store.snapshot import Snapshot, load_snapshot, load_snapshot_dir
from qa.store.writer import DeltaBase, NewBuild, write_build

__all__ = ["FORMAT_VERSION", "Catalog", "DeltaBase", "DeltaRows", "FileRecord", "IndexConfig", "Manifest",
           "NewBuild", "RowSet", "Snapshot", "build_lock", "builds_dir", "check_base", "current_build_dir",
           "current_build_id", "load_snapshot", "load_snapshot_dir", "read_catalog", "read_delta",
           "read_manifest", "read_postings", "read_signatures", "remove_stale", "write_build"]
