#!/usr/bin/env bash
# rig/moto.sh [PORT] — moto 5.2.5 (ECR API stand-in) on 127.0.0.1, from the rig venv.
#
# PORT 0 or none = a free port picked here. When moto answers the ECR API (a
# GetAuthorizationToken call succeeds) this prints exactly one stdout line
#     LISTENING http://127.0.0.1:PORT
# and keeps running as moto itself (exec: this script's pid is moto's pid, so kill it
# directly). moto's own output goes to stderr. Exits 1 if moto is not up within
# ${MOTO_WAIT_SECS:-30} s. Env: MOTO_ACCOUNT_ID (default 123456789012), MOTO_REGION
# (region of the readiness probe, default us-east-1), RIG_VENV (default REPO/.rig/venv).
# Requires scripts/setup (moto[ecr]==5.2.5, flask, flask-cors in the venv).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${RIG_VENV:-$REPO/.rig/venv}"
PORT="${1:-0}"
export MOTO_ACCOUNT_ID="${MOTO_ACCOUNT_ID:-123456789012}"
REGION="${MOTO_REGION:-us-east-1}"
WAIT="${MOTO_WAIT_SECS:-30}"

[ -x "$VENV/bin/moto_server" ] || { echo "moto.sh: $VENV/bin/moto_server missing; run scripts/setup" >&2; exit 1; }
if [ "$PORT" = 0 ]; then
  PORT="$("$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
elif ! "$VENV/bin/python" -c 'import socket,sys; socket.socket().bind(("127.0.0.1", int(sys.argv[1])))' "$PORT" 2>/dev/null; then
  # without this check the readiness probe could take another server for ours
  echo "moto.sh: port $PORT on 127.0.0.1 is already in use" >&2; exit 1
fi

exec 3>&1 1>&2  # fd 3 = the caller's stdout, for the one LISTENING line
SELF=$$
# the readiness poller runs detached (double fork) so it is never moto's zombie child
( (
  exec 1>&3 3>&-
  deadline=$((SECONDS + WAIT))
  while ((SECONDS < deadline)) && kill -0 "$SELF" 2>/dev/null; do
    code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 -X POST "http://127.0.0.1:$PORT/" \
      -H 'X-Amz-Target: AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken' \
      -H 'Content-Type: application/x-amz-json-1.1' \
      -H "Authorization: AWS4-HMAC-SHA256 Credential=test/20260101/$REGION/ecr/aws4_request, SignedHeaders=host, Signature=x" \
      -d '{}' || true)"
    if [ "$code" = 200 ]; then echo "LISTENING http://127.0.0.1:$PORT"; exit 0; fi
    sleep 0.1
  done
  echo "moto.sh: moto did not answer on 127.0.0.1:$PORT within ${WAIT}s" >&2
  kill "$SELF" 2>/dev/null || true
  exit 1
) & )
exec 3>&- "$VENV/bin/moto_server" -H 127.0.0.1 -p "$PORT"
