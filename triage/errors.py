"""Errors raised for bad rule files and bad cases, each naming what to fix."""
from __future__ import annotations


class RuleFileError(ValueError):
    """A rule file is malformed: names the file, the rule and the field."""

    def __init__(self, file: str, message: str, *, rule: str | None = None, field: str | None = None):
        self.file, self.rule, self.field = file, rule, field
        where = file + (f", rule {rule!r}" if rule else "") + (f", field {field!r}" if field else "")
        super().__init__(f"{where}: {message}")


class CaseError(ValueError):
    """A case cannot be evaluated: `errors` maps each bad field to what is wrong."""

    def __init__(self, errors: dict[str, str]):
        self.errors = dict(errors)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.errors.items()))
