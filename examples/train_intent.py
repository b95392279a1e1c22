"""Trains the embedded intent scorer's head (`rewards/data/intent_head.npz`).

    python examples/train_intent.py [--realdata ../shared/realdata] [--out PATH]

The corpus, every source documented in `rewards/data/intent_corpus/README.md`:
  1. the hand-written dialogue endings shipped with salesenv, train split (zh and en);
  2. closing exchanges written for this project (`closings.jsonl`), appended to copies of
     the A, B and C dialogues of 1 and 3, because real chats go on after the decision;
  3. salesperson lines claiming the sale (`seller_claims.jsonl`), put before the last
     customer turn of copies of the C, X and F dialogues of 1 and 4 (their level stays);
  4. dialogues with the persona simulator, generated here: the scripted, passive and
     random agents on every language and difficulty, seeds 0..N-1, labelled with the
     simulator's own decision (the held-out sets use other seeds);
  5. CraigslistBargain **dev** (English, real buyers), labelled from the recorded outcome:
     deal -> A; no deal at the terms on the table (the buyer rejected the final offer,
     the seller refused the buyer's offer, or the seller quit) -> C; buyer quit -> X;
     abandoned chats are left out.
CraigslistBargain test and PersuasionForGood are never read here: they are for
reporting (`benchmarks/intent_realdata.py`).

The features are `salesenv.rewards.text_intent.dialogue_features`: e5 embeddings of the
last customer turns and the last salesperson turn, price-convergence features and hashed character n-grams of the
last two turns. The head is a class-balanced multinomial logistic regression (scikit-learn,
from the `dev` extra) on the n-grams and the standardised dense features scaled by
`--dense-weight`. The settings (C = 1, dense weight 0.02) were chosen by 5-fold cross-
validation on CraigslistBargain dev and by training without CraigslistBargain and scoring
CraigslistBargain dev (a stand-in for an unseen domain).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from collections import Counter
from pathlib import Path

import numpy as np
from scipy.sparse import csr_matrix, hstack
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from tqdm import tqdm

import salesenv
from salesenv.agents import PassiveSalesAgent, RandomSalesAgent, ScriptedSalesAgent
from salesenv.ids import EnvId, id_spelling, parse_difficulty
from salesenv.realdata import DEFAULT_ROOT, RealDataMissingError, craigslist
from salesenv.rewards.intent import INTENT_LEVELS
from salesenv.rewards.intent_corpus import (
    LabelledDialogue,
    handwritten,
    with_closing,
    with_seller_claim,
)
from salesenv.rewards.text_intent import (
    NGRAM_BUCKETS,
    E5Encoder,
    IntentHead,
    dialogue_features,
)
from salesenv.scenarios.scenario import DIFFICULTIES as PROFILES

HEAD_VERSION = "5"
CRAIGSLIST_LEVELS = {
    "buy": "A",
    "not_buy_seller_refused": "C",
    "not_buy": "C",
    "no_deal_seller_quit": "C",
    "brush_off": "X",
}
#: Levels whose dialogues are also trained on with a closing exchange appended (a brush-off
#: or an insult is itself the end of the chat).
CLOSING_LEVELS = ("A", "B", "C")
#: Levels whose dialogues are also trained on with a salesperson's claim of the sale before
#: the customer's last turn.
CLAIM_LEVELS = ("C", "X", "F")
#: Difficulties as spelled in env ids ("veryhard").
DIFFICULTIES = tuple(id_spelling(d) for d in PROFILES)


def simulator_dialogues(seeds: range, desc: str = "simulator") -> list[LabelledDialogue]:
    """Persona-simulator dialogues of three agents on every language and difficulty."""
    agents = (ScriptedSalesAgent(), PassiveSalesAgent(), RandomSalesAgent())
    cells = [(lang, d, a) for lang in ("zh", "en") for d in DIFFICULTIES for a in agents]
    out = []
    for lang, difficulty, agent in tqdm(cells, desc=desc, unit="cell"):
        env = salesenv.make(EnvId(lang, parse_difficulty(difficulty)).short)
        for seed in seeds:
            observation, info = env.reset(seed=seed)
            agent.reset(info, seed=seed)
            done = False
            while not done:
                observation, _, terminated, truncated, info = env.step(agent.act(observation, info))
                done = terminated or truncated
            turns = tuple((t.role, t.text) for t in env.unwrapped.dialogue().turns)
            out.append(
                LabelledDialogue(
                    f"sim-{lang}-{difficulty}-{agent.name}-{seed}",
                    lang,
                    info["score"]["intent_level"],
                    turns,
                    "simulator",
                )
            )
    return out


def craigslist_dev(root: Path) -> list[LabelledDialogue]:
    """CraigslistBargain dev with intent levels from the recorded outcome."""
    return [
        LabelledDialogue(d.id, "en", CRAIGSLIST_LEVELS[d.label], d.turns, "craigslist-dev")
        for d in craigslist("dev", root)
        if d.label in CRAIGSLIST_LEVELS
    ]


def parse_args(argv: list[str] | None = None) -> tuple[argparse.ArgumentParser, argparse.Namespace]:
    """The command line (see the module docstring) and its parser, for its error exits."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--realdata", type=Path, default=DEFAULT_ROOT)
    parser.add_argument(
        "--no-craigslist", action="store_true", help="train without CraigslistBargain dev"
    )
    parser.add_argument("--seeds", type=int, default=20, help="simulator seeds per cell")
    parser.add_argument("--C", type=float, default=1.0, help="inverse L2 strength")
    parser.add_argument("--dense-weight", type=float, default=0.02)
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).resolve().parents[1] / "rewards" / "data" / "intent_head.npz",
    )
    return parser, parser.parse_args(argv)


def build_corpus(seeds: int, real: list[LabelledDialogue]) -> list[LabelledDialogue]:
    """Sources 1-4 of the module docstring, then `real` (CraigslistBargain dev or nothing)."""
    corpus = handwritten("train") + simulator_dialogues(range(seeds))
    # Decisions followed by pleasantries, as in real chats (closings.jsonl).
    corpus += [with_closing(d, i) for i, d in enumerate(corpus) if d.level in CLOSING_LEVELS]
    # The salesperson claiming the sale changes nothing the customer said (seller_claims.jsonl).
    corpus += [with_seller_claim(d, i) for i, d in enumerate(corpus) if d.level in CLAIM_LEVELS]
    return corpus + real


def fit_head(corpus: list[LabelledDialogue], C: float, dense_weight: float) -> IntentHead:
    """Features of the corpus and the logistic-regression head on them (`meta` holds the
    settings; the caller adds the corpus description)."""
    encoder = E5Encoder()
    batches = [corpus[i : i + 64] for i in range(0, len(corpus), 64)]
    parts = [
        dialogue_features([d.turns for d in batch], encoder)
        for batch in tqdm(batches, desc="features", unit="batch")
    ]
    dense = np.vstack([p.dense for p in parts])
    ngrams = [g for p in parts for g in p.ngrams]
    scaler = StandardScaler().fit(dense)
    scale = np.where(scaler.scale_ > 0, scaler.scale_, 1.0)
    sparse = csr_matrix(
        (
            [v for g in ngrams for v in g.values()],
            [k for g in ngrams for k in g],
            np.cumsum([0] + [len(g) for g in ngrams]),
        ),
        shape=(len(ngrams), NGRAM_BUCKETS),
    )
    inputs = hstack([csr_matrix((dense - scaler.mean_) / scale * dense_weight), sparse])
    labels = [d.level for d in corpus]
    model = LogisticRegression(C=C, class_weight="balanced", max_iter=5000)
    model.fit(inputs.tocsr(), labels)
    levels = tuple(str(c) for c in model.classes_)
    missing = set(INTENT_LEVELS) - set(levels)
    if missing:
        raise SystemExit(f"the corpus has no examples of levels {sorted(missing)}")
    width = dense.shape[1]
    return IntentHead(
        mean=scaler.mean_,
        scale=scale,
        dense_weight=dense_weight,
        dense_coef=model.coef_[:, :width],
        ngram_coef=model.coef_[:, width:],
        intercept=model.intercept_,
        levels=levels,
        meta={
            "version": HEAD_VERSION,
            "encoder": f"{encoder.name}-{encoder.version}",
            "C": C,
            "dense_weight": dense_weight,
        },
    )


def corpus_meta(corpus: list[LabelledDialogue], counts: Counter, seeds: int) -> dict:
    """The corpus's digest, its size per source and the simulator seeds, for the head's meta."""
    digest = hashlib.sha256()
    for d in corpus:
        digest.update(json.dumps([d.id, d.level, d.turns], ensure_ascii=False).encode())
    return {
        "corpus_sha256": digest.hexdigest()[:16],
        "corpus_counts": {
            source: sum(v for (s, _, _), v in counts.items() if s == source)
            for source in sorted({s for s, _, _ in counts})
        },
        "simulator_seeds": seeds,
    }


def main(argv: list[str] | None = None) -> None:
    """Builds the corpus, fits the head and saves it to `--out`."""
    parser, args = parse_args(argv)
    real: list[LabelledDialogue] = []
    if not args.no_craigslist:
        try:
            real = craigslist_dev(args.realdata)
        except RealDataMissingError as exc:
            parser.exit(2, f"{parser.prog}: error: {exc.hint('--realdata')} (or --no-craigslist)\n")
    corpus = build_corpus(args.seeds, real)
    counts = Counter((d.source, d.language, d.level) for d in corpus)
    print(f"{len(corpus)} training dialogues")
    for key in sorted(counts):
        print("  ", *key, counts[key])

    started = time.perf_counter()
    head = fit_head(corpus, args.C, args.dense_weight)
    head.meta.update(corpus_meta(corpus, counts, args.seeds))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    head.save(args.out)
    print(
        f"wrote {args.out} ({args.out.stat().st_size / 1024:.0f} KiB) in "
        f"{time.perf_counter() - started:.0f} s; corpus {head.meta['corpus_sha256']}"
    )


if __name__ == "__main__":
    main()
