#!/usr/bin/env bash
# Container engine for the container tests, on a machine with no Docker daemon and no
# reachable image registry: podman (runc, Docker-compatible API service), a local Python
# base image made from a Debian rootfs, and local registries for `cog push` and `cog login`
# tests (one open, one with a user and password).
# Idempotent: a second run reuses what the first made. Run as root.
#
# Exports nothing; prints the lines to `eval` (DOCKER_HOST, COG_TEST_REGISTRY,
# COG_TEST_AUTH_REGISTRY=USER:PASSWORD@HOST:PORT, COG_CA_CERT)
# and writes them to $COG_CI_ENV (default /etc/cog-ci.env) as well.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive
SUITE="${COG_CI_DEBIAN_SUITE:-bookworm}"          # bookworm -> Python 3.11, trixie -> 3.13
BASE_TAGS="${COG_CI_BASE_TAGS:-python:3.11-slim python:3.11}"
SOCK="${COG_CI_PODMAN_SOCK:-/run/cog-podman.sock}"
REGISTRY_PORT="${COG_CI_REGISTRY_PORT:-5001}"
AUTH_REGISTRY_PORT="${COG_CI_AUTH_REGISTRY_PORT:-5002}"
AUTH_REGISTRY_USER=cog-test
AUTH_REGISTRY_PASSWORD=cog-test-password   # a loopback-only test registry
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
  # The test registries speak plain HTTP on loopback. Written before the API service starts:
  # a running service does not see later changes.
  mkdir -p /etc/containers/registries.conf.d
  for port in "$REGISTRY_PORT" "$AUTH_REGISTRY_PORT"; do
    printf '[[registry]]\nlocation = "127.0.0.1:%s"\ninsecure = true\n' "$port" \
      >"/etc/containers/registries.conf.d/cog-test-registry-$port.conf"
  done
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
  # Started from / with no stdin: the service outlives this script and whatever folder ran
  # it (a service whose working folder was deleted fails every container start).
  (cd / && exec setsid nohup podman system service --time=0 "unix://$SOCK" \
    </dev/null >/var/log/cog-podman.log 2>&1) &
  for _ in $(seq 100); do
    curl -sf --unix-socket "$SOCK" http://d/_ping >/dev/null 2>&1 && return
    sleep 0.1
  done
  echo "podman service did not answer on $SOCK; see /var/log/cog-podman.log" >&2
  exit 1
}

# start_registry PORT [USER PASSWORD]: a registry on 127.0.0.1:PORT, with htpasswd auth when a
# user is given (for `cog login` tests). Plain HTTP on loopback (see write_containers_conf).
start_registry() {
  local port="$1" user="${2:-}" password="${3:-}"
  local dir="/var/lib/cog-registry-$port"
  if curl -s -o /dev/null "http://127.0.0.1:$port/v2/"; then
    log "registry already answering on 127.0.0.1:$port"
    return
  fi
  mkdir -p "$dir/data"
  printf 'version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:%s\n' \
    "$dir/data" "$port" >"$dir/config.yml"
  if [[ -n "$user" ]]; then
    # A bcrypt entry as `htpasswd -B` writes it, from Python's crypt (no apache2-utils).
    COG_PASSWORD="$password" python3 -W ignore -c \
      'import crypt, os, sys; print(sys.argv[1] + ":" + crypt.crypt(os.environ["COG_PASSWORD"], crypt.mksalt(crypt.METHOD_BLOWFISH)))' \
      "$user" >"$dir/htpasswd"
    printf 'auth:\n  htpasswd:\n    realm: cog-test\n    path: %s\n' "$dir/htpasswd" >>"$dir/config.yml"
  fi
  log "starting docker-registry on 127.0.0.1:$port${user:+ (user $user)}"
  (cd / && exec setsid nohup docker-registry serve "$dir/config.yml" \
    </dev/null >"/var/log/cog-registry-$port.log" 2>&1) &
  for _ in $(seq 100); do
    curl -s -o /dev/null "http://127.0.0.1:$port/v2/" 2>/dev/null && return
    sleep 0.1
  done
  echo "registry did not start; see /var/log/cog-registry-$port.log" >&2
  exit 1
}

install_packages
write_containers_conf
build_base_image
start_service
start_registry "$REGISTRY_PORT"
start_registry "$AUTH_REGISTRY_PORT" "$AUTH_REGISTRY_USER" "$AUTH_REGISTRY_PASSWORD"

cat >"$ENV_FILE" <<EOF
export DOCKER_HOST=unix://$SOCK
export COG_TEST_REGISTRY=127.0.0.1:$REGISTRY_PORT
export COG_TEST_AUTH_REGISTRY=$AUTH_REGISTRY_USER:$AUTH_REGISTRY_PASSWORD@127.0.0.1:$AUTH_REGISTRY_PORT
export COG_CA_CERT=$CA_BUNDLE
EOF
cat "$ENV_FILE"
