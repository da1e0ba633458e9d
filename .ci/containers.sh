#!/usr/bin/env bash
# Container engine for the container tests, on a machine with no Docker daemon and no
# reachable image registry: podman (runc, Docker-compatible API service), a local Python
# base image made from a Debian rootfs, and a local registry for `cog push` tests.
# Idempotent: a second run reuses what the first made. Run as root.
#
# Exports nothing; prints the lines to `eval` (DOCKER_HOST, COG_TEST_REGISTRY, COG_CA_CERT)
# and writes them to $COG_CI_ENV (default /etc/cog-ci.env) as well.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive
SUITE="${COG_CI_DEBIAN_SUITE:-bookworm}"          # bookworm -> Python 3.11, trixie -> 3.13
BASE_TAGS="${COG_CI_BASE_TAGS:-python:3.11-slim python:3.11}"
SOCK="${COG_CI_PODMAN_SOCK:-/run/cog-podman.sock}"
REGISTRY_PORT="${COG_CI_REGISTRY_PORT:-5001}"
ENV_FILE="${COG_CI_ENV:-/etc/cog-ci.env}"
CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt

log() { printf '==> %s\n' "$*" >&2; }

install_packages() {
  local need=()
  for p in podman runc debootstrap uidmap slirp4netns fuse-overlayfs docker-registry; do
    dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
  done
  if ((${#need[@]})); then
    log "installing ${need[*]}"
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  fi
}

# crun fails under hybrid cgroups here and raising rlimits is not permitted.
write_containers_conf() {
  mkdir -p /etc/containers
  cat >/etc/containers/containers.conf <<'EOF'
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]

[engine]
runtime = "runc"
EOF
  # Short names like python:3.11-slim resolve to local images first; never prompt.
  if [[ -f /etc/containers/registries.conf ]] && ! grep -q '^short-name-mode' /etc/containers/registries.conf; then
    printf '\nshort-name-mode = "permissive"\n' >>/etc/containers/registries.conf
  fi
}

# The official python image cannot be pulled: build a look-alike from Debian's python3.
build_base_image() {
  local first="${BASE_TAGS%% *}"
  if podman image exists "docker.io/library/$first"; then
    log "base image $first already present"
  else
    local root
    root="$(mktemp -d /var/tmp/cog-rootfs.XXXXXX)"
    log "debootstrap $SUITE into $root"
    debootstrap --variant=minbase --include=python3,python3-venv,python3-pip,python-is-python3,ca-certificates \
      "$SUITE" "$root" http://deb.debian.org/debian >/dev/null
    rm -f "$root"/usr/lib/python3*/EXTERNALLY-MANAGED
    rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/archives/*.deb
    log "importing the rootfs as docker.io/library/$first"
    tar -C "$root" -c . | podman import \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'ENV LANG=C.UTF-8' \
      --change 'CMD ["python3"]' \
      - "docker.io/library/$first" >/dev/null
    rm -rf "$root"
  fi
  for tag in $BASE_TAGS; do
    podman tag "docker.io/library/$first" "docker.io/library/$tag"
  done
}

start_service() {
  if [[ -S "$SOCK" ]] && curl -sf --unix-socket "$SOCK" http://d/_ping >/dev/null; then
    log "podman service already answering on $SOCK"
    return
  fi
  rm -f "$SOCK"
  log "starting podman system service on $SOCK"
  nohup podman system service --time=0 "unix://$SOCK" >/var/log/cog-podman.log 2>&1 &
  for _ in $(seq 100); do
    curl -sf --unix-socket "$SOCK" http://d/_ping >/dev/null 2>&1 && return
    sleep 0.1
  done
  echo "podman service did not answer on $SOCK; see /var/log/cog-podman.log" >&2
  exit 1
}

start_registry() {
  if curl -sf "http://127.0.0.1:$REGISTRY_PORT/v2/" >/dev/null; then
    log "registry already answering on 127.0.0.1:$REGISTRY_PORT"
    return
  fi
  local dir=/var/lib/cog-registry
  mkdir -p "$dir/data"
  cat >"$dir/config.yml" <<EOF
version: 0.1
storage:
  filesystem:
    rootdirectory: $dir/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$REGISTRY_PORT
EOF
  log "starting docker-registry on 127.0.0.1:$REGISTRY_PORT"
  nohup docker-registry serve "$dir/config.yml" >/var/log/cog-registry.log 2>&1 &
  for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$REGISTRY_PORT/v2/" >/dev/null 2>&1 && break
    sleep 0.1
  done
  curl -sf "http://127.0.0.1:$REGISTRY_PORT/v2/" >/dev/null || {
    echo "registry did not start; see /var/log/cog-registry.log" >&2
    exit 1
  }
  # Plain-HTTP registry on loopback.
  mkdir -p /etc/containers/registries.conf.d
  cat >/etc/containers/registries.conf.d/cog-test-registry.conf <<EOF
[[registry]]
location = "127.0.0.1:$REGISTRY_PORT"
insecure = true
EOF
}

install_packages
write_containers_conf
build_base_image
start_service
start_registry

cat >"$ENV_FILE" <<EOF
export DOCKER_HOST=unix://$SOCK
export COG_TEST_REGISTRY=127.0.0.1:$REGISTRY_PORT
export COG_CA_CERT=$CA_BUNDLE
EOF
cat "$ENV_FILE"
