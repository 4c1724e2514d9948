"""Corpus files -> `Article`s: listing, safe reading, encoding detection, format dispatch.

Every file problem becomes an `ArticleError` naming the file and the reason, so a build can
report it and go on. This module knows nothing about sentences, embeddings or the index.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from qa.errors import ArticleError
from qa.formats import Parsed, parse_html, parse_json, parse_md, parse_txt
from qa.normalize import normalize_text

SUPPORTED = (".txt", ".md", ".markdown", ".html", ".htm", ".json", ".jsonl")


@dataclass(frozen=True, slots=True, kw_only=True)
class Article:
    id: str  # stable: hash of the source file (and record key) or URL
    title: str
    published: date | None
    source: str  # outlet
    author: str
    location: str  # file path relative to the corpus, with "#key" for records; or URL
    url: str
    text: str  # normalized body; sentence offsets index into it
    content_hash: str


def stable_id(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:16]


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class CorpusFile:
    """A supported file of the corpus, as listed."""
    rel: str  # path relative to the corpus folder, "/"-separated
    path: str  # the path to open
    size: int
    mtime_ns: int


def scan_corpus(corpus_dir: Path) -> tuple[list[CorpusFile], list[ArticleError]]:
    """Supported files under `corpus_dir` with their size and modification time (sorted by
    relative path), and the skipped ones with their reason. Hidden files and folders and the
    folder's own README.md are passed over in silence. Plain strings and one `stat` per file:
    an update lists every file, so this is the part of it that grows with the corpus."""
    if not corpus_dir.is_dir():
        raise ArticleError(str(corpus_dir), "the corpus folder does not exist; create it and add articles")
    found: list[tuple[str, os.DirEntry]] = []
    folders: list[tuple[str, str]] = [("", str(corpus_dir))]
    while folders:
        prefix, folder = folders.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                if entry.is_dir(follow_symlinks=False):
                    folders.append((f"{prefix}{entry.name}/", entry.path))
                elif entry.is_file() and entry.name != "README.md":
                    found.append((prefix + entry.name, entry))
    files, skipped = [], []
    found.sort(key=lambda f: f[0].replace("/", "\0"))  # folder by folder, as the paths' parts sort
    for rel, entry in found:
        stem, dot, ext = entry.name.rpartition(".")
        suffix = dot + ext if stem.strip(".") else ""
        if suffix.lower() not in SUPPORTED:
            skipped.append(ArticleError(rel, f"unsupported file type {suffix or '(none)'!r}"))
            continue
        try:
            st = entry.stat()
        except FileNotFoundError:
            skipped.append(ArticleError(rel, "file disappeared before it could be read"))
            continue
        files.append(CorpusFile(rel, entry.path, st.st_size, st.st_mtime_ns))
    return files, skipped


def list_corpus(corpus_dir: Path) -> tuple[list[Path], list[ArticleError]]:
    """`scan_corpus`'s files as paths."""
    files, skipped = scan_corpus(corpus_dir)
    return [Path(f.path) for f in files], skipped


def decode(data: bytes, name: str) -> str:
    """Bytes -> text: UTF-8 if valid, else the detected encoding; binary data is refused."""
    if not data.strip():
        raise ArticleError(name, "empty file")
    if b"\x00" in data[:8192] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ArticleError(name, "binary file (not text)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    matches = from_bytes(data)
    best = matches.best()
    if best is None:
        raise ArticleError(name, "binary file or unknown text encoding")
    # Short texts fit many single-byte code pages about equally well; Windows-1252 is by far the
    # most common legacy encoding of Western news pages, so it wins a near-tie.
    for match in matches:
        if match.encoding == "cp1252" and match.chaos <= best.chaos + 0.05:
            return str(match)
    return str(best)


def read_file(path: Path, corpus_dir: Path, max_bytes: int) -> list[Article | ArticleError]:
    """The articles in one file, each good one as an Article and each bad record as its error."""
    name = path.relative_to(corpus_dir).as_posix() if path.is_relative_to(corpus_dir) else str(path)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise ArticleError(name, f"file is {size / 1e6:.1f} MB, over the {max_bytes / 1e6:.1f} MB limit "
                               "(raise QA_MAX_FILE_MB to accept it)")
        data = path.read_bytes()
    except FileNotFoundError:
        return [ArticleError(name, "file disappeared before it could be read")]
    except IsADirectoryError:
        return [ArticleError(name, "is a directory")]
    except PermissionError:
        return [ArticleError(name, "permission denied")]
    except ArticleError as exc:
        return [exc]
    try:
        return parse_bytes(data, name)
    except ArticleError as exc:
        return [exc]


def parse_bytes(data: bytes, name: str) -> list[Article | ArticleError]:
    raw = decode(data, name)
    suffix = Path(name).suffix.lower()
    if suffix == ".txt":
        parsed: list[Parsed | ArticleError] = [parse_txt(raw)]
    elif suffix in (".md", ".markdown"):
        parsed = [parse_md(raw)]
    elif suffix in (".html", ".htm"):
        parsed = [parse_html(raw, name)]
    elif suffix in (".json", ".jsonl"):
        parsed = parse_json(raw, name, lines=suffix == ".jsonl")
    else:
        raise ArticleError(name, f"unsupported file type {suffix!r}")
    return [p if isinstance(p, ArticleError) else _article(p, name) for p in parsed]


def _article(parsed: Parsed, name: str) -> Article | ArticleError:
    location = f"{name}#{parsed.key}" if parsed.key else name
    text = normalize_text(parsed.text, lines_are_paragraphs=parsed.lines_are_paragraphs)
    if not text.strip():
        return ArticleError(location, "no text")
    title = " ".join(parsed.title.split()) or Path(name).stem.replace("-", " ").replace("_", " ")
    return Article(id=stable_id(location), title=title, published=parsed.published,
                   source=parsed.source, author=parsed.author, location=location, url=parsed.url,
                   text=text, content_hash=content_hash(text))
