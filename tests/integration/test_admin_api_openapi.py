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


# Query keys a handler reads: api_query(r, "k") and the filter helpers, in the handler itself
# or in the static helpers it calls (two levels deep).
QUERY_KEY = re.compile(r'(?:api_query(?:_int|_id)?\(r, |(?:api_eq_filter|api_text_filter|session_owner_filter)\(r, &?q, )"(\w+)"')
NOT_HELPERS = {"api_query", "api_eq_filter", "api_text_filter"}


def handler_query_keys(src, fn, depth=0):
    m = re.search(r"^(?:static )?void " + fn + r"\(struct api_req \*r[^)]*\)\n\{\n(.*?)^\}", src, re.M | re.S)
    assert m or depth, f"handler {fn} not found"
    body = m.group(1) if m else ""
    keys = set(QUERY_KEY.findall(body))
    if "api_order(r, " in body:     # sortable columns: ?sort= and ?order= (sql.c)
        keys |= {"sort", "order"}
    if depth < 2:
        for callee in set(re.findall(r"\b(\w+)\(r, ", body)) - NOT_HELPERS - {fn}:
            keys |= handler_query_keys(src, callee, depth + 1)
    return keys


def test_every_query_parameter_read_by_a_list_is_documented_and_no_more():
    """The filters the UI sends (domain_id, group_id, user_id ...) are part of the contract: the
    document lists exactly the query keys each GET handler reads (page and per_page: api_list)."""
    routes = re.findall(r'\{"GET", "(/api/[^"{]*)", \w+, \w+, (\w+)\}',
                        (ROOT / "services/admin-api/routes.c").read_text())
    assert len(routes) > 10
    src = "\n".join(p.read_text() for p in sorted((ROOT / "services/admin-api").glob("*.c")))
    doc = yaml.safe_load((ROOT / "docs/openapi.yaml").read_text())
    shared = doc["components"]["parameters"]
    for path, fn in routes:
        params = doc["paths"][path]["get"].get("parameters", [])
        documented = {shared[p["$ref"].rsplit("/", 1)[1]]["name"] if "$ref" in p else p["name"] for p in params}
        read = handler_query_keys(src, fn)
        assert read - documented == set(), f"GET {path}: {fn} reads undocumented query keys"
        assert documented - read - {"page", "per_page"} == set(), f"GET {path}: documented keys {fn} ignores"
