"""The admin's error summary: each field error as a human label, its message and a link to the field (NHS pattern)."""
from __future__ import annotations

import re
from typing import Any, Mapping

from directory.opening import DAYS

DAY_NAMES = dict(zip(DAYS, ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")))
LABELS = {
    "id": "Service id", "name": "Name", "type": "Type", "provider": "Provider", "address": "Address",
    "postcode": "Postcode", "lat": "Latitude", "lon": "Longitude", "phone_public": "Phone (public)",
    "phone_professional": "Phone (professionals only)", "age_min": "Youngest age", "age_max": "Oldest age",
    "sex": "Sex", "referral_routes": "Referral routes", "referral_only": "Referral only", "accepts": "Accepts",
    "catchment": "Catchment", "catchment.polygon": "Catchment area", "last_arrival_minutes": "Last arrival before closing",
    "verify_interval_days": "Days between checks", "verified_on": "Last checked on", "opening": "Opening times",
    "opening.always": "Open 24 hours", "opening.dates": "Dated changes", "opening.bank_holidays": "Bank holiday sessions",
    "opening.weekly": "Weekly opening times", "mobile": "Mobile team bases", "access": "Access", "status": "Status",
    "closed_reason": "Why it is closed", "closed_from": "Closed from", "closed_until": "Expected to reopen",
    "source": "Source", "notes": "Notes", "version": "Version", "file": "File", "header": "Header row",
    "username": "Username", "password": "Password", "role": "Role", "areas": "Areas", "key": "Disposition",
    "types": "Service types in order", "area": "Area", "body": "Form", "capacity": "Capacity",
    "reset_minutes": "Reset to green after", "record": "Stored record",
}
#: form control ids for fields whose control is not named like the field
TARGETS = {"opening.dates": "opening_dates", "opening.bank_holidays": "opening_bank", "opening.always": "opening_always",
           "opening": "opening_mon", "opening.weekly": "opening_mon", "catchment": "catchment_lads",
           "catchment.polygon": "catchment_lads", "referral_routes": "referral_routes",
           "accepts": "accepts", "mobile": "error-summary-title"}
_ROW = re.compile(r"^(row|feature) (\d+)\.(.+)$")


def label(key: str) -> str:
    """'opening.weekly.mon[0]' -> 'Monday opening times'; 'row 3.lat' -> 'Row 3: Latitude'."""
    m = _ROW.match(key)
    if m:
        return f"{m.group(1).capitalize()} {m.group(2)}: {label(m.group(3))}"
    m = re.match(r"^opening\.weekly\.(\w+)", key)
    if m:
        return f"{DAY_NAMES.get(m.group(1), m.group(1).capitalize())} opening times"
    if key.startswith("opening.dates."):
        return f"Dated change for {key.split('.', 2)[2].split('[')[0]}"
    m = re.match(r"^mobile\.bases\[(\d+)\]", key)
    if m:
        return f"Mobile team base {int(m.group(1)) + 1}"
    base = key.split("[")[0]
    return LABELS.get(key) or LABELS.get(base) or base.replace("_", " ").replace(".", " ").capitalize()


def target(key: str) -> str:
    """The id of the form control to link to."""
    if _ROW.match(key):
        return "file"
    m = re.match(r"^opening\.weekly\.(\w+)", key)
    if m:
        return f"opening_{m.group(1)}" if m.group(1) in DAY_NAMES else "opening_mon"
    if key.startswith("opening.dates"):
        return "opening_dates"
    base = key.split("[")[0]
    return TARGETS.get(key) or TARGETS.get(base) or re.sub(r"[^a-z0-9_-]", "_", base.lower())


def error_summary(errors: Mapping[str, Any]) -> list[dict[str, str]]:
    return [{"label": label(str(k)), "message": str(v), "target": target(str(k))} for k, v in errors.items()]
