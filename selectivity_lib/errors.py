"""Errors raised where input enters the library (config, data, run folders).

Each carries one sentence that says what was wrong and what to do; the CLI prints it and exits non-zero
instead of showing a traceback.
"""


class SelectivityError(Exception):
    """Base class: a problem with the user's input, reported without a traceback."""


class ConfigError(SelectivityError, ValueError):
    """An invalid run configuration (bad alpha, unknown model, ...)."""


class DataError(SelectivityError):
    """The dataset is missing, incomplete or corrupt."""


class RunFolderError(SelectivityError):
    """A run folder holds something other than the requested run, or is damaged."""


class RunBusy(RunFolderError):
    """Another process holds the run folder's lock: it is training that run now (not a failure of this one)."""


class TrainingDiverged(SelectivityError):
    """The loss became NaN or infinite; the run folder keeps its last finished epoch."""


class MixedRunsError(SelectivityError):
    """A table or sweep holds runs of one network trained with different recipes, which must not be averaged."""
