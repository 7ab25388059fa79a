"""Who may see what on the read side: the roles a caller may claim, and professional-only details."""
from __future__ import annotations

from typing import Any, Mapping

from directory.model import REQUESTER_ROLES
from uec.inputs import InputError

ANONYMOUS_ROLES = frozenset({"public", "walk_in", "nhs111", "call_handler"})  # claimable without a token


class RoleError(InputError):
    """A requester role the caller may not claim (the web layer answers 403 naming `requester_role`)."""


def check_claim(claimed: Any, *, token_role: str | None, authenticated: bool) -> None:
    """Refuse a claimed requester role the caller has no right to: anonymous callers may claim
    `public` or `nhs111` only; a token's user may also claim the requester role it was given."""
    if not isinstance(claimed, str) or claimed not in REQUESTER_ROLES or claimed in ANONYMOUS_ROLES:
        return  # unknown values are the validator's to name (400); anonymous roles are for anyone
    allowed = authenticated and token_role is not None and REQUESTER_ROLES.get(token_role) == REQUESTER_ROLES[claimed]
    if not allowed:
        how = (f"your API token's user has requester role {token_role!r}" if authenticated
               else "send 'Authorization: Bearer <token>' of a user with that role ('uec create-token USER')")
        raise RoleError({"requester_role": f"{claimed!r} needs an API token of that role: {how}; "
                                           "without one, use 'public' or 'nhs111'"})


def sees_professional(role: str | None, *, authenticated: bool) -> bool:
    """Professional phone lines and staff usernames: only authenticated callers of a professional role."""
    return authenticated and role is not None and REQUESTER_ROLES.get(role, "walk_in") != "walk_in"


def redact_answer(answer: dict[str, Any], by_id: Mapping[str, Any]) -> dict[str, Any]:
    """A route or triage answer without professional-only details: each service's public phone line
    (or none), and no staff username against its capacity."""
    for svc in answer.get("services") or ():
        public = getattr(by_id.get(svc.get("id")), "phone_public", None)
        if "phone" in svc:
            svc["phone"] = public
        capacity = svc.get("capacity")
        if isinstance(capacity, dict) and "set_by" in capacity:
            capacity["set_by"] = None
    return answer


def redact_service(item: dict[str, Any]) -> dict[str, Any]:
    """A directory record (GET /api/v1/services) without its professional-only line."""
    if "phone_professional" in item:
        item["phone_professional"] = None
    return item
