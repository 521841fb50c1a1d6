"""kyc-service on one machine: the local stack (local/), infrastructure and deployment (infra/),
the CLI (cli.py, commands/), the self-hosted engines (engines/), benchmarks and test data.

Nothing here runs in Lambda, and chalicelib imports none of it (but the provider port, which
imports the self-hosted adapter lazily when a stage selects it: phase B of issue 12).
"""
