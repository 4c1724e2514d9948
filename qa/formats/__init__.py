"""Parsers for each supported file format, from decoded text to `Parsed` fields.

`text` (the seed `.txt` convention, plain text, Markdown), `html` (saved news pages, through
`qa.pages`) and `records` (JSON and JSON lines). Parsers do not normalize text, find datelines
or compute ids: `qa.articles` does that, the same way for every format.
"""

from qa.formats.html import parse_html, saved_url
from qa.formats.parsed import Parsed, parse_date, split_names
from qa.formats.records import parse_json
from qa.formats.text import parse_md, parse_txt

__all__ = ["Parsed", "parse_date", "parse_html", "parse_json", "parse_md", "parse_txt", "saved_url",
           "split_names"]
