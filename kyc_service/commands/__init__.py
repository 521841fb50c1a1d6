"""The CLI commands of `python -m kyc_service`, one module each; each exposes `register(subparsers)`."""
