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
    session_idle_minutes: float = 30.0        # signed out after this long without a request
    session_max_hours: float = 12.0           # and after this long whatever (a shift), not 31 days
    token_days: float = 90.0                  # API tokens' lifetime unless `uec create-token --days N`
    proxy_hops: int = 0                       # reverse proxies in front that set X-Forwarded-* (0: trust none)
    hsts_seconds: int = 31536000              # Strict-Transport-Security on answers over TLS (0: none)
    ratelimit_enabled: bool = True
    ratelimit_storage: str = "memory://"      # per worker; redis://127.0.0.1:6379 to count across workers
    ratelimit_default: str = "1200 per minute"  # per client (token, else address), every endpoint
    ratelimit_coverage: str = "30 per minute"
    ratelimit_sign_in: str = "60 per minute"  # per address; each account also locks out (web.auth)
    # performance and scaling (uec/background.py, uec/gaplog.py, docs/scaling.md)
    database_read_url: str | None = None     # a streaming replica for the routing snapshot; None: database_url
    db_connect_timeout_s: float = 3.0          # background database work gives up instead of hanging
    db_statement_timeout_ms: int = 5000
    gap_retention_days: float = 90.0
    gap_near_minutes: float = 30.0             # anonymous callers' gaps are logged only for `at` this near now
    replica_max_lag_s: float = 5.0             # past this, a replica behind the primary is bypassed
    api_fast_path: bool = True                 # web.fastpath answers route and triage calls without Flask's objects

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
            session_idle_minutes=float(os.environ.get("UEC_SESSION_IDLE_MINUTES", "30")),
            session_max_hours=float(os.environ.get("UEC_SESSION_MAX_HOURS", "12")),
            token_days=float(os.environ.get("UEC_TOKEN_DAYS", "90")),
            proxy_hops=int(os.environ.get("UEC_PROXY_FIX", "0") or 0),
            hsts_seconds=int(os.environ.get("UEC_HSTS_SECONDS", "31536000") or 0),
            ratelimit_enabled=os.environ.get("UEC_RATELIMIT_ENABLED", "1") not in ("0", "false", "no"),
            ratelimit_storage=os.environ.get("UEC_RATELIMIT_STORAGE") or "memory://",
            ratelimit_default=os.environ.get("UEC_RATELIMIT_DEFAULT") or "1200 per minute",
            ratelimit_coverage=os.environ.get("UEC_RATELIMIT_COVERAGE") or "30 per minute",
            ratelimit_sign_in=os.environ.get("UEC_RATELIMIT_SIGN_IN") or "60 per minute",
            database_read_url=os.environ.get("DATABASE_READ_URL") or None,
            db_connect_timeout_s=float(os.environ.get("UEC_DB_CONNECT_TIMEOUT_S", "3")),
            db_statement_timeout_ms=int(os.environ.get("UEC_DB_STATEMENT_TIMEOUT_MS", "5000")),
            gap_retention_days=float(os.environ.get("UEC_GAP_RETENTION_DAYS", "90")),
            gap_near_minutes=float(os.environ.get("UEC_GAP_NEAR_MINUTES", "30")),
            replica_max_lag_s=float(os.environ.get("UEC_REPLICA_MAX_LAG_S", "5")),
            api_fast_path=os.environ.get("UEC_API_FAST_PATH", "1") not in ("0", "false", "no"),
        )
        values.update(overrides)
        return cls(**values)
