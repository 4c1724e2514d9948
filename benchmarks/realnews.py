"""HTML ingestion on real saved news pages: ours vs trafilatura (defaults, favor_precision).

    python benchmarks/realnews.py [FOLDER] [--details] [--ablate] [--out benchmarks/results/realnews.md]

FOLDER defaults to ../shared/realnews (pages/ and gold.json, see its README). Prints a markdown
table side by side and the failures left for ours by kind (`--details`: every failure, page by
page). `--ablate` also runs ours with each of its rules switched off in turn and prints what each
rule gains. `--out` writes the table with the command, date and machine.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa import articles  # noqa: E402
from qa.evaluation.pages import (  # noqa: E402
    Report,
    evaluate,
    failure_counts,
    ours,
    trafilatura_default,
    trafilatura_precision,
)
from qa.pages import boilerplate, extract  # noqa: E402

COLUMNS = ("completeness", "cleanliness", "clean_and_complete", "title", "date", "author", "outlet")


def table(reports: list[Report]) -> str:
    """Markdown table, one row per extractor."""
    lines = ["| extractor | " + " | ".join(c.replace("_", " ") for c in COLUMNS) + " |",
             "|---|" + "---|" * len(COLUMNS)]
    for report in reports:
        lines.append(f"| {report.name} | " + " | ".join(f"{report.metrics[c]:.3f}" for c in COLUMNS) + " |")
    return "\n".join(lines)


def failures(report: Report, details: bool) -> str:
    lines = [f"Failures left for {report.name} (kind: pages):"]
    for kind, files in sorted(failure_counts(report).items()):
        lines.append(f"- {kind}: {len(files)} ({', '.join(files)})")
    if details:
        for score in report.pages:
            lines += [f"  {score.file}: {f}" for f in score.failures]
    return "\n".join(lines)


@contextlib.contextmanager
def _switched_off(rule: str) -> Iterator[None]:
    """Run ours with one rule off: a line rule of qa.pages.boilerplate, or a step of qa.pages.extract
    (the dateline step in qa.articles too, which takes datelines off every format)."""
    saved_rules, saved_mixed = boilerplate.RULES, boilerplate.mixed_script
    steps = {"drop_caps": ("rejoin_drop_caps", lambda tree: None),
             "teasers_in_links": ("drop_teasers", lambda tree: None),
             "standfirst": ("_standfirst", lambda description, blocks: ""),
             "json_ld_body": ("body_from_json_ld", lambda blocks, article_body: blocks),
             "dateline": ("split_dateline", lambda paragraph: ("", 0))}
    saved_step = None
    if rule == "mixed_script":
        boilerplate.mixed_script = lambda paragraph: False
    elif rule in steps:
        name, replacement = steps[rule]
        saved_step = (name, getattr(extract, name))
        setattr(extract, name, replacement)
        if rule == "dateline":
            articles.split_dateline = replacement
    else:
        boilerplate.RULES = tuple(r for r in saved_rules if r.name != rule)
    try:
        yield
    finally:
        boilerplate.RULES, boilerplate.mixed_script = saved_rules, saved_mixed
        if saved_step:
            setattr(extract, *saved_step)
            articles.split_dateline = extract.split_dateline


def targets(ours_: Report, default: Report, precision: Report) -> str:
    """The issue's targets, each with the value reached."""
    m, d, p = ours_.metrics, default.metrics, precision.metrics
    checks = [("completeness >= trafilatura default - 0.01", m["completeness"], d["completeness"] - 0.01),
              ("cleanliness >= better trafilatura mode + 0.05", m["cleanliness"],
               max(d["cleanliness"], p["cleanliness"]) + 0.05),
              ("title >= 0.95", m["title"], 0.95), ("date >= 0.95", m["date"], 0.95),
              ("author >= 0.90", m["author"], 0.90), ("outlet >= 0.90", m["outlet"], 0.90)]
    lines = ["| target | ours | bound | met |", "|---|---|---|---|"]
    lines += [f"| {name} | {value:.3f} | {bound:.3f} | {'yes' if value >= bound else 'NO'} |"
              for name, value, bound in checks]
    return "\n".join(lines)


NOTES = """Notes. Snippet shares are pooled over all snippets; metadata shares are over the pages whose
gold gives the field. Ours is the product's own reading of each file (qa.articles.parse_bytes:
decoding, extraction, datelines, headings), scored on everything the index holds for it (title,
headings, text with its standfirst); trafilatura on its `extract` output of the same decoded text. \
Failures left for ours where the gold asks
for something the issue rules out: a `with` snippet that includes the dateline (the dateline goes
to `place`), the text of an embedded tweet (embedded posts are dropped), a `without` snippet that
is the headline itself (the title is part of the indexed text), a byline with an affiliation
("... from University of Michigan": authors are people only). axios-future.html names no author on
the page, and its second story is outside trafilatura's main block. The ablation table switches
off one rule at a time; rules that change nothing here (byline, comments, gallery, drop caps) are
required by the issue and covered by tests/test_page.py."""


def ablation(folder: Path, full: Report) -> str:
    rules = [r.name for r in boilerplate.RULES] + ["mixed_script", "drop_caps", "teasers_in_links",
                                                    "standfirst", "json_ld_body", "dateline"]
    lines = ["| rule switched off | completeness | cleanliness | clean and complete | pages changed |",
             "|---|---|---|---|---|"]
    for rule in rules:
        with _switched_off(rule):
            report = evaluate(folder, ours, f"ours without {rule}")
        changed = [a.file for a, b in zip(full.pages, report.pages, strict=True) if a.failures != b.failures]
        m = report.metrics
        lines.append(f"| {rule} | {m['completeness']:.3f} | {m['cleanliness']:.3f} | "
                     f"{m['clean_and_complete']:.3f} | {', '.join(changed) or '-'} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=ROOT.parent / "shared" / "realnews")
    parser.add_argument("--details", action="store_true", help="print every failure of ours, page by page")
    parser.add_argument("--ablate", action="store_true", help="measure each of our rules by switching it off")
    parser.add_argument("--out", type=Path, help="write the results as markdown to this file")
    args = parser.parse_args(argv)
    reports = [evaluate(args.folder, ours, "qa (qa.articles on each file)"),
               evaluate(args.folder, trafilatura_default, "trafilatura default"),
               evaluate(args.folder, trafilatura_precision, "trafilatura favor_precision")]
    parts = [table(reports), targets(*reports), failures(reports[0], args.details)]
    if args.ablate:
        parts.append(ablation(args.folder, reports[0]))
    text = "\n\n".join(parts + [NOTES])
    print(text)
    if args.out:
        command = "python benchmarks/realnews.py " + " ".join(argv if argv is not None else sys.argv[1:])
        machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
        header = (f"# HTML ingestion on real news pages\n\nCommand: `{command.strip()}`; {date.today()}; "
                  f"machine: {machine}; {len(reports[0].pages)} pages of {args.folder.name}.\n\n")
        args.out.write_text(header + text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
