"""The one error type of reading a run bundle back."""


class BundleError(RuntimeError):
    """A run folder that cannot be read back (`akrida report`, `akrida compare`). The message names the file."""
