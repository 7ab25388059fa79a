"""Which service types suit a disposition, in what order, for which commissioning area."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import yaml

from directory.model import SERVICE_TYPES

DEFAULT_FILE = Path(__file__).resolve().parent / "data" / "rankings.yaml"


class RankingError(ValueError):
    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(f"{field}: {message}")


@dataclass(frozen=True)
class AppliedRanking:
    key: str          # the disposition code or class the ranking is for
    scope: str        # "regional" or the area code/name whose commissioner set it
    types: tuple[str, ...]
    per_type: int

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "scope": self.scope, "per_type": self.per_type,
                "types": [{"rank": i + 1, "type": t} for i, t in enumerate(self.types)]}


def validate_types(types: Sequence[str], *, field: str = "types") -> tuple[str, ...]:
    types = tuple(types)
    if not 1 <= len(types) <= 10:
        raise RankingError(field, "rank between 1 and 10 service types")
    bad = [t for t in types if t not in SERVICE_TYPES]
    if bad:
        raise RankingError(field, f"unknown service types {bad}")
    if len(set(types)) != len(types):
        raise RankingError(field, "each service type may appear once")
    return types


@dataclass(frozen=True)
class Rankings:
    regional: Mapping[str, tuple[str, ...]]
    per_type: Mapping[str, int] = field(default_factory=dict)
    per_type_default: int = 2
    # (area, key) -> types, set by commissioners; area is a LAD code or a place name
    local: Mapping[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)
    max_travel: Mapping[str, float] = field(default_factory=dict)

    def max_travel_minutes(self, code: str, cls: str) -> float:
        """How far by road a service may be for this disposition before it is 'too far'."""
        return float(self.max_travel.get(code, self.max_travel.get(cls, self.max_travel.get("default", 90))))

    @classmethod
    def load(cls, path: Path = DEFAULT_FILE, *, local: Mapping[tuple[str, str], Sequence[str]] | None = None) -> "Rankings":
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        regional = {k: validate_types(v, field=f"rankings.{k}") for k, v in doc["rankings"].items()}
        return cls(regional=regional, per_type=dict(doc.get("per_type") or {}),
                   per_type_default=int(doc.get("per_type_default", 2)),
                   local={k: tuple(v) for k, v in (local or {}).items()},
                   max_travel={k: float(v) for k, v in (doc.get("max_travel_minutes") or {}).items()})

    def with_local(self, local: Mapping[tuple[str, str], Sequence[str]]) -> "Rankings":
        return Rankings(self.regional, self.per_type, self.per_type_default,
                        {k: tuple(v) for k, v in local.items()}, self.max_travel)

    def applied(self, code: str, cls: str, areas: Sequence[str]) -> AppliedRanking:
        """The ranking for a disposition: the most local commissioner's, else the regional one.
        A disposition code's own ranking beats its class's at the same scope."""
        per = int(self.per_type.get(code, self.per_type.get(cls, self.per_type_default)))
        for area in areas:
            for key in (code, cls):
                if (area, key) in self.local:
                    return AppliedRanking(key, area, self.local[(area, key)], per)
        for key in (code, cls):
            if key in self.regional:
                return AppliedRanking(key, "regional", self.regional[key], per)
        return AppliedRanking(cls, "regional", ("emergency_department",), per)
