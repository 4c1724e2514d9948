"""What a build did, as `build_index` returns it, and its summary for people."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class BuildReport:
    build_id: str | None  # None: nothing changed, no new build written
    added: list[str]  # article locations
    changed: list[str]
    removed: list[str]
    unchanged: int
    skipped: list[tuple[str, str]]  # (file, reason)
    duplicates: list[tuple[str, str]]  # (file, same text as)
    full_rebuild_reason: str | None
    articles: int
    sentences: int
    chunks: int
    embedded: int  # texts embedded in this build
    copy_groups: int  # stories carried by several articles (syndicated copies)
    delta: bool  # True: only the changes were written, beside the previous build's base
    seconds: float

    def headline(self) -> str:
        counts = f"{self.articles} articles, {self.sentences} sentences, {self.chunks} chunks"
        if self.build_id is None:
            return f"index is up to date: {counts}"
        return (f"built {self.build_id}: {counts} ({len(self.added)} added, {len(self.changed)} changed, "
                f"{len(self.removed)} removed, {self.unchanged} unchanged, {len(self.skipped)} skipped; "
                f"{self.embedded} texts embedded in {self.seconds:.1f} s)")

    def details(self) -> list[str]:
        """One line per thing worth saying: why everything was rebuilt, each file added, changed,
        removed, skipped (with the reason) or indexed once for a duplicate text."""
        lines = ([f"full rebuild: {self.full_rebuild_reason}"]
                 if self.full_rebuild_reason and self.build_id else [])
        for label, items in (("added", self.added), ("changed", self.changed), ("removed", self.removed)):
            lines += [f"{label:9} {item}" for item in items]
        lines += [f"skipped   {name}: {reason}" for name, reason in self.skipped]
        lines += [f"duplicate {name}: same text as {same}, indexed once" for name, same in self.duplicates]
        return lines

    def summary_lines(self) -> list[str]:
        """The details, then the headline: what `qa index` prints."""
        return self.details() + [self.headline()]
