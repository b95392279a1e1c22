"""The public SalesLLM benchmark scripts as salesenv reads and plays them.

    python benchmarks/official_scripts.py [DIR_OR_FILES ...] [--builtin N] [--num-envs N]

Reads `../shared/salesllm_official_dev/{en,zh}.jsonl` (a development sample of the
official files) or the folders / JSONL files given (e.g. the full official
`conversations_805_en.jsonl` and `conversations_1000_zh.jsonl`); without any of them it
says so and exits 0. The expected language of a file is the one its name says ("en",
"_en", "english"; "zh", "_zh", "chinese"), else the one most of its lines are read as.
Prints one Markdown table, a column per language:

- **right language**: share of loaded scripts read in the file's language, with no
  `language=` argument (the rows all say "chinese").
- **product sheets with >= 3 facts**: among scripts whose salesperson prompt holds
  product information, the share whose `Scenario.product` has at least 3 facts.
- **profiles with >= 2 factors**: among scripts whose customer prompt holds a profile
  (any field the reader knows: difficulty, persona line, customer information), the share
  whose `Scenario.persona` has at least 2 decision factors.
- **lines skipped / repaired**: lines the loader could not use (placeholder customer
  prompt, no product information) and lines it repaired; their reasons are in the
  loader's warnings, summarised below the table.
- **questions on-script**: in real episodes of the scripted agent against the persona
  customer, the share of the customer's questions that are about a decision factor or a
  pain point the script names. A *question* is a sentence of a customer turn after the
  opening trigger that ends with "?" or "？". It is *about* a factor the script names
  when the cue lexicon (`salesenv.cues.lexicon`) finds in the question a decision factor
  that it also finds in the script's own customer fields (decision factors, pain points,
  persona line, motivations; the whole customer prompt minus its rules when it has none
  of these fields), or about a pain point when it holds at least half of the content
  tokens of one of the script's pain-point clauses. Also reported: the share of the
  customer's questions that name the product (its short name as the loader read it).
- **scripted / passive mean**: mean final score (0-10, default scorer, persona customer)
  of the scripted and passive agents, one episode per script (seed = index), played as
  `salesenv eval` plays them (`salesenv.evaluation.play`); next to it the same agents'
  mean on `--builtin` scenarios of that language of the built-in suite `salesllm-1805`
  (default 200), spread evenly over it (every k-th, so each difficulty keeps its share),
  and the built-in mean reweighted to the official sample's difficulty mix (its
  per-difficulty means weighted by the official scripts' difficulty counts).
"""

from __future__ import annotations

import argparse
import functools
import re
import sys
import warnings
from collections import defaultdict
from pathlib import Path

from salesenv.agents import PassiveSalesAgent, ScriptedSalesAgent
from salesenv.cues import lexicon, tokens
from salesenv.customers.persona import phrases
from salesenv.customers.questions import all_questions
from salesenv.evaluation import play
from salesenv.runner import select_suite
from salesenv.scenarios.official_customer import split_fields
from salesenv.scenarios.suites import Suite, SuiteFormatWarning, SuiteSummaryWarning, load_suite

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "shared" / "salesllm_official_dev"
_QUESTION = re.compile(r"[^。！？!?\n]*[?？]")
_PROFILE_FIELDS = ("decision_factors", "pain_points", "persona", "motivations", "motivations_pains")


def file_language(path: Path, languages: list[str]) -> str:
    """The language a file's name says, else the majority of its loaded lines."""
    stem = path.name.lower()
    if re.search(r"(?:^|[_.-])(?:en|english)(?:[_.-]|$)", stem):
        return "en"
    if re.search(r"(?:^|[_.-])(?:zh|cn|chinese)(?:[_.-]|$)", stem):
        return "zh"
    return max(("zh", "en"), key=languages.count)


def script_concerns(prompt: str, language: str) -> tuple[set[str], list[frozenset[str]]]:
    """The factors a customer prompt names in its own fields, and its pain-point clauses
    as token sets (see the module docstring)."""
    fields, free = split_fields(prompt)
    lex = lexicon(language)
    named = " ".join(fields.get(f, "") for f in _PROFILE_FIELDS) or free
    pains_text = " ".join(fields.get(f, "") for f in ("pain_points", "motivations_pains"))
    clauses = [tokens(c, language) for c in re.split(r"[,，;；。、\n]", pains_text)]
    return set(lex.factors_in(named)), [c for c in clauses if len(c) >= 2]


def _pattern(template: str) -> str:
    return re.sub(r"\\\{\w+\\\}", ".+?", re.escape(template.strip()))


@functools.cache
def phrase_patterns(language: str) -> tuple[list[tuple[str, re.Pattern[str]]], re.Pattern[str]]:
    """The persona customer's factor questions (factor, pattern) and one pattern for its
    comments on the last turn (reactions, acknowledgements, "not ready", decisions)."""
    bank = phrases()[language]
    asks = [(factor, re.compile(_pattern(t), re.I)) for factor, t in all_questions(language)]
    comment_keys = [
        k for k in bank if k.startswith(("react_", "acknowledge_", "decide_", "not_ready"))
    ]
    body = "|".join(_pattern(t) for k in comment_keys for t in bank[k])
    return asks, re.compile(f"(?:{body})", re.I)


def questions(turn: str, language: str) -> list[tuple[str, frozenset[str]]]:
    """The questions of one customer turn with the factors each is about: its comments on
    the salesperson's turn removed, every sentence that ends with "?" / "？"; a phrase-bank
    factor question is about its factor, any other about the factors the lexicon finds."""
    asks, comments = phrase_patterns(language)
    text = comments.sub(" ", turn)
    found = []
    for question in _QUESTION.findall(text):
        question = question.strip()
        factor = next((f for f, rx in asks if rx.fullmatch(question)), None)
        about = frozenset({factor}) if factor else lexicon(language).factors_in(question)
        found.append((question, about))
    return found


def question_stats(records: list[dict], suite: Suite) -> tuple[int, int, int]:
    """(questions, questions on-script, questions naming the product) over records."""
    by_id = {s.id: s for s in suite}
    total = on_script = naming = 0
    for record in records:
        scenario = by_id[record["scenario_id"]]
        lang = scenario.language
        factors, pains = script_concerns(scenario.customer_prompt, lang)
        name = scenario.product.name.lower() if scenario.product else None
        customer_turns = [t["text"] for t in record["transcript"] if t["role"] == "customer"]
        for turn in customer_turns[1:]:
            for question, about in questions(turn, lang):
                total += 1
                q_tokens = tokens(question, lang)
                about_pain = any(len(p & q_tokens) / len(p) >= 0.5 for p in pains)
                if about_pain or factors & about:
                    on_script += 1
                if name and name in question.lower():
                    naming += 1
    return total, on_script, naming


def matched_mean(ours: list[dict], official: list[dict], agent: str) -> float:
    """The agent's built-in mean per difficulty, weighted by how many official scripts of
    each difficulty it played: the built-in figure at the official sample's difficulty mix
    (the built-in suite has equal shares; a sample of the official files need not)."""
    by_difficulty: dict[str, list[float]] = defaultdict(list)
    for r in ours:
        if r["agent"] == agent and not r["error"]:
            by_difficulty[r["difficulty"]].append(r["score"]["final"])
    weights: dict[str, int] = defaultdict(int)
    for r in official:
        # Difficulties the built-in run did not play (a short --builtin run) are left out.
        if r["agent"] == agent and not r["error"] and r["difficulty"] in by_difficulty:
            weights[r["difficulty"]] += 1
    total = sum(weights.values())
    if not total:
        return float("nan")
    return sum(
        n / total * sum(by_difficulty[d]) / len(by_difficulty[d]) for d, n in weights.items()
    )


def spread(suite: Suite, language: str, count: int) -> Suite:
    """`count` scenarios of one language spread evenly over the suite (every k-th), so
    that each difficulty keeps its share."""
    kept = suite.filter(language=language).scenarios
    step = max(1, len(kept) // max(1, count))
    return Suite(f"{suite.name}[{language}]", kept[::step][:count])


def load(path: Path) -> tuple[Suite | None, list[str]]:
    """The suite of a file and the messages of the loader's summary warnings."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SuiteFormatWarning)
        try:
            suite = load_suite(path)
        except ValueError as exc:
            print(f"{path}: {exc}", file=sys.stderr)
            suite = None
    summaries = [str(w.message) for w in caught if issubclass(w.category, SuiteSummaryWarning)]
    return suite, summaries


def count_lines(path: Path) -> int:
    with open(path, encoding="utf-8") as handle:
        return sum(1 for line in handle if line.strip())


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("paths", nargs="*", type=Path, help="folders or JSONL files")
    parser.add_argument("--builtin", type=int, default=200, help="built-in scenarios per language")
    parser.add_argument("--num-envs", type=int, default=32)
    args = parser.parse_args()
    paths = args.paths or [DEFAULT_DIR]
    files = sorted(
        f for p in paths for f in (sorted(p.glob("*.jsonl*")) if p.is_dir() else [p]) if f.is_file()
    )
    if not files:
        print(
            f"no official scripts found at {', '.join(map(str, paths))}: nothing to measure "
            "(pass the folder or the official JSONL files)"
        )
        return 0
    col: dict[str, dict[str, str]] = defaultdict(dict)
    notes: list[str] = []
    per_lang: dict[str, list[Suite]] = defaultdict(list)
    for path in files:
        suite, summaries = load(path)
        notes.extend(summaries)
        if suite is None:
            continue
        langs = [s.language for s in suite]
        lang = file_language(path, langs)
        per_lang[lang].append(suite)
        c = col[lang]
        total_lines = count_lines(path)
        right = sum(x == lang for x in langs)
        with_product = [s for s in suite if s.product is not None]
        sheet_ok = sum(len(s.product.facts) >= 3 for s in with_product)
        # Unknown-layout sheets hold product information too (and fail the >= 3 test).
        unknown = sum(s.product is None for s in suite)
        profiled = [s for s in suite if s.persona is not None]
        factors_ok = sum(len(s.persona.decision_factors) >= 2 for s in profiled)
        c["lines in file"] = str(total_lines)
        c["scripts loaded"] = str(len(suite))
        c["right language (no argument)"] = f"{right / len(suite):.0%} ({right}/{len(suite)})"
        c["product sheets with >= 3 facts"] = (
            f"{sheet_ok / (len(with_product) + unknown):.0%} ({sheet_ok}/{len(with_product) + unknown})"
        )
        c["profiles with >= 2 decision factors"] = (
            f"{factors_ok / len(profiled):.0%} ({factors_ok}/{len(profiled)})"
        )
        c["lines skipped (see notes)"] = str(total_lines - len(suite))
    agents = [ScriptedSalesAgent(), PassiveSalesAgent()]
    builtin = load_suite("salesllm-1805")
    for lang, suites in per_lang.items():
        official = Suite(f"official-{lang}", tuple(s for suite in suites for s in suite))
        records = play(agents, select_suite(official, language=lang), num_envs=args.num_envs)
        ours = play(
            agents, select_suite(spread(builtin, lang, args.builtin)), num_envs=args.num_envs
        )
        scripted = [r for r in records if r["agent"] == "scripted"]
        total, on_script, naming = question_stats(scripted, official)
        c = col[lang]
        c["questions on-script (scripted episodes)"] = (
            f"{on_script / total:.0%} ({on_script}/{total})" if total else "-"
        )
        c["questions naming the product"] = f"{naming / total:.0%}" if total else "-"
        for agent in ("scripted", "passive"):
            mine = [r["score"]["final"] for r in records if r["agent"] == agent and not r["error"]]
            base = [r["score"]["final"] for r in ours if r["agent"] == agent and not r["error"]]
            c[f"{agent} mean: official (built-in, n={len(base)})"] = (
                f"{sum(mine) / len(mine):.2f} ({sum(base) / len(base):.2f})"
            )
            c[f"{agent} built-in mean at the official difficulty mix"] = (
                f"{matched_mean(ours, records, agent):.2f}"
            )
        s_mean = sum(r["score"]["final"] for r in scripted) / len(scripted)
        p_scores = [r["score"]["final"] for r in records if r["agent"] == "passive"]
        c["scripted - passive (official)"] = f"{s_mean - sum(p_scores) / len(p_scores):+.2f}"
    langs = [lang for lang in ("en", "zh") if lang in col]
    rows = list(dict.fromkeys(k for lang in langs for k in col[lang]))
    print(f"Official SalesLLM scripts: {', '.join(str(f) for f in files)}\n")
    print("| measure | " + " | ".join(langs) + " |")
    print("|---|" + "---|" * len(langs))
    for row in rows:
        print(f"| {row} | " + " | ".join(col[lang].get(row, "-") for lang in langs) + " |")
    if notes:
        print("\nLoader notes (one summary per file):")
        for note in notes:
            print(f"- {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
