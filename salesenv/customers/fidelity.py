"""How customer-like a customer model's turns are: role inversion and user-likeness.

Two families of measures, both computed on customer turns:

- Role inversion, with the same detector as the role-inversion guard
  (`salesenv.customers.chat.is_role_inversion`), per customer turn and per dialogue (the
  share of dialogues with at least one inverted turn; the SalesLLM public code counts
  dialogues). The guard regenerates inverted turns, so two rates exist: the *raw* rate
  reads the guard's detections from the reply flags (`CustomerReply.flags`, or
  `info["customer_flags"]` from the env), the *residual* rate runs the detector on the
  final transcript.
- User-likeness against real customer turns at the same point of a real conversation:
  corpus BLEU-4 (sacrebleu, "zh" tokenizer for Chinese, "13a" for English), ROUGE-1/2/L
  F1 (characters for Chinese, lower-cased words for English) and, when an encoder is
  given, the mean cosine between generated and real turns.

`salesenv.customers.replay.replay` produces the generated turns: it feeds each real
conversation to a customer model turn by turn (the history is always the real one) in
batched `respond` calls.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from salesenv.customers.chat import is_role_inversion

# The replay has its own module; these names stay importable from here.
from salesenv.customers.replay import ReplayCase as ReplayCase
from salesenv.customers.replay import ReplayTurn as ReplayTurn
from salesenv.customers.replay import replay as replay
from salesenv.dialogue import Dialogue
from salesenv.scenarios.scenario import LANGUAGES

#: An encoder maps texts to one embedding row each: `encode(texts) -> (len(texts), dim)`.
Encoder = Callable[[list[str]], np.ndarray]

_CJK_CHAR = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_WORD = re.compile(r"[^\W_]+")
_ZH_TOKEN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]|[^\W_\u3400-\u9fff\uf900-\ufaff]+")
_BLEU_TOKENIZER = {"zh": "zh", "en": "13a"}


# -- role inversion -------------------------------------------------------------------------


@dataclass(frozen=True)
class InversionRate:
    """How often customer turns act as the seller.

    Attributes:
        dialogues: Dialogues counted.
        turns: Customer turns counted.
        inverted_turns: Customer turns detected as inverted.
        inverted_dialogues: Dialogues with at least one inverted customer turn.
        generations: Model outputs the guard checked (turns plus regenerations); only for
            rates read from flags, else None.
        inverted_generations: Outputs the guard detected as inverted; only from flags.
    """

    dialogues: int
    turns: int
    inverted_turns: int
    inverted_dialogues: int
    generations: int | None = None
    inverted_generations: int | None = None

    @property
    def per_turn(self) -> float:
        """The share of customer turns that are inverted (0 when there are none)."""
        return self.inverted_turns / self.turns if self.turns else 0.0

    @property
    def per_dialogue(self) -> float:
        """The share of dialogues with at least one inverted customer turn."""
        return self.inverted_dialogues / self.dialogues if self.dialogues else 0.0

    @property
    def per_generation(self) -> float | None:
        """The share of checked model outputs that were inverted (flags only)."""
        if self.generations is None or self.inverted_generations is None:
            return None
        return self.inverted_generations / self.generations if self.generations else 0.0

    def as_dict(self) -> dict[str, Any]:
        """Counts and rates, JSON-ready."""
        return {
            "per_turn": self.per_turn,
            "per_dialogue": self.per_dialogue,
            "per_generation": self.per_generation,
            "dialogues": self.dialogues,
            "turns": self.turns,
            "inverted_turns": self.inverted_turns,
            "inverted_dialogues": self.inverted_dialogues,
            "generations": self.generations,
            "inverted_generations": self.inverted_generations,
        }


def residual_inversion(transcripts: Iterable[Sequence[str]]) -> InversionRate:
    """Role inversion in final customer turns, by the guard's detector.

    Args:
        transcripts: One sequence of customer turn texts per dialogue (see
            `customer_texts` to get them from a `Dialogue`). Run it on real customer turns
            to measure the detector's false-positive rate.

    Returns:
        The rates per turn and per dialogue.
    """
    dialogues = turns = inverted_turns = inverted_dialogues = 0
    for texts in _sequences(transcripts, "transcripts"):
        hits = sum(is_role_inversion(t) for t in texts)
        dialogues += 1
        turns += len(texts)
        inverted_turns += hits
        inverted_dialogues += hits > 0
    return InversionRate(dialogues, turns, inverted_turns, inverted_dialogues)


def raw_inversion(flags: Iterable[Sequence[Mapping[str, int]]]) -> InversionRate:
    """Role inversion as the guard saw it, before regeneration, from reply flags.

    A turn counts as inverted when the guard detected an inverted output at least once
    while producing it (the first draft or a regeneration); `per_generation` divides all
    detections by all checked outputs (one per turn plus one per regeneration). Backends
    without a guard (the persona simulator) report zero detections.

    Args:
        flags: One sequence per dialogue of the flags of each customer turn:
            `CustomerReply.flags`, or `info["customer_flags"]` of each env step.

    Returns:
        The rates per turn, per dialogue and per generation.
    """
    dialogues = turns = inverted_turns = inverted_dialogues = generations = detections = 0
    for turn_flags in _sequences(flags, "flags"):
        hits = 0
        for f in turn_flags:
            if not isinstance(f, Mapping):
                raise TypeError(
                    f"flags must hold one mapping per customer turn (CustomerReply.flags or "
                    f"info['customer_flags']), got {type(f).__name__}"
                )
            detected = int(f.get("role_inversion", 0))
            hits += detected > 0
            detections += detected
            generations += 1 + int(f.get("regenerated", 0))
        dialogues += 1
        turns += len(turn_flags)
        inverted_turns += hits
        inverted_dialogues += hits > 0
    return InversionRate(
        dialogues, turns, inverted_turns, inverted_dialogues, generations, detections
    )


def customer_texts(dialogue: Dialogue, include_trigger: bool = False) -> list[str]:
    """The customer turns of a dialogue, by default without the scripted trigger sentence."""
    texts = [t.text for t in dialogue.turns if t.role == "customer"]
    starts_with_trigger = bool(dialogue.turns) and dialogue.turns[0].role == "customer"
    return texts if include_trigger or not starts_with_trigger else texts[1:]


def _sequences(items: Iterable[Any], name: str) -> list[Sequence[Any]]:
    if isinstance(items, str | Mapping):
        raise TypeError(f"{name} must be one sequence per dialogue, got a {type(items).__name__}")
    out = []
    for item in items:
        if isinstance(item, str | Mapping) or not isinstance(item, Sequence):
            raise TypeError(
                f"{name} must be one sequence per dialogue (a list per dialogue), "
                f"got an item of type {type(item).__name__}"
            )
        out.append(item)
    return out


# -- text overlap ---------------------------------------------------------------------------


def text_tokens(text: str, language: str) -> list[str]:
    """Tokens for ROUGE: lower-cased words (en), or single CJK characters with any other
    runs of letters and digits as lower-cased words (zh); punctuation is dropped.

    On ASCII English this equals rouge-score's default tokenizer (without stemming), which
    drops every non-ASCII character and so cannot score Chinese.
    """
    _check_language(language)
    low = text.lower()
    return _ZH_TOKEN.findall(low) if language == "zh" else _WORD.findall(low)


def _ngrams(tokens: Sequence[str], n: int) -> Counter[tuple[str, ...]]:
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def _f1(overlap: float, predicted: int, target: int) -> float:
    precision = overlap / max(predicted, 1)
    recall = overlap / max(target, 1)
    return 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0


def rouge_n(hypothesis: Sequence[str], reference: Sequence[str], n: int) -> float:
    """ROUGE-N F1 of two token lists (clipped n-gram overlap)."""
    if n < 1:
        raise ValueError(f"ROUGE-N needs n >= 1, got {n}")
    hyp, ref = _ngrams(hypothesis, n), _ngrams(reference, n)
    overlap = sum((hyp & ref).values())
    return _f1(overlap, sum(hyp.values()), sum(ref.values()))


def rouge_l(hypothesis: Sequence[str], reference: Sequence[str]) -> float:
    """ROUGE-L F1 of two token lists (longest common subsequence)."""
    if not hypothesis or not reference:
        return 0.0
    previous = [0] * (len(reference) + 1)
    for token in hypothesis:
        current = [0]
        for j, other in enumerate(reference):
            current.append(previous[j] + 1 if token == other else max(previous[j + 1], current[j]))
        previous = current
    return _f1(previous[-1], len(hypothesis), len(reference))


def rouge(hypotheses: Sequence[str], references: Sequence[str], language: str) -> dict[str, float]:
    """Mean ROUGE-1, ROUGE-2 and ROUGE-L F1 over aligned pairs (0-1, like rouge-score).

    Args:
        hypotheses: Generated turns.
        references: The real turns, aligned with `hypotheses`.
        language: "zh" (character tokens) or "en" (lower-cased word tokens).

    Returns:
        {"rouge1": ..., "rouge2": ..., "rougeL": ...}.

    Raises:
        ValueError: If the lists are empty or differ in length, or the language is unknown.
    """
    _check_pairs(hypotheses, references)
    totals = {"rouge1": 0.0, "rouge2": 0.0, "rougeL": 0.0}
    for hyp_text, ref_text in zip(hypotheses, references, strict=True):
        hyp, ref = text_tokens(hyp_text, language), text_tokens(ref_text, language)
        totals["rouge1"] += rouge_n(hyp, ref, 1)
        totals["rouge2"] += rouge_n(hyp, ref, 2)
        totals["rougeL"] += rouge_l(hyp, ref)
    return {name: total / len(hypotheses) for name, total in totals.items()}


def bleu4(
    hypotheses: Sequence[str], references: Sequence[str], language: str, lowercase: bool = True
) -> tuple[float, str]:
    """Corpus-level BLEU-4 with sacrebleu (0-100, sacrebleu's scale).

    Args:
        hypotheses: Generated turns.
        references: The real turns, one reference per hypothesis.
        language: "zh" (sacrebleu's "zh" tokenizer: one token per Chinese character) or
            "en" ("13a").
        lowercase: Compare case-insensitively (chat text is cased at random).

    Returns:
        The score and sacrebleu's signature string (report it with the score).

    Raises:
        ImportError: If sacrebleu is not installed (`pip install salesenv[metrics]`).
        ValueError: If the lists are empty or differ in length, or the language is unknown.
    """
    _check_pairs(hypotheses, references)
    _check_language(language)
    try:
        from sacrebleu.metrics import BLEU
    except ImportError as exc:
        raise ImportError("BLEU needs sacrebleu: `pip install salesenv[metrics]`") from exc
    metric = BLEU(tokenize=_BLEU_TOKENIZER[language], lowercase=lowercase)
    score = metric.corpus_score(list(hypotheses), [list(references)])
    return float(score.score), str(metric.get_signature())


# -- embeddings -----------------------------------------------------------------------------


def embedding_cosine(
    hypotheses: Sequence[str], references: Sequence[str], encode: Encoder
) -> float:
    """Mean cosine similarity between each generated turn and its real turn.

    Args:
        hypotheses: Generated turns.
        references: The real turns, aligned with `hypotheses`.
        encode: Maps a list of texts to an array with one embedding row per text (see
            `transformers_encoder`); zero vectors count as cosine 0.

    Raises:
        ValueError: If the lists are empty or differ in length, or the encoder returns an
            array of the wrong shape.
    """
    _check_pairs(hypotheses, references)
    n = len(hypotheses)
    vectors = np.asarray(encode(list(hypotheses) + list(references)), dtype=np.float64)
    if vectors.ndim != 2 or vectors.shape[0] != 2 * n:
        raise ValueError(
            f"the encoder must return one row per text, shape ({2 * n}, dim); got {vectors.shape}"
        )
    hyp, ref = vectors[:n], vectors[n:]
    norms = np.linalg.norm(hyp, axis=1) * np.linalg.norm(ref, axis=1)
    dots = np.einsum("ij,ij->i", hyp, ref)
    cosines = np.divide(dots, norms, out=np.zeros(n), where=norms > 0)
    return float(cosines.mean())


def transformers_encoder(
    model: str, device: str = "cpu", batch_size: int = 32, max_length: int = 256
) -> Encoder:
    """An encoder from a local transformers model: attention-masked mean pooling of the last
    hidden states, L2-normalised (what sentence-transformers does for MiniLM-style models).

    Args:
        model: A local model directory (a sentence-transformers folder works too).
        device: "cpu", "cuda", ...
        batch_size: Texts per forward pass.
        max_length: Tokens kept per text.

    Raises:
        ImportError: If torch or transformers is missing (`pip install salesenv[hf]`).
        ValueError: If the model cannot be loaded; the message names the path.
    """
    try:
        import torch
        from transformers import AutoModel, AutoTokenizer
    except ImportError as exc:
        raise ImportError(
            "the transformers encoder needs torch and transformers: `pip install salesenv[hf]`"
        ) from exc
    try:
        tokenizer = AutoTokenizer.from_pretrained(model)
        network = AutoModel.from_pretrained(model).to(device).eval()
    except (OSError, ValueError) as exc:
        raise ValueError(
            f"cannot load encoder {model!r}: {exc}. Pass a local transformers model directory."
        ) from exc
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token

    def encode(texts: list[str]) -> np.ndarray:
        rows = []
        for start in range(0, len(texts), batch_size):
            batch = tokenizer(
                texts[start : start + batch_size],
                padding=True,
                truncation=True,
                max_length=max_length,
                return_tensors="pt",
            ).to(device)
            with torch.inference_mode():
                hidden = network(**batch).last_hidden_state.float()
            mask = batch["attention_mask"].unsqueeze(-1).float()
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
            rows.append(torch.nn.functional.normalize(pooled, dim=-1).cpu().numpy())
        return np.concatenate(rows) if rows else np.zeros((0, 1))

    return encode


def user_likeness(
    hypotheses: Sequence[str],
    references: Sequence[str],
    language: str,
    encode: Encoder | None = None,
) -> dict[str, Any]:
    """Every text measure at once: BLEU-4 (0-100) with its signature, ROUGE-1/2/L F1 (0-1)
    and, when `encode` is given, the mean embedding cosine (else None)."""
    bleu, signature = bleu4(hypotheses, references, language)
    return {
        "pairs": len(hypotheses),
        "bleu4": bleu,
        "bleu_signature": signature,
        **rouge(hypotheses, references, language),
        "embedding_cosine": (
            embedding_cosine(hypotheses, references, encode) if encode is not None else None
        ),
    }


def _check_language(language: str) -> None:
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}, got {language!r}")


def _check_pairs(hypotheses: Sequence[str], references: Sequence[str]) -> None:
    if isinstance(hypotheses, str) or isinstance(references, str):
        raise TypeError("pass lists of turns, not a single string")
    if len(hypotheses) != len(references):
        raise ValueError(
            f"need one reference per generated turn, got {len(hypotheses)} generated and "
            f"{len(references)} references"
        )
    if not hypotheses:
        raise ValueError("no turns to compare: pass at least one (generated, real) pair")
