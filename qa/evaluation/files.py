"""Which kind of eval file a path is: the `format` its JSON object declares."""

from __future__ import annotations

import json
from pathlib import Path


def declared_format(path: Path) -> str | None:
    """The file's top-level `"format"` (None for a file that is not a JSON object or cannot be read)."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8")).get("format")
    except (OSError, ValueError, AttributeError):
        return None
