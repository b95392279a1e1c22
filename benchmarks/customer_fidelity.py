"""How customer-like a customer model is, on real CraigslistBargain buyers.

    python benchmarks/customer_fidelity.py --backend persona
    python benchmarks/customer_fidelity.py --backend transformers --limit 30    # tiny model
    python benchmarks/customer_fidelity.py --backend vllm --model /models/x --out fid.json
    python benchmarks/customer_fidelity.py --backend openai --model NAME        # OPENAI_BASE_URL

Each real haggle (He et al. 2018; 1,299 English buyer/seller chats, see
shared/realdata/README.md) is replayed to the customer model as the buyer: the model gets an
English buyer prompt built from the listing (title, description, listed price) and the real
buyer's private target price, and at every real buyer turn that answers a seller turn it is
asked for the buyer's next turn given the real history up to that point. Its turn is compared
with what the real buyer said there:

  role inversion   share of buyer turns, and of dialogues with at least one such turn, in
                   which the buyer acts as the seller (the guard's detector). "raw" counts the
                   guard's detections before it regenerates (a turn counts when any of its
                   drafts was inverted); "residual" runs the detector on the final turns. The
                   "human buyers" row runs the detector on the real buyer turns: its
                   false-positive rate.
  BLEU-4           corpus-level, sacrebleu, 13a tokens, lower-cased (0-100).
  ROUGE-1/2/L      mean F1 over turns, lower-cased word tokens (0-1).
  cosine           mean embedding cosine with --encoder (a local transformers model folder).

Consecutive text turns of one side are merged into one turn; offer/accept/reject/quit events
are dropped. Dialogues that the seller opens get the opener "Hi, I saw your listing." as the
buyer's first (scripted) turn, because salesenv conversations start with the customer; the
buyer's opening turn is never scored. Use --split dev while tuning anything; test is for
reporting.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from tqdm import tqdm

from salesenv.customers.base import CustomerBackendError, CustomerLM
from salesenv.customers.chat import SamplingConfig
from salesenv.customers.choice import build_backend
from salesenv.customers.fidelity import (
    ReplayCase,
    raw_inversion,
    replay,
    residual_inversion,
    transformers_encoder,
    user_likeness,
)
from salesenv.dialogue import Turn
from salesenv.files import write_atomic
from salesenv.realdata import (
    CB_FILE,
    DEFAULT_ROOT,
    RealDataFormatError,
    RealDataMissingError,
    RealDialogue,
    read_craigslist,
)
from salesenv.scenarios.prompts import DECISION_TAGS
from salesenv.scenarios.scenario import Scenario

DEFAULT_DATA = DEFAULT_ROOT / CB_FILE
SYNTHETIC_OPENER = "Hi, I saw your listing."
DESCRIPTION_CHARS = 1200

BUYER_PROMPT = """You are a buyer chatting on Craigslist with the seller (played by someone else) of the listing below. Stay in the buyer role for the whole conversation: you never sell, pitch or offer help the way a seller does.

Difficulty level: medium
Buy-inclination score: 0.50

Listing:
- Item: {title}
- Category: {category}
- Listed price: ${price}
- Description: {description}

CUSTOMER_INFORMATION (private, never quote it):
- You want to buy this item for about ${target}. Haggle towards that price; pay more only if you must.

Rules:
- Speak only English. Keep each reply short (one or two sentences), like a real buyer in a chat.
- Ask about the item, negotiate the price, and react to what the seller actually says.
- When you have decided, say so plainly and end that reply with one tag: {tags}."""

SELLER_PROMPT = """You are selling an item on Craigslist and chatting with a potential buyer.

PRODUCT_INFORMATION (private):
- Product: {title}
- Category: {category}
- Price: ${price}
- Description: {description}

Rules:
- Speak only English. Answer the buyer's questions honestly and negotiate the price."""


class DataError(ValueError):
    """The CraigslistBargain file is missing or unreadable; the message says what to do."""


def load_cases(
    path: Path, split: str, limit: int | None, description_chars: int = DESCRIPTION_CHARS
) -> tuple[list[ReplayCase], dict]:
    """Reads CraigslistBargain dialogues into replay cases.

    Returns:
        The cases (dialogues with at least one buyer turn to score, at most `limit`) and
        counts of what was read, skipped and given a scripted opener.

    Raises:
        DataError: If the file is missing or a line is not a dialogue record.
    """
    try:
        dialogues = read_craigslist(path, split)
    except RealDataMissingError as exc:
        raise DataError(
            f"CraigslistBargain dialogues not found at {path}: pass --data PATH to "
            "cb_dialogues.jsonl (shared/realdata/craigslistbargain/ beside the repository)"
        ) from exc
    except RealDataFormatError as exc:
        raise DataError(f"{exc}; pass the normalised cb_dialogues.jsonl") from exc
    cases: list[ReplayCase] = []
    stats = {"read": 0, "skipped_no_buyer_turn": 0, "synthetic_openers": 0}
    for dialogue in dialogues:
        case, synthetic = _case(dialogue, description_chars)
        stats["read"] += 1
        if not case.points:
            stats["skipped_no_buyer_turn"] += 1
            continue
        stats["synthetic_openers"] += synthetic
        cases.append(case)
        if limit is not None and len(cases) >= limit:
            break
    return cases, stats


def _case(dialogue: RealDialogue, description_chars: int) -> tuple[ReplayCase, bool]:
    turns: list[Turn] = []
    for role, text in dialogue.turns:
        text = text.strip()
        if not text:
            continue
        if turns and turns[-1].role == role:
            turns[-1] = Turn(role, f"{turns[-1].text} {text}")
        else:
            turns.append(Turn(role, text))
    synthetic = not turns or turns[0].role != "customer"
    if synthetic:
        turns.insert(0, Turn("customer", SYNTHETIC_OPENER))
    listing = dialogue.extra
    description = " ".join(str(d).strip() for d in listing["item_description"])
    if len(description) > description_chars:
        description = description[:description_chars].rsplit(" ", 1)[0] + " ..."
    fields = {
        "title": str(listing["item_title"]).strip(),
        "category": listing.get("category") or "item",
        "price": listing["list_price"],
        "description": description or "(none)",
        "target": listing["buyer_target"],
        "tags": ", ".join(f"[DECISION: {t}]" for t in DECISION_TAGS),
    }
    scenario = Scenario(
        language="en",
        difficulty="medium",
        buy_propensity=0.5,
        customer_prompt=BUYER_PROMPT.format(**fields),
        salesperson_prompt=SELLER_PROMPT.format(**fields),
        trigger=turns[0].text,
        source="craigslistbargain",
        source_id=str(dialogue.id),
    )
    return ReplayCase(str(dialogue.id), scenario, tuple(turns)), synthetic


def build_customer(args: argparse.Namespace) -> CustomerLM:
    """The customer model the arguments ask for (the tiny model when --model is not given)."""
    sampling = SamplingConfig(
        temperature=args.temperature,
        top_p=args.top_p,
        max_new_tokens=args.max_new_tokens,
        max_regenerations=args.max_regenerations,
    )
    return build_backend(
        args.backend,
        args.model,
        sampling,
        device=args.device,
        dtype=args.dtype,
        batch_size=args.batch_size,
        base_url=args.base_url,
        max_model_len=args.max_model_len,
        gpu_memory_utilization=args.memory,
    )


def evaluate(args: argparse.Namespace) -> dict[str, Any]:
    """Replays the dialogues and measures; returns the JSON-ready results."""
    cases, stats = load_cases(Path(args.data), args.split, args.limit, args.description_chars)
    if not cases:
        raise DataError(
            f"no dialogues with buyer turns in split {args.split!r} of {args.data}: "
            "use --split dev, test or all"
        )
    encode = transformers_encoder(args.encoder, device=args.device) if args.encoder else None
    customer = build_customer(args)
    total = sum(len(c.points) for c in cases)
    start = time.perf_counter()
    with tqdm(
        total=total, desc=f"{args.backend} buyer turns", unit="turn", disable=args.no_progress
    ) as bar:
        results = replay(customer, cases, args.seed, args.batch_size, on_batch=bar.update)
    seconds = time.perf_counter() - start
    generated = [t.generated for turns in results for t in turns]
    references = [t.reference for turns in results for t in turns]
    raw = raw_inversion([[t.flags for t in turns] for turns in results])
    residual = residual_inversion([[t.generated for t in turns] for turns in results])
    human = residual_inversion([[t.reference for t in turns] for turns in results])
    scores = user_likeness(generated, references, "en", encode)
    flag_totals: dict[str, int] = {}
    for turns in results:
        for t in turns:
            for name, count in t.flags.items():
                flag_totals[name] = flag_totals.get(name, 0) + int(count)
    return {
        "dataset": "craigslistbargain",
        "data": str(args.data),
        "split": args.split,
        "limit": args.limit,
        **stats,
        "backend": customer.describe(),
        "settings": {
            "seed": args.seed,
            "temperature": args.temperature,
            "top_p": args.top_p,
            "max_new_tokens": args.max_new_tokens,
            "max_regenerations": args.max_regenerations,
            "description_chars": args.description_chars,
        },
        "dialogues": len(cases),
        "customer_turns": total,
        "role_inversion": {"raw": raw.as_dict(), "residual": residual.as_dict()},
        "human_buyers": {"role_inversion": human.as_dict()},
        **scores,
        "encoder": args.encoder,
        "flag_totals": flag_totals,
        "decisions": sum(t.decision is not None for turns in results for t in turns),
        "seconds": seconds,
        "examples": [
            {"id": case.id, "reference": t.reference, "generated": t.generated}
            for case, turns in zip(cases[:3], results[:3], strict=True)
            for t in turns[:2]
        ],
    }


def table(result: dict[str, Any]) -> str:
    """The results as a Markdown table: the model's row and the real buyers' row."""

    def pct(value: float | None) -> str:
        return "—" if value is None else f"{100 * value:.1f}%"

    def num(value: float | None, digits: int = 3) -> str:
        return "—" if value is None else f"{value:.{digits}f}"

    raw = result["role_inversion"]["raw"]
    residual = result["role_inversion"]["residual"]
    human = result["human_buyers"]["role_inversion"]
    backend = result["backend"]
    name = backend["backend"]
    if backend.get("model") and backend["backend"] != "persona":
        name += f" ({Path(str(backend['model'])).name})"
    head = (
        "| customer | dialogues | buyer turns | inversion/turn raw | inversion/turn residual "
        "| inversion/dialogue raw | inversion/dialogue residual | BLEU-4 | ROUGE-1 | ROUGE-2 "
        "| ROUGE-L | cosine |"
    )
    rows = [
        head,
        "|" + "---|" * 2 + "---:|" * 10,
        f"| {name} | {result['dialogues']} | {result['customer_turns']} | "
        f"{pct(raw['per_turn'])} | {pct(residual['per_turn'])} | {pct(raw['per_dialogue'])} | "
        f"{pct(residual['per_dialogue'])} | {num(result['bleu4'], 2)} | "
        f"{num(result['rouge1'])} | {num(result['rouge2'])} | {num(result['rougeL'])} | "
        f"{num(result['embedding_cosine'])} |",
        f"| human buyers | {human['dialogues']} | {human['turns']} | — | "
        f"{pct(human['per_turn'])} | — | {pct(human['per_dialogue'])} | — | — | — | — | — |",
    ]
    return "\n".join(rows)


def write_json(result: dict[str, Any], path: Path) -> None:
    """Writes the results atomically (a temporary file in the same folder, then a rename)."""
    write_atomic(path, json.dumps(result, ensure_ascii=False, indent=2))


def parse_args(argv: list[str] | None = None) -> tuple[argparse.ArgumentParser, argparse.Namespace]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="cb_dialogues.jsonl")
    parser.add_argument("--split", choices=["dev", "test", "all"], default="test")
    parser.add_argument("--limit", type=int, default=None, help="at most N dialogues")
    parser.add_argument(
        "--description-chars",
        type=int,
        default=DESCRIPTION_CHARS,
        help="listing descriptions are cut to this many characters in the buyer prompt",
    )
    parser.add_argument(
        "--backend", choices=["persona", "transformers", "vllm", "openai"], default="persona"
    )
    parser.add_argument(
        "--model", default=None, help="model folder or name (default: the tiny test model)"
    )
    parser.add_argument("--base-url", default=None, help="openai: server URL (or OPENAI_BASE_URL)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="auto")
    parser.add_argument("--memory", type=float, default=0.85, help="vllm gpu_memory_utilization")
    parser.add_argument("--max-model-len", type=int, default=4096, help="vllm context length")
    parser.add_argument("--batch-size", type=int, default=32, help="requests per backend call")
    parser.add_argument("--temperature", type=float, default=0.8)
    parser.add_argument("--top-p", type=float, default=0.99)
    parser.add_argument("--max-new-tokens", type=int, default=160)
    parser.add_argument(
        "--max-regenerations",
        type=int,
        default=2,
        help="guard retries; 0 makes raw and residual rates equal to the first-draft rate",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--encoder", default=None, help="local transformers model folder for embedding cosine"
    )
    parser.add_argument("--out", default=None, help="write the results as JSON here")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    args = parser.parse_args(argv)
    if args.limit is not None and args.limit < 1:
        parser.error("--limit must be at least 1")
    if args.description_chars < 1:
        parser.error("--description-chars must be at least 1")
    if args.batch_size < 1:
        parser.error("--batch-size must be at least 1")
    if args.encoder and not Path(args.encoder).exists():
        parser.error(f"--encoder {args.encoder} does not exist: pass a local model folder")
    if args.backend == "openai" and not args.model:
        parser.error("--backend openai needs --model NAME (the server's model name)")
    if args.backend == "openai" and not (args.base_url or os.environ.get("OPENAI_BASE_URL")):
        parser.error("--backend openai needs --base-url URL or OPENAI_BASE_URL")
    return parser, args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser, args = parse_args(argv)
    try:
        result = evaluate(args)
    except (DataError, CustomerBackendError, ImportError) as exc:
        # One line, no usage text: the arguments parsed; the data or the model is the problem.
        parser.exit(2, f"{parser.prog}: error: {exc}\n")
    print(table(result))
    print(
        f"\n{result['customer_turns']} buyer turns in {result['seconds']:.1f} s; "
        f"{result['bleu_signature']}; raw = the guard's detections before regeneration."
    )
    if args.out:
        write_json(result, Path(args.out))
        print(f"wrote {args.out}", file=sys.stderr)
    return result


if __name__ == "__main__":
    main()
