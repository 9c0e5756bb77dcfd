"""docs/openapi.yaml documents every route of admin-api's route table (services/admin-api/routes.c),
and documents nothing the code does not serve."""
import re

import yaml

from conftest import ROOT

METHODS = {"get", "post", "put", "patch", "delete"}


def code_routes():
    text = (ROOT / "services/admin-api/routes.c").read_text()
    found = set(re.findall(r'\{"(GET|POST|PUT|PATCH|DELETE)", "(/api/[^"]*)"', text))
    assert len(found) > 40, "the route table was not found in routes.c"
    return {(m.lower(), p) for m, p in found}


def doc_routes():
    doc = yaml.safe_load((ROOT / "docs/openapi.yaml").read_text())
    assert doc["openapi"].startswith("3.")
    return {(m, p) for p, item in doc["paths"].items() for m in item if m in METHODS}


def test_every_route_is_documented():
    missing = sorted(code_routes() - doc_routes())
    assert not missing, f"routes missing from docs/openapi.yaml: {missing}"


def test_the_document_names_no_route_the_code_lacks():
    extra = sorted(doc_routes() - code_routes())
    assert not extra, f"docs/openapi.yaml documents routes the code does not serve: {extra}"


def test_every_operation_has_a_summary_and_responses():
    doc = yaml.safe_load((ROOT / "docs/openapi.yaml").read_text())
    for path, item in doc["paths"].items():
        for m, op in item.items():
            if m in METHODS:
                assert op.get("summary") and op.get("responses"), f"{m} {path}"
