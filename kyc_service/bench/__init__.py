"""`make bench`: the benchmarks, one module per section, and the report writer (report.py)."""
