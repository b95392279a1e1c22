"""Rebuilds the shipped `salesllm-1805` suite file from the sampler (maintainers only).

    python examples/build_suite.py

The file is package data; tests check that rebuilding gives the same content hash, so any
change to the seed data or the sampler that would silently change the benchmark is caught.
"""

from __future__ import annotations

from collections import Counter

from salesenv.scenarios.suites import SALESLLM_1805, build_suite, builtin_suite_path, write_suite


def main() -> None:
    suite = build_suite(SALESLLM_1805)
    path = write_suite(builtin_suite_path(SALESLLM_1805), suite.scenarios)
    print(f"wrote {len(suite)} scenarios to {path} (content hash {suite.content_hash})")
    for (language, difficulty), n in sorted(
        Counter((s.language, s.difficulty) for s in suite).items()
    ):
        print(f"  {language} {difficulty:<12} {n}")


if __name__ == "__main__":
    main()
