"""A case as a STIX 2.1 bundle (pure: from the report data of `build.build_report`), for partners'
threat-intelligence platforms (OpenCTI, MISP).

What goes in, all made from the report, so redaction is exactly the JSON report's:
- an `identity` for the producing installation (`created_by_ref` of everything);
- the case's TLP 2.0 marking (the OASIS `marking-definition` objects of the TLP 2.0 extension)
  on every object of the case (not on the installation's identity or the phone-number type, which
  every export shares);
- a `report` for the case (its reference, summary and the lead notice);
- per message: an `observed-data` (when it was posted) referring to its observables, and a `note`
  carrying the message text as plain data, with the analyst's translation in a second `note`;
- observables: the sender and each username as `user-account`, links as `url`, e-mail addresses as
  `email-addr`, phone numbers as `phone-number` (a new SCO declared by this bundle's
  `extension-definition`, STIX 2.1 has none), the export file and photos as `file` with SHA-256.
Masked values ("[phone withheld]"...) never become observables. Ids of our own objects are UUIDv5
on the case and message, so a partner importing a later export of the case gets new versions of
the same objects (`modified` is the export time) rather than copies.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import stix2
from stix2.properties import StringProperty

from .redact import MASK_LABELS
from .schema import validate_report

NAMESPACE = uuid.UUID("c6e6d941-9f88-46e6-b187-9010f96ebcb9")  # UUIDv5 ids of this project's objects
PHONE_EXTENSION = "extension-definition--8a75ec14-b16f-45e4-8b2b-86c4dc8e7696"
TLP2_EXTENSION = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
TLP2_CREATED = "2022-10-01T00:00:00.000Z"
OWN_CREATED = "2026-01-01T00:00:00.000Z"  # of the objects every export shares (installation, phone-number type)
TLP2_IDS = {  # the OASIS TLP 2.0 marking definitions (oasis-open/cti-stix-common-objects)
    "CLEAR": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "GREEN": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "AMBER": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    "AMBER+STRICT": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    "RED": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
MEDIA_TYPE = "application/stix+json;version=2.1"
LINK_SUBTYPES = ("telegram_link", "whatsapp_link", "url")


@stix2.v21.CustomObservable("phone-number", [("value", StringProperty(required=True))], ["value"],
                            extension_name=PHONE_EXTENSION)
class PhoneNumber:
    """A telephone number seen in a listing (E.164, as the text layer reads it)."""

    if TYPE_CHECKING:  # the stix2 decorator makes the constructor (stix2 has no type hints)
        def __init__(self, *, value: str, **common: Any) -> None: ...


def tlp_marking(tlp: str) -> stix2.v21.MarkingDefinition:
    """The OASIS TLP 2.0 marking definition of a level (CLEAR ... RED)."""
    level = tlp.upper()
    return stix2.v21.MarkingDefinition(
        id=TLP2_IDS[level], created=TLP2_CREATED, name=f"TLP:{level}",
        extensions={TLP2_EXTENSION: {"extension_type": "property-extension", "tlp_2_0": level.lower()}})


def _tlp_extension() -> stix2.v21.ExtensionDefinition:
    """The OASIS extension definition the TLP 2.0 markings declare themselves by."""
    return stix2.v21.ExtensionDefinition(
        id=TLP2_EXTENSION, created=TLP2_CREATED, modified=TLP2_CREATED, name="TLP 2.0",
        description="This defines TLP 2.0 as a STIX extension",
        created_by_ref="identity--b3bca3c2-1f3d-4b54-b44f-dac42c3a8f01",
        schema="https://github.com/oasis-open/cti-stix-common-objects/tree/master/"
               "extension-definition-specifications/tlp-2.0",
        version="1.0.0", extension_types=["property-extension"])


def _id(kind: str, *parts: object) -> str:
    return f"{kind}--{uuid.uuid5(NAMESPACE, '/'.join(str(p) for p in parts))}"


def _masked(value: str) -> bool:
    return any(label in value for label in MASK_LABELS)


def _contact(signal: dict[str, Any], platform: str, common: dict[str, Any]) -> Any | None:
    """The observable of a contact signal (None for a masked value or another kind of signal)."""
    value = signal.get("value")
    if signal.get("type") != "contact" or not isinstance(value, str) or not value.strip() or _masked(value):
        return None
    subtype = signal.get("subtype")
    if subtype == "phone":
        return PhoneNumber(value=value, **common)
    if subtype == "username":
        account_type = {"account_type": platform} if platform == "telegram" else {}
        return stix2.v21.UserAccount(account_login=value.lstrip("@"), display_name=value, **account_type, **common)
    if subtype == "email":
        return stix2.v21.EmailAddress(value=value, **common)
    if subtype in LINK_SUBTYPES:
        return stix2.v21.URL(value=value, **common)
    return None


def _observables(entry: dict[str, Any], common: dict[str, Any]) -> list[Any]:
    """The sender, contacts, export file and photos of one message, each once."""
    platform = entry["platform"]
    found: dict[str, Any] = {}
    sender = stix2.v21.UserAccount(user_id=entry["sender"]["id"], display_name=entry["sender"]["name"] or None,
                                   account_type=platform, **common)
    export = entry["export_file"]
    for sco in [sender, *(_contact(s, platform, common) for s in entry["signals"]),
                stix2.v21.File(name=export["name"], size=export["size"], hashes={"SHA-256": export["sha256"]},
                               **common),
                *(stix2.v21.File(hashes={"SHA-256": p["sha256"]}, mime_type=p["mime"] or None, **common)
                  for p in entry["photos"] if p["sha256"])]:
        if sco is not None:
            found.setdefault(sco.id, sco)
    return list(found.values())


def _message_objects(report: dict[str, Any], entry: dict[str, Any], sdo: dict[str, Any],
                     common: dict[str, Any]) -> list[Any]:
    """observed-data, observables and notes of one message of the case."""
    ref, mid = report["case"]["ref"], entry["message_id"]
    observables = _observables(entry, common)
    seen = entry["sent_utc"] or report["generated"]["at"]
    observed = stix2.v21.ObservedData(id=_id("observed-data", ref, mid), first_observed=seen, last_observed=seen,
                                      number_observed=1, object_refs=[o.id for o in observables], **sdo)
    channel = entry["channel"]
    where = f"{entry['platform']} channel {channel['name']!r} ({channel['id']}), message #{entry['external_id']}"
    source = {"source_name": "detector", "external_id": f"message {mid}", "description": where,
              "hashes": {"SHA-256": entry["hashes"]["raw_sha256"]}}
    tags = sorted({tag for d in entry["decisions"] for tag in d["tags"]})
    score = entry["score"]
    note = stix2.v21.Note(
        id=_id("note", ref, mid), abstract=f"Suspected sale listing: {where}", content=entry["text"] or "(no text)",
        authors=entry["reviewers"] or None, object_refs=[observed.id, *(o.id for o in observables)],
        labels=["suspected-human-trafficking-listing", *tags], external_references=[source],
        confidence=round(score["probability"] * 100) if score else None, lang=_lang(entry["language"]), **sdo)
    objects = [*observables, observed, note]
    if entry["translation"]:
        objects.append(stix2.v21.Note(id=_id("note", ref, mid, "translation"), abstract="Analyst's translation",
                                      content=entry["translation"], lang="en", object_refs=[note.id], **sdo))
    return objects


def _lang(code: str | None) -> str | None:
    return code if code and code not in ("und", "mixed") else None


def case_bundle(report: dict[str, Any]) -> stix2.v21.Bundle:
    """The STIX 2.1 bundle of a case's report (redacted exactly as the report is)."""
    validate_report(report)
    case, generated = report["case"], report["generated"]
    marking = tlp_marking(case["tlp"])
    producer = stix2.v21.Identity(  # shared by every export of the installation: unmarked, one version
        id=_id("identity", "installation", generated["signing_key"] or "unsigned"), identity_class="system",
        name="Trafficking-listing detector installation", created=OWN_CREATED, modified=OWN_CREATED,
        description=f"Signing key {generated['signing_key'] or 'none (unsigned export)'}")
    phone_type = stix2.v21.ExtensionDefinition(
        id=PHONE_EXTENSION, created_by_ref=producer.id, created=OWN_CREATED, modified=OWN_CREATED,
        name="phone-number", version="1.0.0", extension_types=["new-sco"],
        description="A telephone number seen in a message.",
        schema="A phone-number SCO has one property, value: the number in E.164 form (+ and digits). "
               "Its id is UUIDv5 over value in the STIX SCO namespace.")
    sdo = {"created_by_ref": producer.id, "created": case["opened_at"], "modified": generated["at"],
           "object_marking_refs": [marking.id]}
    common = {"object_marking_refs": [marking.id]}
    objects: dict[str, Any] = {}
    for entry in report["messages"]:
        for obj in _message_objects(report, entry, sdo, common):
            objects.setdefault(obj.id, obj)
    summary = case["summary"] or "(no summary)"
    case_report = stix2.v21.Report(
        id=_id("report", case["ref"]), name=f"{case['ref']}: suspected human-trafficking sale listings",
        description=f"{summary}\n\n{report['notice']}\n\n{report['redaction']['explanation']}\n\n"
                    f"Exported by {generated['by']} at {generated['at']} with {generated['tool']}.",
        published=generated["at"], report_types=["threat-report"], object_refs=list(objects),
        external_references=[{"source_name": "detector", "external_id": case["ref"]}], **sdo)
    return stix2.v21.Bundle(_tlp_extension(), marking, producer, phone_type, *objects.values(), case_report,
                            id=_id("bundle", case["ref"], generated["at"]))


def to_stix(report: dict[str, Any]) -> bytes:
    """The bundle as UTF-8 JSON (message text carried as JSON strings, never as markup)."""
    return case_bundle(report).serialize(pretty=True, ensure_ascii=False).encode("utf-8")
