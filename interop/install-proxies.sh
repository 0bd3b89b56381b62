#!/usr/bin/env bash
# Installs the real proxies that the proxy interop tests (interop/proxy_test.go,
# `go test -run Proxy`) start on loopback ports, on Debian 12 as root.
# Idempotent: a second run installs nothing and does not touch the network
# unless something is missing.
#
#   Debian packages: squid         HTTP CONNECT proxy; Debian's build (GnuTLS)
#                                  also has https_port, used for https:// proxies,
#                                  so squid-openssl (which conflicts) is not needed
#                    dante-server  danted: SOCKS4, SOCKS4A and SOCKS5
#                    microsocks    SOCKS5
#                    apache2-utils htpasswd, for squid's basic_ncsa_auth file
#   system user:     pxuser with password pxpass, for dante's "username"
#                    method, which checks the system's accounts (RFC 1929
#                    credentials against /etc/shadow).
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
	echo "install-proxies.sh: run as root (apt-get install, useradd)" >&2
	exit 1
fi

installed() {
	dpkg-query -W -f '${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

missing=()
# squid-openssl provides the same /usr/sbin/squid; either will do.
installed squid || installed squid-openssl || missing+=(squid)
for p in dante-server microsocks apache2-utils; do
	installed "$p" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
	echo "install-proxies.sh: apt-get install ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The tests start their own proxies with their own configuration on ports
# they choose; the distribution's services are not needed (squid's would hold
# port 3128 and write to /var/log/squid).
if command -v systemctl >/dev/null 2>&1; then
	for svc in squid danted; do
		if systemctl is-active --quiet "$svc" 2>/dev/null; then
			systemctl stop "$svc" || true
		fi
	done
fi

# dante's username method checks system accounts: a user without a home
# directory or a login shell, only for the tests.
if ! id pxuser >/dev/null 2>&1; then
	echo "install-proxies.sh: adding system user pxuser"
	useradd -M -s /usr/sbin/nologin pxuser
fi
echo pxuser:pxpass | chpasswd

# Fail here, not in the tests, when something is still missing.
command -v squid >/dev/null 2>&1 || [ -x /usr/sbin/squid ]
command -v danted >/dev/null 2>&1 || [ -x /usr/sbin/danted ]
command -v microsocks >/dev/null
command -v htpasswd >/dev/null
[ -x /usr/lib/squid/basic_ncsa_auth ]
id pxuser >/dev/null
echo "install-proxies.sh: proxy interop dependencies are installed"
