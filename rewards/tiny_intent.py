"""A tiny random stand-in of the released intent classifiers, built offline.

`save_tiny_intent_repo(path)` writes a folder laid out like `MultiSense/SaleIntent_bert`:
one BERT sequence classifier per language in the subfolders "zh" and "en", each with a
WordPiece tokenizer that reads Chinese (one token per character) and English (words,
else letters), and `id2label` naming the five levels. The weights are random: it scores
nothing meaningfully and exists to exercise `scorer=hf` without a model hub, e.g.

    python -c "from salesenv.rewards.tiny_intent import save_tiny_intent_repo as s; s('tiny')"
    salesenv eval ... scorer=hf scorer.checkpoints=tiny
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from salesenv.rewards.hf_intent import OFFICIAL_CLASS_ORDER, RELEASED_SUBFOLDERS

_SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
_PUNCTUATION = list(":：.,?!，。？！[]")
_WORDS = (
    "user assistant customer salesperson hello hi price fee warranty yes no buy thanks "
    "what how is the it a i you we ok sure not want need"
).split()
_LETTERS = [*"abcdefghijklmnopqrstuvwxyz0123456789"]
_CHARS = list("客户销售你好价格多少钱买吗不要谢谢的是了我您这个产品再见需")


def tiny_vocab() -> list[str]:
    """The stand-in's WordPiece vocabulary: special tokens, punctuation, a few words, every
    letter and digit alone and as a continuation piece (so any English word splits into
    known pieces), and common Chinese characters (others read as [UNK])."""
    pieces = [*_SPECIAL, *_PUNCTUATION, *_WORDS, *_LETTERS, *(f"##{c}" for c in _LETTERS)]
    return list(dict.fromkeys([*pieces, *_CHARS]))


def save_tiny_intent_classifier(
    path: str | os.PathLike[str],
    order: Sequence[str] = OFFICIAL_CLASS_ORDER,
    favour: str | None = None,
    seed: int = 0,
) -> Path:
    """Saves one tiny random BERT sequence classifier and its tokenizer in `path`.

    Args:
        path: The folder to write (created).
        order: The level of each class index, written into `id2label`.
        favour: A level that every input is classified as (a large bias on its class),
            or None for the random head.
        seed: The torch seed of the random weights.

    Returns:
        The folder.
    """
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    vocab = tiny_vocab()
    tokenizer = BertTokenizerFast(vocab={token: i for i, token in enumerate(vocab)})
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=512,
        num_labels=len(order),
        id2label=dict(enumerate(order)),
        label2id={level: i for i, level in enumerate(order)},
    )
    torch.manual_seed(seed)
    model = BertForSequenceClassification(config)
    if favour is not None:
        with torch.no_grad():
            model.classifier.bias.zero_()
            model.classifier.bias[list(order).index(favour)] = 100.0
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def save_tiny_intent_repo(
    path: str | os.PathLike[str],
    subfolders: Mapping[str, str] = RELEASED_SUBFOLDERS,
    order: Sequence[str] = OFFICIAL_CLASS_ORDER,
    favour: Mapping[str, str] | None = None,
) -> Path:
    """Saves a stand-in of the released repository: one tiny classifier per language, in
    the subfolder `subfolders[language]` of `path`.

    Args:
        path: The repository folder to write (created).
        subfolders: The subfolder of each language (default: the released layout).
        order: The level of each class index (default: the official script's order).
        favour: Optionally, the level each language's classifier always predicts.

    Returns:
        The repository folder.
    """
    folder = Path(path)
    for seed, (language, name) in enumerate(sorted(subfolders.items())):
        save_tiny_intent_classifier(folder / name, order, (favour or {}).get(language), seed=seed)
    return folder
