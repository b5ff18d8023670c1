#!/usr/bin/env bash
# An OpenID provider on loopback for the tests and for trying sign-in by hand: oidc-provider-mock (PyPI), which signs
# ID tokens with its own RSA key, lets any client id, secret and redirect in, and takes the subject from its form; with
# public clients and PKCE checked (oidc-provider.py says why).
#
#   oidc-provider.sh start DIR PORT    (issuer http://127.0.0.1:PORT; Kith must run with KITH_OIDC_HTTP_ISSUERS=loopback)
#   oidc-provider.sh stop DIR
set -euo pipefail

case "${1:-}" in
    start)
        dir=$2 here=$(cd "$(dirname "$0")" && pwd)
        mkdir -p "$dir"
        python3 -c 'import oidc_provider_mock' 2>/dev/null || {
            echo "oidc-provider-mock is missing: python3 -m pip install -r Tests/Browser/requirements.txt" >&2; exit 1; }
        # As the caller, with the interpreter pip installed it for (under root's home when CI runs as root, where no
        # other user could start it): it binds loopback only and holds nothing but its signing key, in memory.
        (cd "$dir" && exec nohup python3 -W ignore "$here/oidc-provider.py" --port "$3" > provider.log 2>&1) &
        echo $! > "$dir/pid"
        for _ in $(seq 100); do
            curl -sf "http://127.0.0.1:$3/.well-known/openid-configuration" >/dev/null && exit 0
            sleep 0.1
        done
        echo "the OpenID provider did not start on 127.0.0.1:$3" >&2; tail -5 "$dir/provider.log" >&2; exit 1 ;;
    stop)
        [ -f "$2/pid" ] && kill "$(cat "$2/pid")" 2>/dev/null || true ;;
    *) sed -n '2,6p' "$0" >&2; exit 2 ;;
esac
