"""News-aware answers over tests/data/news: syndicated copies, figures that differ, dates."""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, replace
from datetime import date
from pathlib import Path

import pytest

from qa.answering import AnswerOptions, Engine
from qa.articles import list_corpus, read_file
from qa.cli import main
from qa.evaluation import evaluate_news
from qa.figures import differ, figures
from qa.indexing import build_index
from qa.question import analyze, asks_latest
from qa.retrieval import Scope
from qa.settings import Settings
from qa.syndication import Postings, affected, copy_groups, shingles
from tests.conftest import DATA

NEWS = DATA / "news"
WIRE = "2024-11-04-global-wire-troops-front.md"
COPIES = {WIRE, "2024-11-04-daily-courier-spy-agency.html", "northern-times-feed.jsonl#line 1"}


def _articles():
    return [a for p in list_corpus(NEWS)[0] for a in read_file(p, NEWS, 10**8)]


def test_copies_are_grouped_and_same_topic_stories_are_not():
    articles = _articles()
    groups = copy_groups({a.id: shingles(a.text) for a in articles})
    location = {a.id: a.location for a in articles}
    assert [{location[i] for i in g} for g in groups] == [COPIES]


def test_regrouping_only_what_changed_gives_the_groups_of_a_full_grouping():
    articles = _articles()
    signatures = {a.id: shingles(a.text) for a in articles}
    full = copy_groups(signatures)
    wire = {a.id for a in articles if a.location == WIRE}
    for added in ({a.id for a in articles if a.location in COPIES - {WIRE}},  # copies of an earlier story
                  wire,  # the first copy, others earlier
                  {a.id for a in articles if "exports" in a.location}):  # no copies at all
        before = copy_groups({i: s for i, s in signatures.items() if i not in added})
        assert copy_groups(signatures, known=(before, added)) == full
    # removed: the copy that linked the group, and a copy changed into another story
    without = {i: s for i, s in signatures.items() if i not in wire}
    assert copy_groups(without, known=(full, wire)) == copy_groups(without)
    other = next(a for a in articles if a.location in COPIES - {WIRE})
    changed = {**signatures, other.id: shingles("An entirely different story about harvests and rain.")}
    assert copy_groups(changed, known=(full, {other.id})) == copy_groups(changed) != full


def test_regrouping_from_stored_postings_gives_the_groups_of_a_full_grouping():
    """An update holds in memory only the articles it touched and their groups' members; the
    others are found through the previous build's postings."""
    articles = _articles()
    signatures = {a.id: shingles(a.text) for a in articles}
    wire = {a.id for a in articles if a.location == WIRE}
    other = next(a for a in articles if a.location in COPIES - {WIRE})
    cases = []  # (earlier signatures, current signatures, touched)
    for added in ({a.id for a in articles if a.location in COPIES - {WIRE}}, wire,
                  {a.id for a in articles if "exports" in a.location}):
        cases.append(({i: s for i, s in signatures.items() if i not in added}, signatures, added))
    lone = {**signatures, "lone": shingles("Quux blorf wibble zorp: words no other article shares.")}
    cases.append((signatures, lone, {"lone"}))  # an article sharing nothing: the earlier groups stay
    cases.append((signatures, {i: s for i, s in signatures.items() if i not in wire}, wire))  # removed
    changed = {**signatures, other.id: shingles("An entirely different story about harvests and rain.")}
    cases.append((signatures, changed, {other.id}))
    for earlier, current, touched in cases:
        before = copy_groups(earlier)
        memory = {i: current[i] for i in affected(before, touched) & current.keys()}
        regrouped = copy_groups(memory, known=(before, touched), base=Postings.of(earlier))
        assert regrouped == copy_groups(current)
    # Copies held in memory (a delta's articles) and in the stored postings at once, found there
    # through a new copy of theirs: the story is one group, each copy in it once.
    wire_text = next(a.text for a in articles if a.location == WIRE)
    fourth = {**signatures, "fourth": shingles("Another outlet's headline. " + wire_text)}
    memory = {i: fourth[i] for i in {a.id for a in articles if a.location in COPIES} | {"fourth"}}
    regrouped = copy_groups(memory, known=(copy_groups(signatures), {"fourth"}), base=Postings.of(signatures))
    assert regrouped == copy_groups(fourth) and len(regrouped) == 1 and len(regrouped[0]) == 4
    # The copy removed by an earlier update is still in the stored postings; `gone` passes it over
    # when another copy changes and the third is regrouped.
    without = {i: s for i, s in signatures.items() if i not in wire}
    now = {**without, other.id: changed[other.id]}
    before = copy_groups(without)
    memory = {i: now[i] for i in affected(before, {other.id}) & now.keys()}
    stored = Postings.of(signatures)
    assert copy_groups(memory, known=(before, {other.id}), base=stored) != copy_groups(now)
    gone = replace(stored, gone=frozenset(wire))
    assert copy_groups(memory, known=(before, {other.id}), base=gone) == copy_groups(now) == []


def test_updates_group_copies_as_a_whole_build_does(tmp_path, fake):
    """Copies arriving, changing and leaving one update at a time (delta builds, grouped through
    the base's stored postings) end up grouped as a whole build of the same folder groups them."""
    from qa import store

    corpus = tmp_path / "corpus"
    shutil.copytree(NEWS, corpus)
    held = {name: (corpus / name.split("#")[0]).read_bytes() for name in COPIES - {WIRE}}
    for name in held:
        (corpus / name.split("#")[0]).unlink()
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index")
    build_index(settings, fake)
    base = store.current_build_dir(settings.index_dir)
    assert (base / "shingle-owners.npy").exists()

    def groups(index_dir):
        snap = store.load_snapshot(index_dir)
        return sorted(sorted(snap.articles[i].location for i in g) for g in set(snap.copies.values()))

    def whole():
        other = tmp_path / f"whole-{len(list(tmp_path.iterdir()))}"
        build_index(replace(settings, index_dir=other), fake, full=True)
        return groups(other)

    expected = sorted(COPIES)
    for name, data in held.items():  # the two other copies arrive
        (corpus / name.split("#")[0]).write_bytes(data)
        assert build_index(settings, fake).delta
        assert groups(settings.index_dir) == whole()
    assert groups(settings.index_dir) == [expected]
    (corpus / WIRE).unlink()  # the copy that came first leaves
    assert build_index(settings, fake).delta
    assert groups(settings.index_dir) == whole() == [sorted(COPIES - {WIRE})]
    courier = corpus / "2024-11-04-daily-courier-spy-agency.html"  # one becomes another story
    courier.write_text("<html><body><article><h1>Harvest</h1><p>Rain came early to the valley this "
                       "year, and farmers said the harvest would be late.</p></article></body></html>")
    assert build_index(settings, fake).delta
    assert groups(settings.index_dir) == whole() == []


def test_shingles_ignore_case_and_punctuation_and_are_stable():
    a = shingles("The Pentagon said on Tuesday that about 8,000 soldiers had moved.")
    assert a.tolist() \
        == shingles("THE PENTAGON SAID, ON TUESDAY, THAT ABOUT 8,000 SOLDIERS HAD MOVED!").tolist()
    edited = shingles("The Pentagon said on Monday that about 8,000 soldiers had moved.")
    assert 0 < len(set(a.tolist()) & set(edited.tolist())) < len(a)
    assert a.dtype.name == "uint32" and a.tolist() == sorted(set(a.tolist()))


@pytest.mark.parametrize("question, units", [
    ("How many North Korean troops are in Russia?", {"troop"}),
    ("How many missiles did North Korea fire?", {"missile"}),
    ("How much did South Korea's exports rise in October?", {"%"}),
    ("How large is the new US weapons package?", {"$", "€", "£", "₹", "¥"}),
    ("What is the price of the new phone in India?", {"$", "€", "£", "₹", "¥"}),
    ("When will Kim Yong-hyun visit Washington?", {"date", "year"}),
    ("What is the latest estimate of North Korean troops in Russia?", {"troop"}),
    ("What did Lloyd Austin say?", set()),
])
def test_the_question_says_which_figures_it_asks_for(question, units):
    assert analyze(question).units == units


def test_figures_are_read_with_their_unit():
    def read(sentence, question=None):
        units = analyze(question).units if question else None
        return [(f.value, f.unit, f.text) for f in figures(sentence, units)]

    assert read("The Pentagon said that about 8,000 North Korean soldiers had moved to Kursk.") == [
        (8000.0, "troop", "8,000 North Korean soldiers")]
    assert read("Washington says some 10,000 of them have been deployed, with their troops.",
                "How many troops are there?") == [(10000.0, "troop", "10,000")]
    assert read("North Korea fired seven short-range ballistic missiles on Tuesday.") == [
        (7.0, "missile", "seven short-range ballistic missiles")]
    assert read("A new $425 million weapons package.") == [(425e6, "$", "$425 million")]
    assert read("Exports rose 4.6 percent, the 13th straight month.") == [(4.6, "%", "4.6 percent")]
    assert read("It comes in at Rs 42,900, or Rs. 500 a month, and costs ¥5,000 (300 rupees) used.") == [
        (42900.0, "₹", "Rs 42,900"), (500.0, "₹", "Rs. 500"), (5000.0, "¥", "¥5,000"),
        (300.0, "₹", "300 rupees")]
    assert read("He will visit Washington on November 20, and in 2025.") == [
        ("11-20", "date", "November 20"), ("2025", "year", "2025")]
    assert read("The city has hosted the final nine times since the stadium opened.") == [
        (9.0, "time", "nine times")]
    assert [analyze(q).outcome for q in ("How many soldiers were killed?", "How many soldiers moved?")] == [
        "killed", None]


def test_figures_differ_only_when_no_value_is_shared():
    ten = figures("some 10,000 North Korean troops")
    assert differ(ten, figures("8,000 North Korean soldiers")) == ("troop", None)
    assert differ(ten, figures("about 10,000 troops")) is None
    assert differ(ten, figures("40 tanks")) is None  # nothing in common to compare
    assert differ(figures("rose 4.6 percent"), figures("grew 4.6% while chips rose 40%")) is None
    killed = figures("about 100 North Korean soldiers had been killed in Kursk")
    assert killed[0].outcome == "killed" and differ(ten, killed) is None  # different things counted
    assert differ(killed, figures("its forces had killed 200 North Korean soldiers")) == ("troop", "killed")


def test_latest_questions_are_recognised():
    assert asks_latest("What is the latest estimate?") and asks_latest("How many are there now?")
    assert not asks_latest("How many troops were deployed in October?")


@pytest.fixture(scope="module")
def news(tmp_path_factory, real_embedder):
    root = tmp_path_factory.mktemp("news")
    shutil.copytree(NEWS, root / "corpus")
    settings = Settings(corpus_dir=root / "corpus", index_dir=root / "index")
    report = build_index(settings, real_embedder)
    assert report.copy_groups == 1
    engine = Engine(settings, real_embedder)
    location = {s.article.location: s.article.id for s in engine.articles()}
    return engine, location


def test_a_syndicated_story_is_cited_once_with_the_outlets_that_carried_it(news):
    engine, _ = news
    a = engine.answer("Where are the North Korean soldiers sent to Russia moving?")
    assert a.found
    wire = [c for c in a.citations if "begun moving toward the front line" in c.sentence
            or "started moving toward the front line" in c.sentence]
    assert len(wire) == 1  # three copies, one citation
    cited = wire[0]
    assert (cited.source.location, cited.source.outlet, cited.source.date) \
        == (WIRE, "Global Wire", "2024-11-04")  # the earliest copy
    assert {c.location for c in cited.also_in} == COPIES - {WIRE}
    assert {c.outlet for c in cited.also_in} == {"Daily Courier", "Northern Times"}


def test_sources_that_state_different_figures_are_shown_together(news):
    engine, location = news
    pair = {location["2024-10-31-us-skorea-call-for-north-to-withdraw-troops.txt"],
            location["2024-11-05-pentagon-briefing.md"]}
    a = engine.answer("How many North Korean troops are in Russia?",
                      options=AnswerOptions(max_sentences=1, scope=Scope(articles=frozenset(pair))))
    assert a.found and a.disagreement is not None and a.disagreement.unit == "troop"
    claims = a.disagreement.claims
    assert [(c.figure, c.date) for c in claims] == [("10,000", "2024-10-31"),
                                                     ("8,000 North Korean soldiers", "2024-11-05")]
    assert len(a.citations) == 2  # both quoted, past max_sentences
    number = {c.source.date: c.number for c in a.citations}
    assert [c.number for c in claims] == [number["2024-10-31"], number["2024-11-05"]]  # a timeline
    assert a.text.endswith(f"The sources differ: 10,000 [{number['2024-10-31']}] (2024-10-31); 8,000 North "
                           f"Korean soldiers [{number['2024-11-05']}] (2024-11-05).")
    json.dumps(a.to_json())  # the disagreement is part of the JSON answer


def test_sources_that_agree_are_not_flagged(news):
    engine, location = news
    pair = {location["2024-10-31-us-skorea-call-for-north-to-withdraw-troops.txt"],
            location["2024-11-06-nato-confirms-deployment.md"]}
    a = engine.answer("How many North Korean troops have been deployed to Russia?",
                      options=AnswerOptions(scope=Scope(articles=frozenset(pair))))
    assert a.found and a.disagreement is None
    assert len({c.source.location for c in a.citations}) == 2


def test_latest_question_leads_with_the_newest_article(news):
    engine, _ = news
    a = engine.answer("What is the latest estimate of North Korean troops in Russia?")
    assert a.citations[0].source.location == "2024-11-19-troop-estimate-rises.md"
    dates = [c.source.date for c in a.citations]
    assert len(set(dates)) > 1 and dates == sorted(dates, reverse=True)
    claims = [c.date for c in a.disagreement.claims]
    assert claims == sorted(claims)  # the figures that differ, as a timeline
    assert [c.number for c in a.citations] == list(range(1, len(a.citations) + 1))


def test_figures_of_what_happened_to_some_are_not_set_against_the_total(news):
    engine, _ = news
    a = engine.answer("What is the latest estimate of North Korean troops in Russia?")
    assert a.disagreement is not None
    figures_stated = " ".join(c.figure for c in a.disagreement.claims)
    assert "11,000" in figures_stated and "100 North Korean soldiers" not in figures_stated


def test_how_many_questions_rank_figures_of_what_they_ask(news):
    """Soldiers moved and soldiers killed are counted in the same unit; the question says which."""
    engine, _ = news
    moved = engine.answer("How many North Korean soldiers moved to Kursk?")
    assert moved.found and not any("killed" in c.sentence for c in moved.citations)
    killed = engine.answer("How many North Korean soldiers have been killed?")
    best = sorted(killed.citations, key=lambda c: -c.score)[:2]
    assert [c.source.location for c in best] == ["2024-11-20-kyiv-casualties.md",
                                                 "2024-11-21-seoul-casualties.md"]


def test_date_filters(news):
    engine, _ = news
    a = engine.answer("How many North Korean troops are in Russia?",
                      options=AnswerOptions(scope=Scope(since=date(2024, 11, 10))))
    assert a.found and all(c.source.date >= "2024-11-10" for c in a.citations)
    a = engine.answer("How many North Korean troops are in Russia?",
                      options=AnswerOptions(scope=Scope(until=date(2024, 11, 1))))
    assert a.found and {c.source.date for c in a.citations} == {"2024-10-31"}


def test_news_eval_measures_copies_disagreement_and_latest(news):
    engine, _ = news
    spec = json.loads((DATA / "news-eval.json").read_text(encoding="utf-8"))
    report = asdict(evaluate_news(engine, spec))
    print("news eval:", report)
    assert report["copy_pairs"] == 3 and report["copy_precision"] == report["copy_recall"] == 1.0
    assert report["disagreement_cases"] == 24 and report["disagreement_accuracy"] >= 0.9
    assert report["held_out_cases"] == 6 and report["held_out_accuracy"] >= 4 / 6
    assert report["latest_cases"] == 3 and report["latest_top1"] >= 2 / 3
    assert report["claims_ordered"] == 1.0


def test_cli_status_lists_copies_and_ask_filters_dates(tmp_path: Path, capsys):
    shutil.copytree(NEWS, tmp_path / "corpus")
    paths = ["--corpus", str(tmp_path / "corpus"), "--index", str(tmp_path / "index")]
    assert main(["index", "--quiet", *paths]) == 0
    capsys.readouterr()
    assert main(["status", *paths]) == 0
    out = capsys.readouterr().out
    assert "syndicated stories:    1 (carried by 3 articles)" in out
    assert all(name in out for name in COPIES) and "Daily Courier" in out
    assert main(["ask", "How many North Korean troops are in Russia?", "--since", "2024-11-19",
                 "--until", "2024-11-19", "--json", *paths]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["found"] and {c["date"] for c in answer["citations"]} == {"2024-11-19"}


def test_cli_rejects_a_bad_date(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["ask", "troops?", "--since", "yesterday"])
    assert exc.value.code == 2
    assert "is not a date like 2024-10-31" in capsys.readouterr().err
