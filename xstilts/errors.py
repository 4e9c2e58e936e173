"""The errors a user can fix: one base class, so ``cli.run`` turns every one of them into one line and exit code 2.

Each names the problem and the fix in its message. Subclasses keep a standard base as well (``ValueError`` for bad
input, ``RuntimeError`` for folders in the wrong state), so callers that catch those keep working.
"""
from __future__ import annotations


class XstiltsError(Exception):
    """An error whose message tells the user what is wrong and how to fix it (no traceback is shown)."""


class DataError(XstiltsError, ValueError):
    """Data could not be loaded or does not have the expected shape; the message names the dataset and the fix."""


class DataMissing(DataError):
    """The data of a split or language is not there (file absent, not shipped, not offered by this source).

    An evaluation may skip such a language and mark its result partial; any other ``DataError`` (a malformed file, an
    unknown label) stops the run, so a broken file is never mistaken for an absent one.
    """


class SplitAbsent(DataMissing):
    """The dataset has no such split for this language at all (UD-POS Kazakh has no validation split): not a fixable
    problem, so an evaluation marks the language missing whatever the data source, and goes on."""


class RunFolderError(XstiltsError, RuntimeError):
    """The output or input folder is not in a state this command can use; the message says how to fix it."""


class ModelFolderError(XstiltsError, RuntimeError):
    """A folder is not a usable encoder/model folder; the message names what is missing."""


class TrainingFailed(XstiltsError, RuntimeError):
    """Training cannot go on (e.g. the loss became NaN); the message names the step, task and last checkpoint."""


class SubmissionError(XstiltsError, ValueError):
    """A prediction or label file that cannot be scored (wrong shape, wrong count, unreadable)."""
