"""Size of the scenario space and composition of the built-in suite.

    python benchmarks/space.py [--candidates N]

Samples N scenarios (both languages, all difficulties), removes exact duplicates by
content hash and near-duplicates with MinHash LSH (Jaccard >= 0.9 on the customer script,
boilerplate removed), and prints the counts, the combinatorial upper bound, and the
salesllm-1805 suite's composition.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter

from salesenv.scenarios import load_suite
from salesenv.scenarios.seed import load_seed
from salesenv.scenarios.space import combinatorial_size, count_distinct, sample_space


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--candidates", type=int, default=32_000)
    args = parser.parse_args()
    seed = load_seed()
    domains = Counter(c["domain"] for c in seed.categories.values())
    print(
        f"seed data: {len(seed.products)} products in {len(seed.categories)} categories "
        f"({domains['finance']} financial, {domains['consumer']} consumer), 2 languages"
    )
    start = time.perf_counter()
    report = count_distinct(sample_space(args.candidates))
    print(
        f"sampled {report.candidates} scenarios: {report.unique_hashes} distinct ids, "
        f"{report.near_duplicates} near-duplicates (Jaccard >= {report.threshold}), "
        f"{report.distinct} distinct scripts  [{time.perf_counter() - start:.1f} s]"
    )
    print(f"combinatorial upper bound of the sampler: {combinatorial_size():.2e}")
    suite = load_suite("salesllm-1805")
    counts = Counter((s.language, s.difficulty) for s in suite)
    print(f"\nsuite salesllm-1805: {len(suite)} scenarios, content hash {suite.content_hash}")
    for lang in ("zh", "en"):
        cells = ", ".join(f"{d} {n}" for (lg, d), n in sorted(counts.items()) if lg == lang)
        print(f"  {lang}: {sum(n for (lg, _), n in counts.items() if lg == lang)} ({cells})")


if __name__ == "__main__":
    main()
