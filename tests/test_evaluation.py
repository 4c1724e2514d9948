"""`qa eval` on a small SQuAD sample, through the real pipeline and model."""

from __future__ import annotations

import json

from qa.evaluation import contains_answer, load_squad, normalize_answer
from tests.conftest import DATA
from tests.test_cli import qa


def test_squad_normalization():
    assert normalize_answer("The Denver Broncos!") == "denver broncos"
    assert contains_answer("The AFC champion Denver Broncos defeated...", ("Denver Broncos",))
    assert not contains_answer("The Broncos' rivals", ("Denver Broncos",))
    assert not contains_answer("in 20 years", ("2",))  # whole words only


def test_loading_keeps_paragraph_spans():
    squad = load_squad(DATA / "squad-sample.json")
    (article,) = squad.articles
    spans = squad.paragraphs[article.id]
    assert len(spans) == 4
    assert article.text[spans[0][0]:spans[0][1]].startswith("Super Bowl 50 was an American football game")
    impossible = [q for q in squad.questions if not q.answers]
    assert [q.id for q in impossible] == ["impossible-1", "impossible-2"]


def test_qa_eval_json_report(tmp_path):
    result = qa("eval", str(DATA / "squad-sample.json"), "--foreign", str(DATA / "squad-foreign-sample.json"),
                "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    for key in ("questions", "answer_in_top1", "answer_in_top3", "answered_answerable", "declined_foreign",
                "declined_impossible", "evidence_chars_mean", "latency_p50_ms", "latency_p95_ms"):
        assert key in report
    assert report["questions"] == 18 and report["answerable"] == 16
    assert report["answer_in_top3"] >= report["answer_in_top1"] >= 0.5
    assert report["declined_foreign"] >= 0.75 and report["declined_impossible"] is not None
    assert report["latency_p50_ms"] > 0 and report["evidence_chars_mean"] > 50


def test_qa_eval_table_and_bad_file(tmp_path):
    result = qa("eval", str(DATA / "squad-sample.json"))
    assert result.returncode == 0 and "answer_in_top1:" in result.stdout \
        and "declined_foreign:        -" in result.stdout
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    result = qa("eval", str(bad))
    assert result.returncode == 2 and "is not a SQuAD file" in result.stderr


def test_qa_eval_on_a_questions_file_reports_shown_order_and_details(tmp_path):
    details = tmp_path / "details.jsonl"
    result = qa("eval", str(DATA / "questions-sample.json"), "--json", "--details", str(details))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["questions"] == 3 and report["foreign_questions"] == 2
    assert report["top1_by_score"] >= 2 / 3 and report["any_citation"] == 1.0 \
        and report["declined_foreign"] == 1.0
    assert report["furniture_any"] == 0
    rows = [json.loads(line) for line in details.read_text().splitlines()]
    assert len(rows) == 5 and rows[0]["first_hit"] == 1 and rows[0]["cited"][0]["confidence"] > 0.41
    assert rows[-1]["foreign"] and rows[-1]["found"] is False
