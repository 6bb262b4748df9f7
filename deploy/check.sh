#!/usr/bin/env bash
# Validates the deployment files under deploy/ so they cannot rot; CI runs it. Needs python3
# (3.11+) and PyPI; uses docker and kubectl too when they are installed.
#   1. docker-compose.yml against the Compose Specification schema (check-jsonschema);
#   2. every Kubernetes manifest, strictly, against the Kubernetes API schemas (kubernetes-validate),
#      and the kustomization's rendered output when kubectl is installed;
#   3. every node configuration (deploy/**/*.toml and the ConfigMap's keys) parses, uses only keys
#      documented in the repository's cluster.toml (plus the [cluster] keys below), and stores no
#      secret; plus cross-file references: mounted files, kustomization resources, Secret and
#      ConfigMap keys, health-check paths (against http/src/routes.rs) and the Dockerfile's package;
#   4. `docker compose config -q`, when docker compose is installed.
# Exits non-zero, naming the file, on the first failing step.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)

venv=target/deploy-check-venv
requirements=("check-jsonschema==0.39.0" "kubernetes-validate==1.37.0")
# The newest Kubernetes API that kubernetes-validate 1.37.0 ships schemas for.
kubernetes_version=1.37.0

step() { echo "== $*"; }
fail() {
  echo "deploy/check.sh: FAILED: $*" >&2
  exit 1
}

step "tools: ${requirements[*]} in $venv"
stamp="$venv/.deploy-check-requirements"
if [[ ! -x $venv/bin/python || "$(cat "$stamp" 2>/dev/null)" != "${requirements[*]}" ]]; then
  rm -rf "$venv"
  python3 -m venv "$venv" || fail "cannot create the venv $venv (is python3-venv installed?)"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${requirements[@]}" \
    || fail "cannot install ${requirements[*]}"
  echo "${requirements[*]}" > "$stamp"
fi
"$venv/bin/python" -c 'import sys; assert sys.version_info >= (3, 11), "tomllib needs Python 3.11+"' \
  || fail "the venv's Python is older than 3.11"

step "compose: deploy/docker-compose.yml against the Compose Specification"
"$venv/bin/check-jsonschema" --builtin-schema vendor.compose-spec deploy/docker-compose.yml \
  || fail "deploy/docker-compose.yml does not match the Compose Specification"

# kubernetes-validate only warns (exit 0) on a kind it has no schema for, such as a misspelt
# one, so any WARN is a failure too. kustomization.yaml is not an API object: step 3 checks it.
validate_manifests() {
  local output status=0
  output=$("$venv/bin/kubernetes-validate" --strict --quiet -k "$kubernetes_version" "$@" 2>&1) || status=$?
  if [[ -n $output ]]; then echo "$output"; fi
  if [[ $status -ne 0 ]] || grep -q '^WARN' <<< "$output"; then
    fail "Kubernetes manifests did not validate against $kubernetes_version (see above)"
  fi
}
step "kubernetes: deploy/k8s manifests against Kubernetes $kubernetes_version (strict)"
manifests=()
for file in deploy/k8s/*.yaml; do
  [[ $(basename "$file") == kustomization.yaml ]] || manifests+=("$file")
done
[[ ${#manifests[@]} -gt 0 ]] || fail "no manifests in deploy/k8s"
validate_manifests "${manifests[@]}"
echo "${#manifests[@]} files passed"
if command -v kubectl > /dev/null; then
  step "kubernetes: kubectl kustomize deploy/k8s, rendered, against Kubernetes $kubernetes_version"
  rendered=target/deploy-check-kustomized.yaml
  kubectl kustomize deploy/k8s > "$rendered" || fail "kubectl kustomize deploy/k8s failed"
  validate_manifests "$rendered"
  echo "$(grep -c '^kind:' "$rendered") resources passed"
else
  echo "kubectl not installed: kustomize rendering not checked"
fi

step "configs and cross-file references"
"$venv/bin/python" - <<'PY' || fail "a deployment file is inconsistent (see above)"
import pathlib
import re
import sys
import tomllib

import yaml

errors = []


def error(where, message):
    errors.append(f"{where}: {message}")


# Keys documented in the repository's cluster.toml, commented-out ones included.
documented = {}
section = None
for line in pathlib.Path("cluster.toml").read_text().splitlines():
    header = re.match(r"^#?\s*\[\[?([a-z_.]+)\]\]?\s*$", line)
    if header:
        section = header.group(1)
        documented.setdefault(section, set())
        continue
    key = re.match(r"^#?\s?([a-z_]+)\s*=\s*\S", line)
    if key and section:
        documented[section].add(key.group(1))
# The cluster keys of issue 6, accepted until cluster.toml documents them itself.
documented.setdefault("node", set()).add("roles")
documented.setdefault("cluster", set()).update(
    {"listen", "advertise", "seeds", "cookie_env", "heartbeat_interval_ms",
     "heartbeat_timeout_ms", "lease_ttl_ms", "tls"})
documented.setdefault("cluster.tls", set()).update({"cert", "key", "ca"})
# Secrets come from the environment only.
secret_keys = {"cookie", "password", "access_key_id", "secret_access_key"}


def check_config(where, text):
    try:
        config = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        error(where, f"not valid TOML: {e}")
        return None

    def walk(table, path):
        for key, value in table.items():
            dotted = f"{path}.{key}" if path else key
            if key in secret_keys:
                error(where, f"`{dotted}` stores a secret in the file; use the environment")
            if path and key not in documented.get(path, set()):
                error(where, f"`{dotted}` is not a key of cluster.toml")
            if isinstance(value, dict) and f"{dotted}" in documented:
                walk(value, dotted)
            elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
                for item in value:
                    walk(item, dotted)

    for name in config:
        if name not in documented:
            error(where, f"[{name}] is not a section of cluster.toml")
    walk(config, "")
    roles = config.get("node", {}).get("roles", [])
    if not roles or set(roles) - {"api", "worker"}:
        error(where, f"[node] roles = {roles}: expected a non-empty subset of api, worker")
    cluster = config.get("cluster")
    if cluster is None:
        error(where, "no [cluster]: every deployed node joins the cluster")
    else:
        for key in ("listen", "seeds", "cookie_env"):
            if key not in cluster:
                error(where, f"[cluster] {key} is missing")
    if "worker" in roles and not config.get("workers"):
        error(where, "a worker node without [[workers]]")
    return config


configs = {}
for path in sorted(pathlib.Path("deploy").rglob("*.toml")):
    configs[str(path)] = check_config(str(path), path.read_text())


def load_yaml(path):
    try:
        return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    except yaml.YAMLError as e:
        error(str(path), f"not valid YAML: {e}")
        return []


k8s = pathlib.Path("deploy/k8s")
objects = {}
for path in sorted(k8s.glob("*.yaml")):
    objects[path.name] = load_yaml(path)
all_objects = [doc for name, docs in objects.items() if name != "kustomization.yaml" for doc in docs]
configmaps = {d["metadata"]["name"]: d.get("data", {}) for d in all_objects if d.get("kind") == "ConfigMap"}
secrets = {d["metadata"]["name"]: {**d.get("data", {}), **d.get("stringData", {})}
           for d in all_objects if d.get("kind") == "Secret"}
for name, data in configmaps.items():
    for key, text in data.items():
        if key.endswith(".toml"):
            check_config(f"deploy/k8s ConfigMap {name} key {key}", text)

# The kustomization lists exactly the manifests.
kustomization = (objects.get("kustomization.yaml") or [{}])[0]
listed = set(kustomization.get("resources", []))
present = set(objects) - {"kustomization.yaml"}
for name in sorted(listed - present):
    error("deploy/k8s/kustomization.yaml", f"lists {name}, which does not exist")
for name in sorted(present - listed):
    error("deploy/k8s/kustomization.yaml", f"does not list {name}")

# Routes the service really has, for the health checks.
routes = set(re.findall(r'\("GET",\s*"([^"]+)"\)', pathlib.Path("http/src/routes.rs").read_text()))
if not routes:
    error("http/src/routes.rs", "no (\"GET\", \"/path\") route table found")


def references(node, where):
    """Secret and ConfigMap keys and probe paths used anywhere in a manifest."""
    if isinstance(node, dict):
        if "secretKeyRef" in node:
            ref = node["secretKeyRef"]
            if ref["key"] not in secrets.get(ref["name"], {}):
                error(where, f"Secret {ref['name']} has no key {ref['key']}")
        if "configMap" in node and isinstance(node["configMap"], dict):
            ref = node["configMap"]
            if ref["name"] not in configmaps:
                error(where, f"no ConfigMap {ref['name']}")
            for item in ref.get("items", []):
                if item["key"] not in configmaps.get(ref["name"], {}):
                    error(where, f"ConfigMap {ref['name']} has no key {item['key']}")
        if "httpGet" in node and node["httpGet"]["path"] not in routes:
            error(where, f"probe path {node['httpGet']['path']} is not a GET route of http/src/routes.rs")
        for value in node.values():
            references(value, where)
    elif isinstance(node, list):
        for value in node:
            references(value, where)


for name, docs in objects.items():
    for doc in docs:
        references(doc, f"deploy/k8s/{name}")

# Compose: mounted configs exist and all are used, secrets come from required variables,
# health checks use real routes.
compose_path = pathlib.Path("deploy/docker-compose.yml")
compose_text = compose_path.read_text()
compose = (load_yaml(compose_path) or [{}])[0]
mounted = set()
for service_name, service in compose.get("services", {}).items():
    for volume in service.get("volumes", []):
        source = volume.split(":")[0] if isinstance(volume, str) else volume.get("source", "")
        if source.startswith("."):
            path = (compose_path.parent / source).resolve()
            if not path.exists():
                error(str(compose_path), f"service {service_name} mounts {source}, which does not exist")
            mounted.add(path)
    test = " ".join(service.get("healthcheck", {}).get("test", []))
    for url_path in re.findall(r"https?://[^/\s'\"]+(/[^\s'\"]*)", test):
        if url_path not in routes:
            error(str(compose_path), f"service {service_name} checks {url_path}, not a GET route")
for path in sorted(pathlib.Path("deploy/compose").glob("*.toml")):
    if path.resolve() not in mounted:
        error(str(path), "is not mounted by any service of deploy/docker-compose.yml")
for variable in ("CODEBEGEN_CLUSTER_COOKIE", "CODEBEGEN_JWT_SECRET"):
    if not re.search(r"\$\{" + variable + r":\?", compose_text):
        error(str(compose_path), f"{variable} must come from ${{{variable}:?...}} (required, never a default)")

# The Dockerfile builds the package that owns the `codebegen` binary.
dockerfile = pathlib.Path("deploy/Dockerfile").read_text()
built = re.findall(r"cargo build\b[^\n]*?-p\s+(\S+)", dockerfile)
owners = []
for manifest in pathlib.Path(".").glob("*/Cargo.toml"):
    package = tomllib.loads(manifest.read_text())
    if any(b.get("name") == "codebegen" for b in package.get("bin", [])):
        owners.append(package["package"]["name"])
if not built or built[0] not in owners:
    error("deploy/Dockerfile", f"builds -p {built[0] if built else '?'}; the codebegen binary is in {owners}")

for message in errors:
    print(message, file=sys.stderr)
if errors:
    sys.exit(1)
print(f"{len(configs)} TOML files, {sum(n.endswith('.toml') for d in configmaps.values() for n in d)} "
      f"ConfigMap configs, {len(all_objects)} Kubernetes objects and the compose file are consistent")
PY

if docker compose version > /dev/null 2>&1; then
  step "compose: docker compose config -q"
  CODEBEGEN_CLUSTER_COOKIE=deploy-check CODEBEGEN_JWT_SECRET=deploy-check-secret-of-at-least-32-bytes \
    docker compose -f deploy/docker-compose.yml config -q \
    || fail "docker compose rejects deploy/docker-compose.yml"
else
  echo "docker compose not installed: 'docker compose config' not run"
fi

echo "deploy/check.sh: all deployment files valid in $(( $(date +%s) - started )) s"
