"""What an answer shows first, copies with their own headline and dateline, accents: on small
articles written for these tests, with the real model."""

from __future__ import annotations

import pytest

from qa.answering import Engine
from qa.indexing import build_index
from qa.settings import Settings

WIRE = """---
title: North Korean troops reach the front, spy agency says
date: 2024-11-04
source: Global Wire
---

SEOUL (Global Wire) — North Korean troops sent to Russia have begun moving toward the front line in
Kursk, South Korea's spy agency told lawmakers on Monday.

The agency estimated that 10,000 North Korean soldiers are now in Russia, most of them in the Kursk
region near the border with Ukraine.

Lawmakers said the agency expected the troops to join the fighting within weeks.
"""
COPY = """---
title: Spy agency: Pyongyang's soldiers head for Kursk
date: 2024-11-05
source: Daily Courier
---

SEOUL, South Korea (Daily Courier) — North Korean troops sent to Russia have begun moving toward the
front line in Kursk, South Korea's spy agency told lawmakers on Monday.

The agency estimated that 10,000 North Korean soldiers are now in Russia, most of them in the Kursk
region near the border with Ukraine.

Lawmakers said the agency expected the troops to join the fighting within weeks.
"""
DATED = {
    "2024-10-20-first-estimate.md": ("First estimate of troops", "2024-10-20",
                                     "Officials said about 3,000 North Korean soldiers had arrived in "
                                     "Russia."),
    "2024-11-12-second-estimate.md": ("Estimate rises again", "2024-11-12",
                                      "The Pentagon said about 11,000 North Korean soldiers are in "
                                      "Russia now."),
    "2024-11-20-third-estimate.md": ("Troop estimate grows", "2024-11-20",
                                     "Ukraine's intelligence said some 12,000 North Korean soldiers are "
                                     "in Russia."),
}
ACCENTS = """---
title: Café owners in Zürich and São Paulo
date: 2024-11-02
source: Example Wire
---

A café in Zürich raised its prices by 12 percent this autumn, its owner told reporters.

Bakers in São Paulo said the price of flour had doubled since the spring.
"""


@pytest.fixture(scope="module")
def engine(tmp_path_factory, real_embedder) -> Engine:
    root = tmp_path_factory.mktemp("order")
    corpus = root / "corpus"
    corpus.mkdir()
    (corpus / "wire.md").write_text(WIRE, encoding="utf-8")
    (corpus / "copy.md").write_text(COPY, encoding="utf-8")
    (corpus / "accents.md").write_text(ACCENTS, encoding="utf-8")
    for name, (title, day, text) in DATED.items():
        (corpus / name).write_text(f"---\ntitle: {title}\ndate: {day}\nsource: Example Wire\n---\n\n{text}\n",
                                   encoding="utf-8")
    settings = Settings(corpus_dir=corpus, index_dir=root / "index")
    assert build_index(settings, real_embedder).copy_groups == 1
    return Engine(settings, real_embedder)


def test_a_copy_with_its_own_headline_and_dateline_is_quoted_once(engine):
    a = engine.answer("How many North Korean soldiers does the spy agency estimate are in Russia?")
    assert a.found
    quoted = [c.sentence for c in a.citations]
    assert len(quoted) == len(set(quoted))  # no sentence twice
    agency = [c for c in a.citations if "The agency estimated that 10,000" in c.sentence]
    assert len(agency) == 1 and agency[0].source.outlet == "Global Wire"  # the earliest copy is cited
    assert [s.outlet for s in agency[0].also_in] == ["Daily Courier"]
    if a.disagreement:  # copies never disagree, and a story appears once in the timeline
        numbers = [c.number for c in a.disagreement.claims]
        assert "Daily Courier" not in [c.source for c in a.disagreement.claims]
        assert len(numbers) == len(set(numbers))
    assert all(not c.sentence.startswith(("SEOUL", "(Global")) for c in a.citations)  # datelines are places
    assert agency[0].source.place == "SEOUL"


def test_the_best_supported_sentence_comes_first_and_the_figures_differ_as_a_timeline(engine):
    a = engine.answer("How many North Korean soldiers are in Russia?")
    assert a.found and a.disagreement is not None
    assert a.citations[0].score == max(c.score for c in a.citations)  # the best-supported first, not by date
    dates = [c.date for c in a.disagreement.claims]
    assert dates == sorted(dates) and len(dates) >= 3


def test_a_latest_question_leads_with_the_newest_statement(engine):
    a = engine.answer("What is the latest estimate of North Korean soldiers in Russia?")
    assert a.found and a.citations[0].source.date == "2024-11-20"
    assert "12,000" in a.citations[0].sentence


@pytest.mark.parametrize("question, phrase", [
    ("How much did a cafe in Zurich raise its prices?", "raised its prices by 12 percent"),
    ("What did bakers in Sao Paulo say about flour?", "the price of flour had doubled"),
])
def test_a_question_typed_without_accents_finds_the_accented_article(engine, question, phrase):
    a = engine.answer(question)
    assert a.found and phrase in a.citations[0].sentence
