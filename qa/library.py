"""The corpus folder as a library: list indexed articles, add uploaded files safely, delete files.

Everything a browser sends is treated as hostile: a file name is reduced to a safe base name
(no folders, no dots in front, no control characters), only supported extensions and sizes are
accepted, and nothing is ever written outside the corpus folder.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from qa.articles import SUPPORTED
from qa.errors import QAError


class UploadError(QAError):
    """An uploaded or deleted file was refused; the message says why."""


@dataclass(frozen=True)
class Added:
    name: str  # the file name written in the corpus folder
    original: str


def safe_name(name: str) -> str:
    """A harmless file name from whatever the browser claims (`../../x.txt` -> `x.txt`)."""
    name = unicodedata.normalize("NFC", name.replace("\\", "/").split("/")[-1])
    name = "".join(c for c in name if c.isprintable() and c not in '<>:"|?*\x00')
    name = re.sub(r"\s+", "-", name.strip()).lstrip(".-")
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    stem = re.sub(r"-{2,}", "-", re.sub(r"[^\w.-]", "-", stem))[:120].strip(".-") or "article"
    return f"{stem}.{ext.lower()}" if ext else stem


def add_file(corpus_dir: Path, source: Path, original_name: str, max_bytes: int) -> Added:
    """Copy an uploaded temporary file into the corpus under a safe, unused name."""
    name = safe_name(original_name)
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED:
        raise UploadError(f"{original_name}: unsupported file type {suffix or '(none)'!r}; "
                          f"accepted: {', '.join(SUPPORTED)}")
    size = source.stat().st_size
    if size > max_bytes:
        raise UploadError(f"{original_name}: {size / 1e6:.1f} MB is over the {max_bytes / 1e6:.1f} MB limit")
    if size == 0:
        raise UploadError(f"{original_name}: empty file")
    corpus_dir.mkdir(parents=True, exist_ok=True)
    stem, ext = Path(name).stem, Path(name).suffix
    for n in range(1000):
        candidate = corpus_dir / (f"{stem}{ext}" if n == 0 else f"{stem}-{n}{ext}")
        try:
            fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            continue
        with os.fdopen(fd, "wb") as out, open(source, "rb") as src:
            while block := src.read(1 << 20):
                out.write(block)
        return Added(candidate.name, original_name)
    raise UploadError(f"{original_name}: too many files named {name}")


def add_files(corpus_dir: Path, files: list[Path], max_bytes: int) -> list[str]:
    """Add uploaded files to the corpus; one line per file: what it was stored as, or why not."""
    lines = []
    for path in files:
        try:
            lines.append(f"added {add_file(corpus_dir, path, path.name, max_bytes).name}")
        except UploadError as exc:
            lines.append(f"refused: {exc}")
    return lines


def delete_file(corpus_dir: Path, relative: str) -> None:
    """Remove one corpus file named by its path relative to the corpus (as the index lists it)."""
    root = corpus_dir.resolve()
    target = (root / relative).resolve()
    if not target.is_relative_to(root) or target == root:
        raise UploadError(f"{relative}: not a file of the corpus")
    if not target.is_file():
        raise UploadError(f"{relative}: no such file in the corpus")
    target.unlink()
