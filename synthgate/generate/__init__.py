"""The generator registry: one dict of short names, and the builder from a `[generate]` table."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from synthgate.generate.base import Generator
from synthgate.generate.hf import CausalGenerator, Seq2SeqGenerator
from synthgate.generate.infill import InfillGenerator
from synthgate.generate.rules import RulesGenerator

GENERATORS: dict[str, type[Generator]] = {
    "rules": RulesGenerator,
    "causal": CausalGenerator,
    "seq2seq": Seq2SeqGenerator,
    "infill": InfillGenerator,
}


def make_generator(table: dict[str, Any]) -> Generator:
    """The generator `table` names, given the keys of `table` it takes (nothing loads yet)."""
    cls = GENERATORS[table["generator"]]
    return cls(**{f.name: table[f.name] for f in fields(cls) if f.init})  # type: ignore[arg-type]


__all__ = [
    "GENERATORS",
    "CausalGenerator",
    "Generator",
    "InfillGenerator",
    "RulesGenerator",
    "Seq2SeqGenerator",
    "make_generator",
]
