"""tests/browser/run fails the run when a browser test skipped: a browser test skips only when a
service it needs did not start (blocked() in tests/browser/lib.mjs), and the charter says such a
test fails, never passes by skipping. Here the scanner is missing from the build the runner is
given, so the digest tests (which need it) skip, and the runner must exit non-zero and say why."""
import os
import subprocess

from conftest import BIN, ROOT


def test_a_skipped_browser_test_fails_the_run(tmp_path):
    bin_dir = tmp_path / "build" / "bin"
    bin_dir.mkdir(parents=True)
    for b in BIN.iterdir():
        if b.name != "clement-scanner":
            (bin_dir / b.name).symlink_to(b)
    r = subprocess.run([str(ROOT / "tests/browser/run"), "tests/browser/digest.test.mjs"], cwd=ROOT,
                       env=dict(os.environ, CLEMENT_BUILD=str(tmp_path / "build")),
                       capture_output=True, text=True, timeout=600)
    out = r.stdout.strip().splitlines()
    assert r.returncode != 0, r.stdout[-2000:]
    assert "stack: scanner: DOWN" in r.stdout
    assert "skipped because a service they need did not start" in r.stdout
    assert out[-1].startswith("browser: 0 passed, 0 failed, ") and " 0 skipped" not in out[-1], out[-1]
