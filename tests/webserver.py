"""A small web site on 127.0.0.1, in a thread, for the fetch and feed tests: nothing else is contacted.

`serve()` starts a `ThreadingHTTPServer` on a free port; `WebServer.routes` maps a path to a
`Response` (or a function returning one, for answers that change between requests); every
request is logged so tests can check what was (not) asked for and with which headers.
`standard_site` installs the pages and feeds of tests/data/web/ and the bad cases.
"""

from __future__ import annotations

import contextlib
import gzip
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from qa.fetch import FetchOptions

WEB = Path(__file__).resolve().parent / "data" / "web"
HTML = "text/html; charset=utf-8"
RSS = "application/rss+xml; charset=utf-8"
ATOM = "application/atom+xml; charset=utf-8"


@dataclass(frozen=True, kw_only=True)
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str | None = HTML  # None: no Content-Type header at all
    headers: tuple[tuple[str, str], ...] = ()
    etag: str | None = None  # set: If-None-Match with this value gets a 304
    last_modified: str | None = None  # set: If-Modified-Since with this value gets a 304
    encoding: str | None = None  # "gzip" or "deflate": the body is sent compressed
    delay_s: float = 0.0  # before the status line
    trickle_s: float = 0.0  # between chunks of `trickle_bytes`
    trickle_bytes: int = 64
    content_length: bool = True  # False: the body ends when the connection closes


@dataclass(frozen=True)
class Request:
    path: str
    headers: dict[str, str]


@dataclass
class WebServer:
    base: str
    routes: dict[str, Response | Callable[[], Response]] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)

    def url(self, path: str) -> str:
        return self.base + path

    def hits(self, path: str) -> int:
        return sum(1 for r in self.requests if r.path == path)

    def page(self, name: str) -> bytes:
        """A file of tests/data/web/ with {{BASE}} replaced by this server's address."""
        return (WEB / name).read_text(encoding="utf-8").replace("{{BASE}}", self.base).encode("utf-8")


class _Handler(BaseHTTPRequestHandler):
    server_version = "TestSite/1.0"
    site: WebServer  # set on the subclass made for each server

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base's name
        pass  # quiet tests

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.site.requests.append(Request(self.path, {k.lower(): v for k, v in self.headers.items()}))
        route = self.site.routes.get(self.path.split("?", 1)[0])
        response = route() if callable(route) else route
        if response is None:
            response = Response(status=404, body=b"<html><body>not found</body></html>")
        # The client may give up first (timeouts, size limits): what those tests want.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self._send(response)

    def _send(self, r: Response) -> None:
        if r.delay_s:
            time.sleep(r.delay_s)
        if self._unchanged(r):
            self.send_response(304)
            self._validators(r)
            self.end_headers()
            return
        body = _encode(r.body, r.encoding)
        self.send_response(r.status)
        if r.content_type is not None:
            self.send_header("Content-Type", r.content_type)
        if r.encoding:
            self.send_header("Content-Encoding", r.encoding)
        if r.content_length:
            self.send_header("Content-Length", str(len(body)))
        self._validators(r)
        for name, value in r.headers:
            self.send_header(name, value)
        self.end_headers()
        if r.trickle_s:
            for start in range(0, len(body), r.trickle_bytes):
                self.wfile.write(body[start:start + r.trickle_bytes])
                self.wfile.flush()
                time.sleep(r.trickle_s)
        else:
            self.wfile.write(body)

    def _unchanged(self, r: Response) -> bool:
        if r.status != 200:
            return False
        if r.etag is not None and self.headers.get("If-None-Match") == r.etag:
            return True
        return r.last_modified is not None and self.headers.get("If-Modified-Since") == r.last_modified

    def _validators(self, r: Response) -> None:
        if r.etag is not None:
            self.send_header("ETag", r.etag)
        if r.last_modified is not None:
            self.send_header("Last-Modified", r.last_modified)


def _encode(body: bytes, encoding: str | None) -> bytes:
    if encoding == "gzip":
        return gzip.compress(body)
    if encoding == "deflate":
        return zlib.compress(body)
    return body


@contextmanager
def serve() -> Iterator[WebServer]:
    """A running test site on 127.0.0.1 and a free port, stopped afterwards."""
    handler = type("Handler", (_Handler,), {})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True  # a handler still sleeping (slow-response tests) does not block the end
    site = WebServer(base=f"http://127.0.0.1:{httpd.server_address[1]}")
    handler.site = site
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (connections to it are refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fails_then_succeeds(failing: Response, then: Response, *, times: int = 1) -> Callable[[], Response]:
    """A route that answers `failing` the first `times` requests, then `then`."""
    count = {"n": 0}

    def route() -> Response:
        count["n"] += 1
        return failing if count["n"] <= times else then

    return route


def redirect(to: str, status: int = 302) -> Response:
    return Response(status=status, content_type=None, headers=(("Location", to),))


def standard_site(site: WebServer) -> WebServer:
    """The test site: articles, feeds, robots.txt, and one route per bad case."""
    page, routes = site.page, site.routes
    kursk = page("kursk.html")
    routes.update({
        "/robots.txt": Response(body=page("robots.txt"), content_type="text/plain"),
        "/news/2024/11/05/pentagon-kursk": Response(body=kursk, etag='"kursk-1"',
                                                    last_modified="Tue, 05 Nov 2024 14:00:00 GMT"),
        "/news/2024/10/31/troops-withdraw": Response(body=page("troops.html")),
        "/news/ceasefire-talks": Response(body=page("ceasefire.html")),
        "/amp/pentagon-kursk": Response(body=page("kursk-amp.html")),
        "/private/leak": Response(body=page("ceasefire.html")),
        "/gzip/kursk": Response(body=kursk, encoding="gzip"),
        "/deflate/kursk": Response(body=kursk, encoding="deflate"),
        "/missing": Response(status=404, body=b"<html><body>gone</body></html>"),
        "/broken": Response(status=500, body=b"<html><body>oops</body></html>"),
        "/slow": Response(body=kursk, delay_s=1.5),
        "/trickle": Response(body=b"<html>" + b"x" * 2000 + b"</html>", trickle_s=0.1, trickle_bytes=100),
        "/stall": Response(body=b"<html>" + b"x" * 200 + b"</html>", trickle_s=1.5, trickle_bytes=100),
        "/loop/a": redirect("/loop/b"),
        "/loop/b": redirect("/loop/a"),
        "/chain/1": redirect("/chain/2", 301),
        "/chain/2": redirect("/chain/3", 307),
        "/chain/3": redirect(site.url("/news/2024/11/05/pentagon-kursk"), 308),
        "/report.pdf": Response(body=b"%PDF-1.4\n%...", content_type="application/pdf"),
        "/no-type": Response(body=kursk, content_type=None),
        "/big": Response(body=b"<html><body>" + b"a" * 50_000 + b"</body></html>"),
        "/big-unsized": Response(body=b"<html><body>" + b"a" * 50_000 + b"</body></html>",
                                 content_length=False),
        "/gzip/bomb": Response(body=b"<html><body>" + b"a" * 2_000_000 + b"</body></html>", encoding="gzip"),
        "/ftp-redirect": redirect("ftp://127.0.0.1/file"),
        "/feeds/rss.xml": Response(body=page("rss.xml"), content_type=RSS, etag='"rss-v1"'),
        "/feeds/atom.xml": Response(body=page("atom.xml"), content_type=ATOM,
                                    last_modified="Tue, 05 Nov 2024 15:00:00 GMT"),
        "/feeds/gzip.xml": Response(body=page("rss.xml"), content_type=RSS, encoding="gzip"),
        "/feeds/mixed.xml": Response(body=page("mixed.xml"), content_type=RSS, etag='"mixed-v1"'),
        "/feeds/malformed.xml": Response(body=page("malformed.xml"), content_type=RSS),
        "/feeds/broken.xml": Response(status=500, body=b"oops", content_type="text/plain"),
        "/flaky/grain": fails_then_succeeds(Response(status=500, body=b"try later"),
                                            Response(body=page("flaky.html"))),
    })
    for n in range(1, 8):  # /hops/1 -> /hops/2 -> ... -> /hops/7: six redirects
        routes[f"/hops/{n}"] = redirect(f"/hops/{n + 1}")
    routes["/hops/7"] = Response(body=kursk)
    return site


KURSK = "/news/2024/11/05/pentagon-kursk"  # a page of the standard site
QUICK = FetchOptions(timeout_s=0.5, deadline_s=1.0, per_host_delay_s=0)  # short limits, no pacing
