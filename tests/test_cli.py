"""The `qa` command line, run as a user runs it (subprocess), with the real bundled model."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT


def qa(*args: str, env: dict[str, str] | None = None, cwd=None) -> subprocess.CompletedProcess:
    full_env = dict(os.environ, HF_HUB_OFFLINE="1", **(env or {}))
    return subprocess.run([sys.executable, "-m", "qa", *args], capture_output=True, text=True,
                          env=full_env, cwd=cwd or ROOT, timeout=300)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    import shutil

    from tests.conftest import DATA

    root = tmp_path_factory.mktemp("cli")
    shutil.copytree(DATA / "articles", root / "corpus")
    result = qa("index", "--quiet", "--corpus", str(root / "corpus"), "--index", str(root / "index"))
    assert result.returncode == 0, result.stderr
    return root, result


def test_help_everywhere():
    for args in ([], ["index"], ["status"], ["ask"]):
        result = qa(*args, "--help")
        assert result.returncode == 0 and "usage: qa" in result.stdout
        if args:
            assert "--corpus DIR" in result.stdout and "--index DIR" in result.stdout


def test_index_reports_what_it_did(built):
    _, result = built
    out = result.stdout
    assert "full rebuild: no previous index" in out
    assert "added     2024-11-05-pentagon-briefing.md" in out
    assert "added     wire-roundup.jsonl#line 2" in out
    assert "built " in out and "6 articles" in out and "0 skipped" in out


def test_second_index_is_up_to_date_and_reports_changes(built):
    root, _ = built
    paths = ["--corpus", str(root / "corpus"), "--index", str(root / "index")]
    assert "index is up to date: 6 articles" in qa("index", "--quiet", *paths).stdout
    (root / "corpus" / "notes.bin").write_bytes(b"\x00\x01")
    (root / "corpus" / "empty.md").write_text("")
    result = qa("index", "--quiet", *paths)
    assert result.returncode == 0
    assert "skipped   notes.bin: unsupported file type '.bin'" in result.stdout
    assert "skipped   empty.md: empty file" in result.stdout


def test_status(built):
    root, _ = built
    result = qa("status", env={"QA_CORPUS_DIR": str(root / "corpus"), "QA_INDEX_DIR": str(root / "index")})
    assert result.returncode == 0, result.stderr
    lines = dict(line.split(":", 1) for line in result.stdout.splitlines())
    assert lines["articles"].strip() == "6"
    assert lines["model"].strip() == "all-MiniLM-L6-v2 (384 dimensions)"
    assert lines["corpus changed since"].strip() in ("no", "yes - run `qa index` to update")


def test_ask_prints_the_answer_with_citations(built):
    root, _ = built
    paths = ["--corpus", str(root / "corpus"), "--index", str(root / "index")]
    result = qa("ask", "How many North Korean soldiers moved to Kursk?", *paths)
    assert result.returncode == 0, result.stderr
    kursk = next(line for line in result.stdout.splitlines() if "about 8,000 North Korean soldiers" in line)
    number = re.search(r"\[(\d)\]", kursk).group(1)
    assert (f"[{number}] Pentagon says North Korean troops reached Kursk - 2024-11-05 - by Jane Reporter - "
            "Example Wire" in result.stdout)


def test_ask_json_has_the_documented_shape(built):
    import json

    root, _ = built
    paths = ["--corpus", str(root / "corpus"), "--index", str(root / "index")]
    data = json.loads(qa("ask", "What did Lloyd Austin call for?", "--json", *paths).stdout)
    assert data["found"] is True and "[1]" in data["text"]
    first = data["citations"][0]
    assert {"number", "title", "date", "source", "sentence", "start", "end", "passage", "score"} <= set(first)
    assert first["sentence"].startswith('"I call upon them to withdraw')
    declined = json.loads(qa("ask", "What is the best recipe for banana bread?", "--json", *paths).stdout)
    assert declined["found"] is False and declined["citations"] == []


def test_errors_are_one_line_with_nonzero_exit(tmp_path):
    result = qa("status", "--index", str(tmp_path / "none"))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"qa: error: no index in {tmp_path / 'none'}: run `qa index` to build it"]
    result = qa("index", "--corpus", str(tmp_path / "missing"), "--index", str(tmp_path / "i"))
    assert result.returncode == 2 and "corpus folder does not exist" in result.stderr
    result = qa("index", "--chunk-tokens", "5", "--corpus", str(tmp_path), "--index", str(tmp_path / "i"))
    assert result.returncode == 2 and "chunk_tokens must be between 16 and 2048" in result.stderr


def test_console_script_and_module_agree():
    script = os.path.join(os.path.dirname(sys.executable), "qa")
    result = subprocess.run([script, "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "usage: qa" in result.stdout


def test_an_added_article_is_an_update_that_status_reports(tmp_path):
    import shutil

    from tests.conftest import DATA

    shutil.copytree(DATA / "articles", tmp_path / "corpus")
    paths = ["--corpus", str(tmp_path / "corpus"), "--index", str(tmp_path / "index")]
    assert qa("index", "--quiet", *paths).returncode == 0
    (tmp_path / "corpus" / "harvest.txt").write_text(
        "Harvest report\nFarmers in the valley brought in a record wheat harvest this week.")
    result = qa("index", "--quiet", *paths)
    assert result.returncode == 0 and "added     harvest.txt" in result.stdout \
        and "7 articles" in result.stdout
    status = dict(line.split(":", 1) for line in qa("status", *paths).stdout.splitlines())
    assert status["updates"].strip().startswith("1 articles added or changed, 0 replaced or removed")
    answer = qa("ask", "How was the wheat harvest?", *paths).stdout
    assert "record wheat harvest" in answer and "Harvest report" in answer
