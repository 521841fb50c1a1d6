"""Pure rules and values, no I/O: the validated submission (decision and matching join in phase B)."""
