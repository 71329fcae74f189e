"""Benchmark suite for ``sniper``: micro, hot path and end-to-end latency, and the budget.

Not collected by plain ``pytest`` (``testpaths = ["tests"]``); run ``pytest benchmarks/`` or
``python -m benchmarks`` (the budget check). See BENCHMARKS.md.
"""
