"""`qa eval`: answer quality on SQuAD-format data, measured through the real pipeline.

A SQuAD file becomes a temporary corpus (one article per title, its paragraphs in order), which is
indexed with the configured model; every question is asked through the answer engine and the cited
sentences are checked against the gold answers with SQuAD's normalization.
"""

from __future__ import annotations

import json
import re
import string
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from qa.answering import Answer, Citation, Engine
from qa.articles import Article, content_hash, stable_id
from qa.embedding import Embedder, Progress
from qa.errors import QAError
from qa.evaluation.scratch import scratch_engine
from qa.normalize import normalize_text
from qa.settings import Settings

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = str.maketrans("", "", string.punctuation + "“”‘’–—")


def normalize_answer(text: str) -> str:
    """SQuAD's answer normalization: lower case, no punctuation, no articles, single spaces."""
    return " ".join(_ARTICLES.sub(" ", text.lower().translate(_PUNCT)).split())


def contains_answer(sentence: str, answers: tuple[str, ...]) -> bool:
    padded = f" {normalize_answer(sentence)} "
    return any(f" {a} " in padded for a in map(normalize_answer, answers) if a)


@dataclass(frozen=True)
class SquadQuestion:
    id: str
    question: str
    answers: tuple[str, ...]  # empty for SQuAD 2.0 impossible questions
    article_id: str
    paragraph: int  # index into SquadSet.paragraphs[article_id]


@dataclass(frozen=True)
class SquadSet:
    articles: list[Article]
    questions: list[SquadQuestion]
    paragraphs: dict[str, list[tuple[int, int]]]  # article id -> char spans of its paragraphs


def load_squad(path: Path) -> SquadSet:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))["data"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise QAError(f"{path} is not a SQuAD file ({exc}): expected {{'data': [...]}}") from exc
    articles, questions, spans = [], [], {}
    for entry in data:
        title = entry.get("title", "untitled").replace("_", " ")
        article_id = stable_id(f"squad:{path.name}:{title}")
        paras = [normalize_text(p["context"], lines_are_paragraphs=True) for p in entry["paragraphs"]]
        text, offsets = "", []
        for para in paras:
            start = len(text) + (2 if text else 0)
            text = f"{text}\n\n{para}" if text else para
            offsets.append((start, len(text)))
        articles.append(Article(id=article_id, title=title, published=None, source="SQuAD", authors=(),
                                place="", language="en", location=f"{path.name}#{title}", url="",
                                standfirst="", text=text, headings=(), content_hash=content_hash(text)))
        spans[article_id] = offsets
        for i, p in enumerate(entry["paragraphs"]):
            for qa in p["qas"]:
                answers = () if qa.get("is_impossible") else tuple(a["text"] for a in qa["answers"])
                questions.append(SquadQuestion(qa["id"], qa["question"], answers, article_id, i))
    return SquadSet(articles, questions, spans)


@dataclass(frozen=True, kw_only=True)
class EvalReport:
    questions: int
    answerable: int
    answer_in_top1: float  # the best-scored citation holds the answer
    answer_in_top3: float
    answer_first_shown: float  # the first citation in the order the answer shows them holds it
    paragraph_recall_at_1: float
    paragraph_recall_at_3: float
    answered_answerable: float
    declined_foreign: float | None
    declined_impossible: float | None
    evidence_chars_mean: float
    latency_p50_ms: float
    latency_p95_ms: float
    foreign_questions: int = 0


def write_corpus(squad: SquadSet, corpus_dir: Path) -> None:
    """The SQuAD articles as JSON articles, indexed by the normal pipeline."""
    corpus_dir.mkdir(parents=True, exist_ok=True)
    for i, a in enumerate(squad.articles):
        record = {"title": a.title, "text": a.text, "source": a.source}
        (corpus_dir / f"{i:04d}.json").write_text(json.dumps(record), encoding="utf-8")


def evaluate(engine: Engine, squad: SquadSet, foreign: list[str] | None = None,
             details: list[dict] | None = None) -> EvalReport:
    """Ask every question through `engine` (an Engine over an index of `squad`) and score it;
    `details`: a list to receive one row per question (`detail_row`)."""
    import numpy as np

    by_title = {a.title: a for a in squad.articles}
    top1 = top3 = shown1 = para1 = para3 = answered = declined_imp = 0
    latencies, evidence = [], []
    answerable = [q for q in squad.questions if q.answers]
    impossible = [q for q in squad.questions if not q.answers]
    for q in squad.questions:
        t = time.perf_counter()
        answer = engine.answer(q.question)
        latencies.append((time.perf_counter() - t) * 1000)
        if details is not None:
            details.append(detail_row(answer, list(q.answers),
                                      lambda c, gold=q.answers: contains_answer(c.sentence, gold)))
        if not q.answers:
            declined_imp += not answer.found
            continue
        if not answer.found:
            continue
        answered += 1
        cites = sorted(answer.citations, key=lambda c: -c.score)  # best match first, not by date
        evidence.append(sum(len(c.sentence) for c in cites))
        hits = [contains_answer(c.sentence, q.answers) for c in cites]
        top1 += bool(hits[:1] and hits[0])
        top3 += any(hits[:3])
        shown1 += contains_answer(answer.citations[0].sentence, q.answers)
        in_para = [c.source.title in by_title
                   and _in_paragraph(squad, by_title[c.source.title].id, q, c.start)
                   for c in cites]
        para1 += bool(in_para[:1] and in_para[0])
        para3 += any(in_para[:3])
    declined_foreign = None
    for text in foreign or []:
        t = time.perf_counter()
        answer = engine.answer(text)
        latencies.append((time.perf_counter() - t) * 1000)
        declined_foreign = (declined_foreign or 0) + (not answer.found)
        if details is not None:
            details.append(detail_row(answer, [], lambda c: False) | {"foreign": True})
    n = max(len(answerable), 1)
    return EvalReport(
        questions=len(squad.questions), answerable=len(answerable), answer_in_top1=top1 / n,
        answer_in_top3=top3 / n, answer_first_shown=shown1 / n, paragraph_recall_at_1=para1 / n,
        paragraph_recall_at_3=para3 / n,
        answered_answerable=answered / n,
        declined_foreign=None if declined_foreign is None else declined_foreign / max(len(foreign), 1),
        declined_impossible=declined_imp / len(impossible) if impossible else None,
        evidence_chars_mean=float(np.mean(evidence)) if evidence else 0.0,
        latency_p50_ms=float(np.percentile(latencies, 50)),
        latency_p95_ms=float(np.percentile(latencies, 95)),
        foreign_questions=len(foreign or []))


def detail_row(answer: Answer, gold: list[str], hit: Callable[[Citation], bool]) -> dict:
    """One question's row of `qa eval --details`: the question, its gold, the cited sentences in
    the order shown, the rank (1-based, in that order) of the first that holds the answer, and
    each citation's confidence."""
    first = next((c.number for c in answer.citations if hit(c)), None)
    return {"question": answer.question, "gold": gold, "found": answer.found,
            "cited": [{"sentence": c.sentence, "location": c.source.location, "date": c.source.date,
                       "confidence": c.confidence, "score": c.score} for c in answer.citations],
            "first_hit": first}


def _in_paragraph(squad: SquadSet, article_id: str, q: SquadQuestion, start: int) -> bool:
    if article_id != q.article_id:
        return False
    lo, hi = squad.paragraphs[article_id][q.paragraph]
    return lo <= start < hi


def run_eval(settings: Settings, embedder: Embedder, path: Path, foreign_path: Path | None = None,
             progress: Progress | None = None, details: list[dict] | None = None) -> EvalReport:
    """Index `path`'s articles in a temporary folder and evaluate the answer engine on them."""
    squad = load_squad(path)
    foreign = [q.question for q in load_squad(foreign_path).questions] if foreign_path else None
    with scratch_engine(settings, embedder, lambda corpus: write_corpus(squad, corpus), progress) as engine:
        return evaluate(engine, squad, foreign, details)
