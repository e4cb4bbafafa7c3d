class LocalTargetError(RuntimeError):
    """The embedded target could not be set up, started or stopped. The message says why and what to do."""
