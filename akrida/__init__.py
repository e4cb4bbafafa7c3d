"""Akrida: load tests for DIDComm deployments, with real Credo holders driven by Locust."""

__version__ = "0.1.0"
