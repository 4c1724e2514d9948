"""The PostgreSQL index as the engine reads it: a pool of reader connections (replicas in turn),
each question one read-only repeatable-read transaction, and what a build's questions share cached
until the database says another build answers."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import numpy as np

from qa.articles import Article
from qa.errors import DatabaseError, IndexMismatchError, IndexMissingError
from qa.postgres.connect import Pool, psycopg_module, reason, redact
from qa.postgres.records import article_from
from qa.postgres.schema import BuildMeta, read_build, read_meta
from qa.postgres.view import EF_SEARCH, BuildCache, PgView
from qa.retrieval.ranking import TOPIC_SHARE
from qa.store import IndexConfig

if TYPE_CHECKING:
    import psycopg

CACHED_ARTICLES = 256
CACHED_LISTS_MB = 64  # BM25 posting lists kept (the frequent terms of recent questions)


class PgIndex:
    """Answers from the build the database holds now; `model`: refuse one built with another."""

    def __init__(self, url: str, read_urls: list[str], model: str | None = None, exact_limit: int = 50_000):
        self.url = url
        self.pool = Pool(read_urls, setup=f"SET hnsw.ef_search = {EF_SEARCH}; "
                                        "SET hnsw.iterative_scan = relaxed_order")
        self._model, self.exact_limit = model, exact_limit
        self._cache: BuildCache | None = None
        self._articles: OrderedDict[int, Article] = OrderedDict()  # pk -> article (a pk is never reused)
        self.lists = ListCache(CACHED_LISTS_MB * 2**20)
        self._lock = threading.Lock()

    @property
    def where(self) -> str:
        """The primary, and the replicas answering questions when there are any."""
        replicas = [u for u in self.pool.urls if u != self.url]
        return redact(self.url) + (f"; reads from {', '.join(map(redact, replicas))}" if replicas else "")

    @contextmanager
    def reading(self) -> Iterator[PgView]:
        """The build that answers now, for one question. A connection that fails at once (a server
        restarted, a replica promoted) is replaced once; one lost mid-question is a `DatabaseError`,
        and the next question connects again."""
        psycopg = psycopg_module()
        for attempt in (1, 2):
            conn = self.pool.take()
            try:
                build = self._begin(conn)
                break
            except psycopg.OperationalError as exc:
                self.pool.drop(conn)
                if attempt == 2:
                    raise DatabaseError(f"the index database is unreachable: {reason(exc)}") from exc
            except BaseException:
                self._end(conn)
                raise
        try:
            yield PgView(conn, self._build_cache(conn, build), self)
        except psycopg.OperationalError as exc:
            self.pool.drop(conn)
            raise DatabaseError(f"the connection to the index database was lost ({reason(exc)}); "
                                "ask again to reconnect") from exc
        finally:
            if not conn.closed:
                self._end(conn)

    def current_build_id(self) -> str | None:
        """The build that answers now; None when the database holds no index yet."""
        try:
            with self.reading() as view:
                return view.build_id
        except IndexMissingError:
            return None

    def _begin(self, conn: psycopg.Connection) -> BuildMeta:
        psycopg = psycopg_module()
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        try:
            build = read_build(conn)
        except psycopg.errors.UndefinedTable:
            build = None
        if build is None or not build.build_id:
            raise IndexMissingError(f"the index database {self.where} holds no index yet: run `qa index`")
        return build

    def _end(self, conn: psycopg.Connection) -> None:
        """Close the question's read-only transaction and give the connection back (or drop it)."""
        psycopg = psycopg_module()
        try:
            conn.rollback()  # read-only: nothing to commit
        except psycopg.Error:
            self.pool.drop(conn)
            return
        self.pool.give(conn)

    def _build_cache(self, conn: psycopg.Connection, build: BuildMeta) -> BuildCache:
        cache = self._cache
        if cache is not None and cache.meta.build_id == build.build_id:
            return cache
        config = IndexConfig(**read_meta(conn, "config"))
        if self._model is not None and config.model != self._model:
            raise IndexMismatchError(f"the index was built with model {config.model!r} but {self._model!r} "
                                     "is configured: run `qa index --full` to rebuild it")
        first, last = conn.execute("SELECT min(published), max(published) FROM qa.articles").fetchone()
        topic = conn.execute("SELECT term FROM qa.terms WHERE df_sentences > %s",
                             (TOPIC_SHARE * build.sentences,)).fetchall()
        copies: dict[str, list[str]] = {}
        for group, article in conn.execute("SELECT group_id, article FROM qa.copies "
                                           "ORDER BY group_id, position"):
            copies.setdefault(group, []).append(article)
        by_article = {a: tuple(g) for g in copies.values() for a in g}
        cache = BuildCache(meta=build, config=config, spans_dates=first is not None and first < last,
                           topic_terms=frozenset(t for (t,) in topic), copies=by_article,
                           exact=build.sentences <= self.exact_limit)
        self._cache = cache
        self.lists.clear()  # the lists of the build before
        return cache

    def articles_by_pk(self, conn: psycopg.Connection, pks: set[int]) -> dict[int, Article]:
        with self._lock:
            out = {pk: self._articles[pk] for pk in pks if pk in self._articles}
        missing = sorted(pks - out.keys())
        if missing:
            found = conn.execute("SELECT pk, id, meta, text, content_hash FROM qa.articles "
                                 "WHERE pk = ANY(%s)", (missing,))
            for pk, i, meta, text, h in found:
                out[pk] = article_from(i, meta, text, h)
            with self._lock:
                for pk in missing:
                    self._articles[pk] = out[pk]
                while len(self._articles) > CACHED_ARTICLES:
                    self._articles.popitem(last=False)
        return out

    def close(self) -> None:
        self.pool.close()


class ListCache:
    """Posting lists (rows and normalized term frequencies) by (build, table, term), the least
    recently used dropped beyond `max_bytes`."""

    def __init__(self, max_bytes: int):
        self.max_bytes, self.size = max_bytes, 0
        self._lists: OrderedDict[tuple, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple) -> tuple[np.ndarray, np.ndarray] | None:
        with self._lock:
            found = self._lists.get(key)
            if found is not None:
                self._lists.move_to_end(key)
            return found

    def put(self, key: tuple, value: tuple[np.ndarray, np.ndarray]) -> None:
        with self._lock:
            if key in self._lists:
                return
            self._lists[key] = value
            self.size += value[0].nbytes + value[1].nbytes
            while self.size > self.max_bytes and self._lists:
                old = self._lists.popitem(last=False)[1]
                self.size -= old[0].nbytes + old[1].nbytes

    def clear(self) -> None:
        with self._lock:
            self._lists.clear()
            self.size = 0
