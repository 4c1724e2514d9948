"""qa: ask questions about news articles and get answers quoted from them, with citations.

Stages, each importing only earlier ones: articles -> sentences -> chunking -> embedding -> store
-> indexing -> retrieval -> answering -> cli / evaluation.
"""

__version__ = "0.1.0"
