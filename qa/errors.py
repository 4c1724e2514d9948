"""Specific exceptions of the qa package. Each message says what to do about it.

The edges (CLI, UI) translate these into exit codes or on-screen errors; library code never
catches broadly.
"""


class QAError(Exception):
    """Base class for every error the qa package raises on purpose."""


class ArticleError(QAError):
    """A corpus file could not be turned into articles (unreadable, empty, binary, too big...)."""

    def __init__(self, path: str, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class IndexMissingError(QAError):
    """There is no built index where one was expected."""


class IndexCorruptError(QAError):
    """The index on disk is damaged or incomplete."""


class IndexMismatchError(QAError):
    """The index was built with other settings (model, dimension, format) than the ones in use."""


class BuildLockedError(QAError):
    """Another build of the same index is running."""


class ConfigError(QAError):
    """A setting has an invalid value."""


class IndexWriteError(QAError):
    """A new index build could not be written (disk full, read-only folder); the previous one stays."""


class QuestionError(QAError):
    """A question or its options are malformed (the message names the shape expected)."""


class DependencyError(QAError):
    """A package the program needs cannot be imported; the message says what to install."""


class DatabaseError(QAError):
    """The index database cannot be reached, logged in to, or used (the message says which and why)."""
