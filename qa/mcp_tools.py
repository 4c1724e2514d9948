"""What the web app offers programs through Gradio: the two MCP tools `ask` and `list_articles`, and
the Gradio API endpoint `ask` (`Tools.answer`, for gradio_client).

Gradio turns each public API endpoint into an MCP tool named after its function, described by its
docstring (the text before "Args:") with one line per parameter, typed by its hints. So these
methods are written for an AI client to read, and return JSON text (the same objects as the REST
API: `Answer.to_json`, and the article list). An error reaches the client as the tool's error.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TypeVar

import gradio as gr

from qa.answering import Engine
from qa.api import articles_json, ask_json
from qa.errors import QAError

T = TypeVar("T")


class Tools:
    """The MCP tools over one engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def ask(self, question: str, history: list[str] | None = None, since: str | None = None,
            until: str | None = None) -> str:
        """Answer a question about the indexed news articles with sentences quoted verbatim from them.

        Returns a JSON object. "text" is the answer: sentences copied word for word from the
        articles, each followed by its citation marker [n]. "citations" has one entry per marker:
        "number" (the n), "sentence" (the quoted sentence), the article's "title", "date"
        (YYYY-MM-DD), outlet ("source"), "authors", "url" and "location" (its file), and "passage"
        (the sentence with its neighbours, for context). When the sources state different figures,
        "disagreement" lists each figure with its citation. "found": false means the articles do
        not answer the question: say so rather than answering from elsewhere; "closest" then lists
        the nearest passages, which are not an answer. Quote sentences as given and cite them by
        title, outlet and date.

        Args:
            question: The question in plain words, e.g. "How many North Korean troops are in Russia?"
            history: Earlier questions of this conversation, oldest first, so a follow-up is understood.
            since: Only quote articles published on or after this day (YYYY-MM-DD).
            until: Only quote articles published on or before this day (YYYY-MM-DD).
        """
        return _run(lambda: ask_json(self.engine, question, history, since=since, until=until))

    def answer(self, question: str, history: list | None = None) -> dict:
        """Answer a question from the indexed articles; `history`: earlier questions, oldest first
        (strings, or chat messages {"role": "user", "content": ...}). The Gradio endpoint `ask` (a
        JSON object for gradio_client), not an MCP tool."""
        return gradio_call(ask_json, self.engine, question, history)

    def list_articles(self) -> str:
        """List the news articles the answers can quote, newest first.

        Returns a JSON object {"articles": [...]}; each article has "id", "title", "date"
        (YYYY-MM-DD or null), outlet ("source"), "authors", "place" (its dateline), "location"
        (its file in the corpus), "url" and "sentences" (how many sentences of it are indexed).
        Use it to see what the corpus covers and which dates to give `ask` as since/until.
        """
        return _run(lambda: {"articles": articles_json(self.engine)})


def gradio_call(action: Callable[..., T], *args: object) -> T:
    """`action(*args)`, a `QAError` raised as `gr.Error`: shown in the page, or the tool's error."""
    try:
        return action(*args)
    except QAError as exc:
        raise gr.Error(str(exc)) from exc


def _run(action: Callable[[], object]) -> str:
    """The JSON text of what `action` returns; a `QAError` as the tool's error."""
    return json.dumps(gradio_call(action), ensure_ascii=False)
