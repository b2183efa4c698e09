#!/usr/bin/env bash
# Container smoke test: build the image, run it against the emulated AWS, check /healthz,
# the image's own health check command, the first pass and one edit applied end to end;
# then the image alone (`run --sandbox`, its own embedded AWS and local edge): the
# walkthrough's checks (`reconciler smoke`) pass inside it.
#
#   scripts/container-smoke.sh            # docker, else podman
#   ENGINE=podman scripts/container-smoke.sh
#   IMAGE=edge-routing-reconciler:dev KEEP=1 scripts/container-smoke.sh   # KEEP: leave it running
#   HTTP_PORT=18080 AWS_PORT=14566 ...      # fixed ports (default: free ones)
#   BUILD_ARGS="--build-arg BASE_IMAGE=..." # extra arguments for the image build
#   BUILD=0 ...                             # use IMAGE as it is, no build
#
# The emulated AWS runs on the host (`reconciler sandbox`, from the project's virtualenv),
# the container joins the host network to reach it on 127.0.0.1. The container runs as
# production would: read-only root file system, /tmp as tmpfs, a volume for the state dir,
# settings as RECONCILER_* variables, and a private copy of the example repository
# mounted read-only as its route files (the script edits the copy on the host).
#
# Exit status: 0 passed, 1 failed, 77 skipped (no usable container engine: never a pass).
set -euo pipefail

EXIT_SKIPPED=77
cd "$(dirname "$0")/.."
ROOT=$PWD
IMAGE=${IMAGE:-edge-routing-reconciler:smoke}
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}
TIMEOUT=${TIMEOUT:-120}

say() { echo "container-smoke: $*"; }
fail() { say "FAILED: $*"; exit 1; }

# -- a container engine that answers, or a clear skip ------------------------------------
reasons=()
engine=""
for candidate in ${ENGINE:-docker podman}; do
    if ! command -v "$candidate" >/dev/null 2>&1; then
        reasons+=("$candidate: not installed")
        continue
    fi
    if err=$("$candidate" info 2>&1 >/dev/null); then
        engine=$candidate
        break
    fi
    reasons+=("$candidate: installed, but '$candidate info' fails: $(printf '%s' "$err" | grep -v '^\s*$' | tail -n 1)")
done
if [[ -z $engine ]]; then
    joined=$(printf '%s; ' "${reasons[@]}")
    say "SKIPPED: no container engine available (${joined%; }); nothing was built or run"
    exit "$EXIT_SKIPPED"
fi
[[ -x $PYTHON ]] || fail "$PYTHON not found: run 'make install' first (the emulated AWS runs on the host)"

work=$(mktemp -d)
name="reconciler-smoke-$$"
sandbox_pid=""
cleanup() {
    local status=$?
    if [[ ${KEEP:-0} == 1 && $status -eq 0 ]]; then
        say "KEEP=1: container $name and sandbox pid $sandbox_pid left running; $work kept"
        return
    fi
    if [[ $status -ne 0 ]] && "$engine" container inspect "$name" >/dev/null 2>&1; then
        say "container log (last 40 lines):"
        "$engine" logs --tail 40 "$name" 2>&1 | sed 's/^/    /' || true
    fi
    # One name per call: podman 4.3 `rm -f A B` with A gone exits 0 and leaves B running.
    for container in "$name" "$name-sandbox"; do
        "$engine" rm -f -v "$container" >/dev/null 2>&1 || true
    done
    [[ -n $sandbox_pid ]] && kill "$sandbox_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

free_port() { "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# poll DESCRIPTION COMMAND...: runs COMMAND every second until it prints "ok ...".
poll() {
    local what=$1 deadline=$((SECONDS + TIMEOUT)) out=""
    shift
    while ((SECONDS < deadline)); do
        if out=$("$@" 2>&1) && [[ $out == ok* ]]; then
            say "ok: $what${out#ok}"
            return 0
        fi
        sleep 1
    done
    fail "$what (after ${TIMEOUT}s; last answer: ${out:-none})"
}

# -- build -------------------------------------------------------------------------------
# podman builds OCI images by default, which drop HEALTHCHECK and SHELL: ask for docker's.
format=()
[[ $engine == podman ]] && format=(--format docker)
if [[ ${BUILD:-1} == 1 ]]; then
    say "building $IMAGE with $engine"
    # shellcheck disable=SC2086  # BUILD_ARGS is a list of arguments
    "$engine" build --quiet "${format[@]}" ${BUILD_ARGS:-} -t "$IMAGE" . >/dev/null || fail "image build"
fi
size=$("$engine" image inspect -f '{{.Size}}' "$IMAGE")
say "ok: image $IMAGE, $((size / 1024 / 1024)) MiB ($size bytes)"
# The health check as the image declares it (CMD + exec form), run later inside the container.
health=$("$engine" image inspect -f '{{json .Config.Healthcheck}}' "$IMAGE")
mapfile -t health_cmd < <("$PYTHON" -c '
import json, sys
test = (json.loads(sys.argv[1]) or {}).get("Test") or []
if test[:1] != ["CMD"]:
    sys.exit("the image has no exec-form HEALTHCHECK: %r" % (test,))
print("\n".join(test[1:]))' "$health") || fail "reading the image's HEALTHCHECK: $health"

# -- the emulated AWS on the host --------------------------------------------------------
aws_port=${AWS_PORT:-$(free_port)}
http_port=${HTTP_PORT:-$(free_port)}
"$PYTHON" -m reconciler sandbox --port "$aws_port" >"$work/sandbox.env" 2>"$work/sandbox.log" &
sandbox_pid=$!
export AWS_ENDPOINT_URL="http://127.0.0.1:$aws_port" AWS_ACCESS_KEY_ID=testing \
    AWS_SECRET_ACCESS_KEY=testing AWS_SESSION_TOKEN=testing AWS_DEFAULT_REGION=us-east-1
# The export lines are printed once the sandbox serves and is seeded.
poll "sandbox up and seeded on $AWS_ENDPOINT_URL" bash -c \
    "kill -0 $sandbox_pid && grep -q SANDBOX_DISTRIBUTION_ID '$work/sandbox.env' && echo ok"

# -- the container, as production runs it -----------------------------------------------
mkdir -p "$work/repo"
cp -r routes "$work/repo/routes"
cp -r edge_functions "$work/repo/edge_functions"
rm -rf "$work"/repo/edge_functions/*/node_modules
chmod -R a+rX "$work/repo"
started=$SECONDS
"$engine" run -d --name "$name" --network host \
    --read-only --tmpfs /tmp --mount type=volume,dst=/var/lib/reconciler \
    -v "$work/repo:/srv/edge-routing:ro" \
    -e RECONCILER_ENDPOINT_URL="$AWS_ENDPOINT_URL" \
    -e RECONCILER_HTTP_HOST=127.0.0.1 -e RECONCILER_HTTP_PORT="$http_port" \
    -e RECONCILER_RESYNC_INTERVAL=30s \
    -e AWS_ACCESS_KEY_ID=testing -e AWS_SECRET_ACCESS_KEY=testing -e AWS_REGION=us-east-1 \
    "$IMAGE" >/dev/null || fail "container start"
say "ok: container $name started (read-only root, state volume, port $http_port)"

daemon="http://127.0.0.1:$http_port"
poll "/healthz answers 200" "$PYTHON" -c "
import urllib.request; print('ok', urllib.request.urlopen('$daemon/healthz', timeout=2).read().decode().strip())"
"$engine" exec "$name" "${health_cmd[@]}" || fail "the image's HEALTHCHECK command: ${health_cmd[*]}"
say "ok: the image's HEALTHCHECK command passes inside the container (${health_cmd[0]} ...)"

poll "first pass applied the example routes" "$PYTHON" -c "
import json, urllib.request
status = json.load(urllib.request.urlopen('$daemon/status', timeout=2))
last = status.get('lastPass') or {}
assert last.get('outcome') in ('applied', 'no_changes'), last
print('ok', '(outcome %s, %s write calls)' % (last['outcome'], last.get('writeCalls')))"
say "ok: time from container start to the first pass finished: $((SECONDS - started)) s (1 s polling)"

kvs_value='
import sys
from reconciler.aws.clients import AwsTarget, make_client
target = AwsTarget(endpoint_url="'"$AWS_ENDPOINT_URL"'")
arn = make_client("cloudfront", target).describe_key_value_store(Name="tier-origins")["KeyValueStore"]["ARN"]
value = make_client("cloudfront-keyvaluestore", target).get_key(KvsARN=arn, Key="premium")["Value"]
print("ok" if value == sys.argv[1] else "not yet:", "(premium -> " + value + ")")'
poll "store holds the declared origin" "$PYTHON" -c "$kvs_value" premium-api.example.com

# -- one edit, applied through the container ----------------------------------------------
sed -i 's/premium: premium-api.example.com/premium: gold-api.example.com/' "$work/repo/routes/tiers.yaml"
poll "edit of routes/tiers.yaml applied by the containerised daemon" \
    "$PYTHON" -c "$kvs_value" gold-api.example.com

# -- the image alone: its embedded AWS (pruned to the services it serves) and local edge --
"$engine" rm -f -v "$name" >/dev/null
edge_port=$(free_port)
"$engine" run -d --name "$name-sandbox" --network host --read-only --tmpfs /tmp \
    --mount type=volume,dst=/var/lib/reconciler \
    -e RECONCILER_HTTP_HOST=127.0.0.1 -e RECONCILER_HTTP_PORT="$http_port" \
    "$IMAGE" run --sandbox --sandbox-port "$(free_port)" --sandbox-edge-port "$edge_port" \
    >/dev/null || fail "container start (run --sandbox)"
poll "the image's own sandbox and edge serve the walkthrough (reconciler smoke inside it)" \
    bash -c "out=\$('$engine' exec '$name-sandbox' reconciler smoke --edge-url http://127.0.0.1:$edge_port 2>&1) \
        && echo \"ok (\$(printf '%s' \"\$out\" | tail -n 1))\""
say "PASSED ($engine, $IMAGE)"
