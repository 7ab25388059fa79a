"""Who may change the directory: user accounts, their passwords and API tokens (the identity layer)."""
from accounts.store import ROLES, AccountError, Accounts

__all__ = ["ROLES", "AccountError", "Accounts"]
