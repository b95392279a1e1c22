"""Reads utterances by meaning: static word vectors, and which product facts, decision
factors and acts a salesperson turn speaks to.

`salesenv.cues` reads text by cue words and token overlap; this module adds meaning, so
that "you can just throw it in the washer" states the fact "Machine washable at 30°C"
although the two share no word. Shared by the persona customer (to credit answers) and the
rubric judge, like `salesenv.cues`.

How: each word has a static vector distilled from multilingual-e5-small
(`examples/distill_word_vectors.py`, shipped as `salesenv/data/word_vectors.npz`, about
52,000 English and Chinese words and every common Chinese character); frequent words
weigh less (SIF weights from the words' frequencies). English is split into words, Chinese by forward maximum matching against the vocabulary
(unknown words fall back to characters). A transformer encoder would read better but costs
about 30 ms per sentence on two CPU cores; these vectors cost microseconds, so the
persona customer stays a fast environment.

Reading a turn: the turn is cut into clauses. A clause's words are compared with the words
of every product fact: its *support* by a fact is the SIF-weighted mean, over the clause's
words, of each word's best cosine with a word of the fact (`support`). A clause *states*
the fact that supports it best when that support reaches `STATES_FACT` and beats the best
support by any sentence of generic sales talk (`salesenv/data/meaning.yaml`) by
`BACKGROUND_MARGIN`, so "let me know if you have any questions" states nothing. It *is
about* a factor when one of the factor's prototypes (its names, the customer's questions
about it) supports it as well. A sentence that states no fact, is no question, no talk
about the conversation and no disclaimer, and whose words the product information does
not support (`SUPPORTED`) is an unsupported claim. Acts (asking about needs, asking for
the order, pressing) are read from prototypes of each (`SheetMeaning.acts`). The
thresholds were chosen on the dev splits of `benchmarks/meaning_probes/` (never on the
test splits): `python benchmarks/meaning_calibration.py` prints the sweep, and
docs/persona_customer.md shows it.
"""

from __future__ import annotations

import functools
import re
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import NamedTuple

import numpy as np
import yaml

from salesenv.cues import claimed_numbers, lexicon, tokens

#: Support (see `support`) at which a clause states the product fact it supports best.
STATES_FACT = 0.50
#: How much better a clause must support its fact than any sentence of generic sales talk
#: (`salesenv/data/meaning.yaml`), so that "let me know if you have questions" states nothing.
BACKGROUND_MARGIN = 0.08
#: Support by one of a factor's prototypes (its names, the customer's questions about it)
#: at which a clause is about that factor.
ABOUT_FACTOR = 0.55
#: Support by the whole product information below which a claim is unsupported.
SUPPORTED = 0.60
#: Support by generic sales talk at which a clause is talk, not a claim about the product.
FRAMING = 0.6
#: What a turn can do besides stating facts (`SheetMeaning.acts`).
ACTS = ("discovery", "close", "pressure")
#: Support by an act's prototype at which a sentence may do that act; pressing costs the
#: salesperson, so it needs more.
ACT_MIN = {"discovery": 0.55, "close": 0.55, "pressure": 0.60}
#: How much better the act's prototypes must carry the sentence than any rival's.
ACT_MARGIN = 0.03
#: Known words a clause needs to count as a claim.
CLAIM_WORDS = 3
#: Cue kinds whose clauses are never claims.
_NOT_CLAIMS = ("greeting", "empathy", "discovery", "close", "next_step", "honest_unknown")
#: SIF smoothing: a word of probability p weighs SIF_A / (SIF_A + p).
SIF_A = 1e-4
#: Clauses shorter than this many known words are not compared (greetings, "yes").
MIN_WORDS = 2

_EN_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
_CJK_RUN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
_SCRIPT = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+|[a-z]+(?:'[a-z]+)?")
#: Where clauses end: sentence and clause punctuation, but not the point or comma of a number.
_CLAUSE_END = re.compile(r"[。！？!?；;\n，、:：—]|(?<!\d)[.,]|[.,](?!\d)")
_SENTENCE_END = re.compile(r"[。！？!?；;\n]|(?<!\d)\.|\.(?!\d)")
_SUFFIXES = ("'s", "s", "es", "ed", "d", "ing", "ly", "er", "ers")
_MAX_ZH_WORD = 4


class WordVectors:
    """The static word vectors and the text encoder built on them.

    Args:
        path: An `.npz` file written by `examples/distill_word_vectors.py` (default: the
            one shipped with salesenv).
    """

    def __init__(self, path: str | None = None) -> None:
        source = path or resources.files("salesenv") / "data" / "word_vectors.npz"
        with source.open("rb") if path is None else open(path, "rb") as handle:
            data = np.load(handle)
            words = str(data["words"]).split("\n")
            vectors = data["vectors"].astype(np.float32) * data["scales"][:, None]
            log_frequency = data["log_frequency"].astype(np.float64)
            self.source = str(data["source"])
        weights = (SIF_A / (SIF_A + np.exp(log_frequency))).astype(np.float32)
        self._weights = weights
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        self._unit = vectors / np.where(norms > 0, norms, 1.0)
        self._index = {w: i for i, w in enumerate(words)}
        self.dim = vectors.shape[1]
        self.vocabulary = len(words)
        self._words: OrderedDict[str, Words] = OrderedDict()

    def word_ids(self, text: str) -> list[int]:
        """The vocabulary indices of the words of `text` (English words, Chinese words by
        forward maximum matching); unknown words are left out."""
        ids: list[int] = []
        index = self._index
        for run in _SCRIPT.findall(text.lower()):
            if run[0].isascii():
                found = index.get(run)
                if found is None:
                    found = next(
                        (
                            index[run[: -len(s)]]
                            for s in _SUFFIXES
                            if run.endswith(s) and run[: -len(s)] in index
                        ),
                        None,
                    )
                if found is not None:
                    ids.append(found)
                continue
            ids.extend(found for _, _, found in self._zh_words(run) if found is not None)
        return ids

    def _zh_words(self, run: str) -> Iterator[tuple[int, int, int | None]]:
        """The words of a run of Chinese characters by forward maximum matching, as
        (start, length, vocabulary id); an unknown character is a word of its own (id None)."""
        index = self._index
        i = 0
        while i < len(run):
            for size in range(min(_MAX_ZH_WORD, len(run) - i), 0, -1):
                found = index.get(run[i : i + size])
                if found is not None:
                    yield i, size, found
                    i += size
                    break
            else:
                yield i, 1, None
                i += 1

    def word_starts(self, text: str) -> set[int]:
        """The offsets in `text` where a Chinese word starts (forward maximum matching over
        the vocabulary), so that text can be cut between words, never inside one."""
        return {
            run.start() + start
            for run in _CJK_RUN.finditer(text)
            for start, _, _ in self._zh_words(run.group())
        }

    def known_words(self, text: str) -> int:
        """How many words of `text` the vocabulary knows."""
        return len(self.words(text).ids)

    def words(self, text: str) -> Words:
        """The known words of `text`: vocabulary ids, unit vectors and SIF weights. Cached
        per text."""
        found = self._words.get(text)
        if found is None:
            ids = np.array(self.word_ids(text), dtype=np.int64)
            found = Words(ids, self._unit[ids], self._weights[ids])
            self._words[text] = found
            if len(self._words) > 50_000:
                self._words.popitem(last=False)
        return found


class Words(NamedTuple):
    """The known words of a text (`WordVectors.words`)."""

    ids: np.ndarray
    vectors: np.ndarray
    weights: np.ndarray


def support(claim: Words, source: np.ndarray) -> float:
    """How much of a claim's words the source's words carry: for each word of the claim its
    best cosine with any word of the source, averaged with the claim's SIF weights (rare
    words count most). 1 when every word is in the source; about 0.3 to 0.5 for unrelated
    text. Takes `WordVectors.words` of the claim and the word vectors of the source."""
    if not len(claim.weights) or not len(source):
        return 0.0
    best = (claim.vectors @ source.T).max(axis=1)
    return float(best @ claim.weights / claim.weights.sum())


class Sources:
    """Several texts' word vectors stacked in one matrix, for `support` against each.

    Each vocabulary word's best cosine with every source is computed once and kept, so
    reading a turn costs a few lookups once its words have been seen.

    Args:
        matrices: One matrix of word vectors per source (`Words.vectors`); a source with
            no known word supports nothing.
        dim: The vectors' dimension.
    """

    def __init__(
        self, matrices: Sequence[np.ndarray], dim: int, vocabulary: int | None = None
    ) -> None:
        rows = [m if len(m) else np.full((1, dim), 0.0, np.float32) for m in matrices]
        self.count = len(rows)
        self.words = np.concatenate(rows).astype(np.float32) if rows else np.zeros((0, dim))
        self.starts = np.cumsum([0] + [len(m) for m in rows[:-1]]) if rows else np.zeros(0, int)
        # Shared sources (prototypes, sales talk) keep a table over the whole vocabulary,
        # filled as words are met; a product's own sources keep a dict of the words met.
        self._table = np.zeros((vocabulary, self.count), np.float32) if vocabulary else None
        self._known = np.zeros(vocabulary, bool) if vocabulary else None
        self._best: dict[int, np.ndarray] = {}

    def support(self, claim: Words) -> np.ndarray:
        """`support` of the claim by each source."""
        if not len(claim.weights) or not self.count:
            return np.zeros(self.count, dtype=np.float32)
        ids = claim.ids
        if self._table is not None:
            missing = np.flatnonzero(~self._known[ids])
            if len(missing):
                sims = claim.vectors[missing] @ self.words.T
                self._table[ids[missing]] = np.maximum.reduceat(sims, self.starts, axis=1)
                self._known[ids[missing]] = True
            table = self._table[ids]
        else:
            best = self._best
            words = ids.tolist()
            missing = [i for i, word in enumerate(words) if word not in best]
            if missing:
                sims = claim.vectors[missing] @ self.words.T
                per_source = np.maximum.reduceat(sims, self.starts, axis=1)
                for row, value in zip(missing, per_source, strict=True):
                    best[words[row]] = value
            table = np.stack([best[word] for word in words])
        return claim.weights @ table / claim.weights.sum()


@functools.cache
def word_vectors() -> WordVectors:
    """The shipped word vectors, loaded once per process."""
    return WordVectors()


def sentences(text: str) -> list[str]:
    """The sentences of a text (cut at sentence ends, not at the point of a number)."""
    return [c.strip() for c in _SENTENCE_END.split(text) if c.strip()]


def clauses(text: str) -> list[str]:
    """The clauses of a text (cut at sentence ends, commas, colons and dashes)."""
    return [c.strip() for c in _CLAUSE_END.split(text) if c.strip()]


@dataclass(frozen=True)
class TurnMeaning:
    """What a salesperson turn speaks to, by meaning.

    Attributes:
        stated_facts: Indices of the product facts the turn states.
        grounded: Factors of those facts.
        about: Factors the turn talks about (facts or not), most similar first.
        unsupported: Sentences that claim something about the product that nothing in the
            product information supports (see `SheetMeaning.read`).
        acts: What the turn does besides stating facts, read by meaning (`ACTS`: asking
            about needs, asking for the order, pressing; see `SheetMeaning.acts`).
    """

    stated_facts: frozenset[int]
    grounded: frozenset[str]
    about: tuple[str, ...]
    unsupported: tuple[str, ...] = ()
    acts: frozenset[str] = frozenset()


_NOTHING = TurnMeaning(frozenset(), frozenset(), ())


class SheetMeaning:
    """One product's information prepared for reading turns by meaning (once per sheet).

    Args:
        language: The scenario's language.
        facts: (factor, text) pairs of the product's facts.
        prototypes: Factor id -> texts that ask or talk about it (the customer's questions
            and the factor's names).
        reference_text: All product information the salesperson was given (facts, selling
            points, price, description); a claim its words carry is supported.
        vectors: The word vectors (default: the shipped ones).
    """

    def __init__(
        self,
        language: str,
        facts: Sequence[tuple[str, str]],
        prototypes: dict[str, Sequence[str]],
        reference_text: str = "",
        vectors: WordVectors | None = None,
    ) -> None:
        self.language = language
        self.vectors = vectors or word_vectors()
        self.facts = tuple(facts)
        dim = self.vectors.dim
        self._fact_words = Sources([self.vectors.words(t).vectors for _, t in self.facts], dim)
        self._factor_of_fact = [factor for factor, _ in self.facts]
        self._proto_factor = [factor for factor, texts in prototypes.items() for _ in texts]
        self._prototypes = prototype_words(prototypes)
        reference = [reference_text, *(text for _, text in self.facts)]
        self._reference = Sources(
            [np.concatenate([self.vectors.words(text).vectors for text in reference])], dim
        )
        self._reference_tokens = tokens(" ".join(reference), language)
        self._background = background_words(language)
        self._read_cache: dict[tuple[str, str], TurnMeaning] = {}

    def read(self, text: str, heard: str = "") -> TurnMeaning:
        """What `text` speaks to; cached per text (the customer and the judge read the same
        turns). See `_read`."""
        key = (text, heard)
        found = self._read_cache.get(key)
        if found is None:
            found = self._read(text, heard)
            self._read_cache[key] = found
            if len(self._read_cache) > 256:
                self._read_cache.pop(next(iter(self._read_cache)))
        return found

    def _read(self, text: str, heard: str) -> TurnMeaning:
        """What `text` speaks to (see the module docstring).

        A sentence is an unsupported claim when none of its clauses states a fact, it is a
        statement (not a question, not a disclaimer such as "not guaranteed", not what the
        customer said: `heard`), is not talk about the conversation itself (it is not
        carried by a sentence of generic sales talk to `FRAMING`, and has no cue word of
        greetings, empathy, discovery, closing or honest gaps), and neither its words'
        meaning (`support` by the whole product information below `SUPPORTED`) nor its
        tokens (under half found in the product information) are in the product
        information.
        """
        units = [c for c in clauses(text) if self.vectors.known_words(c) >= MIN_WORDS]
        if not units:
            return _NOTHING
        stated: set[int] = set()
        generic: list[float] = []
        claims: list[str] = []  # units that state no fact: candidates for unsupported claims
        for unit in units:
            words = self.vectors.words(unit)
            generic.append(self._generic(unit))
            scores = self._fact_words.support(words) if self.facts else np.zeros(1)
            top = int(np.argmax(scores))
            if scores[top] >= STATES_FACT and scores[top] - generic[-1] >= BACKGROUND_MARGIN:
                stated.add(top)
            else:
                claims.append(unit)
        return TurnMeaning(
            stated_facts=frozenset(stated),
            grounded=frozenset(self._factor_of_fact[i] for i in stated),
            about=self._about(units, generic),
            unsupported=self._unsupported(text, claims, heard),
            acts=self.acts(text),
        )

    def acts(self, text: str) -> frozenset[str]:
        """The acts (`ACTS`) of `text`: a sentence does an act when one of the act's
        prototypes (`salesenv/data/meaning.yaml`) carries its words to `ACT_MIN`, by
        `ACT_MARGIN` more than the prototypes of every other act, of framing talk, and
        every product fact do; asking about needs and asking for the order must be asked
        (a question or a request such as "tell me about...")."""
        found: set[str] = set()
        for sentence in sentences(text):
            scores = act_scores(self.language, sentence)
            if not _asks(sentence, text):
                # Asking about needs and asking for the order are requests: a statement
                # ("I'm the advisor for this product") does neither.
                scores = {**scores, "discovery": 0.0, "close": 0.0}
            kind = max(ACTS, key=lambda k: scores[k])
            rivals = [v for k, v in scores.items() if k != kind]
            if self.facts:
                rivals.append(float(self._fact_words.support(self.vectors.words(sentence)).max()))
            if scores[kind] >= ACT_MIN[kind] and scores[kind] - max(rivals) >= ACT_MARGIN:
                found.add(kind)
        return frozenset(found)

    def _generic(self, text: str) -> float:
        """How well generic sales talk carries `text` (the same for every sheet: cached)."""
        key = (self.language, text)
        value = _GENERIC.get(key)
        if value is None:
            value = float(self._background.support(self.vectors.words(text)).max())
            _remember(_GENERIC, key, value)
        return value

    def _prototype_scores(self, text: str) -> np.ndarray:
        """`support` of `text` by every factor prototype (the same for every sheet: cached)."""
        key = (self.language, id(self._prototypes), text)
        value = _PROTOTYPE_SCORES.get(key)
        if value is None:
            value = self._prototypes.support(self.vectors.words(text))
            _remember(_PROTOTYPE_SCORES, key, value)
        return value

    def _about(self, units: list[str], generic: list[float]) -> tuple[str, ...]:
        """The factors a unit talks about: one of their prototypes carries the unit's words
        to `ABOUT_FACTOR`, `BACKGROUND_MARGIN` better than generic sales talk does; most
        similar first."""
        about: dict[str, float] = {}
        for unit, talk in zip(units, generic, strict=True):
            scores = self._prototype_scores(unit)
            for j in np.flatnonzero(scores >= max(ABOUT_FACTOR, talk + BACKGROUND_MARGIN)):
                factor = self._proto_factor[j]
                about[factor] = max(about.get(factor, 0.0), float(scores[j]))
        return tuple(sorted(about, key=lambda f: -about[f]))

    def _unsupported(self, text: str, claims: list[str], heard: str) -> tuple[str, ...]:
        """The sentences of `text` that claim what the product information does not
        support (see `read`); `claims` are the clauses that stated no fact; `heard`: what
        the customer said (repeating it is not a claim)."""
        lex = lexicon(self.language)
        heard_words = self.vectors.words(heard).vectors if heard else None
        found = []
        for sentence in sentences(text):
            parts = [c for c in clauses(sentence) if self.vectors.known_words(c) >= MIN_WORDS]
            if not parts or any(part not in claims for part in parts):
                continue  # a clause of it states a fact: the sentence is grounded
            words = self.vectors.words(sentence)
            if _is_question(sentence, text) or len(words[1]) < CLAIM_WORDS:
                continue
            if self._generic(sentence) >= FRAMING:
                continue
            if any(lex.has(cue, sentence) for cue in _NOT_CLAIMS):
                continue
            if lex.has("guarantee", sentence) and not lex.asserted("guarantee", sentence):
                continue  # a disclaimer ("returns are not guaranteed"), not a claim
            if heard and (
                support(words, heard_words) >= SUPPORTED
                or claimed_numbers(sentence) & claimed_numbers(heard)
            ):
                continue  # it answers what the customer said ("then $120 covers it")
            if float(self._reference.support(words)[0]) >= SUPPORTED:
                continue
            toks = tokens(sentence, self.language)
            if toks and len(toks & self._reference_tokens) / len(toks) >= 0.5:
                continue
            found.append(sentence)
        return tuple(found)


_PROTOTYPES: dict[int, tuple[dict[str, Sequence[str]], Sources]] = {}
_GENERIC: OrderedDict[tuple[str, str], float] = OrderedDict()
_PROTOTYPE_SCORES: OrderedDict[tuple[str, int, str], np.ndarray] = OrderedDict()
_CACHE_SIZE = 50_000


def _remember(cache: OrderedDict, key: object, value: object) -> None:
    cache[key] = value
    if len(cache) > _CACHE_SIZE:
        cache.popitem(last=False)


def prototype_words(prototypes: dict[str, Sequence[str]]) -> Sources:
    """The word vectors of every prototype text, in the order of `prototypes` (computed
    once per prototype table: callers pass the same cached table for every sheet)."""
    entry = _PROTOTYPES.get(id(prototypes))
    if entry is None or entry[0] is not prototypes:
        entry = (prototypes, _sources([t for group in prototypes.values() for t in group]))
        _PROTOTYPES[id(prototypes)] = entry
    return entry[1]


_ACT_SCORES: OrderedDict[tuple[str, str], dict[str, float]] = OrderedDict()


def act_scores(language: str, sentence: str) -> dict[str, float]:
    """The `support` of a sentence by the best prototype of each kind of
    `salesenv/data/meaning.yaml` (the acts and framing talk); cached."""
    key = (language, sentence)
    scores = _ACT_SCORES.get(key)
    if scores is None:
        words = word_vectors().words(sentence)
        scores = {
            kind: float(sources.support(words).max())
            for kind, sources in prototype_kinds(language).items()
        }
        _remember(_ACT_SCORES, key, scores)
    return scores


@functools.cache
def _prototype_texts(language: str) -> dict[str, list[str]]:
    """Kind ("framing", "discovery", "close", "pressure") -> its prototype sentences in
    `language` (`salesenv/data/meaning.yaml`)."""
    path = resources.files("salesenv") / "data" / "meaning.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {kind: list(texts[language]) for kind, texts in data.items()}


def _sources(texts: Sequence[str]) -> Sources:
    """Shared sources (a table over the whole vocabulary) of prototype sentences."""
    vectors = word_vectors()
    return Sources([vectors.words(t).vectors for t in texts], vectors.dim, vectors.vocabulary)


@functools.cache
def prototype_kinds(language: str) -> dict[str, Sources]:
    """Kind ("framing", "discovery", "close", "pressure") -> its prototypes' word vectors."""
    return {kind: _sources(texts) for kind, texts in _prototype_texts(language).items()}


@functools.cache
def background_words(language: str) -> Sources:
    """The word vectors of every sentence of generic sales talk in `language`: the
    prototypes of every kind together."""
    return _sources([t for texts in _prototype_texts(language).values() for t in texts])


_REQUEST = re.compile(
    r"^(?:tell me|let me know|let's|let us|share|describe|walk me)|^(?:请|说说|讲讲|聊聊|麻烦)|"
    r"(?:说说|讲讲|聊聊|告诉我)",
    re.I,
)


def _asks(sentence: str, text: str) -> bool:
    """Whether a sentence of `text` asks something: a question, or a request ("tell me
    about...", "说说您的...")."""
    return _is_question(sentence, text) or bool(_REQUEST.search(sentence.strip()))


def _is_question(unit: str, text: str) -> bool:
    """Whether the clause `unit` of `text` is (part of) a question."""
    end = text.find(unit) + len(unit)
    tail = text[end : end + 1] if end > 0 else ""
    return tail in ("?", "？") or unit.rstrip().endswith(("吗", "呢", "么"))


def prefetch(texts: Iterable[str]) -> None:
    """Looks up the words of the clauses and sentences of many turns in one pass (fills the
    per-text cache that `SheetMeaning.read` uses)."""
    vectors = word_vectors()
    for text in texts:
        for part in (*clauses(text), *sentences(text)):
            vectors.words(part)
