"""kyc-service on one machine: the local stack, the CLI and the self-hosted engines.

Nothing in chalicelib imports this package at import time; the self-hosted provider
adapter is imported lazily when a stage selects it.
"""
