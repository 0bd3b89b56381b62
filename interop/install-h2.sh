#!/usr/bin/env bash
# Installs the real servers that the WebSockets-over-HTTP/2 (RFC 8441) interop
# tests (interop/h2servers_test.go, `go test -run H2`) start on loopback
# ports, on Debian 12 as root. Idempotent: a second run installs nothing and
# does not touch the network unless something is missing.
#
#   Debian packages: haproxy            h2 front end with TLS and ALPN h2
#                    apache2            httpd with mod_http2 (H2WebSockets,
#                                       2.4.58 and later), mod_proxy_http and
#                                       mod_proxy_wstunnel
#                    nghttp2-proxy      nghttpx, an HTTP/2 reverse proxy
#                    python3-hypercorn  an ASGI server with h2 (python3-h2)
#
# The WebSocket echo backends behind the proxies are the tests' in-process
# Go servers.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
	echo "install-h2.sh: run as root (apt-get install)" >&2
	exit 1
fi

missing=()
for p in haproxy apache2 nghttp2-proxy python3-hypercorn; do
	if ! dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
if [ "${#missing[@]}" -gt 0 ]; then
	echo "install-h2.sh: apt-get install ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The tests start their own servers with their own configuration on ports
# they choose; the distribution's services are not needed (apache2 would
# hold port 80).
if command -v systemctl >/dev/null 2>&1; then
	for svc in haproxy apache2 nghttpx; do
		if systemctl is-active --quiet "$svc" 2>/dev/null; then
			systemctl stop "$svc" || true
		fi
	done
fi

# Fail here, not in the tests, when something is still missing.
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ]
command -v apache2 >/dev/null 2>&1 || [ -x /usr/sbin/apache2 ]
[ -f /usr/lib/apache2/modules/mod_http2.so ]
[ -f /usr/lib/apache2/modules/mod_proxy_wstunnel.so ]
command -v nghttpx >/dev/null 2>&1 || [ -x /usr/sbin/nghttpx ]
/usr/bin/python3 -c 'import hypercorn, h2, wsproto' >/dev/null
echo "install-h2.sh: HTTP/2 interop dependencies are installed"
