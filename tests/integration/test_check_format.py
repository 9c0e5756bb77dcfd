"""scripts/check-format (run by `make test`) passes on the tree as it is and fails, naming the
file, when a C file departs from .clang-format. The breach is made in a temporary git copy of
a few files, never in the tree itself."""
import pathlib
import shutil
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHECK = ROOT / "scripts" / "check-format"


def run(root):
    return subprocess.run([str(CHECK), "--root", str(root)], capture_output=True, text=True, timeout=600)


def test_the_tree_is_formatted():
    r = run(ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.startswith("check-format: ok, "), r.stdout


def test_a_misformatted_file_fails_and_is_named(tmp_path):
    tree = tmp_path / "tree"
    (tree / "lib" / "util").mkdir(parents=True)
    shutil.copy(ROOT / ".clang-format", tree / ".clang-format")
    shutil.copy(ROOT / "lib" / "util" / "buf.c", tree / "lib" / "util" / "buf.c")
    bad = tree / "lib" / "util" / "bad.c"
    bad.write_text("int  bad_add(int a,int b){return a+b;}\n")
    subprocess.run(["git", "init", "-q", str(tree)], check=True)
    subprocess.run(["git", "-C", str(tree), "add", "."], check=True)
    r = run(tree)
    assert r.returncode == 1, r.stdout
    assert "check-format: lib/util/bad.c needs `make format`" in r.stdout, r.stdout
    assert "lib/util/buf.c" not in r.stdout.replace("1 of 2", ""), r.stdout
    assert "1 of 2 files differ" in r.stdout, r.stdout
