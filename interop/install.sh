#!/usr/bin/env bash
# Installs what the interop tests (interop/, `go test ./...`) need, on Debian 12
# as root. Idempotent: a second run installs nothing and does not touch the
# network unless something is missing.
#
#   Debian packages: nginx (TLS-terminating reverse proxy), python3-websockets
#                    (for /usr/bin/python3), websocketd, and Node.js with npm
#                    when the machine has no node.
#   npm:             the ws package, pinned in interop/node/package-lock.json,
#                    installed with `npm ci` into interop/node/node_modules.
#
# The Go peers (gorilla/websocket, coder/websocket, lxzan/gws) come from the
# Go module proxy through interop/go.mod when `go test` builds.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

if [ "$(id -u)" -ne 0 ]; then
	echo "install.sh: run as root (apt-get install)" >&2
	exit 1
fi

# Debian packages, installed only when missing.
packages=(nginx python3-websockets websocketd)
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)
missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
if [ "${#missing[@]}" -gt 0 ]; then
	echo "install.sh: apt-get install ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The tests start their own nginx on a free port with their own
# configuration; the distribution's service is not needed.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet nginx 2>/dev/null; then
	systemctl stop nginx || true
fi

# The pinned ws package, reinstalled only when the lock file changed.
cd "$here/node"
# node_modules/.interop-lock is the lock file of the last npm ci here.
if ! cmp -s package-lock.json node_modules/.interop-lock 2>/dev/null; then
	echo "install.sh: npm ci in interop/node"
	npm ci --no-audit --no-fund --loglevel=error
	cp package-lock.json node_modules/.interop-lock
fi

# The HTTP/2 (RFC 8441) servers: haproxy, apache2, nghttpx, hypercorn.
bash "$here/install-h2.sh"

# Fail here, not in the tests, when something is still missing.
/usr/bin/python3 -c 'import websockets' >/dev/null
command -v websocketd >/dev/null
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]
node -e 'require("ws")'
echo "install.sh: interop dependencies are installed"
