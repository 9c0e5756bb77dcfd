"""The test harness's rules (issue 21): what tests share lives in tests/integration/harness/ (and
conftest.py, pytest's own), so no test module imports another, and the harness holds no tests.
Read with the ast module over every Python file of tests/ and bench/."""
import ast
import os
import pathlib
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[2]


def python_files():
    for p in sorted((ROOT / "tests").rglob("*.py")):
        if "node_modules" not in p.parts:
            yield p
    for p in sorted((ROOT / "bench").iterdir()):
        if p.is_file() and (p.suffix == ".py" or p.read_text(errors="replace").startswith("#!/usr/bin/env python3")):
            yield p


def imported_modules(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module
        elif isinstance(node, ast.Import):
            for a in node.names:
                yield node.lineno, a.name


def test_no_test_module_imports_another():
    found = []
    for p in python_files():
        for line, mod in imported_modules(ast.parse(p.read_text(), str(p))):
            if mod.split(".")[-1].startswith("test_"):
                found.append(f"{p.relative_to(ROOT)}:{line} imports {mod}: move what it shares into harness/")
    assert not found, "\n".join(found)


def test_the_harness_holds_no_tests():
    found = []
    for p in sorted((ROOT / "tests/integration/harness").glob("*.py")):
        assert not p.name.startswith("test_"), p
        for node in ast.parse(p.read_text()).body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name.lower().startswith("test"):
                found.append(f"{p.relative_to(ROOT)}:{node.lineno} {node.name}")
    assert not found, "\n".join(found)


def skip_calls(tree):
    """Lines of pytest.skip(...) calls and pytest.mark.skip / skipif uses in a module's tree."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("skip", "skipif") and \
                isinstance(node.value, (ast.Name, ast.Attribute)):
            base = node.value.id if isinstance(node.value, ast.Name) else node.value.attr
            if base in ("pytest", "mark"):
                yield node.lineno


def test_no_integration_test_skips():
    """A test whose real part did not start fails, and a test that is not for a run (local_only
    against an external stack) is deselected: nothing in tests/integration skips."""
    found = []
    for p in sorted((ROOT / "tests/integration").rglob("*.py")):
        found += [f"{p.relative_to(ROOT)}:{line}" for line in skip_calls(ast.parse(p.read_text(), str(p)))]
    assert not found, "skips in tests/integration (fail instead, or mark local_only): " + ", ".join(found)


def test_the_rules_see_a_skip():
    """The check itself: both spellings of a skip are reported, a plain attribute is not."""
    tree = ast.parse("import pytest\npytest.skip('x')\n@pytest.mark.skipif(True, reason='y')\ndef t(): pass\n"
                     "a.skip = 1\n")
    assert list(skip_calls(tree)) == [2, 3]


def test_the_rules_see_a_stray_import(tmp_path):
    """The check itself: a file importing a test module is reported."""
    tree = ast.parse("import os\nfrom test_policy import rpc\n")
    assert [m for _, m in imported_modules(tree) if m.startswith("test_")] == ["test_policy"]


def collect(*args, external=""):
    """pytest --collect-only as the CI stages start it; CLEMENT_TEST_EXTERNAL as given."""
    env = dict(os.environ, CLEMENT_TEST_EXTERNAL=external)
    return subprocess.run(["/usr/bin/python3", "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_compose_tests_selection_deselects_the_local_only_tests_and_does_not_break():
    """scripts/compose-test starts pytest in tests/containers, where this conftest is not an initial
    one (its options are not registered): the collection hooks must still work there, and the tests
    that start or kill services themselves are deselected, not skipped, against the running stack."""
    r = collect("tests/containers", "--ignore=tests/containers/test_scale.py", "tests/integration/test_smtp_faults.py",
                "tests/integration/test_smtp_e2e.py", external="smtp=127.0.0.1:1")
    assert r.returncode == 0 and "INTERNALERROR" not in r.stdout + r.stderr, r.stdout[-3000:] + r.stderr[-3000:]
    assert "deselected" in r.stdout.splitlines()[-1], r.stdout[-500:]
    assert "test_smtp_faults.py::" not in r.stdout, "test_smtp_faults is local_only as a whole: none of it may run"
    assert "test_e2e_bare_postmaster_with_smtplib" not in r.stdout, "local_only: deselected, not skipped"
    local = collect("tests/integration/test_smtp_faults.py")
    assert local.returncode == 0 and "deselected" not in local.stdout, local.stdout[-500:]


def test_first_per_module_keeps_one_test_of_each_module():
    r = collect("--first-per-module", "tests/integration/test_harness_rules.py", "tests/integration/test_smtp_e2e.py")
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    picked = [line for line in r.stdout.splitlines() if "::" in line]
    assert [p.split("::")[0] for p in picked] == ["tests/integration/test_harness_rules.py",
                                                  "tests/integration/test_smtp_e2e.py"], picked
    assert picked[0].endswith("::test_no_test_module_imports_another"), picked
