"""Settings from the environment, with embedded defaults that need no external services."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    database_url: str
    var_dir: Path
    secret_key: str | None
    refresh_seconds: float = 1.0
    capacity_stale_hours: float = 24.0
    secure_cookies: bool = True

    @classmethod
    def from_env(cls, **overrides) -> "Settings":
        var_dir = Path(os.environ.get("UEC_VAR_DIR", ROOT / "var"))
        url = os.environ.get("DATABASE_URL") or f"sqlite:///{var_dir / 'directory.sqlite'}"
        values = dict(
            database_url=url, var_dir=var_dir, secret_key=os.environ.get("UEC_SECRET_KEY"),
            refresh_seconds=float(os.environ.get("UEC_REFRESH_SECONDS", "1.0")),
            capacity_stale_hours=float(os.environ.get("UEC_CAPACITY_STALE_HOURS", "24")),
            secure_cookies=os.environ.get("UEC_INSECURE_COOKIES", "") not in ("1", "true", "yes"),
        )
        values.update(overrides)
        return cls(**values)
