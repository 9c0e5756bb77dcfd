"""scripts/check-format (run by `make test`) passes on the tree as it is and fails, naming the
file, when a C file departs from .clang-format, in a git checkout (the files git tracks) and in
a plain copy such as the one `make fresh-test` builds in a bare container (the files on disk).
The breach is made in a temporary copy of a few files, never in the tree itself."""
import os
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


def misformatted_tree(tmp_path):
    tree = tmp_path / "tree"
    (tree / "lib" / "util").mkdir(parents=True)
    shutil.copy(ROOT / ".clang-format", tree / ".clang-format")
    shutil.copy(ROOT / "lib" / "util" / "buf.c", tree / "lib" / "util" / "buf.c")
    bad = tree / "lib" / "util" / "bad.c"
    bad.write_text("int  bad_add(int a,int b){return a+b;}\n")
    # Not checked: what is built, and what npm brought.
    for skip in ("build", "node_modules"):
        (tree / skip).mkdir()
        (tree / skip / "gen.c").write_text("int  gen(void){return 0;}\n")
    return tree


def assert_names_the_bad_file(r):
    assert r.returncode == 1, r.stdout
    assert "check-format: lib/util/bad.c needs `make format`" in r.stdout, r.stdout
    assert "lib/util/buf.c" not in r.stdout.replace("1 of 2", ""), r.stdout
    assert "1 of 2 files differ" in r.stdout, r.stdout


def test_a_misformatted_file_fails_and_is_named_in_a_plain_copy(tmp_path):
    assert_names_the_bad_file(run(misformatted_tree(tmp_path)))


def test_a_misformatted_file_fails_and_is_named_in_a_git_checkout(tmp_path):
    tree = misformatted_tree(tmp_path)
    (tree / ".gitignore").write_text("build/\nnode_modules/\n")
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@t")
    subprocess.run(["git", "init", "-q", str(tree)], check=True, env=env)
    subprocess.run(["git", "-C", str(tree), "add", "."], check=True, env=env)
    # Untracked files are not the tree's: a stray one is not checked.
    (tree / "lib" / "util" / "stray.c").write_text("int  stray(void){return 0;}\n")
    assert_names_the_bad_file(run(tree))
