"""Scenarios: seed data, the hierarchical sampler, suites and their loaders."""

from salesenv.scenarios.sampler import DIFFICULTY_MIX, ScenarioSampler
from salesenv.scenarios.scenario import (
    DIFFICULTIES,
    FACTORS,
    LANGUAGES,
    Fact,
    Persona,
    Product,
    Scenario,
)
from salesenv.scenarios.suites import (
    SALESLLM_1805,
    Suite,
    SuiteFormatWarning,
    SuiteSummaryWarning,
    build_suite,
    load_suite,
    write_suite,
)

__all__ = [
    "DIFFICULTIES",
    "DIFFICULTY_MIX",
    "FACTORS",
    "LANGUAGES",
    "SALESLLM_1805",
    "Fact",
    "Persona",
    "Product",
    "Scenario",
    "ScenarioSampler",
    "Suite",
    "SuiteFormatWarning",
    "SuiteSummaryWarning",
    "build_suite",
    "load_suite",
    "write_suite",
]
