"""Checks a Bundle with a maintained FHIR model library (fhir.resources, R4B models:
FHIR 4.3, which reads R4 4.0.1 resources of the kinds we export unchanged)."""

from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle


def validate_bundle(bundle: dict) -> Bundle:
    """Parse the Bundle and each resource by its own model (raises on any error), and
    check that every reference inside resolves to an entry of the Bundle."""
    parsed = Bundle.model_validate(bundle)
    for entry in bundle["entry"]:
        resource = entry["resource"]
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    unresolved = unresolved_references(bundle)
    assert not unresolved, f"references that do not resolve inside the Bundle: {unresolved}"
    ids = [f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in bundle["entry"]]
    assert len(ids) == len(set(ids)), "duplicate resources in the Bundle"
    return parsed


def references(value):
    if isinstance(value, dict):
        if "reference" in value and isinstance(value["reference"], str):
            yield value["reference"]
        for v in value.values():
            yield from references(v)
    elif isinstance(value, list):
        for v in value:
            yield from references(v)


def unresolved_references(bundle: dict) -> list[str]:
    present = {f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in bundle["entry"]}
    full_urls = {e["fullUrl"] for e in bundle["entry"]}
    missing = []
    for entry in bundle["entry"]:
        for reference in references(entry["resource"]):
            if reference not in present and reference not in full_urls:
                missing.append(reference)
    return missing
