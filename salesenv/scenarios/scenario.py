"""The `Scenario`: one product, one customer persona, one difficulty, and the two scripts."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

LANGUAGES = ("zh", "en")
DIFFICULTIES = ("easy", "medium", "hard", "very_hard", "adversarial")
FACTORS = (
    "returns_cost",
    "safety_protection",
    "brand_trust",
    "core_quality",
    "transparency_terms",
    "support_after_sales",
    "convenience_digital",
    "availability_delivery",
    "social_proof",
    "fit_flexibility",
)


@dataclass(frozen=True, slots=True)
class Fact:
    """A piece of text tagged with the decision factor it bears on."""

    factor: str
    text: str


@dataclass(frozen=True)
class Product:
    """The product as the salesperson's private PRODUCT_INFORMATION describes it."""

    id: str
    domain: str
    category: str
    category_name: str
    name: str
    price: str
    facts: tuple[Fact, ...]
    selling_points: tuple[str, ...]


@dataclass(frozen=True)
class Persona:
    """The customer's persona; everything here is private to the customer."""

    age_group: str
    gender: str
    city: str
    occupation: str
    motivations: tuple[Fact, ...]
    pain_points: tuple[Fact, ...]
    decision_factors: tuple[str, ...]
    communication: str


@dataclass(frozen=True)
class Scenario:
    """One sales scenario: the two scripts, the opening line and their structured sources.

    The id is a content hash of the language, difficulty, buy propensity, both scripts and
    the trigger sentence, so equal scenarios have equal ids across machines and versions.

    Attributes:
        language: "zh" or "en".
        difficulty: One of `DIFFICULTIES`.
        buy_propensity: The difficulty's prior probability of buying (0-1).
        customer_prompt: The customer's system prompt (persona + CUSTOMER_INFORMATION).
        salesperson_prompt: The salesperson's system prompt (role + PRODUCT_INFORMATION).
        trigger: The customer's opening sentence.
        product: Structured product sheet, or None for scenarios loaded from prompts only.
        persona: Structured persona, or None for scenarios loaded from prompts only.
        source: Where the scenario came from ("salesenv" or "salesllm").
        source_id: The id in the source file, if any.
    """

    language: str
    difficulty: str
    buy_propensity: float
    customer_prompt: str
    salesperson_prompt: str
    trigger: str
    product: Product | None = None
    persona: Persona | None = None
    source: str = "salesenv"
    source_id: str | None = None
    id: str = field(init=False, default="")

    def __post_init__(self) -> None:
        if self.language not in LANGUAGES:
            raise ValueError(f"language must be one of {LANGUAGES}, got {self.language!r}")
        if self.difficulty not in DIFFICULTIES:
            raise ValueError(f"difficulty must be one of {DIFFICULTIES}, got {self.difficulty!r}")
        if not 0.0 <= self.buy_propensity <= 1.0:
            raise ValueError(f"buy_propensity must lie in [0, 1], got {self.buy_propensity}")
        for name in ("customer_prompt", "salesperson_prompt", "trigger"):
            if not getattr(self, name).strip():
                raise ValueError(f"Scenario.{name} is empty")
        object.__setattr__(self, "id", content_hash(self))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; `Scenario.from_dict` reads it back."""
        data = asdict(self)
        data.pop("id")
        return {"id": self.id, **data}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Scenario:
        """Builds a scenario from `to_dict` output.

        Raises:
            ValueError: If a stored id does not match the content (the file was edited).
        """
        fields = dict(data)
        stored_id = fields.pop("id", None)
        if fields.get("product"):
            p = dict(fields["product"])
            p["facts"] = tuple(Fact(**f) for f in p["facts"])
            p["selling_points"] = tuple(p["selling_points"])
            fields["product"] = Product(**p)
        if fields.get("persona"):
            p = dict(fields["persona"])
            p["motivations"] = tuple(Fact(**f) for f in p["motivations"])
            p["pain_points"] = tuple(Fact(**f) for f in p["pain_points"])
            p["decision_factors"] = tuple(p["decision_factors"])
            fields["persona"] = Persona(**p)
        scenario = cls(**fields)
        if stored_id and stored_id != scenario.id:
            raise ValueError(
                f"scenario id {stored_id} does not match its content (hash {scenario.id}); "
                "the record was edited - drop its 'id' field to accept the new content"
            )
        return scenario


def content_hash(scenario: Scenario) -> str:
    """The stable id of a scenario: 16 hex digits of SHA-256 over its defining content."""
    key = [
        scenario.language,
        scenario.difficulty,
        round(scenario.buy_propensity, 4),
        scenario.customer_prompt,
        scenario.salesperson_prompt,
        scenario.trigger,
    ]
    digest = hashlib.sha256(json.dumps(key, ensure_ascii=False).encode("utf-8")).hexdigest()
    return f"sc-{digest[:16]}"
