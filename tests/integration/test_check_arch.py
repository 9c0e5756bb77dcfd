"""make check-arch (scripts/check-arch against tools/arch-rules) passes on the tree and the
build as they are, and fails, naming the file and the rule, on each kind of breach: a stray
include (lib including a service, a layer including one above it, a service including another
service's header or lib/db when it may not), a stray link (a binary recording a library its
rules do not allow, the edge linking libpq), and a runtime image installing a library no
binary needs. Each breach is made in a temporary copy of the tree (or a temporary build
directory beside the real binaries of CLEMENT_BUILD), never in the tree itself."""
import os
import pathlib
import shutil
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = ROOT / os.environ.get("CLEMENT_BUILD", "build/san")
CHECK = ROOT / "scripts" / "check-arch"


def check_arch(*args, root=ROOT, build=BUILD):
    return subprocess.run([str(CHECK), "--root", str(root), "--build", str(build), *args],
                          capture_output=True, text=True, timeout=300)


@pytest.fixture
def tree(tmp_path):
    """A copy of the parts of the tree check-arch reads."""
    dst = tmp_path / "tree"
    ignore = shutil.ignore_patterns("fuzz-corpus", "node_modules", "results")
    for d in ("lib", "services", "tools", "bench", "deploy/docker"):
        shutil.copytree(ROOT / d, dst / d, ignore=ignore)
    return dst


def add_include(path, header):
    text = path.read_text()
    path.write_text(text + f'\n#include "{header}"\n')
    return len(text.splitlines()) + 2


def test_the_tree_and_the_build_keep_the_rules():
    if not (BUILD / "bin" / "clement-smtp-edge").exists():
        pytest.fail(f"no build in {BUILD}: run make SAN=1 all unit-bins first")
    r = check_arch()
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.startswith("check-arch: ok"), r.stdout


@pytest.mark.parametrize("file,header,why", [
    ("services/smtp-edge/loop.c", "db/pg.h", "smtp-edge uses only"),
    ("services/smtp-edge/decide.c", "auth/password.h", "smtp-edge uses only"),
    ("services/scanner/scan.c", "db/pg.h", "scanner uses only"),
    ("lib/util/buf.c", "rpc/frame.h", "layer util may include only"),
    ("lib/rpc/frame.c", "mail/verdict.h", "layer rpc may include only"),
    ("lib/mail/verdict.c", "../../services/policy/policy.h", "lib knows no service"),
    ("lib/util/log.c", "edge.h", "not in its own directory"),
    ("services/delivery/relay.c", "../policy/cache.h", "no program includes another's header"),
    ("services/admin-api/server.c", "probe.h", "not in its own directory"),
    ("tools/clement-rpc/main.c", "db/settings.h", "clement-rpc uses only"),
])
def test_a_stray_include_fails(tree, file, header, why):
    line = add_include(tree / file, header)
    r = check_arch("--only", "includes", root=tree)
    assert r.returncode == 1, r.stdout
    assert f"check-arch: {file}:{line}: includes \"{header}\"" in r.stdout, r.stdout
    assert why in r.stdout, r.stdout
    assert "1 problem(s)" in r.stdout, r.stdout


def test_a_new_lib_directory_needs_a_layer_rule(tree):
    (tree / "lib" / "cache").mkdir()
    (tree / "lib" / "cache" / "lru.c").write_text('#include "util/buf.h"\n')
    r = check_arch("--only", "includes", root=tree)
    assert r.returncode == 1
    assert 'lib/cache: a directory of lib/ with no "layer" rule' in r.stdout, r.stdout


def test_a_layer_cycle_in_the_rules_fails(tree):
    rules = tree / "tools" / "arch-rules"
    rules.write_text(rules.read_text().replace("layer util:\n", "layer util: mail\n"))
    r = check_arch("--only", "includes", root=tree)
    assert r.returncode == 1
    assert "layer util uses mail, which is not a layer declared above it" in r.stdout, r.stdout


@pytest.fixture
def build_copy(tmp_path):
    """A build directory whose binaries are the real ones (symbolic links), to replace one."""
    if not (BUILD / "bin" / "clement-smtp-edge").exists():
        pytest.fail(f"no build in {BUILD}: run make SAN=1 all unit-bins first")
    dst = tmp_path / "build"
    for sub in ("bin", "tests"):
        for src in (BUILD / sub).rglob("*"):
            if src.is_file() and os.access(src, os.X_OK):
                target = dst / src.relative_to(BUILD)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.symlink_to(src)
    return dst


def link_stray(tmp_path, out, lib, call):
    """Builds OUT: a program that calls CALL of shared library LIB (a real NEEDED entry)."""
    src = tmp_path / "stray.c"
    src.write_text(f"extern int {call}(void);\nint main(void) {{ return {call}() < 0; }}\n")
    out.unlink()
    subprocess.run(["cc", "-o", str(out), str(src), f"-l{lib}"], check=True, timeout=120)


@pytest.mark.parametrize("binary,lib,call,why", [
    ("bin/clement-smtp-edge", "pq", "PQlibVersion",
     "clement-smtp-edge: NEEDED libpq.so.5, which smtp-edge must never link"),
    ("bin/clement-smtp-edge", "curl", "curl_global_cleanup",
     "clement-smtp-edge: NEEDED libcurl.so.4, which smtp-edge must never link"),
    ("bin/clement-delivery", "argon2", "argon2_error_message",
     "clement-delivery: NEEDED libargon2.so.1, which delivery may not link"),
    ("tests/lib/util/buf_test", "clamav", "cl_init", "buf_test: NEEDED libclamav.so"),
])
def test_a_stray_link_fails(tmp_path, build_copy, binary, lib, call, why):
    link_stray(tmp_path, build_copy / binary, lib, call)
    r = check_arch("--only", "needed", build=build_copy)
    assert r.returncode == 1, r.stdout
    assert why in r.stdout, r.stdout
    assert "1 problem(s)" in r.stdout, r.stdout


def test_a_fuzz_target_linking_more_than_its_layer_fails(tmp_path, tree):
    fuzz = tree / "build" / "fuzz" / "bin" / "address_fuzz"
    fuzz.parent.mkdir(parents=True)
    fuzz.touch()
    link_stray(tmp_path, fuzz, "pq", "PQlibVersion")
    r = check_arch("--only", "needed", root=tree)
    assert r.returncode == 1, r.stdout
    assert "address_fuzz: NEEDED libpq.so.5, which lib/mail may not link" in r.stdout, r.stdout
    assert "1 problem(s)" in r.stdout, r.stdout


def test_a_binary_not_built_fails(build_copy):
    (build_copy / "bin" / "clement-policy").unlink()
    r = check_arch("--only", "needed", build=build_copy)
    assert r.returncode == 1
    assert "clement-policy: not built" in r.stdout, r.stdout


@pytest.mark.parametrize("image,old,new,why", [
    ("smtp-edge", " libnng1 libssl3 ", " libnng1 libssl3 libpq5 ",
     "the runtime stage installs libpq5, which no binary of the image needs"),
    ("scanner", " libmicrohttpd12 ", " ",
     "the runtime stage does not install libmicrohttpd12 (clement-scanner needs libmicrohttpd.so.12)"),
])
def test_an_image_installing_other_libraries_than_its_binary_needs_fails(tree, image, old, new, why):
    df = tree / "deploy" / "docker" / f"{image}.Dockerfile"
    df.write_text(df.read_text().replace(old, new, 1))
    r = check_arch(root=tree)
    assert r.returncode == 1, r.stdout
    assert f"check-arch: deploy/docker/{image}.Dockerfile: {why}" in r.stdout, r.stdout
    assert "1 problem(s)" in r.stdout, r.stdout


@pytest.mark.parametrize("decl", ["int cl_init(unsigned int options);", "#define CL_CLEAN 0",
                                  "struct cl_engine;"])
def test_a_lib_name_that_libclamav_also_declares_fails(tree, decl):
    """lib/ keeps the cl_ prefix libclamav also uses; a name both declare fails check-arch."""
    hdr = tree / "lib" / "util" / "buf.h"
    text = hdr.read_text()
    hdr.write_text(text + decl + "\n")
    line = len(text.splitlines()) + 1
    r = check_arch("--only", "names", root=tree)
    assert r.returncode == 1, r.stdout
    ident = decl.split()[1].split("(")[0].rstrip(";")
    assert f"check-arch: lib/util/buf.h:{line}: declares {ident}, a name libclamav's clamav.h also declares" \
        in r.stdout, r.stdout
    assert "1 problem(s)" in r.stdout, r.stdout


@pytest.mark.parametrize("file,code,what", [
    ("services/policy/probe.c", "struct addrinfo *ai; getaddrinfo(host, \"25\", NULL, &ai);", "getaddrinfo()"),
    ("lib/util/net.c", "gethostbyname(host);", "gethostbyname()"),
    ("services/banstats/push.c", "res_query(name, 1, 15, buf, sizeof buf);", "res_query()"),
    ("services/smtp-edge/loop.c", "nng_dial(s, url, NULL, 0);", "nng_dial()"),
    ("services/scanner/scan.c", "curl_easy_setopt(h, CURLOPT_URL, url);", "CURLOPT_URL without CURLOPT_RESOLVE"),
])
def test_a_file_resolving_names_on_its_own_fails(tree, file, code, what):
    """Issue 17: no code of Clement resolves names on its own; mail-path names go through
    lib/dns, and only the files tools/arch-rules lists (with their reason) may do otherwise."""
    path = tree / file
    text = path.read_text()
    path.write_text(text + f"\nstatic void stray(void) {{ {code} }}\n")
    line = len(text.splitlines()) + 2
    r = check_arch("--only", "resolves", root=tree)
    assert r.returncode == 1, r.stdout
    assert f"check-arch: {file}:{line}: resolves a host name itself ({what})" in r.stdout, r.stdout
    assert "1 problem(s)" in r.stdout, r.stdout


def test_names_in_comments_and_strings_and_listed_files_pass(tree):
    """A comment or a string naming getaddrinfo is no call; delivery's relay hands libcurl its
    URL together with lib/dns's addresses (CURLOPT_RESOLVE), so it passes unlisted."""
    p = tree / "services" / "policy" / "probe.c"
    p.write_text(p.read_text() + '\n/* getaddrinfo() is not used here */\nstatic const char *s = "gethostbyname(x)";\n')
    assert "CURLOPT_URL" in (tree / "services" / "delivery" / "relay.c").read_text()
    r = check_arch("--only", "resolves", root=tree)
    assert r.returncode == 0, r.stdout


def test_a_resolves_rule_for_a_file_that_no_longer_resolves_fails(tree):
    rules = tree / "tools" / "arch-rules"
    rules.write_text(rules.read_text() + "resolves lib/util/buf.c: no reason\n")
    r = check_arch("--only", "resolves", root=tree)
    assert r.returncode == 1, r.stdout
    assert "lib/util/buf.c no longer resolves names: remove its rule" in r.stdout, r.stdout
