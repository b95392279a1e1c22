"""The `hf` intent scorer: any sequence-classification checkpoint, SalesLLM conventions by default."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from salesenv.customers.model_path import check_model_path
from salesenv.dialogue import Dialogue
from salesenv.rewards.intent import INTENT_LEVELS, INTENT_POINTS, IntentResult
from salesenv.rewards.transcript import flatten


class HFIntentScorer:
    """Classifies the end of the flattened transcript into A/B/C/X/F with a transformers model.

    The defaults follow the public SalesLLM evaluation code: five labels A, B, C, X, F
    scored 10, 8, 6, 4, 2; the input is the flattened transcript with role tags, truncated
    from the left to its last 128 tokens; one checkpoint per language (the paper used
    chinese-roberta-wwm-ext and roberta-base fine-tunes).

    Args:
        checkpoints: A checkpoint directory for both languages, or {"zh": dir, "en": dir}.
        labels: The level of each class index, when the checkpoint's `id2label` does not
            already name the levels.
        max_tokens: Tokens kept from the end of the transcript, special tokens included.
        device: "cpu", "cuda", ...
        batch_size: Dialogues per forward pass.

    Raises:
        ModelNotFoundError: If a checkpoint is neither a folder nor a hub id (checked before
            transformers is imported).
        ImportError: If torch or transformers is missing.
        ValueError: If a checkpoint's number of classes does not match `labels`.
    """

    name = "hf"
    version = "1"

    def __init__(
        self,
        checkpoints: str | Mapping[str, str],
        labels: Sequence[str] = INTENT_LEVELS,
        max_tokens: int = 128,
        device: str = "cpu",
        batch_size: int = 32,
    ) -> None:
        if isinstance(checkpoints, str):
            checkpoints = {"zh": checkpoints, "en": checkpoints}
        for path in checkpoints.values():
            check_model_path(
                path, "hf intent scorer", "a sequence-classification checkpoint and its tokenizer"
            )
        try:
            from transformers import AutoModelForSequenceClassification, AutoTokenizer
        except ImportError as exc:
            raise ImportError("the hf intent scorer needs `pip install salesenv[hf]`") from exc
        unknown = set(labels) - set(INTENT_LEVELS)
        if unknown:
            raise ValueError(f"labels must be intent levels {INTENT_LEVELS}, got {sorted(unknown)}")
        self.max_tokens = max_tokens
        self.device = device
        self.batch_size = batch_size
        self._models = {}
        for language, path in checkpoints.items():
            tokenizer = AutoTokenizer.from_pretrained(path)
            tokenizer.truncation_side = "left"  # keep the end of the conversation
            model = AutoModelForSequenceClassification.from_pretrained(path).to(device).eval()
            self._models[language] = (tokenizer, model, self._label_levels(model, labels, path))

    @staticmethod
    def _label_levels(model, labels: Sequence[str], path: str) -> list[str]:
        named = [
            str(model.config.id2label[i]).strip().upper() for i in range(model.config.num_labels)
        ]
        if set(named) <= set(INTENT_LEVELS) and len(set(named)) == len(named):
            return named
        if model.config.num_labels != len(labels):
            raise ValueError(
                f"{path} has {model.config.num_labels} classes but labels has {len(labels)}; "
                "pass labels= with one intent level per class"
            )
        return list(labels)

    def score_batch(self, dialogues: Sequence[Dialogue]) -> list[IntentResult]:
        import torch

        results: list[IntentResult | None] = [None] * len(dialogues)
        by_language: dict[str, list[int]] = {}
        for i, dialogue in enumerate(dialogues):
            by_language.setdefault(dialogue.scenario.language, []).append(i)
        for language, indices in by_language.items():
            if language not in self._models:
                raise ValueError(f"no intent checkpoint for language {language!r}")
            tokenizer, model, levels = self._models[language]
            for start in range(0, len(indices), self.batch_size):
                chunk = indices[start : start + self.batch_size]
                batch = tokenizer(
                    [flatten(dialogues[i]) for i in chunk],
                    truncation=True,
                    max_length=self.max_tokens,
                    padding=True,
                    return_tensors="pt",
                ).to(self.device)
                with torch.inference_mode():
                    predicted = model(**batch).logits.argmax(dim=-1).tolist()
                for i, cls in zip(chunk, predicted, strict=True):
                    level = levels[cls]
                    results[i] = IntentResult(level, INTENT_POINTS[level])
        return results  # type: ignore[return-value]
