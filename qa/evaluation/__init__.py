"""`qa eval`: quality measured through the real pipeline, on four kinds of input.

`squad` (SQuAD-format question files: answer in the cited sentences, abstention, latency),
`news` (qa-news-eval files: syndicated copies, sources that differ, "latest" questions),
`questions` (qa-questions files: questions over a folder of articles, in the order answers show
their citations) and `pages` (a folder of saved pages with gold: what ingestion keeps and drops,
beside plain trafilatura). `scratch` indexes each in a throwaway folder.
"""

from qa.evaluation.news import NewsReport, evaluate_news, is_news_eval, run_news_eval
from qa.evaluation.pages import evaluate_pages, is_page_folder
from qa.evaluation.questions import QuestionsReport, is_questions_file, run_questions_eval
from qa.evaluation.squad import (
           EvalReport,
           contains_answer,
           evaluate,
           load_squad,
           normalize_answer,
           run_eval,
           write_corpus,
)

__all__ = ["EvalReport", "NewsReport", "QuestionsReport", "contains_answer", "evaluate", "evaluate_news",
           "evaluate_pages", "is_news_eval", "is_page_folder", "is_questions_file", "load_squad",
           "normalize_answer", "run_eval", "run_news_eval", "run_questions_eval", "write_corpus"]
