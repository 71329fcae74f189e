"""``python -m benchmarks``: run the end-to-end benchmark and check the latency budget."""

from __future__ import annotations

import argparse
import sys

from benchmarks import budget


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=budget.__doc__)
    budget.add_arguments(parser)
    return budget.main(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
