"""Exceptions tf_nst raises. Each message names the bad value; only the CLI turns them into exit codes."""


class TfNstError(Exception):
    """Base class of every error tf_nst raises on purpose."""


class ConfigError(TfNstError, ValueError):
    """A setting is out of range or unknown (a usage error)."""


class UsageError(ConfigError):
    """Options that make no sense together, or an output that will not be written (the commands' exit status 2)."""


class ImageError(TfNstError):
    """An image file cannot be read, decoded or written."""


class OutputError(TfNstError):
    """A record of a run (a trace, a summary) cannot be written."""


class WeightsError(TfNstError):
    """VGG-19 weights are missing, corrupt or of the wrong shape."""


class RunStopped(TfNstError):
    """The optimisation stopped before its last step; ``image`` holds the latest good pixels.

    ``step`` is the number of completed evaluations of the image's run (all pyramid levels); ``image`` is
    float32 ``[1, H, W, 3]`` in [0, 1].
    """

    def __init__(self, message: str, step: int, image):
        super().__init__(message)
        self.step = step
        self.image = image


class Interrupted(RunStopped):
    """The user interrupted the run (Ctrl-C / SIGINT, or SIGTERM via the CLI)."""


class NumericalError(RunStopped):
    """A loss or gradient became NaN or infinite."""


class ExportError(TfNstError):
    """A SavedModel cannot be written (disk, permissions, or a failed trace)."""


class InsufficientMemoryError(ConfigError):
    """A run is estimated to need more memory than there is (a usage error: ask for less)."""


def not_one_of(flag: str, value: object, choices: tuple[str, ...], alternative: str = "") -> str:
    """The message for a value outside its choices: ``--flag: 'value' is not one of a, b[ alternative]``."""
    return f"--{flag}: '{value}' is not one of {', '.join(choices)}{alternative}"


def first_line(err: BaseException) -> str:
    """The first line of ``err``'s message, or its type's name when it has none: how an error is told in one line."""
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def exit_status(err: BaseException) -> int:
    """A command's exit status for ``err``: 2 for a usage error, 128 + the signal for an interrupt, else 1."""
    if isinstance(err, ConfigError):  # UsageError and InsufficientMemoryError included
        return 2
    if isinstance(err, KeyboardInterrupt):
        return 130
    signum = getattr(err, "signum", None)
    return 128 + signum if signum else 1
