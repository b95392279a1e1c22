"""Loads the seed data shipped with salesenv (products, categories, personas, difficulties)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

from salesenv.scenarios.scenario import DIFFICULTIES, FACTORS, LANGUAGES


class SeedDataError(ValueError):
    """The shipped seed data is malformed (a packaging bug, not a user error)."""


@dataclass(frozen=True)
class DifficultyProfile:
    """A difficulty profile of DESIGN.md: its buy propensity and buyer style per language."""

    id: str
    buy_propensity: float
    style: dict[str, str]


@dataclass(frozen=True)
class SeedData:
    """All seed data, as loaded from the package's YAML files.

    Text fields are dicts keyed by language ("zh", "en"); tagged items are dicts with
    "factor", "zh" and "en".
    """

    categories: dict[str, dict[str, Any]]
    products: tuple[dict[str, Any], ...]
    personas: dict[str, Any]
    difficulties: dict[str, DifficultyProfile]
    factor_names: dict[str, dict[str, str]]
    openings: dict[str, tuple[str, ...]]

    def products_in(self, category: str) -> list[dict[str, Any]]:
        """The products of one category."""
        return [p for p in self.products if p["category"] == category]


def _read_yaml(relative: str) -> Any:
    path = resources.files("salesenv.scenarios") / "data" / relative
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise SeedDataError(f"cannot read seed file data/{relative}: {exc}") from exc


@functools.cache
def load_seed() -> SeedData:
    """Loads and checks the seed data once per process.

    Raises:
        SeedDataError: If a seed file is missing or inconsistent.
    """
    categories: dict[str, dict[str, Any]] = {}
    products: list[dict[str, Any]] = []
    folder = resources.files("salesenv.scenarios") / "data" / "categories"
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".yaml"):
            continue
        data = _read_yaml(f"categories/{entry.name}")
        for category in data["categories"]:
            categories[category["id"]] = category
        products.extend(data["products"])
    if not products:
        raise SeedDataError("no products found under salesenv/scenarios/data/categories")
    for product in products:
        if product["category"] not in categories:
            raise SeedDataError(f"product {product['id']} has unknown category")
        for item in product["facts"]:
            if item["factor"] not in FACTORS:
                raise SeedDataError(f"product {product['id']}: unknown factor {item['factor']}")
    difficulties = {
        d["id"]: DifficultyProfile(
            d["id"], float(d["buy_propensity"]), {k: d[k] for k in LANGUAGES}
        )
        for d in _read_yaml("difficulties.yaml")
    }
    if tuple(difficulties) != DIFFICULTIES:
        raise SeedDataError(f"difficulties.yaml must list {DIFFICULTIES} in order")
    factor_names = {f["id"]: {k: f[k] for k in LANGUAGES} for f in _read_yaml("factors.yaml")}
    if tuple(factor_names) != FACTORS:
        raise SeedDataError(f"factors.yaml must list {FACTORS} in order")
    openings = {k: tuple(v) for k, v in _read_yaml("openings.yaml").items()}
    return SeedData(
        categories=categories,
        products=tuple(products),
        personas=_read_yaml("personas.yaml"),
        difficulties=difficulties,
        factor_names=factor_names,
        openings=openings,
    )
