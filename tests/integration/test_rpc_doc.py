"""docs/RPC.md documents exactly the ops of each RPC service's stub (lib/mail/<service>_client.h,
its CL_<SERVICE>_OP_ names), each service serves exactly those ops through its op table, and
the section of a service whose stub is its full codec names every field of it (CL_<SERVICE>_F_),
as test_admin_api_openapi checks docs/openapi.yaml against admin-api's route table."""
import re

import pytest

from conftest import ROOT

SERVICES = ["policy", "scanner", "delivery", "banstats"]
# The services whose codec also has its field names as constants (issue 21, item 3): all of them.
CODECS = ["policy", "scanner", "delivery", "banstats"]


def codec_names(service, kind):
    text = (ROOT / f"lib/mail/{service}_client.h").read_text()
    found = dict(re.findall(rf'#define (CL_{service.upper()}_{kind}_\w+)\s+"([^"]+)"', text))
    assert found, f"no CL_{service.upper()}_{kind}_ names in lib/mail/{service}_client.h"
    return found


def doc_section(service):
    doc = (ROOT / "docs/RPC.md").read_text()
    m = re.search(rf"^## {service} \(.*?$(.*?)(?=^## )", doc, re.M | re.S)
    assert m, f"docs/RPC.md has no section for {service}"
    return m.group(1)


def doc_ops(section):
    """The first cell of each row of the section's op tables ("| op | ...")."""
    ops, in_table = set(), False
    for line in section.splitlines():
        if line.startswith("| op |"):
            in_table = True
        elif not line.startswith("|"):
            in_table = False
        elif in_table:
            m = re.match(r"\| `(\w+)` \|", line)
            if m:
                ops.add(m.group(1))
    return ops


@pytest.mark.parametrize("service", SERVICES)
def test_the_document_lists_exactly_the_stubs_ops(service):
    code = set(codec_names(service, "OP").values())
    doc = doc_ops(doc_section(service))
    assert code - doc == set(), f"{service}: ops missing from docs/RPC.md"
    assert doc - code == set(), f"{service}: docs/RPC.md documents ops the codec lacks"


@pytest.mark.parametrize("service", CODECS)
def test_every_field_of_the_codec_is_documented(service):
    section = doc_section(service) + (ROOT / "docs/RPC.md").read_text().split("\n## ", 1)[0]
    missing = sorted(f for f in codec_names(service, "F").values() if f"`{f}`" not in section
                     and f'"{f}"' not in section)
    assert not missing, f"{service}: fields of the codec that docs/RPC.md does not name: {missing}"


@pytest.mark.parametrize("service", SERVICES)
def test_the_service_serves_every_op_of_its_codec(service):
    src = "\n".join(p.read_text() for p in sorted((ROOT / f"services/{service}").glob("*.c")))
    table = re.findall(r"\{(CL_\w+_OP_\w+), \w+\}", src)
    assert sorted(table) == sorted(codec_names(service, "OP")), f"{service}: op table and codec differ"
