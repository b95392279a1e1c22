"""Says a product fact in the agent's own words: the same content, not the sheet's wording.

The salesperson's rules forbid quoting PRODUCT_INFORMATION verbatim; a turn that shares a
span of `COPY_THRESHOLD` units with it (8 words in English, 12 characters in Chinese) is
flagged as copied (`salesenv.customers.turn_checks`). `restate` keeps what a customer
needs from a fact (its numbers with their units, names, key terms) and breaks its wording:

1. The fact is cut into clauses at its punctuation and before its joining words ("and",
   "with", "but", "while", "which"; "和", "并", "但", "同时", ...).
2. A joining word is swapped for one of the agent's own ("and" -> "plus", "with" ->
   "featuring", "和" -> "以及"), and clauses that the sheet ran together with punctuation
   get a connective of the agent's between them ("on top of that", "what is more"; "而且",
   "此外"; not "also" / "另外", which open the scripted agent's volunteered facts).
3. A clause that is still as long as the copy threshold is broken near its middle: an
   aside of the agent's goes before a preposition (", in fact,", ", mind you,"), or in
   Chinese a "的" is left out, else "呢，" goes after the topic, before an adverb or
   modal ("每台设备呢，最多可离线下载1000首歌").
4. Each junction is checked against the fact: a connective that would continue the
   sheet's wording (its first word is the sheet's next word) is passed over for the next.

5. The product's name, whole or shortened, is said as it is: it is never cut, and a span
   through it does not count as copied (`CopyIndex`'s `names`).

Every piece is then shorter than the threshold and no two of them sit next to each other
as they do in the sheet, so no span reaches the threshold, while almost every content
word (en) or character pair (zh) of the fact is still said: the persona customer's
lexical grounding (`FactSheet.grounded_factors`) still credits it.
"""

from __future__ import annotations

import functools
import itertools
import re

from salesenv.customers.turn_checks import (
    COPY_THRESHOLD,
    NAME_RUN,
    CopyIndex,
    copy_units,
    name_runs,
    unit_spans,
)
from salesenv.meaning import word_vectors

# A comma or colon inside a number ("20,000", "9:30") does not end a clause.
_EN_CLAUSE = re.compile(r"\s*(?:;|(?<!\d)[,:]|[,:](?!\d)|\s[-–—]\s)\s*")
_ZH_CLAUSE = re.compile(r"\s*(?:[，；;：、]|(?<!\d)[,:]|[,:](?!\d))\s*")
#: Joining words that open a new clause, with the agent's own word for each.
_EN_JOINS = {
    "and": "plus",
    "with": "featuring",
    "but": "though",
    "while": "whereas",
    "which": "and this",
    "so": "meaning",
    "plus": "and",
    "including": "such as",
}
_ZH_JOINS = {
    "以及": "还有",
    "并且": "同时",
    "而且": "并且",
    "同时": "而且",
    "但是": "不过",
    "但": "不过",
    "和": "以及",
    "并": "而且",
    "及": "以及",
    "还": "另外还",
}
_EN_JOIN_WORDS = re.compile(r"\s+(?=(?:" + "|".join(_EN_JOINS) + r")\s)", re.I)
_ZH_JOIN_ORDER = sorted(_ZH_JOINS, key=len, reverse=True)
_ZH_JOIN_WORDS = re.compile("(?=" + "|".join(_ZH_JOIN_ORDER) + ")")
_EN_PREPOSITIONS = frozenset(
    "of for from in on at to by over under within after before per via across above below into".split()
)
#: Connectives the agent puts between clauses that the sheet separates by punctuation.
_CONNECTIVES = {
    "en": ("on top of that", "what is more", "and besides"),
    "zh": ("而且", "此外", "再有"),
}
#: What goes between the halves of a long clause cut before a preposition / an adverb.
_ASIDE = {"en": (", in fact, ", ", mind you, ", ", as it happens, "), "zh": ("呢，",)}
#: A clause this short (units) opens the next one ("首先", "Overall"): no connective after it.
_OPENER = 2
_ARTICLES = frozenset({"a", "an", "the"})
_LATIN_RUN = re.compile(r"[0-9A-Za-z.,%&'+/ -]")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_ZH_ADVERBS = "可能会都只最也还就不没已将在由从对把被让每"


@functools.lru_cache(maxsize=8192)
def restate(fact: str, language: str, names: tuple[str, ...] = ()) -> str:
    """The fact in the agent's own words (no trailing full stop).

    Args:
        fact: A fact or selling point of the product information.
        language: "en" or "zh".
        names: The product names, said as they are (see the module docstring).

    Returns:
        A restatement that keeps the fact's numbers, names and key terms and shares no
        span of `COPY_THRESHOLD[language]` units with it (see the module docstring); a
        fact shorter than that cannot be a copy and comes back as it is.
    """
    limit = COPY_THRESHOLD[language]
    text = fact.strip().rstrip("。.!！ ")
    if len(copy_units(text, language)) < limit:
        return text  # too short to be a copy: said as it is
    text, kept = _hold_names(text, names, language)
    en = language == "en"
    # Each piece with the glue that goes before it; None: a connective of the agent's.
    pieces: list[tuple[str | None, str]] = []
    for clause, joined in _clauses(text, language):
        broken = _shorten(clause, language, limit)
        pieces.append(((" " if en else "，") if joined else None, broken[0][1]))
        pieces.extend(broken[1:])
    if not pieces:
        return fact.strip()
    sheet = CopyIndex(language, [_put_back(text, kept)], threshold=limit, names=names)
    connectives = _CONNECTIVES[language]
    body, used = pieces[0][1], 0
    for (_, before), (glue, piece) in itertools.pairwise(pieces):
        if glue is None and len(copy_units(before, language)) <= _OPENER:
            # "首先，…", "Overall, …": no connective after an opener, unless the comma
            # would run on with the sheet's wording.
            plain = body + (", " if en else "，") + piece
            if sheet.longest_span(_put_back(plain, kept)) < limit:
                body = plain
                continue
        if glue is not None:
            body += glue + piece
            continue
        # The first connective (in turn) that does not run on with the sheet's wording.
        for k in range(len(connectives)):
            connective = connectives[(used + k) % len(connectives)]
            joined = f"{body}, {connective} {piece}" if en else f"{body}，{connective}{piece}"
            if sheet.longest_span(_put_back(joined, kept)) < limit:
                break
        used += 1
        body = joined
    return _put_back(body, kept)


#: Stands for the k-th held name while a fact is cut: one Latin run, which is one unit and
#: is never cut inside.
_HELD = "qxname{}"


def _hold_names(text: str, names: tuple[str, ...], language: str) -> tuple[str, list[str]]:
    """`text` with each run that names the product (`name_runs`) swapped for a placeholder,
    and the runs in order."""
    if not names:
        return text, []
    found = unit_spans(text, language)
    spans = [(start, end) for start, end, _ in found]
    units = [unit for _, _, unit in found]
    keys = [copy_units(n, language) for n in names]
    kept: list[str] = []
    out, last = [], 0
    for begin, end in name_runs(units, keys, NAME_RUN[language]):
        start, stop = spans[begin][0], spans[end - 1][1]
        out.append(text[last:start] + _HELD.format(len(kept)))
        kept.append(text[start:stop])
        last = stop
    return "".join(out) + text[last:], kept


def _put_back(text: str, kept: list[str]) -> str:
    for k, name in enumerate(kept):
        text = text.replace(_HELD.format(k), name)
    return text


def _clauses(text: str, language: str) -> list[tuple[str, bool]]:
    """The clauses of `text` at its punctuation, then before its joining words; each with
    whether it now opens with the agent's own joining word (swapped for the sheet's)."""
    en = language == "en"
    out = []
    for part in (_EN_CLAUSE if en else _ZH_CLAUSE).split(text):
        for piece in (_EN_JOIN_WORDS if en else _ZH_JOIN_WORDS).split(part.strip()):
            piece = piece.strip()
            if piece:
                out.append(_swap_join(piece, language))
    return out


def _swap_join(piece: str, language: str) -> tuple[str, bool]:
    if language == "en":
        head, _, rest = piece.partition(" ")
        own = _EN_JOINS.get(head.lower())
        return (f"{own} {rest}", True) if own and rest else (piece, False)
    for word in _ZH_JOIN_ORDER:
        if piece.startswith(word) and len(piece) > len(word):
            return _ZH_JOINS[word] + piece[len(word) :], True
    return piece, False


def _shorten(clause: str, language: str, limit: int) -> list[tuple[str, str]]:
    """The clause broken until every piece is shorter than `limit` units, as (glue,
    piece) pairs: the first glue is empty, the others what goes between the pieces."""
    if len(copy_units(clause, language)) < limit:
        return [("", clause)]
    cut = _break(clause, language)
    if cut is None:
        return [("", clause)]
    head, glue, tail = cut
    rest = _shorten(tail, language, limit)
    return [*_shorten(head, language, limit), (glue, rest[0][1]), *rest[1:]]


def _break(clause: str, language: str) -> tuple[str, str, str] | None:
    """Where and how to break a long clause near its middle: (head, glue, tail)."""
    if language == "en":
        words = clause.split()
        if len(words) < 3:
            return None
        middle = len(words) / 2
        # Never between an article and its noun ("an, in fact, L-shape").
        inner = [i for i in range(1, len(words)) if words[i - 1].lower() not in _ARTICLES]
        if not inner:
            return None
        before = [i for i in inner if words[i].lower() in _EN_PREPOSITIONS] or list(inner)
        i = min(before, key=lambda i: abs(i - middle))
        # An aside whose words run on with the sheet's ("car, in fact, in seconds") is
        # passed over for the next.
        near = {words[i - 1].lower(), words[i].lower()}
        asides = _ASIDE["en"][len(words) % 3 :] + _ASIDE["en"][: len(words) % 3]
        aside = next((a for a in asides if not near & set(a.strip(" ,").split())), asides[-1])
        return " ".join(words[:i]), aside, " ".join(words[i:])
    middle = len(clause) / 2
    # Between two Chinese words (as `salesenv.meaning` segments them), never inside a word,
    # a number or a run of Latin words ("重大疾病", "4.8分", "Centennial Health 3.0").
    starts = word_vectors().word_starts(clause)
    inner = [
        i
        for i in range(2, len(clause) - 1)
        if not (_LATIN_RUN.match(clause[i - 1]) and _LATIN_RUN.match(clause[i]))
        and (i in starts or not _CJK.match(clause[i]))
        and not (clause[i - 1] == " " or clause[i] == " ")
    ]
    dropped = [i for i in inner if clause[i] == "的"]
    if dropped:
        i = min(dropped, key=lambda i: abs(i - middle))
        return clause[:i], "", clause[i + 1 :]
    before = [i for i in inner if clause[i] in _ZH_ADVERBS] or list(inner)
    if not before:
        return None
    i = min(before, key=lambda i: abs(i - middle))
    return clause[:i], _ASIDE["zh"][0], clause[i:]
