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


def test_every_seconds_and_milliseconds_setting_takes_units():
    """One grammar per kind of setting: a CLEMENT_*_S or *_MS setting of any binary is a duration
    (a plain number in its unit, or 90s, 250ms, 5m, 2h, 1d), and --settings-markdown says so."""
    env = dict(os.environ, CLEMENT_BUILD=str(BUILD))
    table = subprocess.run([str(ROOT / "scripts/settings-table")], env=env, cwd=ROOT, capture_output=True,
                           text=True, check=True, timeout=120).stdout
    rows = [line for line in table.splitlines() if re.match(r"\| `CLEMENT_\w+_(S|MS)` ", line)]
    assert len(rows) > 20, table
    plain = [r.split("`")[1] for r in rows
             if not re.search(r"\((seconds|milliseconds), \d+[a-z]+\.\.\d+[a-z]+\) \|$", r)]
    assert not plain, f"not durations: {plain}"


def test_a_duration_that_is_not_whole_in_its_unit_is_refused_with_the_reason():
    for value, reason in (("1500ms", "1500ms is not a whole number of seconds"),
                          ("2h", "2h is out of range: 1s..1h"), ("soon", "soon")):
        r = subprocess.run([str(BUILD / "bin/clement-smtp-edge")], capture_output=True, text=True, timeout=30,
                           env=dict(os.environ, CLEMENT_GREET_TIMEOUT_S=value))
        assert r.returncode == 2, r.stderr
        assert f"bad setting: CLEMENT_GREET_TIMEOUT_S: {reason}" in r.stderr, r.stderr
