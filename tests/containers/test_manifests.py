"""The container files agree with each other and with the code.

- Every Kubernetes manifest (rendered with `kubectl kustomize`, or read file by file when
  kubectl is missing) names only images, ports, probes, volumes and settings that the compose
  stack has too, so the two deployments cannot drift apart silently.
- Every CLEMENT_* setting a binary declares (`--settings-markdown`) is shown in its compose
  service's environment block.
- The Dockerfiles keep their contract: one identical build stage (compiled once, cached for
  the others), a runtime stage without compilers, a non-root user, a health check.

Static: needs PyYAML, and kubectl or nothing more. The settings check reads the images built by
scripts/compose-test (CLEMENT_TAG) when CLEMENT_TEST_IMAGES=1, else the binaries of
CLEMENT_BUILD (default build); it is skipped when neither exists.
"""
import os
import pathlib
import re
import shutil
import subprocess

import pytest

yaml = pytest.importorskip("yaml")

ROOT = pathlib.Path(__file__).resolve().parents[2]
DOCKER = ROOT / "deploy" / "docker"
K8S = ROOT / "deploy" / "kubernetes"
OVERLAYS = ["with-postgres", "external-postgres"]
# The binary behind each compose service that runs one of ours.
BINARIES = {s: f"clement-{s}" for s in ["smtp-edge", "policy", "scanner", "delivery", "banstats", "admin-api"]}
BINARIES["migrate"] = "clement-migrate"
# Images that start as root: the demo's Postfix (its master drops to Postfix's own users and
# cannot start otherwise; compose only, never in Kubernetes).
ROOT_IMAGES = {"postfix"}
# Settings only the compose demo has (the Kubernetes base never seeds demo data).
COMPOSE_ONLY = {"CLEMENT_DEMO_RELAY_HOST", "CLEMENT_DEMO_RELAY_PORT", "CLEMENT_DEMO_TLS"}


def compose():
    with open(ROOT / "docker-compose.yml") as f:
        return yaml.safe_load(f)


def dockerfile(service):
    return (DOCKER / f"{service}.Dockerfile").read_text()


def image_repo(image):
    """clement/policy:${CLEMENT_TAG:-latest} -> clement/policy"""
    return re.sub(r":[^/]*$", "", image)


def stack_facts():
    """Per compose service: image repo, container ports, health port, mount paths, settings."""
    facts = {}
    for name, svc in compose()["services"].items():
        df = dockerfile(svc["build"]["dockerfile"].split("/")[-1].removesuffix(".Dockerfile"))
        env = {k: str(v) for k, v in (svc.get("environment") or {}).items()}
        ports = set()
        for line in re.findall(r"^EXPOSE (.+)$", df, re.M):
            ports.update(int(p) for p in line.split())
        for v in env.values():
            m = re.search(r"^(?:tcp://)?[\w.\-]+:(\d+)$", v)
            if m and not v.startswith(("tcp://policy", "tcp://scanner", "tcp://delivery", "admin-api")):
                ports.add(int(m.group(1)))
        for p in svc.get("ports", []):
            ports.add(int(str(p).rsplit(":", 1)[1]))
        health = [v for k, v in env.items() if k.endswith("_HEALTH_LISTEN")]
        health_port = int(health[0].rsplit(":", 1)[1]) if health else None
        if name == "nginx":
            health_port = 8080
        mounts = {str(v).split(":")[1] for v in svc.get("volumes", [])}
        mounts.update(svc.get("tmpfs", []))
        mounts.update(re.findall(r"^VOLUME (\S+)$", df, re.M))
        test = (svc.get("healthcheck") or {}).get("test")
        facts[name] = {"image": image_repo(svc["image"]), "ports": ports, "health_port": health_port,
                       "mounts": mounts, "env": env, "healthcheck": test}
    return facts


def load_kustomization(path):
    """Fallback without kubectl: the resources of a kustomization and its components, unpatched."""
    k = yaml.safe_load((path / "kustomization.yaml").read_text())
    docs = []
    for ref in k.get("resources", []) + k.get("components", []):
        p = (path / ref).resolve()
        if p.is_dir():
            docs += load_kustomization(p)
        else:
            docs += [d for d in yaml.safe_load_all(p.read_text()) if d]
    return docs


def render(overlay):
    path = K8S / "overlays" / overlay
    kubectl = shutil.which("kubectl")
    if kubectl:
        out = subprocess.run([kubectl, "kustomize", str(path)], check=True, capture_output=True, text=True).stdout
        return [d for d in yaml.safe_load_all(out) if d]
    return load_kustomization(path)


def workloads(docs):
    for d in docs:
        if d["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
            yield d, d["spec"]["template"]["spec"]


@pytest.fixture(scope="module")
def facts():
    return stack_facts()


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_manifests_name_only_what_compose_has(overlay, facts):
    docs = render(overlay)
    by_image = {f["image"]: (n, f) for n, f in facts.items()}
    problems = []
    seen_images = set()
    for d, spec in workloads(docs):
        for c in spec.get("initContainers", []) + spec["containers"]:
            where = f"{d['kind']}/{d['metadata']['name']} container {c['name']}"
            repo = image_repo(c["image"])
            seen_images.add(repo)
            if repo not in by_image:
                problems.append(f"{where}: image {c['image']} is no compose service's image")
                continue
            svc, f = by_image[repo]
            named = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
            for p in c.get("ports", []):
                if p["containerPort"] not in f["ports"]:
                    problems.append(f"{where}: port {p['containerPort']} not in compose service {svc} {sorted(f['ports'])}")
            for kind in ("readinessProbe", "livenessProbe"):
                probe = c.get(kind)
                if not probe:
                    if c in spec["containers"] and c["name"] != "freshclam":
                        problems.append(f"{where}: no {kind}")
                    continue
                if "httpGet" in probe:
                    port = probe["httpGet"]["port"]
                    port = named.get(port, port)
                    if probe["httpGet"]["path"] != "/healthz" or port != f["health_port"]:
                        problems.append(f"{where}: {kind} {probe['httpGet']} but compose health is /healthz on {f['health_port']}")
                elif "exec" in probe:
                    if not f["healthcheck"] or probe["exec"]["command"] != f["healthcheck"][1:]:
                        problems.append(f"{where}: {kind} {probe['exec']['command']} differs from compose {f['healthcheck']}")
            for m in c.get("volumeMounts", []):
                if m["mountPath"] not in f["mounts"] and m["mountPath"] != "/run/postgresql":
                    problems.append(f"{where}: mount {m['mountPath']} not in compose service {svc} {sorted(f['mounts'])}")
            if repo == "clement/smtp-edge":
                assert any(m["mountPath"] == "/etc/clement/tls" for m in c.get("volumeMounts", []))
    # Every Service points at a port some selected container declares.
    pods = {d["metadata"]["name"]: spec for d, spec in workloads(docs)}
    for d in docs:
        if d["kind"] != "Service":
            continue
        spec = pods.get(d["spec"]["selector"]["app.kubernetes.io/name"])
        if spec is None:
            problems.append(f"Service/{d['metadata']['name']} selects no workload")
            continue
        ports = {p.get("name") for c in spec["containers"] for p in c.get("ports", [])} | \
                {p["containerPort"] for c in spec["containers"] for p in c.get("ports", [])}
        for p in d["spec"]["ports"]:
            if p["targetPort"] not in ports:
                problems.append(f"Service/{d['metadata']['name']}: targetPort {p['targetPort']} not declared")
    assert not problems, "\n".join(problems)
    # The stateless hot path autoscales, and the SMTP entrance keeps client addresses.
    hpas = {d["spec"]["scaleTargetRef"]["name"] for d in docs if d["kind"] == "HorizontalPodAutoscaler"}
    assert {"smtp-edge", "policy", "scanner"} <= hpas
    lb = next(d for d in docs if d["kind"] == "Service" and d["spec"].get("type") == "LoadBalancer")
    assert {p["port"] for p in lb["spec"]["ports"]} == {25, 465, 587}
    assert any("proxy-protocol" in a for a in lb["metadata"].get("annotations", {}))
    assert lb["spec"].get("externalTrafficPolicy") == "Local"
    for d, spec in workloads(docs):
        ann = d["spec"]["template"]["metadata"].get("annotations", {})
        if d["metadata"]["name"] in BINARIES:
            assert ann.get("prometheus.io/scrape") == "true", d["metadata"]["name"]
            assert int(ann["prometheus.io/port"]) == facts[d["metadata"]["name"]]["health_port"]
    if overlay == "with-postgres":
        assert any(d["kind"] == "StatefulSet" and d["metadata"]["name"] == "postgres" for d in docs)
    else:
        assert not any(d["kind"] == "StatefulSet" for d in docs)


def test_settings_in_kubernetes_and_compose_match(facts):
    docs = load_kustomization(K8S / "base")
    k8s = set()
    for d in docs:
        if d["kind"] in ("ConfigMap", "Secret") and d["metadata"]["name"] in ("clement-settings", "clement-secrets"):
            k8s.update(d.get("data", {}) or {})
            k8s.update(d.get("stringData", {}) or {})
    compose_names = {k for f in facts.values() for k in f["env"] if k.startswith("CLEMENT_")}
    assert not (k8s - compose_names), f"in Kubernetes only: {sorted(k8s - compose_names)}"
    assert not (compose_names - k8s - COMPOSE_ONLY), f"in compose only: {sorted(compose_names - k8s - COMPOSE_ONLY)}"


# Settings whose value must be the same per service in both deployments, because it depends on
# the platform, not the site: where mail-path names resolve (Docker's or the cluster's DNS for
# services that reach downstreams by service name; full recursion for the edge's blocklists).
PER_SERVICE = ["CLEMENT_DNS_RESOLVER"]


def test_each_service_resolves_names_as_in_compose(facts):
    docs = load_kustomization(K8S / "base")
    config = {}
    for d in docs:
        if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "clement-settings":
            config = {k: str(v) for k, v in d["data"].items()}
    by_image = {f["image"]: (n, f) for n, f in facts.items()}
    seen, problems = set(), []
    for d, spec in workloads(docs):
        for c in spec["containers"]:
            svc, f = by_image.get(image_repo(c["image"]), (None, None))
            if svc not in BINARIES:
                continue
            seen.add(svc)
            override = {e["name"]: str(e.get("value", "")) for e in c.get("env", [])}
            for name in PER_SERVICE:
                k8s = override.get(name, config.get(name))
                if name in f["env"] and k8s != f["env"][name]:
                    problems.append(f"{svc}: {name} is {k8s!r} in Kubernetes, {f['env'][name]!r} in compose")
    assert {"policy", "delivery", "smtp-edge", "banstats"} <= seen, seen
    assert not problems, "\n".join(problems)
    # The services that reach downstreams by name ask the platform's DNS; the edge recurses.
    assert facts["policy"]["env"]["CLEMENT_DNS_RESOLVER"] == "system"
    assert facts["delivery"]["env"]["CLEMENT_DNS_RESOLVER"] == "system"
    assert facts["smtp-edge"]["env"]["CLEMENT_DNS_RESOLVER"] == ""


def settings_of(binary):
    """The CLEMENT_* names a binary declares, or None when it cannot be run here."""
    tag = os.environ.get("CLEMENT_TAG", "latest")
    if os.environ.get("CLEMENT_TEST_IMAGES") == "1":
        svc = "migrate" if binary == "clement-migrate" else binary.removeprefix("clement-")
        cmd = ["docker", "run", "--rm", "--entrypoint", f"/usr/local/bin/{binary}", f"clement/{svc}:{tag}",
               "--settings-markdown"]
    else:
        path = ROOT / os.environ.get("CLEMENT_BUILD", "build") / "bin" / binary
        if not path.exists():
            return None
        cmd = [str(path), "--settings-markdown"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=60).stdout
    return set(re.findall(r"^\|\s*`?(CLEMENT_[A-Z0-9_]+)", out, re.M))


@pytest.mark.parametrize("service", sorted(BINARIES))
def test_compose_shows_every_setting(service, facts):
    names = settings_of(BINARIES[service])
    if names is None:
        pytest.skip(f"no {BINARIES[service]} built (set CLEMENT_BUILD, or CLEMENT_TEST_IMAGES=1)")
    assert names, f"{BINARIES[service]} --settings-markdown printed no setting"
    missing = sorted(names - set(facts[service]["env"]))
    assert not missing, f"docker-compose.yml service {service} does not show: {missing}"


def stages(text):
    parts = re.split(r"^(?=FROM )", text, flags=re.M)
    return [p for p in parts if p.startswith("FROM ")]


def test_dockerfiles_keep_their_contract():
    files = sorted(DOCKER.glob("*.Dockerfile"))
    assert len(files) >= 10
    builds = {}
    for f in files:
        text = f.read_text()
        st = stages(text)
        runtime = st[-1]
        assert runtime.startswith("FROM debian:bookworm-slim"), f.name
        installed = " ".join(re.findall(r"apt-get install ((?:[^\\\n]|\\\n)*)", runtime)).split()
        bad = [p for p in installed if p in ("gcc", "g++", "cc", "clang", "make") or p.endswith("-dev")]
        assert installed and not bad, f"{f.name}: compiler or -dev package in the runtime stage: {bad}"
        if f.stem not in ROOT_IMAGES:
            assert re.search(r"^USER (?!root\b|0\b)\S+", runtime, re.M), f"{f.name}: runs as root"
        if f.stem != "migrate":
            assert "HEALTHCHECK" in runtime, f"{f.name}: no HEALTHCHECK"
        if len(st) > 1:
            # The stage without the comment lines that introduce the next one.
            builds[f.name] = re.sub(r"(\n#[^\n]*)+\n*$", "\n", st[0].rstrip() + "\n")
    assert set(builds) >= {f"{s}.Dockerfile" for s in BINARIES}
    first = next(iter(builds.values()))
    differ = [n for n, b in builds.items() if b != first]
    assert not differ, f"build stage differs from the others (no shared cache) in {differ}"
