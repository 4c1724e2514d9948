"""Corpus -> index, incrementally: only new or changed articles are parsed and embedded.

`scan` reads the corpus (a file whose size and modification time match the previous build is not
read again) and says what changed; `plan` decides between a whole build and a delta beside the
previous build's base; `rows` makes the new build's rows (reusing the stored ones of unchanged
articles) and regroups syndicated copies; `build` runs them and hands the result to
`qa.store.write_build`. A different model or chunk setting forces a full rebuild, and the report
says why. Bad files are reported with their reason and skipped; the build goes on.
"""

from qa.indexing.build import build_index
from qa.indexing.plan import DELTA_ARTICLES, DELTA_SHARE
from qa.indexing.report import BuildReport
from qa.indexing.scan import corpus_fingerprint

__all__ = ["DELTA_ARTICLES", "DELTA_SHARE", "BuildReport", "build_index", "corpus_fingerprint"]
