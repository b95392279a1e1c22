"""The `hf` intent scorer: any sequence-classification checkpoint, SalesLLM conventions by default.

The released classifiers (`MultiSense/SaleIntent_bert`) are one repository with one model
per language in subfolders; `HFIntentScorer("MultiSense/SaleIntent_bert")` loads both, and
`subfolders=` names others. Two input conventions exist (`flattening=`):

- "salesenv" (the default): `salesenv.rewards.transcript.flatten` (one "<role tag>:
  <utterance>" line per turn, tags in the scenario's language), truncated from the left
  to `max_tokens` tokens *including* the classifier's special tokens.
- "official": the public SalesLLM scoring script's rule (`comprehensive_score.py`):
  `flatten_official` ("[USER]…[ASSISTANT]…", no separators), its last `max_tokens`
  tokens (at most 510), then [CLS] before and [SEP] after, so `max_tokens` + 2 ids; a
  checkpoint whose `id2label` does not name the levels reads its classes in the order the
  script counts them (A, B, C, F, X). The scorer's version says which convention scored.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from salesenv.customers.model_path import (
    ModelNotFoundError,
    check_model_path,
    check_subfolder,
    model_subfolders,
)
from salesenv.dialogue import Dialogue
from salesenv.rewards.intent import INTENT_LEVELS, INTENT_POINTS, IntentResult
from salesenv.rewards.transcript import FLATTENINGS

#: The released intent classifiers: one repository, one subfolder per language.
RELEASED_REPO = "MultiSense/SaleIntent_bert"
#: The subfolder of each language in `RELEASED_REPO`. "en" is in the repository's file
#: list; "zh" is assumed from its language tags: if a copy differs, pass the name with
#: `subfolders=` (a local copy's error lists the subfolders it has).
RELEASED_SUBFOLDERS: Mapping[str, str] = {"zh": "zh", "en": "en"}
#: The class order the public scoring script assumes when it counts predictions.
OFFICIAL_CLASS_ORDER = ("A", "B", "C", "F", "X")
#: The public scoring script pads to 512 ids, so it keeps at most 510 text tokens.
OFFICIAL_MAX_TEXT_TOKENS = 510

_WHAT = "hf intent scorer"
_EXPECTED = "a sequence-classification checkpoint and its tokenizer"


@dataclass(frozen=True)
class IntentSubfolders:
    """The subfolder of each language's checkpoint inside a repository (None: the
    checkpoint is the folder itself, or the released repository's own subfolder)."""

    zh: str | None = None
    en: str | None = None


class HFIntentScorer:
    """Classifies the end of the flattened transcript into A/B/C/X/F with a transformers model.

    The defaults follow the public SalesLLM evaluation code: five labels A, B, C, X, F
    scored 10, 8, 6, 4, 2; the input is the flattened transcript with role tags, truncated
    from the left to its last 128 tokens; one checkpoint per language (the paper used
    chinese-roberta-wwm-ext and roberta-base fine-tunes, released as the subfolders of
    `MultiSense/SaleIntent_bert`).

    Args:
        checkpoints: A checkpoint (folder or hub id) for both languages, or {"zh": ...,
            "en": ...}. A repository with one model per language in subfolders works too:
            the released `MultiSense/SaleIntent_bert` uses `RELEASED_SUBFOLDERS`, and a
            local folder without its own config.json uses the subfolder named after the
            language when that subfolder holds a model.
        labels: The level of each class index, when the checkpoint's `id2label` does not
            already name the levels (default: A, B, C, X, F; with `flattening="official"`
            the official script's order A, B, C, F, X).
        max_tokens: Tokens kept from the end of the transcript: special tokens included
            ("salesenv"), or text tokens before [CLS]/[SEP] are added ("official").
        device: "cpu", "cuda", ...
        batch_size: Dialogues per forward pass.
        subfolders: The subfolder of each language inside `checkpoints` (an
            `IntentSubfolders` or a dict {"zh": ..., "en": ...}); on the command line
            `scorer.subfolders.zh=NAME`.
        flattening: "salesenv" (default) or "official": the input convention (see the
            module docstring).

    Raises:
        ModelNotFoundError: If a checkpoint is neither a folder nor a hub id, or a local
            repository lacks the subfolder (checked before transformers is imported), or
            a hub repository has no such subfolder.
        ImportError: If torch or transformers is missing.
        ValueError: If a checkpoint's number of classes does not match `labels`, or
            `flattening` or a subfolder language is unknown.
    """

    name = "hf"
    version = "1"

    def __init__(
        self,
        checkpoints: str | Mapping[str, str],
        labels: Sequence[str] | None = None,
        max_tokens: int = 128,
        device: str = "cpu",
        batch_size: int = 32,
        subfolders: IntentSubfolders | None = None,
        flattening: str = "salesenv",
    ) -> None:
        if flattening not in FLATTENINGS:
            raise ValueError(f"flattening must be one of {sorted(FLATTENINGS)}, got {flattening!r}")
        if labels is not None and set(labels) - set(INTENT_LEVELS):
            unknown = sorted(set(labels) - set(INTENT_LEVELS))
            raise ValueError(f"labels must be intent levels {INTENT_LEVELS}, got {unknown}")
        sources = resolve_checkpoints(checkpoints, subfolders)
        try:
            from transformers import AutoModelForSequenceClassification, AutoTokenizer
        except ImportError as exc:
            raise ImportError("the hf intent scorer needs `pip install salesenv[hf]`") from exc
        self.flattening = flattening
        self.version = "1" if flattening == "salesenv" else f"1-{flattening}"
        self.max_tokens = max_tokens
        self.device = device
        self.batch_size = batch_size
        self.sources = sources
        self._flatten = FLATTENINGS[flattening]
        fallback = labels or (OFFICIAL_CLASS_ORDER if flattening == "official" else INTENT_LEVELS)
        loaded: dict[tuple[str, str | None], tuple[Any, Any, list[str]]] = {}
        self._models: dict[str, tuple[Any, Any, list[str]]] = {}
        for language, (path, subfolder) in sources.items():
            if (path, subfolder) not in loaded:
                kwargs = {"subfolder": subfolder} if subfolder else {}
                try:
                    tokenizer = AutoTokenizer.from_pretrained(path, **kwargs)
                    model = AutoModelForSequenceClassification.from_pretrained(path, **kwargs)
                except OSError as exc:
                    if not subfolder:
                        raise
                    raise ModelNotFoundError(
                        f"{_WHAT}: cannot load model {path!r} (subfolder {subfolder!r}) for "
                        f"{language}: {exc}; pass scorer.subfolders.{language}=NAME with the "
                        "subfolder that holds the checkpoint"
                    ) from exc
                tokenizer.truncation_side = "left"  # keep the end of the conversation
                model = model.to(device).eval()
                where = f"{path}/{subfolder}" if subfolder else path
                loaded[path, subfolder] = (tokenizer, model, _label_levels(model, fallback, where))
            self._models[language] = loaded[path, subfolder]

    def texts(self, dialogues: Sequence[Dialogue]) -> list[str]:
        """The text the classifier reads for each dialogue, before truncation."""
        return [self._flatten(d) for d in dialogues]

    def token_ids(self, dialogues: Sequence[Dialogue]) -> list[list[int]]:
        """The token ids the classifier reads for each dialogue, after truncation and with
        the special tokens (what `score_batch` feeds the model, without padding)."""
        out = []
        for dialogue in dialogues:
            tokenizer = self._model(dialogue.scenario.language)[0]
            encoded = self._encode(tokenizer, self.texts([dialogue]), padding=False)
            out.append(list(encoded["input_ids"][0]))
        return out

    def score_batch(self, dialogues: Sequence[Dialogue]) -> list[IntentResult]:
        import torch

        results: list[IntentResult | None] = [None] * len(dialogues)
        by_language: dict[str, list[int]] = {}
        for i, dialogue in enumerate(dialogues):
            by_language.setdefault(dialogue.scenario.language, []).append(i)
        for language, indices in by_language.items():
            tokenizer, model, levels = self._model(language)
            for start in range(0, len(indices), self.batch_size):
                chunk = indices[start : start + self.batch_size]
                texts = self.texts([dialogues[i] for i in chunk])
                batch = self._encode(tokenizer, texts, padding=True, return_tensors="pt")
                with torch.inference_mode():
                    predicted = model(**batch.to(self.device)).logits.argmax(dim=-1).tolist()
                for i, cls in zip(chunk, predicted, strict=True):
                    level = levels[cls]
                    results[i] = IntentResult(level, INTENT_POINTS[level])
        return results  # type: ignore[return-value]

    def _model(self, language: str) -> tuple[Any, Any, list[str]]:
        if language not in self._models:
            raise ValueError(
                f"no intent checkpoint for language {language!r}; pass checkpoints= with a "
                f"{language!r} entry (have: {sorted(self._models)})"
            )
        return self._models[language]

    def _encode(self, tokenizer, texts: list[str], padding: bool, return_tensors=None):
        if self.flattening == "official":
            # The official script keeps the last N text tokens, then adds [CLS] and [SEP].
            kept = min(self.max_tokens, OFFICIAL_MAX_TEXT_TOKENS)
            max_length = kept + tokenizer.num_special_tokens_to_add(pair=False)
        else:
            max_length = self.max_tokens
        return tokenizer(
            texts,
            truncation=True,
            max_length=max_length,
            padding=padding,
            return_tensors=return_tensors,
        )


def resolve_checkpoints(
    checkpoints: str | Mapping[str, str],
    subfolders: IntentSubfolders | Mapping[str, str | None] | None = None,
) -> dict[str, tuple[str, str | None]]:
    """Where each language's checkpoint is: {language: (folder or hub id, subfolder)}.

    Checks every path before anything is loaded (see `HFIntentScorer` for the rules).

    Raises:
        ModelNotFoundError: If a path is missing, or a local repository lacks the
            subfolder, or a local folder holds neither a model nor a language subfolder;
            the message names the path, its subfolders and what to pass.
        ValueError: If `subfolders` names a language that `checkpoints` does not have.
    """
    if isinstance(checkpoints, str | os.PathLike):
        paths = {"zh": os.fspath(checkpoints), "en": os.fspath(checkpoints)}
    else:
        paths = {str(k): os.fspath(v) for k, v in checkpoints.items()}
    if isinstance(subfolders, IntentSubfolders):
        chosen = {"zh": subfolders.zh, "en": subfolders.en}
    else:
        chosen = {str(k): v for k, v in (subfolders or {}).items()}
    chosen = {k: str(v) for k, v in chosen.items() if v}
    unknown = sorted(set(chosen) - set(paths))
    if unknown:
        raise ValueError(
            f"subfolders names languages {unknown} that checkpoints does not have ({sorted(paths)})"
        )
    for path in paths.values():
        check_model_path(path, _WHAT, _EXPECTED)
    out: dict[str, tuple[str, str | None]] = {}
    for language, path in paths.items():
        subfolder = chosen.get(language) or _default_subfolder(path, language)
        if subfolder:
            check_subfolder(path, subfolder, _WHAT, _EXPECTED, f"scorer.subfolders.{language}=NAME")
        out[language] = (path, subfolder)
    return out


def _default_subfolder(path: str, language: str) -> str | None:
    """The released repository's subfolder, a local repository's language subfolder, or
    None for a checkpoint folder (or any other hub id)."""
    if path.lower() == RELEASED_REPO.lower():
        return RELEASED_SUBFOLDERS.get(language)
    folder = Path(path).expanduser()
    if not folder.is_dir() or (folder / "config.json").is_file():
        return None
    present = model_subfolders(folder)
    for name in (language, RELEASED_SUBFOLDERS.get(language)):
        if name and name in present:
            return name
    listed = f"its model subfolders: {', '.join(present)}" if present else "it has none"
    raise ModelNotFoundError(
        f"{_WHAT}: cannot load model {path!r} for {language}: the folder has no config.json "
        f"and no subfolder {language!r} ({listed}); pass scorer.subfolders.{language}=NAME "
        f"with the subfolder that holds {_EXPECTED}, or the checkpoint folder itself"
    )


def _label_levels(model, fallback: Sequence[str], where: str) -> list[str]:
    """The level of each class: the checkpoint's `id2label` when it names the levels,
    else `fallback`."""
    named = [str(model.config.id2label[i]).strip().upper() for i in range(model.config.num_labels)]
    if set(named) <= set(INTENT_LEVELS) and len(set(named)) == len(named):
        return named
    if model.config.num_labels != len(fallback):
        raise ValueError(
            f"{where} has {model.config.num_labels} classes but labels has {len(fallback)}; "
            "pass labels= with one intent level per class"
        )
    return list(fallback)
