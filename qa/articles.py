"""Corpus files -> `Article`s: listing, safe reading, encoding detection, format dispatch, and
the article's structure: headline, standfirst, prose paragraphs under their headings, and the
metadata (date, outlet, authors, the place of a leading dateline, language).

Every file problem becomes an `ArticleError` naming the file and the reason, so a build can
report it and go on; so does a parser that fails on one file. This module knows nothing about
sentences, embeddings or the index.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from qa.dateline import split_dateline
from qa.errors import ArticleError, QAError
from qa.formats import Parsed, parse_html, parse_json, parse_md, parse_txt
from qa.normalize import normalize_text
from qa.terms import reads_as_english

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
SUPPORTED = (".txt", ".md", ".markdown", ".html", ".htm", ".json", ".jsonl")


@dataclass(frozen=True, slots=True)
class Heading:
    """A section heading and the span of the article text it heads. Context, never an answer."""
    text: str
    start: int
    end: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Article:
    id: str  # stable: hash of the source file (and record key) or URL
    title: str  # the headline; never part of `text`
    published: date | None
    source: str  # outlet
    authors: tuple[str, ...]  # people
    place: str  # from a leading dateline ("WASHINGTON"), which is not part of `text`
    language: str  # as declared, else "en" when the text reads as English, else ""
    location: str  # file path relative to the corpus, with "#key" for records; or URL
    url: str
    standfirst: str  # the summary under the headline, if any: then `text` starts with it
    text: str  # the prose only, paragraphs separated by blank lines; sentence offsets index into it
    headings: tuple[Heading, ...]
    content_hash: str  # of the text: its sentences, chunks and vectors depend on nothing else

    @property
    def author(self) -> str:
        return ", ".join(self.authors)

    def heading_at(self, offset: int) -> str:
        """The heading of the section holding `offset` ("" before the first heading)."""
        return next((h.text for h in self.headings if h.start <= offset < h.end), "")


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
    declared = _META_CHARSET.search(data[:4096]) if name.lower().endswith((".html", ".htm")) else None
    if declared:  # what a browser would use for a page that is not UTF-8
        try:
            return data.decode(declared.group(1).decode("ascii").lower())
        except (LookupError, UnicodeDecodeError):
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
    except QAError:
        raise  # a missing dependency or a bad setting: one clear error for the whole build
    except Exception as exc:  # noqa: BLE001 - a parser's own bug on one file must not stop the build
        return [ArticleError(name, f"could not be read ({type(exc).__name__}: {exc})")]


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
    title = " ".join(parsed.title.split()) or Path(name).stem.replace("-", " ").replace("_", " ")
    standfirst = normalize_text(parsed.standfirst, lines_are_paragraphs=False).replace("\n\n", " ")
    place, parts = parsed.place, []
    for heading, body in parsed.sections:
        paragraphs = normalize_text(body, lines_are_paragraphs=parsed.lines_are_paragraphs).split("\n\n")
        parts.append((" ".join(heading.split()), [p for p in paragraphs if p]))
    parts = _without_headline(parts, title)
    if not place:
        place = _take_dateline(parts)
    text, headings = _join(([("", [standfirst])] if standfirst else []) + parts)
    if not text.strip():
        return ArticleError(location, "no text")
    language = parsed.language.split("-")[0].lower() or ("en" if reads_as_english(text) else "")
    return Article(id=stable_id(location), title=title, published=parsed.published, source=parsed.source,
                   authors=parsed.authors, place=place, language=language, location=location, url=parsed.url,
                   standfirst=standfirst, text=text, headings=headings, content_hash=content_hash(text))


def _without_headline(parts: list[tuple[str, list[str]]], title: str) -> list[tuple[str, list[str]]]:
    """The headline is the title, not a paragraph: a first paragraph that repeats it is dropped."""
    if parts and parts[0][1] and _squash(parts[0][1][0]) == _squash(title):
        return [(parts[0][0], parts[0][1][1:])] + parts[1:]
    return parts


def _take_dateline(parts: list[tuple[str, list[str]]]) -> str:
    """A leading dateline ("WASHINGTON —") is the article's place: taken off its first paragraph."""
    for _, paragraphs in parts:
        if paragraphs:
            place, offset = split_dateline(paragraphs[0])
            if offset:
                paragraphs[0] = paragraphs[0][offset:].lstrip()
                if not paragraphs[0]:
                    paragraphs.pop(0)
            return place
    return ""


def _join(parts: list[tuple[str, list[str]]]) -> tuple[str, tuple[Heading, ...]]:
    """The paragraphs as one text (blank lines between), and each heading's span in it."""
    text, headings = "", []
    for heading, paragraphs in parts:
        if not paragraphs:
            continue
        start = len(text) + (2 if text else 0)
        text = "\n\n".join([text, *paragraphs]) if text else "\n\n".join(paragraphs)
        if heading:
            headings.append(Heading(heading, start, len(text)))
    return text, tuple(headings)


def _squash(text: str) -> str:
    return "".join(c for c in text.casefold() if c.isalnum())
