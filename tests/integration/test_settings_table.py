"""README's settings table is the one the binaries' own settings tables give
(`scripts/settings-table`); after changing a setting run `scripts/settings-table --update`."""
import os
import re
import subprocess

from conftest import BUILD, ROOT


def test_readme_settings_table_is_current():
    env = dict(os.environ, CLEMENT_BUILD=str(BUILD))
    table = subprocess.run([str(ROOT / "scripts/settings-table")], env=env, cwd=ROOT, capture_output=True,
                           text=True, check=True, timeout=120).stdout.strip()
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- settings:begin -->\n(.*?)\n?<!-- settings:end -->", readme, re.S)
    assert block, "README.md has no <!-- settings:begin --> ... <!-- settings:end --> block"
    assert table.count("\n") > 50, table   # every binary answered --settings-markdown
    assert block.group(1).strip() == table, \
        "README's settings table is stale: run `CLEMENT_BUILD=... scripts/settings-table --update`"
