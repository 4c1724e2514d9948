"""Texts -> unit-length float32 vectors, behind a small `Embedder` protocol.

The production embedder (`SentenceTransformerEmbedder`) routes each call to one of two runtimes of
the same model: torch (sentence-transformers) for index builds, ONNX Runtime for questions and
small updates. `router` holds that policy; `torch_model` and `onnx_model` each know one runtime;
`model_files` reads what a model folder says about itself. Tests can pass any object with the
`Embedder` methods (a deterministic fake).
"""

from qa.embedding.model_files import resolve_model_path
from qa.embedding.onnx_model import onnx_model_file
from qa.embedding.protocol import Embedder, Progress
from qa.embedding.router import ONNX_BUILD_LIMIT, SMALL_BATCH, SentenceTransformerEmbedder
from qa.embedding.torch_model import use_bf16

__all__ = ["ONNX_BUILD_LIMIT", "SMALL_BATCH", "Embedder", "Progress", "SentenceTransformerEmbedder",
           "onnx_model_file", "resolve_model_path", "use_bf16"]
