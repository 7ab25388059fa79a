"""NEWS2 (Royal College of Physicians, 2017) scored from a band table held in rules/vitals.yaml."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping


@dataclass(frozen=True)
class News2:
    total: int
    parameters: dict[str, int]
    complete: bool  # all seven parameters were given

    @property
    def max_single(self) -> int:
        return max(self.parameters.values(), default=0)


def _band(value: float, bands: list) -> int:
    for upper, score in bands:
        if upper is None or value <= upper:
            return int(score)
    raise ValueError(f"value {value} is above every band; the table needs a final [null, score] band")


def score_news2(vitals: Mapping[str, Any], table: Mapping[str, Any]) -> News2:
    """Score whichever NEWS2 parameters are present; a partial total is a lower bound."""
    p: dict[str, int] = {}
    on_oxygen = vitals.get("on_oxygen")
    if vitals.get("respiratory_rate") is not None:
        p["respiratory_rate"] = _band(vitals["respiratory_rate"], table["respiratory_rate"])
    if vitals.get("spo2") is not None:
        spo2 = vitals["spo2"]
        if int(vitals.get("spo2_scale") or 1) == 2:
            last_upper = table["spo2_scale2"][-1][0]
            if spo2 <= last_upper:
                p["spo2"] = _band(spo2, table["spo2_scale2"])
            elif on_oxygen:
                p["spo2"] = _band(spo2, table["spo2_scale2_on_oxygen"])
            else:
                p["spo2"] = int(table["spo2_scale2_on_air"])
        else:
            p["spo2"] = _band(spo2, table["spo2_scale1"])
    if on_oxygen is not None:
        p["air_or_oxygen"] = int(table["on_oxygen"]) if on_oxygen else 0
    if vitals.get("systolic_bp") is not None:
        p["systolic_bp"] = _band(vitals["systolic_bp"], table["systolic_bp"])
    if vitals.get("heart_rate") is not None:
        p["heart_rate"] = _band(vitals["heart_rate"], table["heart_rate"])
    if vitals.get("consciousness") is not None:
        p["consciousness"] = int(table["consciousness"][vitals["consciousness"]])
    if vitals.get("temperature") is not None:
        p["temperature"] = _band(vitals["temperature"], table["temperature"])
    complete = len(p) == 7
    return News2(total=sum(p.values()), parameters=p, complete=complete)
