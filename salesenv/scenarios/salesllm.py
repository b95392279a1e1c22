"""Reads scripts in the public SalesLLM JSONL format into `Scenario`s.

The public files carry `id`, `language`, `user_system_prompt` (customer),
`assistant_system_prompt` (salesperson), `trigger_sentence_zh` and `trigger_sentence_en`.
The prompts are kept verbatim (LLM customers and agents read them); what they say is also
read into structure, so that the scripted agents and the persona customer use the same
kind of facts as on built-in scenarios:

- the language comes from the text, not the row (`script_language.detect_language`): the
  official files say "chinese" on every row, the English file included;
- the product information becomes a `Product` (`official_product.parse_product`);
- the customer prompt becomes a `Persona` with the difficulty and buy propensity
  (`official_customer.parse_customer_prompt`).

What cannot be used raises `ScriptSkipped` (the suite loader warns, naming the line, and
goes on): an empty prompt, a customer prompt that is only a placeholder ("Not needed",
"不需要"), a salesperson prompt without any product information (cut off after its
introduction), or no trigger sentence. Product information in a layout this module does
not read still loads, prompts-only (`ScriptReading.product_layout == "unknown"`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from salesenv.scenarios.difficulty_labels import (  # noqa: F401  (public re-exports)
    PROPENSITIES,
    difficulty_from_score,
    parse_difficulty,
    read_difficulty,
)
from salesenv.scenarios.official_customer import parse_customer_prompt
from salesenv.scenarios.official_product import parse_product
from salesenv.scenarios.scenario import LANGUAGES, Scenario
from salesenv.scenarios.script_language import LanguageVerdict, detect_language, normalise_language


class ScriptSkipped(ValueError):
    """A script that cannot be used; the message says why."""


@dataclass(frozen=True)
class ScriptReading:
    """One public script as read, with what the loader decided about it.

    Attributes:
        scenario: The scenario (prompts verbatim; product and persona when readable).
        language: How the language was decided (`LanguageVerdict`); its reason is
            "forced" when the caller chose the language.
        product_layout: "json", "listing", "labelled" or "unknown" (`parse_product`).
        customer_layout: "profile", "persona" or "free" (`parse_customer_prompt`).
        repaired: What was filled in for a cut-off customer prompt, or None.
    """

    scenario: Scenario
    language: LanguageVerdict
    product_layout: str
    customer_layout: str
    repaired: str | None = None


def read_salesllm(record: Any, language: str | None = None) -> ScriptReading:
    """Reads one public SalesLLM record (see the module docstring).

    Args:
        record: The parsed JSON line.
        language: "zh" or "en" to force the language (the official runner's command-line
            choice); None decides from the text.

    Raises:
        ScriptSkipped: If the record cannot be used; the message says why and what to do.
        ValueError: If `language` is not "zh", "en" or None.
    """
    forced = normalise_language(language) if language is not None else None
    if language is not None and forced not in LANGUAGES:
        raise ValueError(f"language must be 'zh' or 'en', got {language!r}")
    if not isinstance(record, dict):
        raise ScriptSkipped("the line is not a JSON object")
    customer = record.get("user_system_prompt")
    seller = record.get("assistant_system_prompt")
    if not isinstance(customer, str) or not customer.strip():
        raise ScriptSkipped("user_system_prompt is missing or empty")
    if not isinstance(seller, str) or not seller.strip():
        raise ScriptSkipped("assistant_system_prompt is missing or empty")
    if forced:
        verdict = LanguageVerdict(forced, "forced", normalise_language(record.get("language")))
    else:
        verdict = detect_language(record)
    lang = verdict.language
    triggers = [record.get(f"trigger_sentence_{lang}"), record.get("trigger_sentence")]
    triggers += [record.get(f"trigger_sentence_{other}") for other in LANGUAGES if other != lang]
    trigger = next((t for t in triggers if isinstance(t, str) and t.strip()), None)
    if trigger is None:
        raise ScriptSkipped("no trigger sentence (trigger_sentence_zh / trigger_sentence_en)")
    script = parse_customer_prompt(customer, lang)
    if script.problem:
        raise ScriptSkipped(
            f"user_system_prompt is unusable: {script.problem}; replace it with the customer's "
            "script (difficulty, persona, CUSTOMER_INFORMATION) or drop the line"
        )
    source_id = str(record["id"]) if record.get("id") is not None else None
    sheet = parse_product(seller, lang, source_id or "")
    if sheet.layout == "none":
        raise ScriptSkipped(
            "assistant_system_prompt holds no product information (cut off after its "
            "introduction?); add the PRODUCT_INFORMATION section or drop the line"
        )
    scenario = Scenario(
        language=lang,
        difficulty=script.difficulty,
        buy_propensity=script.buy_propensity,
        customer_prompt=customer,
        salesperson_prompt=seller,
        trigger=trigger,
        product=sheet.product,
        persona=script.persona,
        source="salesllm",
        source_id=source_id,
    )
    return ScriptReading(scenario, verdict, sheet.layout, script.layout, script.repaired)


def scenario_from_salesllm(record: Any, language: str | None = None) -> Scenario:
    """Builds a scenario from one public SalesLLM record (`read_salesllm(...).scenario`).

    Raises:
        ScriptSkipped: If the record cannot be used.
    """
    return read_salesllm(record, language).scenario
