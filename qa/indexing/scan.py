"""The corpus as a build reads it: its files (reusing the previous build's articles for files
whose size and modification time are unchanged), identical texts indexed once, and what changed."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from qa.articles import Article, read_file, scan_corpus
from qa.errors import ArticleError
from qa.store import Catalog, FileRecord


@dataclass(frozen=True, kw_only=True)
class Scan:
    articles: list[Article]  # one per distinct text
    files: list[FileRecord]
    skipped: list[tuple[str, str]]  # (file, reason)
    duplicates: list[tuple[str, str]]  # (location, same text as)


@dataclass(frozen=True, kw_only=True)
class Changes:
    added: list[str]  # locations
    changed: list[str]
    removed: list[str]
    unchanged: int

    def __bool__(self) -> bool:
        return bool(self.added or self.changed or self.removed)


def require_corpus(corpus_dir: Path) -> None:
    """Refuse a corpus folder that does not exist: a typo'd path must not empty the index."""
    if not corpus_dir.is_dir():
        raise ArticleError(str(corpus_dir), "the corpus folder does not exist; create it and add articles, "
                           "or point --corpus / QA_CORPUS_DIR at it")


def corpus_fingerprint(corpus_dir: Path) -> str:
    """Names, sizes and modification times of the corpus's readable files, hashed."""
    return fingerprint((f.rel, f.size, f.mtime_ns) for f in scan_corpus(corpus_dir)[0])


def fingerprint(files: Iterable[tuple[str, int, int]]) -> str:
    digest = hashlib.sha256()
    for rel, size, mtime_ns in files:
        digest.update(f"{rel}\0{size}\0{mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def scan(corpus_dir: Path, max_bytes: int, previous: Catalog | None) -> Scan:
    """Read the corpus (reusing unchanged files' articles from `previous`); dedupe identical texts."""
    listed, unsupported = scan_corpus(corpus_dir)
    skipped = [(e.path, e.reason) for e in unsupported]
    duplicates: list[tuple[str, str]] = []
    by_hash: dict[tuple, Article] = {}
    files: list[FileRecord] = []
    for f in listed:
        old = previous.files.get(f.rel) if previous else None
        if old and old.status != "skipped" and old.size == f.size and old.mtime_ns == f.mtime_ns \
                and all(map(previous.articles.__contains__, old.article_ids)):  # unchanged: not read again
            for a in map(previous.articles.__getitem__, old.article_ids):
                first = by_hash.setdefault(_same_article(a), a)
                if first.id != a.id:
                    duplicates.append((a.location, first.location))
            files.append(old)
            continue
        ids, reasons = [], []
        for item in read_file(Path(f.path), corpus_dir, max_bytes):
            if isinstance(item, ArticleError):
                skipped.append((item.path, item.reason))
                reasons.append(item.reason)
                continue
            ids.append(item.id)
            first = by_hash.setdefault(_same_article(item), item)
            if first.id != item.id:
                duplicates.append((item.location, first.location))
        files.append(FileRecord(path=f.rel, size=f.size, mtime_ns=f.mtime_ns,
                                status="indexed" if ids else "skipped", reason="; ".join(reasons),
                                article_ids=ids))
    return Scan(articles=list(by_hash.values()), files=files, skipped=skipped, duplicates=duplicates)


def _same_article(a: Article) -> tuple:
    """What makes two files one article: the same text from the same outlet under the same headline
    and date. Another outlet's copy of a story (its own headline, dateline or date) is an article of
    its own, grouped with the story as a syndicated copy."""
    return a.content_hash, a.title, a.source, a.published, a.place


def diff(articles: list[Article], previous: dict[str, Article]) -> Changes:
    new_ids = {a.id for a in articles}
    added = [a.location for a in articles if a.id not in previous]
    changed = [a.location for a in articles if a.id in previous and previous[a.id] != a]  # text or metadata
    return Changes(added=added, changed=changed,
                   removed=[a.location for a in previous.values() if a.id not in new_ids],
                   unchanged=len(articles) - len(added) - len(changed))
