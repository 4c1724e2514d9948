"""The `qa` command line: thin calls into the package, one-line errors, non-zero exit codes."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from qa.errors import QAError
from qa.settings import Settings

if TYPE_CHECKING:
    from qa.answering import Engine
    from qa.embedding import Embedder, Progress


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--corpus", type=Path, metavar="DIR",
                        help="articles folder (env QA_CORPUS_DIR; default ./corpus)")
    common.add_argument("--index", type=Path, metavar="DIR",
                        help="index folder (env QA_INDEX_DIR; default ./index)")
    common.add_argument("--model", help="sentence-transformers model name or folder (env QA_MODEL)")
    common.add_argument("--database", metavar="URL", help="postgresql://... : the index in PostgreSQL + "
                        "pgvector instead of the folder (env QA_DATABASE_URL)")
    parser = argparse.ArgumentParser(prog="qa", description="Ask questions about news articles; "
                                     "answers are sentences quoted from them, with citations.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser("index", parents=[common], help="build or update the index of the corpus")
    p.add_argument("--full", action="store_true", help="rebuild everything, re-embedding all articles")
    p.add_argument("--wait", action="store_true", help="wait for a running build instead of refusing")
    p.add_argument("--chunk-tokens", type=int,
                   help="token budget of a chunk (env QA_CHUNK_TOKENS; default 160)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    sub.add_parser("status", parents=[common], help="what the index holds and whether it is up to date")
    p = sub.add_parser("add", parents=[common], help="fetch web pages into the corpus, then update the index")
    p.add_argument("urls", nargs="+", metavar="URL", help="http(s) address of a news page")
    _indexing_flags(p)
    p = sub.add_parser("feeds", help="follow RSS or Atom feeds: their new articles are fetched at each sync")
    feeds = p.add_subparsers(dest="feeds_command", required=True, metavar="ACTION")
    q = feeds.add_parser("add", parents=[common], help="follow the feed at URL (checked by fetching it once)")
    q.add_argument("url", metavar="URL")
    feeds.add_parser("list", parents=[common], help="the followed feeds, with their last sync")
    q = feeds.add_parser("remove", parents=[common], help="stop following a feed (its pages stay)")
    q.add_argument("url", metavar="URL")
    q = feeds.add_parser("sync", parents=[common], help="fetch the new articles of every feed, then update "
                         "the index")
    _indexing_flags(q)
    p = sub.add_parser("ask", parents=[common], help="answer a question from the indexed articles")
    p.add_argument("question")
    p.add_argument("-n", "--sentences", type=int,
                   help="most sentences quoted (env QA_MAX_SENTENCES; default 3)")
    p.add_argument("--min-confidence", type=float, help="strictness of 'not found' (env QA_MIN_CONFIDENCE; "
                   "default 0.41, calibrated; higher declines more)")
    p.add_argument("--since", type=_date, metavar="YYYY-MM-DD", help="only articles published on or after")
    p.add_argument("--until", type=_date, metavar="YYYY-MM-DD", help="only articles published on or before")
    p.add_argument("--json", action="store_true", help="print the answer as one JSON object")
    p = sub.add_parser("eval", parents=[common], help="measure quality: answers on a SQuAD, qa-news-eval or "
                       "qa-questions file, or ingestion on a folder of pages with gold.json")
    p.add_argument("file", type=Path, help="SQuAD v1.1/v2.0 JSON, a qa-news-eval or qa-questions JSON "
                   "(tests/data/news-eval.json, tests/data/realnews-questions.json), or a folder with "
                   "gold.json and pages/ (../shared/realnews)")
    p.add_argument("--foreign", type=Path, metavar="FILE",
                   help="SQuAD file whose questions must all be declined")
    p.add_argument("--json", action="store_true", help="print the report as one JSON object")
    p.add_argument("--details", nargs="?", const="-", metavar="FILE.jsonl",
                   help="one row per question (or each page's failures) to FILE, or to stdout")
    return parser


def _indexing_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-index", action="store_true", help="only fetch: leave the index as it is")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date like 2024-10-31") from exc


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_env(corpus_dir=args.corpus, index_dir=args.index, model=args.model,
                                     database_url=getattr(args, "database", None),
                                     chunk_tokens=getattr(args, "chunk_tokens", None))
        commands = {"index": _index, "status": _status, "ask": _ask, "eval": _eval, "add": _add,
                    "feeds": _feeds}
        return commands[args.command](settings, args)
    except QAError as exc:
        print(f"qa: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("qa: interrupted", file=sys.stderr)
        return 130


def _embedder(settings: Settings) -> Embedder:
    from qa.embedding import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder.from_settings(settings)


def _engine(settings: Settings) -> Engine:
    from qa.answering import Engine

    return Engine(settings, _embedder(settings))


def _index(settings: Settings, args: argparse.Namespace) -> int:
    from qa.answering import update_index

    with _progress_bar(args.quiet) as progress:
        report = update_index(settings, _embedder(settings), full=args.full, progress=progress,
                              wait=args.wait)
    print("\n".join(report.summary_lines()))
    return 0


def _add(settings: Settings, args: argparse.Namespace) -> int:
    from qa.library import add_web_pages
    from qa.render import add_lines

    report = add_web_pages(settings, args.urls)
    print("\n".join(add_lines(report)))
    if not (report.added or report.already_present):
        return 2
    return _update_index(settings, args)


def _feeds(settings: Settings, args: argparse.Namespace) -> int:
    from qa import feeds, library
    from qa.render import sync_lines

    if args.feeds_command == "add":
        feed = library.follow_feed(settings, args.url)
        print(f"following {feed.title} ({feed.url}); `qa feeds sync` fetches its articles")
    elif args.feeds_command == "remove":
        feed = feeds.remove_feed(settings.corpus_dir, args.url)
        print(f"stopped following {feed.title} ({feed.url}); its pages stay in the corpus")
    elif args.feeds_command == "list":
        followed = feeds.list_feeds(settings.corpus_dir)
        for f in followed:
            print(f"{f.title}\n    {f.url}\n    last sync: {f.last_sync or 'never'}"
                  f"{' - ' + f.last_result if f.last_result else ''}")
        if not followed:
            print("no feeds are followed yet: `qa feeds add URL`")
    else:
        report = feeds.sync(settings.corpus_dir, fetch_options=library.fetch_options(settings))
        print("\n".join(sync_lines(report)))
        if report.feeds and all(f.error is not None for f in report.feeds):
            return 2
        return _update_index(settings, args)
    return 0


def _update_index(settings: Settings, args: argparse.Namespace) -> int:
    """After `qa add` or `qa feeds sync`: the index updated (unless --no-index), its report printed."""
    if args.no_index:
        return 0
    from qa.answering import update_index

    with _progress_bar(args.quiet) as progress:
        report = update_index(settings, _embedder(settings), progress=progress, wait=True)
    print("\n".join(report.summary_lines()))
    return 0


@contextmanager
def _progress_bar(quiet: bool) -> Iterator[Progress | None]:
    """An embedding progress bar on stderr (none when quiet)."""
    if quiet:
        yield None
        return
    bar = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            from tqdm import tqdm

            bar = tqdm(total=total, desc="embedding", unit="text", file=sys.stderr)
        bar.update(done - bar.n)

    try:
        yield progress
    finally:
        if bar is not None:
            bar.close()


def _status(settings: Settings, args: argparse.Namespace) -> int:
    status = _engine(settings).status()
    for key, value in status.rows():
        print(f"{key + ':':22} {value}")
    for group in status.copy_groups:
        first = group[0]
        print(f"\n{first.title} ({first.date or 'undated'})")
        for s in group:
            print(f"    {s.outlet or '-':20} {s.date or 'undated'}  {s.location}")
    return 0


def _ask(settings: Settings, args: argparse.Namespace) -> int:
    import json

    from qa.answering import AnswerOptions
    from qa.retrieval import Scope

    options = AnswerOptions(max_sentences=args.sentences, min_confidence=args.min_confidence,
                            scope=Scope(since=args.since, until=args.until))
    answer = _engine(settings).answer(args.question, options=options)
    if args.json:
        print(json.dumps(answer.to_json(), ensure_ascii=False))
        return 0
    print(answer.text)
    if answer.closest:
        print("\nClosest passages (not an answer):")
    for c in answer.citations or answer.closest:
        s = c.source
        by = ", ".join(s.authors)
        print(f"\n[{c.number}] {s.title} - {s.date or 'undated'}{' - by ' + by if by else ''}"
              f"{' - ' + s.outlet if s.outlet else ''}{' - filed from ' + s.place if s.place else ''}"
              f"\n    {s.location}{' ' + s.url if s.url else ''}"
              f"{chr(10) + '    ' + c.heading if c.heading else ''}\n    ...{c.passage}...")
        if c.also_in:
            print("    also in: " + "; ".join(f"{x.outlet or x.title} ({x.date or 'undated'}, {x.location})"
                                          for x in c.also_in))
    return 0


def _eval(settings: Settings, args: argparse.Namespace) -> int:
    import json
    from dataclasses import asdict

    from qa import evaluation

    if evaluation.is_page_folder(args.file):
        return _eval_pages(args)
    details: list[dict] | None = [] if args.details else None
    embedder = _embedder(settings)
    if evaluation.is_news_eval(args.file):
        report = evaluation.run_news_eval(settings, embedder, args.file)
    elif evaluation.is_questions_file(args.file):
        report = evaluation.run_questions_eval(settings, embedder, args.file, details=details)
    else:
        report = evaluation.run_eval(settings, embedder, args.file, args.foreign, details=details)
    if details is not None:
        _write_lines(args.details, [json.dumps(row, ensure_ascii=False) for row in details])
    if args.json:
        print(json.dumps(asdict(report)))
        return 0
    for key, value in asdict(report).items():
        print(f"{key + ':':24} {_shown(value)}")
    return 0


def _shown(value: object) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k or '-'} {_shown(v)}" for k, v in value.items())
    return "-" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


def _eval_pages(args: argparse.Namespace) -> int:
    import json

    from qa.evaluation.pages import evaluate_pages, failure_counts

    reports = evaluate_pages(args.file)
    if args.json:
        print(json.dumps({r.name: r.metrics | {"failures": failure_counts(r)} for r in reports}))
    else:
        columns = list(reports[0].metrics)
        print(f"{'':32}" + "".join(f"{c.replace('_', ' '):>20}" for c in columns))
        for r in reports:
            print(f"{r.name:32}" + "".join(f"{r.metrics[c]:>20.3f}" for c in columns))
        print(f"\nfailures left ({reports[0].name}): " + (", ".join(
            f"{kind} {len(files)}" for kind, files in sorted(failure_counts(reports[0]).items())) or "none"))
    if args.details:
        _write_lines(args.details, [f"{p.file}: {f}" for p in reports[0].pages for f in p.failures])
    return 0


def _write_lines(target: str, lines: list[str]) -> None:
    """Lines to a file, or to stdout for "-"."""
    text = "\n".join(lines) + ("\n" if lines else "")
    if target == "-":
        sys.stdout.write(text)
    else:
        Path(target).write_text(text, encoding="utf-8")
