"""Fine-tunes a transformers classifier on the intent corpus, for the `hf` intent scorer.

    python examples/finetune_intent.py --base PATH --language en --out DIR
        [--epochs 3] [--lr 3e-5] [--batch-size 16] [--max-tokens 128]
        [--seeds 20] [--no-craigslist] [--realdata ../shared/realdata] [--limit N]

For users with a better backbone than the embedded scorer's (e.g. a local roberta-base or
chinese-roberta-wwm-ext checkpoint, as in the paper). It trains on the same corpus as
`examples/train_intent.py` (see `rewards/data/intent_corpus/README.md`; CraigslistBargain
dev is English, so it joins only English runs), one checkpoint per language, with the
public SalesLLM conventions the `hf` scorer expects: labels A/B/C/X/F written into the
config's `id2label`, input = the flattened transcript with role tags, truncated from the
left to its last `--max-tokens` tokens. Then score with

    HFIntentScorer({"zh": "out-zh", "en": "out-en"})
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

from train_intent import DEFAULT_ROOT, craigslist_dev, simulator_dialogues

from salesenv.rewards.intent import INTENT_LEVELS
from salesenv.rewards.intent_corpus import handwritten
from salesenv.rewards.transcript import flatten_turns


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--base", required=True, help="a local checkpoint directory")
    parser.add_argument("--language", required=True, choices=("zh", "en"))
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--lr", type=float, default=3e-5)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--seeds", type=int, default=20, help="simulator seeds per cell")
    parser.add_argument("--no-craigslist", action="store_true")
    parser.add_argument("--realdata", type=Path, default=DEFAULT_ROOT)
    parser.add_argument("--limit", type=int, default=None, help="train on N dialogues (tests)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    corpus = handwritten("train") + simulator_dialogues(range(args.seeds))
    if args.language == "en" and not args.no_craigslist:
        corpus += craigslist_dev(args.realdata)
    corpus = [d for d in corpus if d.language == args.language]
    random.Random(args.seed).shuffle(corpus)
    corpus = corpus[: args.limit]
    texts = [flatten_turns(d.turns, d.language) for d in corpus]
    labels = [INTENT_LEVELS.index(d.level) for d in corpus]
    print(f"{len(corpus)} {args.language} dialogues")

    torch.manual_seed(args.seed)
    tokenizer = AutoTokenizer.from_pretrained(args.base)
    tokenizer.truncation_side = "left"  # keep the end of the conversation
    model = AutoModelForSequenceClassification.from_pretrained(
        args.base,
        num_labels=len(INTENT_LEVELS),
        id2label=dict(enumerate(INTENT_LEVELS)),
        label2id={level: i for i, level in enumerate(INTENT_LEVELS)},
        ignore_mismatched_sizes=True,
    )
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr)
    model.train()
    started = time.perf_counter()
    for epoch in range(args.epochs):
        order = list(range(len(texts)))
        random.Random(args.seed + epoch).shuffle(order)
        total = 0.0
        for start in range(0, len(order), args.batch_size):
            chunk = order[start : start + args.batch_size]
            batch = tokenizer(
                [texts[i] for i in chunk],
                truncation=True,
                max_length=args.max_tokens,
                padding=True,
                return_tensors="pt",
            )
            loss = model(**batch, labels=torch.tensor([labels[i] for i in chunk])).loss
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            total += loss.item() * len(chunk)
        print(f"epoch {epoch + 1}: mean loss {total / max(len(texts), 1):.4f}")
    args.out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(args.out)
    tokenizer.save_pretrained(args.out)
    print(f"saved {args.out} in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
