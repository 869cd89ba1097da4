"""Exceptions tf_nst raises. Each message names the bad value; only the CLI turns them into exit codes."""


class TfNstError(Exception):
    """Base class of every error tf_nst raises on purpose."""


class ConfigError(TfNstError, ValueError):
    """A setting is out of range or unknown (a usage error)."""


class ImageError(TfNstError):
    """An image file cannot be read, decoded or written."""


class WeightsError(TfNstError):
    """VGG-19 weights are missing, corrupt or of the wrong shape."""


class InsufficientMemoryError(ConfigError):
    """A run is estimated to need more memory than there is (a usage error: ask for less)."""
