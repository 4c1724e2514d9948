"""Question -> ranked, scored sentences from an index build (hybrid retrieval).

`seam` is what ranking reads from an index (`IndexView`); `folder` is the folder index behind it
and `live` keeps the newest published build loaded; `lexical` turns stored term counts into BM25
scores; `signals` are the per-query signals; `cues` the answer-kind checks; `ranking` fuses them
and scores each hit's confidence.
"""

from qa.retrieval.folder import FILTERED_EXACT, FolderView
from qa.retrieval.live import LiveIndex
from qa.retrieval.ranking import (
                                  BM25_PARAMS,
                                  COVERAGE_WEIGHT,
                                  UNKNOWN_NAME_WEIGHT,
                                  WEIGHTS,
                                  ScoredSentence,
                                  SignalTable,
                                  fuse,
                                  rank,
                                  reduce_question,
                                  signal_table,
)
from qa.retrieval.seam import ArticleSummary, IndexView, Record, Scope
from qa.retrieval.signals import CANDIDATES, coverage, known_share, unknown_names

__all__ = ["BM25_PARAMS", "CANDIDATES", "COVERAGE_WEIGHT", "FILTERED_EXACT", "UNKNOWN_NAME_WEIGHT", "WEIGHTS",
           "ArticleSummary", "FolderView", "IndexView", "LiveIndex", "Record", "Scope", "ScoredSentence",
           "SignalTable", "coverage", "fuse", "known_share", "rank", "reduce_question", "signal_table",
           "unknown_names"]
