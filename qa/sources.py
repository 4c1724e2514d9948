"""Saving fetched web pages into the corpus folder, once each: the corpus stays the one source of truth.

A page is stored as its raw HTML under a safe name made from its URL (`example.com-news-...html`),
with the URL as the file's first line in the browsers' "Mark of the Web" form
(`<!-- saved from url=(0042)https://... -->`), read back by `qa.formats.html.saved_url`, the
reader the indexer takes the article's url from. A hidden registry in the corpus folder
(`.qa-sources.json`, ignored by the indexer) maps every URL a saved page is known by (requested,
after redirects, canonical / og:url) to its file, so the same page is not saved twice;
pages put in the corpus by hand are recognised by their canonical URL or Mark of the Web. The
registry is only a cache of what the files say: lost or damaged, it is rebuilt from them.

It does not extract article text (the HTML reader does that when indexing), fetch images or
scripts, or rebuild the index.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote, unquote, urljoin, urlsplit, urlunsplit

from qa.errors import QAError
from qa.fetch import FetchError, FetchOptions, HostPacer, RobotsCache, check_url, fetch
from qa.formats.html import saved_url

REGISTRY = ".qa-sources.json"
MAX_NAME = 120  # characters of a saved page's file name, ".html" included
_HEAD_BYTES = 256 * 1024  # where a page's <head> (canonical link, og:url) is looked for
_HTML_SUFFIXES = (".html", ".htm")
_TRACKING = re.compile(r"^(utm_\w+|fbclid|gclid|dclid|msclkid|mc_cid|mc_eid|_ga|igshid|ocid|cmpid)$", re.I)
_URL_SAFE = ":/?#[]@!$&'()*+,;=%-._~"  # what stays as is in a URL written into an HTML comment
_BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))


class SourceError(QAError):
    """A fetched page could not be saved into the corpus folder."""


@dataclass(frozen=True)
class Saved:
    """Where one URL's page is in the corpus. `added` is false when it was there already."""
    url: str
    file: str  # relative to the corpus folder
    added: bool


@dataclass(frozen=True)
class AddReport:
    added: tuple[tuple[str, str], ...] = ()  # (url, file)
    already_present: tuple[tuple[str, str], ...] = ()  # (url, file it is already in)
    failed: tuple[tuple[str, str], ...] = ()  # (url, reason)
    notes: tuple[str, ...] = ()  # e.g. a robots.txt that could not be read (and was taken as allowing)


# URLs and file names --------------------------------------------------------------------------

def normalize_url(url: str) -> str:
    """The form under which a URL is looked up: scheme and host lower case, default port, fragment
    and tracking parameters (utm_*, fbclid...) dropped, percent-escapes upper case. Raises
    `FetchError` for what is not an http(s) URL."""
    check_url(url)
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    host = f"[{host}]" if ":" in host else host
    port = parts.port
    default = (scheme, port) in (("http", 80), ("https", 443))
    netloc = host if port is None or default else f"{host}:{port}"
    path = _upper_escapes(quote(_remove_dot_segments(parts.path) or "/", safe="/" + _URL_SAFE))
    pairs = [p for p in parts.query.split("&") if p and not _TRACKING.match(p.split("=", 1)[0])]
    query = _upper_escapes(quote("&".join(pairs), safe=_URL_SAFE))
    return urlunsplit((scheme, netloc, path, query, ""))


def _upper_escapes(text: str) -> str:
    return re.sub(r"%[0-9a-fA-F]{2}", lambda m: m.group(0).upper(), text)


def _known_as(url: str | None) -> str | None:
    """`normalize_url`, or None for what is not an http(s) URL (a junk canonical link)."""
    if not url:
        return None
    try:
        return normalize_url(url)
    except FetchError:
        return None


def file_name(url: str) -> str:
    """A safe file name for the page at `url`: host and path as a lower-case slug, at most
    `MAX_NAME` characters, never hidden, without slashes or `..`. A query string or a cut gets a
    short hash of the URL, so that different pages rarely share a name (`save_page` never
    overwrites one that does)."""
    parts = urlsplit(url)
    host = (parts.hostname or "page").lower().removeprefix("www.")
    path = _remove_dot_segments(unquote(parts.path)).rstrip("/")
    path = re.sub(r"(/index)?\.(s?html?|php\d?|aspx?|jsp|cfm)$", "", path, flags=re.I)
    slug = _slug(f"{host}/{path}")
    digest = hashlib.sha256(normalize_url(url).encode("utf-8")).hexdigest()[:8]
    room = MAX_NAME - len(".html")
    if parts.query or (path.strip("/") and _slug(path) == "page"):  # a query, or a path all non-Latin
        slug = f"{slug[:room - 9]}-{digest}"
    elif len(slug) > room:
        slug = f"{slug[:room - 9].rstrip('-.')}-{digest}"
    return f"{slug}.html"


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    slug = re.sub(r"[^a-z0-9.]+", "-", ascii_text)
    slug = re.sub(r"[-.]*-[-.]*|\.{2,}", lambda m: "-" if "-" in m.group(0) else ".", slug)  # no ".."
    return slug.strip("-.") or "page"


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 5.2.4: "/a/../b" is "/b", as a server sees it."""
    out: list[str] = []
    for segment in path.split("/"):
        if segment == "..":
            if len(out) > 1:
                out.pop()
        elif segment != ".":
            out.append(segment)
    joined = "/".join(out)
    return joined if joined.startswith("/") or not path.startswith("/") else "/" + joined


# The Mark of the Web ---------------------------------------------------------------------------

def mark_of_the_web(url: str) -> str:
    """`<!-- saved from url=(NNNN)URL -->`: the line browsers put first in a saved page."""
    safe = quote(url, safe=_URL_SAFE)  # no space, quote or '>' can end the comment early
    if len(safe) > 9999:
        raise SourceError(f"{url[:200]}...: the URL is too long to keep in the saved page")
    return f"<!-- saved from url=({len(safe):04d}){safe} -->"


def with_mark(body: bytes, url: str) -> bytes:
    """The page's bytes with the Mark of the Web as first line, in the page's own encoding where a
    byte order mark says it is UTF-16 (and after the mark, so the file still starts with it)."""
    line = mark_of_the_web(url) + "\n"
    for bom, codec in _BOMS:
        if body.startswith(bom):
            if codec == "utf-8":
                return line.encode("ascii") + body[len(bom):]  # UTF-8 needs no BOM: keep the line first
            return bom + line.encode(codec) + body[len(bom):]
    return line.encode("ascii") + body


def head_text(data: bytes) -> str:
    """The start of a saved page as text, enough to read its Mark of the Web and canonical link."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return data[len(bom):_HEAD_BYTES].decode(codec, errors="replace")
    return data[:_HEAD_BYTES].decode("utf-8", errors="replace")  # URLs are ASCII in any encoding


class _HeadLinks(HTMLParser):
    """`<link rel=canonical href>` and `<meta property=og:url content>` of a page's head."""

    class _Done(Exception):
        pass

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.canonical: str | None = None
        self.og_url: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k.lower(): (v or "").strip() for k, v in attrs}
        if tag == "link" and "canonical" in values.get("rel", "").lower().split() and values.get("href"):
            self.canonical = self.canonical or values["href"]
        elif tag == "meta" and (values.get("property") or values.get("name", "")).lower() == "og:url":
            self.og_url = self.og_url or values.get("content") or None
        elif tag == "body":
            raise self._Done

    def handle_endtag(self, tag: str) -> None:
        if tag == "head":
            raise self._Done


def canonical_urls(html_text: str, page_url: str | None) -> list[str]:
    """The page's own claim of its URL (canonical link, og:url), absolute; relative ones need the
    `page_url`. A claim that the page is the site's home page is passed over: sites that put it
    on every article would make every article after the first look like a copy."""
    parser = _HeadLinks()
    try:
        parser.feed(html_text[:_HEAD_BYTES])
        parser.close()
    except _HeadLinks._Done:
        pass
    except AssertionError:
        pass  # html.parser gives up on some malformed markup ("<![foo["): keep what it had read
    page_path = urlsplit(page_url).path or "/" if page_url else None
    found = []
    for href in (parser.canonical, parser.og_url):
        if not href:
            continue
        absolute = urljoin(page_url, href) if page_url else href
        if (urlsplit(absolute).path or "/") == "/" and page_path != "/":
            continue
        if _known_as(absolute) and absolute not in found:
            found.append(absolute)
    return found


# The registry ---------------------------------------------------------------------------------

@dataclass
class _Entry:
    stamp: tuple[int, int]  # (size, mtime_ns) of the file when its URLs were read
    found: list[str]  # what the file says (Mark of the Web, canonical link), normalized
    aliases: list[str] = field(default_factory=list)  # what it was fetched as (before redirects)


class SourceRegistry:
    """Normalized URL -> corpus file, for every HTML file of the corpus. Loaded once per run;
    `load` reads new or changed files' heads, so hand-saved pages and a lost registry are found."""

    def __init__(self, corpus_dir: Path, entries: dict[str, _Entry]) -> None:
        self.corpus_dir = corpus_dir
        self._entries = entries
        self._by_url: dict[str, str] = {}
        self._reindex()

    @classmethod
    def load(cls, corpus_dir: Path) -> SourceRegistry:
        corpus_dir = Path(corpus_dir)
        if not corpus_dir.is_dir():
            raise SourceError(f"{corpus_dir}: the corpus folder does not exist; create it first")
        registry = cls(corpus_dir, _read_registry(corpus_dir / REGISTRY))
        if registry._refresh():
            registry.save()
        return registry

    def find(self, urls: Iterable[str | None]) -> str | None:
        """The file known under any of `urls` (already normalized), if it still exists."""
        for url in urls:
            rel = self._by_url.get(url) if url else None
            if rel is not None and (self.corpus_dir / rel).is_file():
                return rel
        return None

    def record(self, rel: str, *, found: Sequence[str] | None = None, aliases: Sequence[str] = ()) -> None:
        """Remember `rel` under these URLs (normalized); `found=None` keeps what the file said."""
        try:
            st = (self.corpus_dir / rel).stat()
        except OSError:
            return  # deleted meanwhile: nothing to remember
        entry = self._entries.get(rel)
        kept = entry.found if entry else []
        self._entries[rel] = _Entry((st.st_size, st.st_mtime_ns), _unique(kept if found is None else found),
                                    _unique([*(entry.aliases if entry else []), *aliases]))
        self._reindex()

    def save(self) -> None:
        data = {"version": 1, "files": {rel: {"size": e.stamp[0], "mtime_ns": e.stamp[1],
                                              "found": e.found, "aliases": e.aliases}
                                        for rel, e in sorted(self._entries.items())}}
        write_json_atomically(self.corpus_dir / REGISTRY, data)

    def _refresh(self) -> bool:
        """Read the URLs of new and changed HTML files, forget deleted ones; True if anything changed."""
        changed = False
        present = dict(_html_files(self.corpus_dir))
        for rel in [r for r in self._entries if r not in present]:
            del self._entries[rel]
            changed = True
        for rel, stamp in present.items():
            entry = self._entries.get(rel)
            if entry is not None and entry.stamp == stamp:
                continue
            found = _urls_in_file(self.corpus_dir / rel)
            # A file replaced by another page (nothing it says is the same) loses the old aliases.
            aliases = entry.aliases if entry and set(entry.found) & set(found) else []
            self._entries[rel] = _Entry(stamp, found, aliases)
            changed = True
        if changed:
            self._reindex()
        return changed

    def _reindex(self) -> None:
        self._by_url = {}
        for rel, entry in sorted(self._entries.items()):
            for url in [*entry.found, *entry.aliases]:
                self._by_url.setdefault(url, rel)


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(i for i in items if i))


def _read_registry(path: Path) -> dict[str, _Entry]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {rel: _Entry((int(e["size"]), int(e["mtime_ns"])), list(e["found"]), list(e["aliases"]))
                for rel, e in data["files"].items() if _is_plain_rel(rel)}
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}  # damaged: only a cache of what the files say, so it is rebuilt from them


def _is_plain_rel(rel: object) -> bool:
    """A registry path that stays inside the corpus folder (the registry is not trusted blindly)."""
    return (isinstance(rel, str) and bool(rel) and not rel.startswith("/") and "\\" not in rel
            and all(part not in ("", ".", "..") for part in rel.split("/")))


def _html_files(corpus_dir: Path) -> Iterable[tuple[str, tuple[int, int]]]:
    """(relative path, (size, mtime_ns)) of the corpus's HTML files, hidden ones passed over as
    the indexer does."""
    folders = [("", str(corpus_dir))]
    while folders:
        prefix, folder = folders.pop()
        try:
            with os.scandir(folder) as entries:
                listed = list(entries)
        except OSError:
            continue  # an unreadable folder holds nothing the indexer could read either
        for entry in listed:
            if entry.name.startswith("."):
                continue
            if entry.is_dir(follow_symlinks=False):
                folders.append((f"{prefix}{entry.name}/", entry.path))
            elif entry.name.lower().endswith(_HTML_SUFFIXES) and entry.is_file():
                try:
                    st = entry.stat()
                except OSError:
                    continue
                yield prefix + entry.name, (st.st_size, st.st_mtime_ns)


def _urls_in_file(path: Path) -> list[str]:
    try:
        with path.open("rb") as f:
            text = head_text(f.read(_HEAD_BYTES))
    except OSError:
        return []
    own = saved_url(text)
    urls = [own] if own else []
    urls += canonical_urls(text, own)
    return _unique(_known_as(u) or "" for u in urls)


def _unique_suffix() -> str:
    # Per process and per call: two threads of the web UI saving at once never share a temp file.
    return f"{os.getpid()}-{secrets.token_hex(4)}"


def write_json_atomically(path: Path, data: object) -> None:
    """Write JSON through a hidden temporary file and `os.replace`, so that a crash leaves the old
    file or the new one, never half of one. Raises `SourceError` if the folder cannot be written."""
    tmp = path.with_name(f".{path.name}.{_unique_suffix()}.tmp")
    try:
        with tmp.open("w", encoding="utf-8") as f:
            json.dump(data, f, ensure_ascii=False, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise SourceError(f"{path}: could not be written ({exc.strerror or exc})") from exc


# Saving ---------------------------------------------------------------------------------------

def save_page(corpus_dir: Path, url: str, *, fetch_options: FetchOptions, pacer: HostPacer,
              robots: RobotsCache, registry: SourceRegistry) -> Saved:
    """Fetch `url` and save its page into the corpus, unless the corpus already has it (by the URL,
    the redirect target or the page's canonical URL). Raises `FetchError` (fetch refused or failed,
    robots.txt disallows) or `SourceError` (cannot write)."""
    url = url.strip()
    requested = normalize_url(url)
    if (rel := registry.find([requested])) is not None:
        return Saved(url, rel, added=False)
    if not robots.allowed(url):
        raise FetchError(url, "disallowed by robots.txt")
    pacer.wait(url)
    page = fetch(url, fetch_options, accept="page")
    page_url = page.final_url.split("#", 1)[0]
    final = normalize_url(page_url)
    text = head_text(page.body)
    claimed = [n for n in (_known_as(c) for c in canonical_urls(text, page_url)) if n]
    known = [requested, final, *claimed]
    if (rel := registry.find(known)) is not None:
        registry.record(rel, aliases=known)
        registry.save()
        return Saved(url, rel, added=False)
    rel = _write_new(Path(corpus_dir), page_url, with_mark(page.body, page_url))
    registry.record(rel, found=[final, *claimed], aliases=[requested])
    registry.save()
    return Saved(url, rel, added=True)


def _write_new(corpus_dir: Path, url: str, data: bytes) -> str:
    """Write `data` under a new name derived from `url` (a -2, -3... suffix where a different page
    holds the name) and return that name; an existing file is never replaced."""
    stem = file_name(url).removesuffix(".html")
    # Written to a hidden temporary file, then linked into place: the indexer never reads half a page.
    tmp = corpus_dir / f".{stem[:60]}.{_unique_suffix()}.tmp"
    try:
        tmp.write_bytes(data)
        for n in range(1, 1000):
            name = f"{stem}.html" if n == 1 else f"{stem[:MAX_NAME - 10]}-{n}.html"
            if _place(tmp, corpus_dir / name, data):
                return name
        raise SourceError(f"{url}: no free file name for the page in {corpus_dir}")
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise SourceError(f"{url}: the page could not be saved in {corpus_dir} ({reason})") from exc
    finally:
        tmp.unlink(missing_ok=True)


def _place(tmp: Path, target: Path, data: bytes) -> bool:
    """Put the page at `target` unless a file is there already (then False)."""
    try:
        os.link(tmp, target)
        return True
    except FileExistsError:
        return False
    except OSError:
        pass  # a file system without hard links: an exclusive create still never replaces a file
    try:
        with target.open("xb") as f:
            f.write(data)
        return True
    except FileExistsError:
        return False


def add_urls(corpus_dir: Path, urls: Iterable[str], *, fetch_options: FetchOptions,
             pacer: HostPacer | None = None, robots: RobotsCache | None = None) -> AddReport:
    """Fetch each URL and save its page into the corpus; pages already there are reported, not
    saved again. One URL failing (network, HTTP error, not a page, robots.txt) never stops the
    others: it is reported with its reason."""
    corpus_dir = Path(corpus_dir)
    pacer = pacer or HostPacer(fetch_options.per_host_delay_s)
    robots = robots or RobotsCache(fetch_options, pacer)
    registry = SourceRegistry.load(corpus_dir)
    added, present, failed = [], [], []
    for url in (u.strip() for u in urls):
        if not url:
            continue
        try:
            saved = save_page(corpus_dir, url, fetch_options=fetch_options, pacer=pacer, robots=robots,
                              registry=registry)
        except QAError as exc:
            failed.append((url, getattr(exc, "reason", str(exc))))
            continue
        (added if saved.added else present).append((url, saved.file))
    return AddReport(tuple(added), tuple(present), tuple(failed), tuple(robots.notes))
