"""The HTTP API served beside the chat, and the JSON every API gives (REST, MCP, the Gradio `ask`).

`ServedEngine` is the engine as the server's request threads share it: answers are computed one at
a time (`ANSWERING`), the other requests wait their turn.

`api_router(engine)` builds the REST routes: `POST /api/ask` (the same object as `qa ask --json`),
`GET /api/articles`, `GET /api/status`, and an OpenAPI page for them (`/docs`, `/openapi.json`).
`server_options(engine)` is what the web app passes to Gradio's `launch(app_kwargs=...)` so that
these routes come first on the one server, and the MCP endpoint is behind the same login.

Access: with logins configured (`QA_AUTH`, `QA_AUTH_FILE`) or an `QA_API_TOKEN`, every request
needs HTTP Basic credentials of one of the users or `Authorization: Bearer <token>`; without any,
the API is open (the server binds to the loopback address by default). Errors are JSON
`{"error": message}`: 400 or 422 for a malformed request, 401 without valid credentials, 503
while there is no usable index; a bad request is never a 500.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import threading
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, fields
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Receive, Scope, Send

from qa.answering import Answer, AnswerOptions, Engine
from qa.answering.compose import source
from qa.answering.engine import DEFAULT_OPTIONS
from qa.answering.processes import AnswerProcesses
from qa.errors import (
    DatabaseError,
    IndexCorruptError,
    IndexMismatchError,
    IndexMissingError,
    QAError,
    QuestionError,
)
from qa.question import history_questions
from qa.retrieval import LiveIndex
from qa.retrieval import Scope as ArticleScope

TITLE = "News QA API"
REALM = "News QA"
CHALLENGE = f'Basic realm="{REALM}", Bearer realm="{REALM}"'
MCP_PATH = "/gradio_api/mcp"  # Gradio's MCP endpoint: streamable HTTP at .../mcp/, SSE at .../mcp/sse
_UNAVAILABLE = (IndexMissingError, IndexCorruptError, IndexMismatchError)


# Requests answered side by side on one engine --------------------------------------------------

# An answer is mostly Python, holding the GIL: threads answering at once only take turns at it,
# and each one's ONNX Runtime call finds the cores taken; one at a time, the server answers at
# the engine's own rate (benchmarks/results/load-ratio.md).
ANSWERING = 1


class ServedEngine(Engine):
    """An `Engine` that computes at most `ANSWERING` answers at once from a folder index, whatever
    the number of threads asking; what the web app serves (chat, `ask`, REST and MCP share it).
    Over PostgreSQL an answer mostly waits for the database, so requests there are not queued.
    With `settings.answer_processes`, `start_processes()` moves the answers to that many worker
    processes (`qa.answering.processes`), one answer at a time each; until one is ready, and if
    all have stopped, this process answers."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._turns: AbstractContextManager = (nullcontext() if self.settings.database_url
                                               else threading.BoundedSemaphore(ANSWERING))
        self._processes: AnswerProcesses | None = None

    def start_processes(self, log: Callable[[str], object] | None = None) -> None:
        """Start the answer workers of `settings.answer_processes` (in the background); `log` is
        told when they are ready, when one cannot start and when one stops (default: printed)."""
        if self.settings.answer_processes and self._processes is None:
            self._processes = AnswerProcesses(self.settings, self.settings.answer_processes,
                                              log or _print_now)
            self._processes.start()

    def close(self) -> None:
        if self._processes is not None:
            self._processes.close()

    def answer(self, question: str, history: Sequence[str] = (),
               options: AnswerOptions = DEFAULT_OPTIONS) -> Answer:
        if self._processes is not None:
            # The build this process answers from (and notices a newer one by, as its own answers do)
            build = self.index.get().build_id if isinstance(self.index, LiveIndex) else None
            answer = self._processes.answer(question, history, options, build)
            if answer is not None:
                return answer
        with self._turns:
            return super().answer(question, history, options)


def _print_now(line: str) -> None:
    print(line, flush=True)


# The JSON shapes ------------------------------------------------------------------------------

def ask_json(engine: Engine, question: str, history: object = None, *, since: str | None = None,
             until: str | None = None, max_sentences: int | None = None,
             articles: Sequence[str] | None = None) -> dict:
    """The answer as `qa ask --json` prints it (`Answer.to_json`). `history`: the earlier questions,
    as strings or chat messages; `since` / `until`: YYYY-MM-DD; `articles`: ids to quote from.
    Raises `QuestionError` for a malformed history, date or option."""
    scope = ArticleScope.parse(since, until, articles)
    options = AnswerOptions(max_sentences=max_sentences, scope=scope)
    return engine.answer(question, history_questions(history), options).to_json()


def articles_json(engine: Engine) -> list[dict]:
    """Every indexed article, newest first: id, title, date, outlet (key "source"), authors, place,
    location in the corpus, url, and its number of sentences."""
    return [{"id": s.article.id, **source(s.article).to_json(), "sentences": s.sentences}
            for s in engine.articles()]


def status_json(engine: Engine) -> dict:
    """The `IndexStatus` fields, its sources as in citations, and its warnings."""
    status = engine.status()
    out: dict[str, Any] = {f.name: getattr(status, f.name) for f in fields(status)}
    out["copy_groups"] = [[s.to_json() for s in group] for group in status.copy_groups]
    out["not_english"] = [{**s.to_json(), "language": lang} for s, lang in status.not_english]
    out["warnings"] = status.warnings
    return out


# Who may call ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Guard:
    """The credentials the API accepts: the logins of the web app, and a bearer token."""
    users: tuple[tuple[str, str], ...] = ()
    token: str = ""

    @classmethod
    def from_engine(cls, engine: Engine) -> Guard:
        return cls(tuple(engine.settings.users()), engine.settings.api_token)

    @property
    def required(self) -> bool:
        return bool(self.users or self.token)

    def allows(self, authorization: str | None) -> bool:
        """Whether a request with this Authorization header may call the API."""
        if not self.required:
            return True
        scheme, _, value = (authorization or "").strip().partition(" ")
        value = value.strip()
        if scheme.lower() == "bearer":
            return bool(self.token) and secrets.compare_digest(value.encode(), self.token.encode())
        if scheme.lower() != "basic":
            return False
        try:
            user, sep, password = base64.b64decode(value, validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        # Every login is compared, so the time taken does not tell which user names exist.
        matches = [secrets.compare_digest(f"{user}:{password}".encode(), f"{u}:{p}".encode())
                   for u, p in self.users]
        return bool(sep) and any(matches)


UNAUTHORIZED = ("this API needs a login: HTTP Basic credentials of a user of the web app, or "
                "'Authorization: Bearer <QA_API_TOKEN>'")


def unauthorized() -> JSONResponse:
    return error(401, UNAUTHORIZED, {"WWW-Authenticate": CHALLENGE})


class GuardMiddleware:
    """Refuses requests under `prefixes` without valid credentials (the MCP endpoint, which Gradio
    serves without its login)."""

    def __init__(self, app: ASGIApp, guard: Guard, prefixes: tuple[str, ...]) -> None:
        self.app, self.guard, self.prefixes = app, guard, prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.guard.required and scope["path"].startswith(self.prefixes):
            header = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"authorization"), None)
            if not self.guard.allows(header):
                await unauthorized()(scope, receive, send)
                return
        await self.app(scope, receive, send)


# The routes -----------------------------------------------------------------------------------

def error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


class ErrorBody(BaseModel):
    error: str = Field(description="what went wrong, and what to do about it")


class AskBody(BaseModel):
    """A question, with what it follows up and where the answer may quote from."""
    model_config = ConfigDict(extra="forbid")
    question: StrictStr = Field(description="the question, in plain words",
                                examples=["How many North Korean troops are in Russia?"])
    history: list[Any] | None = Field(None, description=(
        'earlier questions, oldest first: strings, or chat messages {"role": "user", "content": "..."} '
        "(assistant turns are left out)"))
    max_sentences: StrictInt | None = Field(None, ge=1, le=10, description="most sentences to quote")
    since: StrictStr | None = Field(None, description="only articles published on or after, YYYY-MM-DD")
    until: StrictStr | None = Field(None, description="only articles published on or before, YYYY-MM-DD")
    articles: list[StrictStr] | None = Field(None, description="only these articles (ids: GET /api/articles)")


class _JsonErrors(APIRoute):
    """Every failure of a route as `{"error": message}` with its status; only the API's own routes
    are affected (Gradio's keep their error format)."""

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                return error(422, _validation_message(exc))
            except StarletteHTTPException as exc:
                return error(exc.status_code, str(exc.detail), exc.headers)
            except QuestionError as exc:
                return error(400, str(exc))
            except _UNAVAILABLE as exc:
                return error(503, f"{exc}. Build the index (qa index, or Rebuild index in the Library tab).")
            except DatabaseError as exc:  # the index database is down or unreachable: try again later
                return error(503, str(exc))
            except QAError as exc:
                return error(500, str(exc))

        return route


def _validation_message(exc: RequestValidationError) -> str:
    problems = []
    for e in exc.errors():
        where = ".".join(str(part) for part in e.get("loc", ()) if part != "body")
        if e.get("type") == "json_invalid":
            problems.append("the body is not valid JSON")
        elif not where:
            problems.append(f"the body must be a JSON object ({e.get('msg', 'invalid')})")
        else:
            problems.append(f"{where}: {e.get('msg', 'invalid')}")
    return "; ".join(problems) or "malformed request"


def api_router(engine: Engine, guard: Guard | None = None) -> APIRouter:
    """The REST routes over `engine`, behind `guard` (by default the engine's settings' logins
    and token)."""
    guard = guard if guard is not None else Guard.from_engine(engine)

    def login(request: Request) -> None:
        if not guard.allows(request.headers.get("authorization")):
            raise HTTPException(401, UNAUTHORIZED, {"WWW-Authenticate": CHALLENGE})

    failures: dict[int | str, dict[str, Any]] = {
        code: {"model": ErrorBody, "description": text} for code, text in (
            (400, "a malformed option: history of the wrong shape, a bad date"),
            (401, "no valid credentials (only when a login or token is configured)"),
            (422, "the body is not a JSON object of the fields below, or a field has the wrong type"),
            (503, "there is no usable index yet"))}
    router = APIRouter(route_class=_JsonErrors, dependencies=[Depends(login)], responses=failures)

    @router.post("/api/ask", summary="Answer a question from the indexed articles")
    def ask(body: AskBody) -> JSONResponse:
        """Sentences quoted verbatim from the articles, each with a numbered citation (`text` has
        the [n] markers, `citations` where each sentence is from: title, date, outlet as "source",
        url, passage). `found` is false when the articles do not answer the question; then
        `closest` lists the nearest passages, which are not an answer."""
        return JSONResponse(ask_json(engine, body.question, body.history, since=body.since, until=body.until,
                                     max_sentences=body.max_sentences, articles=body.articles))

    @router.get("/api/articles", summary="The indexed articles, newest first")
    def articles() -> JSONResponse:
        """Each article's id (for `articles` in /api/ask), title, date, outlet ("source"),
        authors, place, location in the corpus, url and number of sentences."""
        return JSONResponse({"articles": articles_json(engine)})

    @router.get("/api/status", summary="What the index holds")
    def status() -> JSONResponse:
        """The index build answering now: counts, model, chunking, whether the corpus changed
        since it was built, syndicated stories, articles not in English."""
        return JSONResponse(status_json(engine))

    api_routes = list(router.routes)

    @router.get("/openapi.json", include_in_schema=False)
    def openapi() -> JSONResponse:
        return JSONResponse(_schema(api_routes, guard))

    @router.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title=TITLE)

    return router


def _schema(routes: list, guard: Guard) -> dict:
    schema = get_openapi(title=TITLE, version="1", routes=routes, description=(
        "Answers are sentences quoted verbatim from the indexed news articles, each with a numbered "
        "citation. The same answers are offered to AI clients over MCP at /gradio_api/mcp/."))
    if guard.required:
        schema.setdefault("components", {})["securitySchemes"] = {
            "basic": {"type": "http", "scheme": "basic"}, "bearer": {"type": "http", "scheme": "bearer"}}
        schema["security"] = [{"basic": []}, {"bearer": []}]
    return schema


def server_options(engine: Engine) -> dict[str, Any]:
    """Keyword arguments for the server app (Gradio's `launch(app_kwargs=...)`): the API routes
    first, the MCP endpoint behind the same credentials, no OpenAPI of Gradio's own routes."""
    guard = Guard.from_engine(engine)
    return {"routes": list(api_router(engine, guard).routes), "openapi_url": None,
            "middleware": [Middleware(GuardMiddleware, guard=guard, prefixes=(MCP_PATH,))]}
