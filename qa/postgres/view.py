"""One build of the PostgreSQL index as an `IndexView`, read inside one repeatable-read transaction.

Every query of one question sees the same build. Dense candidates come from the HNSW index
(iterative scans under a filter), or from exact scoring when the index is small or a filter leaves
few sentences; BM25 reads the question's terms' posting lists and scores them with the ranking's
k1 and b (under a filter, the database sums the admitted rows' postings).
The app holds no vectors: only per-build statistics (`BuildCache`), recently cited articles and
recently read posting lists (`qa.postgres.index`).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from qa.articles import Article
from qa.postgres.records import article_from
from qa.postgres.schema import HNSW_EF_CONSTRUCTION, HNSW_M, BuildMeta
from qa.retrieval.ranking import BM25_PARAMS
from qa.retrieval.seam import ArticleSummary, Layout, Record, Scope
from qa.store import IndexConfig

if TYPE_CHECKING:
    import psycopg

    from qa.postgres.index import PgIndex

FILTERED_EXACT = 20_000  # a filter leaving at most this many sentences is scored exactly
EF_SEARCH = 200  # HNSW candidates per scan: the ranking's pools are 200 rows
# What a question reads of a sentence row, once (`PgView._sentences`), with the row's cosine to each
# of the question's query vectors
_SENTENCE = ("s.row, s.article, s.ordinal, s.start_at, s.end_at, s.text, s.chunk_lo, s.chunk_hi, s.prev, "
             "s.next, s.day")
_SENTENCE_WIDTH = _SENTENCE.count(",") + 1  # the cosines come after these columns


@dataclass(kw_only=True)
class BuildCache:
    """What one build's questions share: its counts, statistics and copy groups."""
    meta: BuildMeta
    config: IndexConfig
    spans_dates: bool
    topic_terms: frozenset[str]
    copies: dict[str, tuple[str, ...]]
    exact: bool  # small enough to score every sentence exactly
    rows: np.ndarray | None = None  # every sentence row, once asked for (a small index)


class PgAllowed:
    """The sentences of a scope, as a SQL condition on `qa.sentences s`."""

    def __init__(self, view: PgView, scope: Scope):
        self.view = view
        on_sentences, on_articles, self.params = [], [], {}
        if scope.since is not None:
            on_sentences.append("s.day >= %(since)s")
            on_articles.append("a.published >= %(since_date)s")
            self.params |= {"since": scope.since.toordinal(), "since_date": scope.since}
        if scope.until is not None:
            on_sentences.append("s.day <= %(until)s")
            on_articles.append("a.published <= %(until_date)s")
            self.params |= {"until": scope.until.toordinal(), "until_date": scope.until}
        if scope.articles:
            pks = view.query("SELECT pk FROM qa.articles WHERE id = ANY(%s)", (sorted(scope.articles),))
            on_sentences.append("s.article = ANY(%(pks)s)")
            on_articles.append("a.pk = ANY(%(pks)s)")
            self.params["pks"] = [p for (p,) in pks]
        self.sql, self._on_articles = " AND ".join(on_sentences), " AND ".join(on_articles)
        self._size: int | None = None

    @property
    def size(self) -> int:
        """How many sentences the scope admits."""
        if self._size is None:
            self._size = int(self.view.query(f"SELECT coalesce(sum(a.sentences), 0) FROM qa.articles a "
                                             f"WHERE {self._on_articles}", self.params)[0][0])
        return self._size

    def contains(self, rows: np.ndarray) -> np.ndarray:
        found = self.view.query(f"SELECT s.row FROM qa.sentences s WHERE s.row = ANY(%(rows)s) "
                                f"AND {self.sql}",
                                {**self.params, "rows": rows.tolist()})
        return np.isin(rows, np.array([r for (r,) in found], dtype=np.int64))


class PgView:
    """One build, read through one connection inside one transaction (`PgIndex.reading`)."""

    def __init__(self, conn: psycopg.Connection, cache: BuildCache, index: PgIndex):
        self._conn, self._cache, self._index = conn, cache, index
        self.build, self.config, self.build_id = cache.meta, cache.config, cache.meta.build_id
        self.sentence_count, self.chunk_count = cache.meta.sentences, cache.meta.chunks
        self.spans_dates, self.topic_terms = cache.spans_dates, cache.topic_terms
        self._terms: dict[str, tuple[int, int, int]] = {}  # term -> (id, sentences, chunks holding it)
        self._rows: dict[int, tuple] = {}  # sentence row -> its columns (`_sentences`)
        # the question's query vectors, whose cosines each read returns, and where they go (each
        # PgDense's own; not the PgDense itself, which holds the view: no cycle to wait for the GC)
        self._dense: list[tuple[np.ndarray, dict[int, np.ndarray]]] = []

    @property
    def vector_index(self) -> str:
        """How dense candidates are found."""
        if self._cache.exact:
            return f"exact (every sentence scored; HNSW from {self._index.exact_limit + 1:,} sentences)"
        return (f"pgvector HNSW (m={HNSW_M}, ef_construction={HNSW_EF_CONSTRUCTION}, ef_search={EF_SEARCH}), "
                f"exact under a filter of at most {FILTERED_EXACT:,} sentences")

    def query(self, sql: str, params: object = None) -> list[tuple]:
        """The rows of one statement, sent and read in binary (vectors arrive as float32 arrays)."""
        return self._conn.execute(sql, params, binary=True).fetchall()

    def rows(self) -> np.ndarray:
        if self._cache.rows is None:
            self._cache.rows = _ints(self.query("SELECT row FROM qa.sentences ORDER BY row"))
        return self._cache.rows

    def allowed(self, scope: Scope) -> PgAllowed | None:
        return None if scope.everything else PgAllowed(self, scope)

    def dense(self, vectors: np.ndarray) -> PgDense:
        dense = PgDense(self, vectors)
        self._dense.append((dense.vectors, dense.scored))
        return dense

    def chunk_scores(self, vector: np.ndarray, rows: np.ndarray) -> np.ndarray:
        return _cosines(self, "qa.chunks", vector[None, :], rows)[0]

    def lexical(self, terms: Sequence[str], table: str) -> PgLexical:
        return PgLexical(self, terms, table)

    def _sentences(self, rows: Sequence[int], adjacent: bool = False) -> list[tuple]:
        """Each row's (article pk, ordinal, start, end, text, chunk_lo, chunk_hi, prev, next, day),
        read once per question (with the rows a dense search returns). `adjacent`: read the rows
        either side too, in the same query (a sentence's neighbours are the rows beside it)."""
        wanted = {int(r) for r in rows}
        missing = sorted((wanted | {r + d for r in wanted for d in (-1, 1)} if adjacent else wanted)
                         - self._rows.keys())
        if missing:
            self.read_sentences("WHERE s.row = ANY(%(rows)s)", {"rows": missing})
        return [self._rows[int(r)] for r in rows]

    def read_sentences(self, where_order: str, params: dict) -> np.ndarray:
        """The rows of `SELECT ... FROM qa.sentences s {where_order}`, in order, each held with its
        layout and its cosines to every query vector of the question (`PgDense.scores`)."""
        vectors = [v for asked, _ in self._dense for v in asked]
        cosines = "".join(f", -(s.embedding <#> %(q{i})s)" for i in range(len(vectors)))
        found = self.query(f"SELECT {_SENTENCE}{cosines} FROM qa.sentences s {where_order}",
                           params | {f"q{i}": v for i, v in enumerate(vectors)})
        rows = [f[0] for f in found]
        self._rows.update(zip(rows, (f[1:_SENTENCE_WIDTH] for f in found), strict=True))
        if vectors:
            scored = np.array([f[_SENTENCE_WIDTH:] for f in found], dtype=np.float32).reshape(len(found),
                                                                                          len(vectors))
            at = 0
            for asked, into in self._dense:
                into.update(zip(rows, scored[:, at:at + len(asked)], strict=True))
                at += len(asked)
        return np.array(rows, dtype=np.int64)

    def layout(self, rows: np.ndarray) -> Layout:
        found = self._sentences(rows, adjacent=True)  # the neighbours' cosines are asked for next
        lo, hi, prev, nxt = (np.array([f[i] for f in found], dtype=np.int64) for i in (5, 6, 7, 8))
        lengths = np.array([f[3] - f[2] for f in found], dtype=np.float64)
        prior = (np.log(np.maximum(lengths, 20) / 20) / math.log(15)).astype(np.float32)
        day = np.array([np.nan if f[9] is None else f[9] for f in found], dtype=np.float64)
        return Layout(lo, hi, prev, nxt, prior, day)

    def texts(self, rows: np.ndarray) -> list[str]:
        return [f[4] for f in self._sentences(rows)]

    def sentence_vectors(self, rows: np.ndarray) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.int64)
        found = dict(self.query("SELECT row, embedding FROM qa.sentences WHERE row = ANY(%s)",
                                (rows.tolist(),)))
        return np.stack([found[int(r)] for r in rows]) if len(rows) else \
            np.zeros((0, self.config.dimension), dtype=np.float32)

    def records(self, rows: Sequence[int]) -> list[Record]:
        found = self._sentences(rows)
        articles = self._index.articles_by_pk(self._conn, {f[0] for f in found})
        return [Record(row=int(r), article=articles[f[0]], ordinal=f[1], start=f[2], end=f[3], text=f[4])
                for r, f in zip(rows, found, strict=True)]

    def doc_freq(self, terms: Sequence[str]) -> np.ndarray:
        info = self.term_info(terms)
        return np.array([info[t][1] if t in info else 0 for t in terms], dtype=np.int64)

    def term_info(self, terms: Sequence[str]) -> dict[str, tuple[int, int, int]]:
        """(id, sentences holding it, chunks holding it) of each term the index has."""
        missing = sorted(set(terms) - self._terms.keys())
        if missing:
            for term, *info in self.query("SELECT term, id, df_sentences, df_chunks FROM qa.terms "
                                          "WHERE term = ANY(%s)", (missing,)):
                self._terms[term] = tuple(info)
        return {t: self._terms[t] for t in terms if t in self._terms}

    def copies(self, article_id: str) -> tuple[str, ...]:
        return self._cache.copies.get(article_id, ())

    def article(self, article_id: str) -> Article | None:
        found = self.query("SELECT pk FROM qa.articles WHERE id = %s", (article_id,))
        return self._index.articles_by_pk(self._conn, {found[0][0]})[found[0][0]] if found else None

    def summaries(self) -> list[ArticleSummary]:
        """Every article, with its sentence count (the articles' texts are left out: "")."""
        found = self.query("SELECT id, meta, content_hash, sentences FROM qa.articles ORDER BY pk")
        return [ArticleSummary(article=article_from(i, meta, "", h), sentences=n) for i, meta, h, n in found]


class PgDense:
    """Query vectors against the build's sentence vectors: candidates from the database (HNSW, or
    exact under a small index or a narrow filter); each row's cosines computed there once, with the
    row's layout (`PgView.read_sentences`), else on their own."""

    def __init__(self, view: PgView, vectors: np.ndarray):
        self.view, self.vectors = view, np.asarray(vectors, dtype=np.float32)
        self.scored: dict[int, np.ndarray] = {}  # row -> its cosine to each query vector

    def pools(self, k: int, allowed: PgAllowed | None) -> list[np.ndarray]:
        exact = self.view._cache.exact or (allowed is not None and allowed.size <= FILTERED_EXACT)
        where = f"WHERE {allowed.sql}" if allowed is not None else ""
        params = allowed.params if allowed is not None else {}
        if exact:  # every admitted row scored (`+ 0` hides the distance from the HNSW index), then
            # only the best read with their columns and cosines
            find = (f"WHERE s.row IN (SELECT s.row FROM qa.sentences s {where} "
                    f"ORDER BY (s.embedding <#> %(v)s) + 0 LIMIT %(k)s)")
        else:  # the HNSW index gives the rows in order, each read as it comes
            find = f"{where} ORDER BY s.embedding <#> %(v)s LIMIT %(k)s"
        return [self.view.read_sentences(find, {**params, "v": v, "k": k}) for v in self.vectors]

    def scores(self, rows: np.ndarray) -> np.ndarray:
        self.view._sentences(rows)  # rows not read yet come with their cosines
        missing = np.array(sorted({int(r) for r in rows} - self.scored.keys()), dtype=np.int64)
        if len(missing):  # read before these vectors were asked for
            self.scored.update(zip(missing.tolist(), _cosines(self.view, "qa.sentences", self.vectors,
                                                              missing).T, strict=True))
        if not len(rows):
            return np.zeros((len(self.vectors), 0), dtype=np.float32)
        return np.stack([self.scored[int(r)] for r in rows], axis=1)


class PgLexical:
    """BM25 of one query's terms over `sentences` or `chunks`: the terms' posting lists read in one
    fetch and scored here (the ranking's k1 and b, the build's term statistics); under a filter,
    the best rows are summed in the database over the admitted rows' postings."""

    def __init__(self, view: PgView, terms: Sequence[str], table: str):
        self.view, self.table = view, table
        k1, b = BM25_PARAMS[table]
        meta = view._cache.meta
        n, mean = (meta.sentences, meta.sentence_length) if table == "sentences" else (meta.chunks,
                                                                                       meta.chunk_length)
        info = view.term_info(terms)
        counts = Counter(t for t in terms if t in info)
        ids = [info[t][0] for t in counts]
        dfs = [info[t][1 if table == "sentences" else 2] for t in counts]
        weights = [c * math.log(1 + (n - df + 0.5) / (df + 0.5))
                   for c, df in zip(counts.values(), dfs, strict=True)]
        self.params = {"ids": ids, "w": weights, "k1": k1, "b": b, "mean": mean}
        self.rows, self.scores = _scored_lists(view, table, dict(zip(ids, weights, strict=True)), k1, b, mean)

    @property
    def best(self) -> float:
        return float(self.scores.max()) if len(self.scores) else 0.0

    def top(self, k: int, allowed: PgAllowed | None) -> np.ndarray:
        if allowed is None:
            keep = self.scores > 0
            rows, scores = self.rows[keep], self.scores[keep]
            return rows if len(rows) <= k else rows[np.argpartition(-scores, k)[:k]]
        if not self.params["ids"]:
            return np.zeros(0, dtype=np.int64)
        found = self.view.query(
            "SELECT p.row, sum(q.w * p.tf / (p.tf + %(k1)s * (1 - %(b)s + %(b)s * p.len / %(mean)s))) "
            f"AS score FROM qa.{self.table[:-1]}_postings p "
            "JOIN unnest(%(ids)s::int[], %(w)s::float8[]) AS q(term, w) ON p.term = q.term "
            f"JOIN qa.sentences s ON s.row = p.row AND {allowed.sql} "
            "GROUP BY p.row ORDER BY score DESC LIMIT %(k)s", {**self.params, **allowed.params, "k": k})
        return np.array([r for r, s in found if s > 0], dtype=np.int64)

    def at(self, rows: np.ndarray) -> np.ndarray:
        out = np.zeros(len(rows), dtype=np.float32)
        if not len(self.rows) or not len(rows):
            return out
        at = np.minimum(np.searchsorted(self.rows, rows), len(self.rows) - 1)
        hit = self.rows[at] == rows
        out[hit] = self.scores[at[hit]]
        return out


def _scored_lists(view: PgView, table: str, weights: dict[int, float], k1: float, b: float,
                  mean: float) -> tuple[np.ndarray, np.ndarray]:
    """Every row holding a query term (ascending) and its BM25 score. Each term's list, with its
    length-normalized term frequencies, comes from the app's cache of this build's lists, else
    from one fetch for all the missing terms."""
    lists = view._index.lists
    found = {t: lists.get((view.build_id, table, t)) for t in weights}
    missing = [t for t, v in found.items() if v is None]
    if missing:
        for term, data, tfs, lens in view.query(f"SELECT term, rows, tfs, lens FROM qa.{table[:-1]}_lists "
                                                "WHERE term = ANY(%s)", (missing,)):
            tf = np.frombuffer(tfs, dtype="<i4").astype(np.float64)
            length = np.frombuffer(lens, dtype="<i4").astype(np.float64)
            rows = np.frombuffer(data, dtype="<i8")
            found[term] = (rows.astype(np.int32) if rows[-1] < 2**31 else rows,
                           (tf / (tf + k1 * (1 - b + b * length / mean))).astype(np.float32))
            lists.put((view.build_id, table, term), found[term])
    held = [(v[0], weights[t], v[1]) for t, v in found.items() if v is not None]
    if not held:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    size = max(int(r[-1]) for r, _, _ in held) + 1
    summed, holds = np.zeros(size, dtype=np.float32), np.zeros(size, dtype=bool)  # by row number
    for rows, weight, normalized in held:  # a term's rows are distinct: no add is lost
        summed[rows] += np.float32(weight) * normalized
        holds[rows] = True
    rows = np.flatnonzero(holds)  # (a boolean array is found through far faster than floats)
    return rows, summed[rows]


def _cosines(view: PgView, table: str, vectors: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Inner products (cosines of unit vectors) of each query vector with the given rows."""
    if not len(rows):
        return np.zeros((len(vectors), 0), dtype=np.float32)
    columns = ", ".join(f"-(embedding <#> %(v{i})s)" for i in range(len(vectors)))
    params = {f"v{i}": v for i, v in enumerate(vectors)} | {"rows": np.unique(rows).tolist()}
    found = {r[0]: r[1:] for r in view.query(f"SELECT row, {columns} FROM {table} WHERE row = ANY(%(rows)s)",
                                             params)}
    return np.array([found[int(r)] for r in rows], dtype=np.float32).T.reshape(len(vectors), len(rows))


def _ints(found: list[tuple]) -> np.ndarray:
    return np.array([r[0] for r in found], dtype=np.int64)


