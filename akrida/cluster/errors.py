"""The one error type of the cluster driver."""


class ClusterError(RuntimeError):
    """Provisioning, preparing or driving the cluster failed. The message says what to do next."""
