"""Fetching one web page or feed over HTTP(S), politely and within limits, standard library only.

`fetch` makes a GET request with a clear user agent, follows redirects up to a limit, accepts only
the content types asked for (web pages, or feeds), decodes gzip/deflate, stops reading at a size
limit and at a deadline, and supports conditional GET (ETag / Last-Modified in, 304 out). Every
failure is a `FetchError` naming the URL and the reason. `RobotsCache` answers robots.txt
questions (one robots.txt per host and run) and `HostPacer` spaces requests to the same host.

It does not parse HTML or feeds, save anything, retry, use proxies or cookies, run scripts, or
read settings from the environment: the caller passes a `FetchOptions`.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
import urllib.robotparser
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import SplitResult, quote, urljoin, urlsplit

from qa.errors import ConfigError, QAError

PROJECT_URL = "https://github.com/qa-news/qa"  # where a site's operator can read what this client is
USER_AGENT = f"qa-news/0.1 (+{PROJECT_URL}; offline news QA)"

Accept = Literal["page", "feed", "any"]
PAGE_TYPES = frozenset({"text/html", "application/xhtml+xml"})
FEED_TYPES = frozenset({"application/rss+xml", "application/atom+xml", "application/rdf+xml",
                        "application/xml", "text/xml", "application/x-rss+xml", "application/feed+xml"})
_ACCEPT_HEADER = {
    "page": "text/html,application/xhtml+xml;q=0.9",
    "feed": "application/rss+xml,application/atom+xml,application/xml;q=0.9,text/xml;q=0.8",
    "any": "*/*",
}
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_CHUNK = 64 * 1024
_MAX_URL = 9999  # the "Mark of the Web" line that keeps a saved page's URL has a 4-digit length


class FetchError(QAError):
    """A URL could not be fetched, or what came back was refused; `reason` says which and why."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason


@dataclass(frozen=True, kw_only=True)
class FetchOptions:
    """Limits and manners of a fetch. `timeout_s` bounds connecting and each read; `deadline_s`
    bounds the whole response, so a server trickling bytes cannot hold a sync forever."""
    timeout_s: float = 10.0
    deadline_s: float = 60.0
    max_bytes: int = 5_000_000  # of the decoded body: a gzip bomb is refused like a big page
    max_redirects: int = 5
    user_agent: str = USER_AGENT
    per_host_delay_s: float = 1.0

    def __post_init__(self) -> None:
        if self.timeout_s <= 0 or self.deadline_s <= 0:
            raise ConfigError(f"timeout_s and deadline_s must be positive, got {self.timeout_s}, "
                              f"{self.deadline_s}")
        if self.max_bytes < 1:
            raise ConfigError(f"max_bytes must be at least 1, got {self.max_bytes}")
        if self.max_redirects < 0:
            raise ConfigError(f"max_redirects must not be negative, got {self.max_redirects}")
        if self.per_host_delay_s < 0:
            raise ConfigError(f"per_host_delay_s must not be negative, got {self.per_host_delay_s}")
        if not self.user_agent.strip() or "\n" in self.user_agent or "\r" in self.user_agent:
            raise ConfigError("user_agent must be one non-empty line")


@dataclass(frozen=True, kw_only=True)
class Fetched:
    """What a successful fetch returned. On a 304, `not_modified` is true and `body` is empty."""
    url: str  # as requested
    final_url: str  # after redirects
    status: int
    content_type: str  # the header as sent, parameters included ("text/html; charset=utf-8")
    body: bytes  # decoded from gzip/deflate
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False

    @property
    def media_type(self) -> str:
        """The content type without parameters, lower case ("text/html")."""
        return media_type(self.content_type)

    @property
    def charset(self) -> str | None:
        for param in self.content_type.split(";")[1:]:
            key, _, value = param.partition("=")
            if key.strip().lower() == "charset" and value.strip():
                return value.strip().strip("\"'")
        return None


def media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def check_url(url: str) -> None:
    """Refuse, before any network access, what `fetch` would never fetch."""
    parts = _split(url)
    if parts.scheme not in ("http", "https"):
        raise FetchError(url, f"only http and https URLs are fetched, not {parts.scheme or 'this'!r}")
    if not parts.hostname:
        raise FetchError(url, "the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise FetchError(url, "URLs with a user name or password are not fetched")
    if len(url) > _MAX_URL:
        raise FetchError(url[:200] + "...", f"the URL is longer than {_MAX_URL} characters")


def fetch(url: str, options: FetchOptions, *, accept: Accept = "page", etag: str | None = None,
          last_modified: str | None = None) -> Fetched:
    """GET `url`, following redirects; raises `FetchError` for anything but an acceptable answer.

    `etag` / `last_modified` (from an earlier `Fetched`) make the request conditional: an
    unchanged resource comes back as `not_modified` with an empty body."""
    check_url(url)
    deadline = time.monotonic() + options.deadline_s
    current, seen = url, [url]
    for _hop in range(options.max_redirects + 1):
        status, headers, body = _exchange(current, options, accept, etag, last_modified, deadline)
        if status in _REDIRECTS and headers.get("location"):
            current = _next_hop(current, headers["location"], seen)
            continue
        return _result(url, current, status, headers, body, accept, etag, last_modified)
    raise FetchError(url, f"too many redirects ({options.max_redirects})")


def _next_hop(current: str, location: str, seen: list[str]) -> str:
    target = urljoin(current, location.strip())
    try:
        check_url(target)
    except FetchError as exc:
        raise FetchError(seen[0], f"redirected to a URL that is not fetched ({exc.reason})") from exc
    target = target.split("#", 1)[0]
    if target in seen:
        raise FetchError(seen[0], f"redirect loop ({' -> '.join([*seen, target])})")
    seen.append(target)
    return target


def _result(url: str, final: str, status: int, headers: dict[str, str], body: bytes, accept: Accept,
            etag: str | None, last_modified: str | None) -> Fetched:
    if status == 304:
        # A 304 may omit the validators; the ones sent are still the current ones.
        return Fetched(url=url, final_url=final, status=304, content_type=headers.get("content-type", ""),
                       body=b"", etag=headers.get("etag", etag),
                       last_modified=headers.get("last-modified", last_modified), not_modified=True)
    if status in _REDIRECTS:
        raise FetchError(url, f"HTTP {status} redirect without a Location header")
    if not 200 <= status < 300 or status in (204, 205, 206):
        raise FetchError(url, f"HTTP {status}")
    content_type = headers.get("content-type", "")
    _check_type(url, content_type, body, accept)
    return Fetched(url=url, final_url=final, status=status, content_type=content_type, body=body,
                   etag=headers.get("etag"), last_modified=headers.get("last-modified"))


def _check_type(url: str, content_type: str, body: bytes, accept: Accept) -> None:
    kind = media_type(content_type)
    if accept == "any":
        return
    if not kind:
        # No header at all: trust the first bytes, as browsers do, but only for the kind asked.
        if _sniff(body) == accept:
            return
        raise FetchError(url, f"not a {'web page' if accept == 'page' else 'feed'} (no content type)")
    if accept == "page" and kind not in PAGE_TYPES:
        raise FetchError(url, f"not a web page ({kind})")
    if accept == "feed" and kind not in FEED_TYPES and not kind.endswith("+xml"):
        raise FetchError(url, f"not a feed ({kind})")


def _sniff(body: bytes) -> str:
    head = body[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<!doctype html", b"<html")):
        return "page"
    if head.startswith((b"<?xml", b"<rss", b"<feed", b"<rdf:rdf")):
        return "feed"
    return ""


# One request/response ------------------------------------------------------------------------

def _exchange(url: str, options: FetchOptions, accept: Accept, etag: str | None,
              last_modified: str | None, deadline: float) -> tuple[int, dict[str, str], bytes]:
    """One GET without following redirects: (status, lower-cased headers, decoded body)."""
    parts = _split(url)
    conn = _connection(parts.scheme, _host(url, parts), parts.port, options.timeout_s)
    try:
        conn.putrequest("GET", _target(parts), skip_accept_encoding=True)
        for name, value in _request_headers(options, accept, etag, last_modified).items():
            conn.putheader(name, value)
        conn.endheaders()
        sock = conn.sock  # kept: the connection hands its socket to the response and forgets it
        response = conn.getresponse()
        headers = {k.lower(): v for k, v in response.getheaders()}
        if response.status in _REDIRECTS or response.status == 304 or response.status >= 400:
            return response.status, headers, b""  # the body is not wanted: don't download it
        body = _read_body(url, response, sock, headers, options, deadline)
        return response.status, headers, body
    except FetchError:
        raise
    except TimeoutError:
        raise FetchError(url, f"timed out after {options.timeout_s:g} s") from None
    except OSError as exc:
        raise FetchError(url, _network_reason(exc)) from exc
    except http.client.HTTPException as exc:
        raise FetchError(url, f"bad HTTP response ({type(exc).__name__}: {exc})") from exc
    except ValueError as exc:  # UnicodeEncodeError included: a header value that is not Latin-1
        raise FetchError(url, f"the request cannot be sent ({exc})") from exc
    finally:
        conn.close()


def _split(url: str) -> SplitResult:
    try:
        parts = urlsplit(url.strip())
        _ = parts.port  # a bad port number is only noticed here
    except ValueError as exc:
        raise FetchError(url, f"malformed URL ({exc})") from exc
    return parts


def _host(url: str, parts: SplitResult) -> str:
    host = parts.hostname or ""
    try:
        return host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError as exc:
        raise FetchError(url, f"malformed host name ({exc})") from exc


def _target(parts: SplitResult) -> str:
    # Spaces and non-ASCII in a pasted URL are percent-encoded; what is already encoded stays.
    path = quote(parts.path or "/", safe="/%:@!$&'()*+,;=-._~")
    query = quote(parts.query, safe="/%:@!$&'()*+,;=-._~?")
    return f"{path}?{query}" if query else path


def _connection(scheme: str, host: str, port: int | None, timeout_s: float) -> http.client.HTTPConnection:
    if scheme == "https":
        return http.client.HTTPSConnection(host, port, timeout=timeout_s,
                                           context=ssl.create_default_context())
    return http.client.HTTPConnection(host, port, timeout=timeout_s)


def _request_headers(options: FetchOptions, accept: Accept, etag: str | None,
                     last_modified: str | None) -> dict[str, str]:
    headers = {"User-Agent": options.user_agent, "Accept": _ACCEPT_HEADER[accept],
               "Accept-Encoding": "gzip, deflate", "Connection": "close"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    return headers


def _network_reason(exc: OSError) -> str:
    if isinstance(exc, socket.gaierror):
        return "host not found"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ConnectionResetError):
        return "connection reset by the server"
    if isinstance(exc, ssl.SSLError):
        return f"TLS error ({exc.reason or exc})"
    return f"network error ({exc.strerror or exc})"


def _read_body(url: str, response: http.client.HTTPResponse, sock: socket.socket | None,
               headers: dict[str, str], options: FetchOptions, deadline: float) -> bytes:
    limit = options.max_bytes
    declared = headers.get("content-length", "").strip()
    encoding = headers.get("content-encoding", "identity").strip().lower()
    if declared.isdigit() and encoding == "identity" and int(declared) > limit:
        raise FetchError(url, f"over the {_size(limit)} limit")  # refused before reading a byte
    decoder = _Decoder(url, encoding, limit)
    too_slow = f"timed out after {options.deadline_s:g} s (the whole download)"
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise FetchError(url, too_slow)
        if sock is not None:
            sock.settimeout(min(options.timeout_s, left))  # a read may not outlast the deadline
        try:
            chunk = response.read1(_CHUNK)
        except TimeoutError:
            if left < options.timeout_s:
                raise FetchError(url, too_slow) from None
            raise
        if not chunk:
            return decoder.finish()
        decoder.feed(chunk)


def _size(limit: int) -> str:
    return f"{limit / 1_000_000:.1f} MB" if limit >= 100_000 else f"{limit / 1000:g} KB"


class _Decoder:
    """Content-Encoding decoding with the size limit applied to the decoded bytes."""

    def __init__(self, url: str, encoding: str, limit: int) -> None:
        if encoding not in ("identity", "", "gzip", "x-gzip", "deflate"):
            raise FetchError(url, f"unsupported content encoding {encoding!r}")
        self.url, self.limit, self.encoding = url, limit, encoding
        self.out = bytearray()
        self.zlib: zlib._Decompress | None = None
        if encoding in ("gzip", "x-gzip"):
            self.zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self.pending = b""  # deflate: the first bytes, until zlib-wrapped or raw is known

    def feed(self, chunk: bytes) -> None:
        if self.encoding == "deflate" and self.zlib is None:
            self.pending += chunk
            if len(self.pending) < 2:
                return
            # "deflate" is meant to be zlib-wrapped, but some servers send raw deflate.
            wrapped = (self.pending[0] & 0x0F) == 8 and int.from_bytes(self.pending[:2], "big") % 31 == 0
            self.zlib = zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
            chunk, self.pending = self.pending, b""
        if self.zlib is None:
            self._add(chunk)
            return
        try:
            data = self.zlib.decompress(chunk, self.limit + 1 - len(self.out))
            self._add(data)
            while self.zlib.unconsumed_tail:
                self._add(self.zlib.decompress(self.zlib.unconsumed_tail, self.limit + 1 - len(self.out)))
        except zlib.error as exc:
            raise FetchError(self.url, f"the {self.encoding} body is corrupt ({exc})") from exc

    def _add(self, data: bytes) -> None:
        self.out += data
        if len(self.out) > self.limit:
            raise FetchError(self.url, f"over the {_size(self.limit)} limit")

    def finish(self) -> bytes:
        if self.pending:
            self.feed(b"")
        if self.zlib is not None:
            try:
                self._add(self.zlib.flush())
            except zlib.error as exc:
                raise FetchError(self.url, f"the {self.encoding} body is corrupt ({exc})") from exc
        return bytes(self.out)


# robots.txt -----------------------------------------------------------------------------------

@dataclass
class RobotsCache:
    """robots.txt answers, one robots.txt fetched per host (scheme, host, port) for the life of the
    object: make one per run. A missing robots.txt (any 4xx) allows everything; one that cannot be
    reached (network error, 5xx) also allows, and the host is noted in `notes`."""
    options: FetchOptions = field(default_factory=FetchOptions)
    pacer: HostPacer | None = None
    notes: list[str] = field(default_factory=list, init=False)
    _parsers: dict[str, urllib.robotparser.RobotFileParser | None] = field(default_factory=dict, init=False,
                                                                            repr=False)

    def allowed(self, url: str, user_agent: str | None = None) -> bool:
        agent = user_agent or self.options.user_agent
        parts = _split(url)
        origin = f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1].lower()}"
        if origin not in self._parsers:
            self._parsers[origin] = self._load(origin)
        parser = self._parsers[origin]
        return True if parser is None else parser.can_fetch(agent, url)

    def _load(self, origin: str) -> urllib.robotparser.RobotFileParser | None:
        robots_url = f"{origin}/robots.txt"
        if self.pacer is not None:
            self.pacer.wait(robots_url)
        # robots.txt files are small; Google reads the first 500 KiB of one.
        options = FetchOptions(timeout_s=self.options.timeout_s, deadline_s=self.options.deadline_s,
                               max_bytes=min(self.options.max_bytes, 500 * 1024),
                               max_redirects=self.options.max_redirects,
                               user_agent=self.options.user_agent, per_host_delay_s=0)
        try:
            got = fetch(robots_url, options, accept="any")
        except FetchError as exc:
            status = exc.reason.removeprefix("HTTP ")
            if status.isdigit() and 400 <= int(status) < 500:
                return None  # no robots.txt: everything is allowed
            self.notes.append(f"{robots_url} could not be read ({exc.reason}); fetching as allowed")
            return None
        parser = urllib.robotparser.RobotFileParser(robots_url)
        parser.parse(got.body.decode("utf-8", errors="replace").splitlines())
        return parser


def robots_allowed(url: str, user_agent: str = USER_AGENT, *, cache: RobotsCache | None = None) -> bool:
    """Whether robots.txt lets `user_agent` fetch `url`. Pass the run's `cache` to read each host's
    robots.txt once; without one, robots.txt is fetched for this question only."""
    return (cache if cache is not None else RobotsCache()).allowed(url, user_agent)


# Polite delay ---------------------------------------------------------------------------------

class HostPacer:
    """Waits so that two requests to the same host start at least `delay_s` apart. The clock and
    the sleep are injectable so tests neither wait nor depend on timing."""

    def __init__(self, delay_s: float, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if delay_s < 0:
            raise ConfigError(f"the per-host delay must not be negative, got {delay_s}")
        self.delay_s = delay_s
        self._clock, self._sleep = clock, sleep
        self._last: dict[str, float] = {}

    def wait(self, url: str) -> float:
        """Sleep as long as needed before a request to `url`'s host; returns the seconds slept."""
        host = (urlsplit(url).netloc.rsplit("@", 1)[-1] or url).lower()
        slept = 0.0
        last = self._last.get(host)
        if last is not None:
            slept = max(0.0, last + self.delay_s - self._clock())
            if slept > 0:
                self._sleep(slept)
        self._last[host] = self._clock()
        return slept
