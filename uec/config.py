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
    # performance and scaling (uec/background.py, uec/gaplog.py, docs/scaling.md)
    database_read_url: str | None = None     # a streaming replica for the routing snapshot; None: database_url
    db_connect_timeout_s: float = 3.0          # background database work gives up instead of hanging
    db_statement_timeout_ms: int = 5000
    gap_retention_days: float = 90.0
    gap_near_minutes: float = 30.0             # anonymous callers' gaps are logged only for `at` this near now
    replica_max_lag_s: float = 5.0             # past this, a replica behind the primary is bypassed

    @classmethod
    def from_env(cls, **overrides) -> "Settings":
        var_dir = Path(os.environ.get("UEC_VAR_DIR", ROOT / "var"))
        url = os.environ.get("DATABASE_URL") or f"sqlite:///{var_dir / 'directory.sqlite'}"
        values = dict(
            database_url=url, var_dir=var_dir, secret_key=os.environ.get("UEC_SECRET_KEY"),
            refresh_seconds=float(os.environ.get("UEC_REFRESH_SECONDS", "1.0")),
            capacity_stale_hours=float(os.environ.get("UEC_CAPACITY_STALE_HOURS", "24")),
            secure_cookies=os.environ.get("UEC_INSECURE_COOKIES", "") not in ("1", "true", "yes"),
            database_read_url=os.environ.get("DATABASE_READ_URL") or None,
            db_connect_timeout_s=float(os.environ.get("UEC_DB_CONNECT_TIMEOUT_S", "3")),
            db_statement_timeout_ms=int(os.environ.get("UEC_DB_STATEMENT_TIMEOUT_MS", "5000")),
            gap_retention_days=float(os.environ.get("UEC_GAP_RETENTION_DAYS", "90")),
            gap_near_minutes=float(os.environ.get("UEC_GAP_NEAR_MINUTES", "30")),
            replica_max_lag_s=float(os.environ.get("UEC_REPLICA_MAX_LAG_S", "5")),
        )
        values.update(overrides)
        return cls(**values)
