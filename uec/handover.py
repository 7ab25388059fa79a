"""The handover for a triage outcome: the action, whom to call and how to refer, and what to tell the caller."""
from __future__ import annotations

from typing import Any, Mapping

from directory.model import Service

SOURCES = (
    "NHS England Ambulance Response Programme (2017): categories 1-4 and their response standards",
    "NHS.UK 'When to call 999' and ambulance services' advice while waiting for an ambulance",
    "NHS England Integrated Urgent Care Service Specification (2023): worsening (safety-netting) advice",
)

#: Ambulance Response Programme category of each 999 disposition, and what it means.
CATEGORIES: dict[str, str] = {
    "AMB_CAT1": "Category 1: life-threatening (mean response 7 minutes)",
    "AMB_CAT2": "Category 2: emergency (mean response 18 minutes)",
    "MH_EMERGENCY": "Category 2 with police: immediate danger to life",
    "AMB_CAT3": "Category 3: urgent (9 in 10 reached within 2 hours)",
    "AMB_CAT4": "Category 4: less urgent (9 in 10 reached within 3 hours; may be hear-and-treat)",
}

WAITING_ADVICE: tuple[str, ...] = (
    "Stay with the person. If they stop breathing, stop responding or get worse, call 999 again at once: "
    "the call handler will talk you through what to do.",
    "Do not give them anything to eat or drink unless a clinician has said to.",
    "Unlock the front door, turn on an outside light at night, and shut pets in another room.",
    "Keep them warm and still; do not try to lift or move them if they may be injured.",
    "Have their medicines, or a list of them, and any care plan ready for the crew.",
)
WAITING_ADVICE_MH: tuple[str, ...] = (
    "Do not put yourself in danger. If it is safe, stay with the person and keep talking to them.",
    "If it is safe, move anything they could use to harm themselves (medicines, blades, ligatures) away from them.",
    "If anyone is injured or the person stops responding, tell 999 at once.",
    "Unlock the door for the police and ambulance if it is safe to do so.",
)

#: Worsening advice by disposition class: what the caller should do if things change before care is reached.
WORSENING: dict[str, tuple[str, ...]] = {
    "ambulance": (
        "If the person's condition gets worse while you wait, call 999 again straight away.",
    ),
    "emergency_department": (
        "Go now: do not wait to see if it gets better. Do not drive yourself if you feel faint or in severe pain.",
        "Call 999 if on the way, or before you leave, there is difficulty breathing, chest pain, a fit, "
        "collapse, new confusion or heavy bleeding.",
    ),
    "sdec": (
        "The unit takes patients referred by a clinician: wait for the call with a time to attend.",
        "If no one has called within 2 hours, call NHS 111 back. Call 999 for difficulty breathing, chest pain, "
        "collapse or new confusion.",
    ),
    "utc": (
        "Go within the time given. If the urgent treatment centre is closed when you arrive, go to the "
        "nearest emergency department.",
        "Call 999 for difficulty breathing, chest pain, collapse, new confusion or heavy bleeding.",
    ),
    "primary_care": (
        "A clinician will call back within the time given. Keep the phone free and nearby.",
        "If no one has called back in that time, or the person gets worse, call NHS 111 again. "
        "Call 999 for difficulty breathing, chest pain, collapse or new confusion.",
    ),
    "falls_response": (
        "Do not try to lift the person yourselves. Keep them warm with a blanket and a pillow under the head.",
        "Call 999 if they become confused, drowsy, short of breath, have chest pain, are bleeding, or have "
        "new pain when moving, or if the team has not arrived within the hour.",
    ),
    "urgent_community_response": (
        "The community team will contact you and visit within 2 hours.",
        "Call 999 if the person becomes confused, drowsy, short of breath or has chest pain, or call "
        "NHS 111 back if no one has been in touch within 2 hours.",
    ),
    "dental": (
        "Take pain relief as directed on the pack.",
        "Go to an emergency department or call 999 if swelling spreads to the eye or neck, or there is "
        "difficulty breathing, swallowing or opening the mouth, or bleeding that does not stop.",
    ),
    "mental_health_crisis": (
        "If the person is in immediate danger or has harmed themselves, call 999.",
        "The 24/7 NHS mental health crisis line is NHS 111, option 2. Samaritans: 116 123, any time.",
    ),
    "pharmacy": (
        "Call NHS 111 back, or speak to a GP, if symptoms get worse, new symptoms appear, or there is no "
        "improvement as the pharmacist advised.",
        "Call 999 for difficulty breathing, chest pain, collapse or new confusion.",
    ),
    "self_care": (
        "Call NHS 111 back if symptoms get worse, do not improve in 3 days, or you are worried.",
        "Call 999 for difficulty breathing, chest pain, collapse or new confusion.",
    ),
}
WORSENING_DEFAULT = ("If the person gets worse, call NHS 111 back; call 999 for difficulty breathing, chest pain, "
                     "collapse or new confusion.",)

ROUTE_LABELS = {"walk_in": "walk-in patients", "nhs111": "NHS 111", "nwas": "NWAS (ambulance)",
                "gp": "GPs", "professional": "other health professionals"}


def _routes(service: Service) -> str:
    names = [ROUTE_LABELS.get(r, r) for r in service.referral_routes if r != "walk_in"]
    return ", ".join(names[:-1]) + (" and " if len(names) > 1 else "") + names[-1] if names else "nobody listed"


def how_to_refer(service: Service) -> str:
    """How a professional sends a patient to this service, in one or two sentences."""
    line = service.phone_professional
    if service.referral_only:
        head = ("The team comes to the patient. " if service.mobile else "") + \
            f"Referral only (no walk-ins): takes referrals from {_routes(service)}."
        if line:
            return f"{head} Refer by calling the professional line {line}."
        return (f"{head} The directory lists no referral line: refer through your clinical assessment "
                "service or the provider's switchboard, and report the missing number to the directory team.")
    if service.remote:
        return (f"A telephone service: give the caller the number{' ' + service.phone_public if service.phone_public else ''}"
                f"{f', or transfer the call on the professional line {line}' if line else ''}.")
    if service.mobile:
        return (f"The team comes to the patient: refer on {line or service.phone_public or 'your usual route (no number listed)'}"
                f"; takes referrals from {_routes(service)}.")
    walk_in = "walk_in" in service.referral_routes
    text = "Walk-in patients are seen; " if walk_in else ""
    if line:
        return f"{text}to hand over or book, call the professional line {line}."
    return f"{text}no professional line is listed: the patient attends, or use the public number."


def service_handover(item: Mapping[str, Any], service: Service | None, *, professional: bool) -> dict[str, Any]:
    """One offered (or excluded) service's contact details for the caller, and for professionals how to refer."""
    if service is None:  # removed since the search: the search result still names it
        return {"phone_public": None, "address": item.get("address"), "postcode": item.get("postcode")}
    out: dict[str, Any] = {
        "phone_public": service.phone_public, "address": service.address, "postcode": service.postcode,
        "referral_only": service.referral_only, "remote": service.remote, "mobile": service.mobile,
    }
    if professional:
        out["phone_professional"] = service.phone_professional
        out["how_to_refer"] = how_to_refer(service)
    elif service.referral_only:
        out["how_to_refer"] = ("The team comes to the patient. " if service.mobile else "") + \
            f"Referral only (no walk-ins): takes referrals from {_routes(service)}."
    return out


def handover(result: Mapping[str, Any], services: Mapping[str, Service], *, professional: bool) -> dict[str, Any]:
    """The handover for a completed triage answer (`UrgentCare.triage`): the action first for 999, each
    service's phones, address and referral route, the excluded services with their reasons, and the
    worsening advice. `services` maps service id to the directory record; `professional` shows the
    professional lines and referral routes (signed-in staff only)."""
    outcome = result["outcome"]
    d = outcome["disposition"]
    code, cls = d["code"], d["class"]
    out: dict[str, Any] = {"professional": professional, "sources": list(SOURCES)}
    if cls == "ambulance":
        out["action"] = {
            "heading": "Transfer to 999 now" + (": police and ambulance" if code == "MH_EMERGENCY" else ""),
            "category": CATEGORIES.get(code, d["label"]),
            "tell_caller": list(WAITING_ADVICE_MH if code == "MH_EMERGENCY" else WAITING_ADVICE),
        }
    worsening = []
    if outcome.get("safety_netting"):
        worsening.append(outcome["safety_netting"])
    worsening.extend(WORSENING.get(cls, WORSENING_DEFAULT))
    out["worsening"] = worsening
    out["services"] = {s["id"]: service_handover(s, services.get(s["id"]), professional=professional)
                       for s in result.get("services", [])}
    out["excluded"] = [{"id": e["id"], "name": e["name"], "reason": e["reason"],
                        "reasons": e.get("reasons") or [e["reason"]], "fits": bool(e.get("fits"))}
                       for e in result.get("excluded", [])]
    return out
