"""A build's `manifest.json`: what it holds, and the one `IndexConfig` that says what invalidates it.

A build is only read or extended with the settings it was written with: another model, vector
dimension, tokenizer, chunk setting, sentence segmenter or index format makes every stored vector
or chunk unusable, so such a change means a full rebuild (said plainly in the build report).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from qa.errors import IndexCorruptError, IndexMismatchError
from qa.sentences import SEGMENTER
from qa.settings import Settings

FORMAT_VERSION = 7  # 7: a dateline credit touching the first word ("London (CNN)It") is split off
_LABELS = {"format_version": "index format", "model": "embedding model", "dimension": "embedding dimension",
           "tiktoken_encoding": "tokenizer", "segmenter": "sentence segmenter"}  # the rest by name


@dataclass(frozen=True, kw_only=True)
class IndexConfig:
    """The settings a build was written with; any difference invalidates the build."""
    format_version: int
    model: str
    dimension: int
    tiktoken_encoding: str
    chunk_tokens: int
    chunk_overlap: int
    segmenter: str

    @classmethod
    def of(cls, settings: Settings, model: str, dimension: int) -> IndexConfig:
        return cls(format_version=FORMAT_VERSION, model=model, dimension=dimension,
                   tiktoken_encoding=settings.tiktoken_encoding, chunk_tokens=settings.chunk_tokens,
                   chunk_overlap=settings.chunk_overlap, segmenter=SEGMENTER)

    def changes(self, wanted: IndexConfig) -> list[str]:
        """What differs, as "chunk_tokens 160 -> 200" (empty when nothing does)."""
        return [f"{_LABELS.get(f.name, f.name)} {getattr(self, f.name)} -> {getattr(wanted, f.name)}"
                for f in fields(self) if getattr(self, f.name) != getattr(wanted, f.name)]


@dataclass(frozen=True, kw_only=True)
class Manifest:
    build_id: str
    built_at: str
    config: IndexConfig
    articles: int
    sentences: int
    chunks: int
    corpus_fingerprint: str
    faiss_index: str  # how the sentence vectors are searched (flat, or IVF + exact vectors)
    base_build: str  # the build whose base files this build holds (itself unless it adds a delta)
    base_sentences: int  # rows in the base files; the counts above are of base and delta merged
    base_chunks: int
    base_files: dict[str, int] = field(default_factory=dict)  # base file -> size, checked before reuse

    @property
    def model(self) -> str:
        return self.config.model

    @property
    def dimension(self) -> int:
        return self.config.dimension

    def write(self, build_dir: Path) -> None:
        (build_dir / "manifest.json").write_text(json.dumps(asdict(self), indent=2), encoding="utf-8")


def read_manifest(build_dir: Path) -> Manifest:
    """The build's manifest; a damaged one or one of another index format is refused."""
    try:
        data = json.loads((build_dir / "manifest.json").read_text(encoding="utf-8"))
        version = data["config"]["format_version"] if "config" in data else data.get("format_version")
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise IndexCorruptError(f"unreadable manifest in {build_dir} ({exc}): "
                                "run `qa index --full` to rebuild the index") from exc
    if version != FORMAT_VERSION:
        raise IndexMismatchError(f"index format {version} is not the supported "
                                 f"{FORMAT_VERSION}: run `qa index --full` to rebuild it")
    try:
        return Manifest(**data | {"config": IndexConfig(**data["config"])})
    except TypeError as exc:
        raise IndexCorruptError(f"unreadable manifest in {build_dir} ({exc}): "
                                "run `qa index --full` to rebuild the index") from exc
