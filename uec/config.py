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
    max_body_bytes: int = 1024 * 1024         # any form or API request (a triage call is a few KiB)
    max_upload_bytes: int = 16 * 1024 * 1024  # directory imports (5,000 services as CSV is about 3 MiB)

    @classmethod
    def from_env(cls, **overrides) -> "Settings":
        var_dir = Path(os.environ.get("UEC_VAR_DIR", ROOT / "var"))
        url = os.environ.get("DATABASE_URL") or f"sqlite:///{var_dir / 'directory.sqlite'}"
        values = dict(
            database_url=url, var_dir=var_dir, secret_key=os.environ.get("UEC_SECRET_KEY"),
            refresh_seconds=float(os.environ.get("UEC_REFRESH_SECONDS", "1.0")),
            capacity_stale_hours=float(os.environ.get("UEC_CAPACITY_STALE_HOURS", "24")),
            secure_cookies=os.environ.get("UEC_INSECURE_COOKIES", "") not in ("1", "true", "yes"),
            max_body_bytes=int(os.environ.get("UEC_MAX_BODY_BYTES", 1024 * 1024)),
            max_upload_bytes=int(os.environ.get("UEC_MAX_UPLOAD_BYTES", 16 * 1024 * 1024)),
        )
        values.update(overrides)
        return cls(**values)
