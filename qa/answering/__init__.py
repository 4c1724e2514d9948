"""Scored sentences -> an `Answer`: verbatim sentences with numbered citations, or an abstention.

`engine` is the facade (answer, status, articles, rebuild, cited texts); `select` picks the
sentences to quote, `differ` finds sources that state different figures, `compose` makes the
citations and the text, `model` holds the data types, `status` what the index holds.
"""

from qa.answering.engine import EMPTY_QUESTION, NOT_FOUND, Engine, update_index
from qa.answering.model import Answer, AnswerOptions, Citation, Claim, Disagreement, Source
from qa.answering.status import IndexStatus

__all__ = ["EMPTY_QUESTION", "NOT_FOUND", "Answer", "AnswerOptions", "Citation", "Claim", "Disagreement",
           "Engine", "IndexStatus", "Source", "update_index"]
