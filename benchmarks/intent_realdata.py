"""The embedded intent scorer against real people and the project's held-out sets.

    python benchmarks/intent_realdata.py [--realdata ../shared/realdata] [--head PATH]
                                         [--out results.json]

Reports, text turns only (the structured offer/accept/quit events are never shown):
  - ROC-AUC, buy vs not-buy, on CraigslistBargain **test** (abandoned chats left out; a
    second row counts them as not-buy);
  - ROC-AUC on the 300 annotated PersuasionForGood dialogues: "said will donate" vs not,
    and the donation actually made afterwards (a new domain: never used in training);
  - 5-way macro-F1 on the held-out hand-written endings and on held-out persona-simulator
    dialogues (seeds the training never used), per language, and the simulator's reward
    noise: mean |scorer points - oracle points|;
  - the scoring time per dialogue, one dialogue per call, cold cache.
AUCs come with 95% bootstrap intervals (1,000 resamples).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from sklearn.metrics import f1_score, roc_auc_score
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
from train_intent import simulator_dialogues

from salesenv.files import write_atomic
from salesenv.realdata import DEFAULT_ROOT, RealDataMissingError, craigslist, persuasion
from salesenv.rewards.intent import INTENT_LEVELS, INTENT_POINTS
from salesenv.rewards.intent_corpus import handwritten, with_closing
from salesenv.rewards.text_intent import E5Encoder, EmbeddedIntentScorer

HELDOUT_SEEDS = range(100_000, 100_010)
HELDOUT_SETS = ("handwritten_test", "handwritten_test_closing", "simulator_heldout")
AUC_ROWS = (
    ("craigslist_test_buy", "CraigslistBargain test: deal vs no deal"),
    ("craigslist_test_buy_unknown_as_no", "... abandoned chats as no deal"),
    ("p4g_said_will_donate", "PersuasionForGood: said will donate"),
    ("p4g_actually_donated", "PersuasionForGood: actually donated"),
)


def auc_with_ci(labels: list[bool], scores: list[float], seed: int = 0) -> dict[str, float]:
    """ROC-AUC and its 95% bootstrap interval."""
    y, s = np.asarray(labels), np.asarray(scores)
    rng = np.random.default_rng(seed)
    boot = []
    for _ in range(1000):
        idx = rng.integers(0, len(y), len(y))
        if y[idx].min() != y[idx].max():
            boot.append(roc_auc_score(y[idx], s[idx]))
    low, high = np.percentile(boot, [2.5, 97.5])
    return {
        "auc": float(roc_auc_score(y, s)),
        "low": float(low),
        "high": float(high),
        "n": len(y),
        "positives": int(y.sum()),
    }


def parse_args(argv: list[str] | None = None) -> tuple[argparse.ArgumentParser, argparse.Namespace]:
    """The command line (see the module docstring) and its parser, for its error exits."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--realdata", type=Path, default=DEFAULT_ROOT)
    parser.add_argument("--head", type=Path, default=None, help="default: the shipped head")
    parser.add_argument("--out", type=Path, default=None)
    return parser, parser.parse_args(argv)


def load_realdata(parser: argparse.ArgumentParser, root: Path) -> tuple[list, list]:
    """CraigslistBargain test and the annotated PersuasionForGood dialogues; a missing file
    ends the script with one line that names it and the `--realdata` option (status 2)."""
    try:
        return craigslist("test", root), persuasion(root, annotated_only=True)
    except RealDataMissingError as exc:
        parser.exit(2, f"{parser.prog}: error: {exc.hint('--realdata')}\n")


def realdata_aucs(scores: Callable[[list, str], list[float]], cb: list, p4g: list) -> dict:
    """The ROC-AUC rows of CraigslistBargain test and PersuasionForGood."""
    results = {}
    cb_scores = scores(cb, "CraigslistBargain test")
    known = [
        (d.label == "buy", s) for d, s in zip(cb, cb_scores, strict=True) if d.label != "unknown"
    ]
    results["craigslist_test_buy"] = auc_with_ci(*zip(*known, strict=True))
    results["craigslist_test_buy_unknown_as_no"] = auc_with_ci(
        [d.label == "buy" for d in cb], cb_scores
    )
    p4g_scores = scores(p4g, "PersuasionForGood")
    results["p4g_said_will_donate"] = auc_with_ci(
        [d.label == "said_will_donate" for d in p4g], p4g_scores
    )
    results["p4g_actually_donated"] = auc_with_ci([d.extra["donated"] for d in p4g], p4g_scores)
    return results


def level_scores(scorer: EmbeddedIntentScorer, dialogues: list) -> dict:
    """5-way macro-F1, accuracy and mean |points - gold points| of labelled dialogues."""
    predicted = scorer.score_turns([d.turns for d in dialogues])
    gold = [d.level for d in dialogues]
    levels = [lv for lv in INTENT_LEVELS if lv in gold]
    pairs = list(zip(predicted, gold, strict=True))
    return {
        "macro_f1": float(
            f1_score(gold, [r.level for r in predicted], labels=levels, average="macro")
        ),
        "accuracy": float(np.mean([r.level == g for r, g in pairs])),
        "mean_abs_points_vs_gold": float(
            np.mean([abs(r.score - INTENT_POINTS[g]) for r, g in pairs])
        ),
        "n": len(dialogues),
        "levels": levels,
    }


def heldout_sets() -> dict[str, list]:
    """The held-out hand-written endings (plain and with a closing) and simulator dialogues."""
    closing = [
        with_closing(d, i) if d.level in "ABC" else d for i, d in enumerate(handwritten("test"))
    ]
    return {
        "handwritten_test": handwritten("test"),
        "handwritten_test_closing": closing,
        "simulator_heldout": simulator_dialogues(HELDOUT_SEEDS, desc="held-out simulator"),
    }


def print_table(results: dict) -> None:
    """The results as a Markdown table."""
    print(f"\nembedded intent scorer, head {results['head'].get('corpus_sha256')}\n")
    print("| set | metric | value (95% CI) | n |")
    print("|-----|--------|----------------|---|")
    for key, label in AUC_ROWS:
        r = results[key]
        print(f"| {label} | ROC-AUC | {r['auc']:.3f} ({r['low']:.3f}-{r['high']:.3f}) | {r['n']} |")
    for name in HELDOUT_SETS:
        for language in ("zh", "en"):
            r = results[f"{name}_{language}"]
            print(
                f"| {name} {language} ({'/'.join(r['levels'])}) | macro-F1 | "
                f"{r['macro_f1']:.3f} (acc {r['accuracy']:.3f}, |pts| "
                f"{r['mean_abs_points_vs_gold']:.2f}) | {r['n']} |"
            )
    print(f"| scoring time | ms per dialogue | {results['ms_per_dialogue']:.1f} | 100 |")


def main(argv: list[str] | None = None) -> None:
    """Scores every set and prints the table (and writes the results with `--out`)."""
    parser, args = parse_args(argv)
    cb, p4g = load_realdata(parser, args.realdata)
    scorer = EmbeddedIntentScorer(args.head)
    results: dict = {"head": scorer.head.meta}

    def scores(dialogues: list, desc: str) -> list[float]:
        out = []
        for i in tqdm(range(0, len(dialogues), 64), desc=desc, unit="batch"):
            out += [r.score for r in scorer.score_turns([d.turns for d in dialogues[i : i + 64]])]
        return out

    results.update(realdata_aucs(scores, cb, p4g))
    for name, dialogues in heldout_sets().items():
        for language in ("zh", "en"):
            subset = [d for d in dialogues if d.language == language]
            results[f"{name}_{language}"] = level_scores(scorer, subset)

    cold = EmbeddedIntentScorer(scorer.head, E5Encoder())
    sample = cb[:100]
    started = time.perf_counter()
    for d in sample:
        cold.score_turns([d.turns])
    results["ms_per_dialogue"] = 1000 * (time.perf_counter() - started) / len(sample)
    print_table(results)
    if args.out:
        write_atomic(args.out, json.dumps(results, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
