package interop

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	websocket "github.com/wsclient/websocket"
	"github.com/wsclient/websocket/interop/harness"
	"github.com/wsclient/websocket/interop/internal/goservers"
)

// debianPython is Debian's interpreter, which has python3-websockets; a
// python3 earlier on the PATH (pyenv) does not.
const debianPython = "/usr/bin/python3"

// server is one row of the matrix: how to start it and what it cannot do.
type server struct {
	name string
	// na maps a check to the reason the server cannot do it; such a
	// check is not run and shows as n/a.
	na map[string]string
	// start starts the server for the test and returns how to reach it.
	start func(t testing.TB) *target
}

// target is a started server.
type target struct {
	url     string
	version string
	// na is the server's list of checks it cannot do (server.na).
	na map[string]string
	// status is the handshake's status code; 0 means 101 (HTTP/1.1).
	status int
	// options returns fresh DialOptions for one connection (TLS settings).
	options func() *websocket.DialOptions
	// connect runs the server's own extra connect checks (TLS refusals);
	// nil when there are none.
	connect func(t *testing.T, tg *target)
	// stop takes the server down as a crash would (connections dropped
	// without close frames) and resume brings it back on the same
	// address, for the App restart check; nil when the harness cannot.
	stop, resume func(t *testing.T)
}

// dialOptions returns the target's DialOptions, or defaults.
func (tg *target) dialOptions() *websocket.DialOptions {
	if tg.options == nil {
		return &websocket.DialOptions{}
	}
	return tg.options()
}

// servers lists the matrix rows in order.
func servers() []server {
	return []server{
		{name: "node ws", start: startNode},
		{name: "node http2 (RFC 8441), wss", start: func(t testing.TB) *target { return startNodeHTTP2(t, false) }, na: http2NA},
		{name: "node http2 (RFC 8441), h2c", start: func(t testing.TB) *target { return startNodeHTTP2(t, true) }, na: http2NA},
		{name: "python websockets", start: startPython},
		{name: "nginx wss, CA via TLSConfig", start: func(t testing.TB) *target { return startNginx(t, nginxTLSConfig) }},
		{name: "nginx wss, CA via env", start: func(t testing.TB) *target { return startNginx(t, nginxEnvCA) }},
		{name: "nginx wss, mutual TLS", start: func(t testing.TB) *target { return startNginx(t, nginxMutual) }},
		{
			name:  "websocketd",
			start: startWebsocketd,
			na: map[string]string{
				checkBinary:      "websocketd relays each line of its command's stdout as one text message; its --binary mode forwards stdout in arbitrary chunks, so binary message boundaries cannot be echoed",
				checkServerClose: "websocketd 0.4.1 cannot start a close handshake: when its command exits it drops the TCP connection without a close frame (gorilla's client sees 1006 there too)",
				checkSubprotocol: "websocketd 0.4.1 does not negotiate subprotocols: its response never has Sec-WebSocket-Protocol",
				checkDeflate:     "websocketd 0.4.1 does not implement permessage-deflate",
				checkDeflateNCT:  "websocketd 0.4.1 does not implement permessage-deflate",
			},
		},
		{name: "gorilla/websocket", start: func(t testing.TB) *target { return startGo(t, "github.com/gorilla/websocket", goservers.Gorilla()) }},
		{name: "coder/websocket", start: func(t testing.TB) *target { return startGo(t, "github.com/coder/websocket", goservers.Coder()) }},
		{name: "lxzan/gws", start: func(t testing.TB) *target {
			tg := startGo(t, "github.com/lxzan/gws", goservers.Gws())
			tg.version += " (its OnPing answers with the ping's payload and SubProtocols is set only for clients that offer one: gws's defaults pong empty and refuse clients that offer none)"
			return tg
		}},
	}
}

// interopDir returns the directory of the interop module (the package
// directory, where go test runs).
func interopDir(t testing.TB) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return wd
}

// readyLine is the line the node and python echo servers print when they
// listen: "READY port versions...".
var readyLine = regexp.MustCompile(`READY \d+ ([^\n]*)`)

// processTarget wraps a harness process on port as a ws:// target.
func processTarget(p *harness.Process, port int, path string) *target {
	tg := &target{
		url:    "ws://" + harness.Addr(port) + path,
		stop:   func(*testing.T) { p.Kill() },
		resume: func(t *testing.T) { p.Start(t) },
	}
	if m := readyLine.FindStringSubmatch(p.RunLogs()); m != nil {
		tg.version = m[1]
	}
	return tg
}

func startNode(t testing.TB) *target {
	node := harness.Need(t, "node", "nodejs")
	dir := filepath.Join(interopDir(t), "node")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "ws", "package.json")); err != nil {
		harness.Missing(t, "the ws package is not installed in interop/node (run interop/install.sh, or npm ci there)")
	}
	port := harness.FreePort(t)
	p := harness.Start(t, harness.Spec{
		Name:  "node ws",
		Path:  node,
		Args:  []string{"echo-server.js", strconv.Itoa(port)},
		Dir:   dir,
		Ready: harness.AllReady(harness.OutputReady("READY"), harness.TCPReady(harness.Addr(port))),
	})
	return processTarget(p, port, "/")
}

func startPython(t testing.TB) *target {
	py := harness.Need(t, debianPython)
	if out, err := exec.Command(py, "-c", "import websockets").CombinedOutput(); err != nil {
		harness.Missing(t, fmt.Sprintf("%s cannot import websockets (install python3-websockets): %v: %s", py, err, out))
	}
	port := harness.FreePort(t)
	p := harness.Start(t, harness.Spec{
		Name:  "python websockets",
		Path:  py,
		Args:  []string{"echo_server.py", strconv.Itoa(port)},
		Dir:   filepath.Join(interopDir(t), "python"),
		Ready: harness.AllReady(harness.OutputReady("READY"), harness.TCPReady(harness.Addr(port))),
	})
	return processTarget(p, port, "/")
}

func startWebsocketd(t testing.TB) *target {
	wsd := harness.Need(t, "websocketd")
	py := harness.Need(t, debianPython)
	port := harness.FreePort(t)
	p := harness.Start(t, harness.Spec{
		Name: "websocketd",
		Path: wsd,
		Args: []string{
			"--address=127.0.0.1", "--port=" + strconv.Itoa(port), "--loglevel=error",
			py, filepath.Join(interopDir(t), "python", "line_echo.py"),
		},
		Ready: harness.TCPReady(harness.Addr(port)),
	})
	tg := processTarget(p, port, "/")
	// Debian's build reports "DEVBUILD" as its version; ask dpkg.
	tg.version = "websocketd"
	if out, err := exec.Command("dpkg-query", "-W", "-f", "${Version}", "websocketd").Output(); err == nil {
		tg.version += " " + strings.TrimSpace(string(out)) + " (Debian package)"
	}
	tg.version += ", command: python/line_echo.py"
	return tg
}

// startGo serves an in-process Go echo handler; module names the library
// for the version line.
func startGo(t testing.TB, module string, h http.Handler) *target {
	s := harness.ServeHTTP(t, h, nil)
	return &target{
		url:     "ws://" + s.Addr + "/",
		version: module + " " + moduleVersion(module),
		stop:    func(*testing.T) { s.Stop() },
		resume:  func(t *testing.T) { s.Start(t) },
	}
}

// moduleVersion returns the version of a dependency as go.mod requires it
// (test binaries carry no dependency list in their build info).
func moduleVersion(path string) string {
	data, err := os.ReadFile("go.mod")
	if err != nil {
		return "(unknown version)"
	}
	for line := range strings.Lines(string(data)) {
		f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(line), "require "))
		if len(f) >= 2 && f[0] == path {
			return f[1]
		}
	}
	return "(unknown version)"
}

// nginxMode selects how the client trusts nginx and which location it uses.
type nginxMode int

const (
	nginxTLSConfig nginxMode = iota // the CA in DialOptions.TLSConfig
	nginxEnvCA                      // the CA through WEBSOCKET_CLIENT_CA_BUNDLE
	nginxMutual                     // TLSConfig with a client certificate, location /mtls/
)

// nginxConf is nginx's configuration: TLS on a loopback port, proxying
// WebSocket upgrades (RFC 6455 §4.1 through an HTTP/1.1 proxy) to the
// backend; /mtls/ also requires a client certificate from the test CA.
const nginxConf = `
daemon off;
master_process on;
worker_processes 1;
pid {{dir}}/nginx.pid;
error_log stderr notice;
events { worker_connections 64; }
http {
	access_log off;
	client_body_temp_path {{dir}}/client_body;
	proxy_temp_path {{dir}}/proxy;
	fastcgi_temp_path {{dir}}/fastcgi;
	uwsgi_temp_path {{dir}}/uwsgi;
	scgi_temp_path {{dir}}/scgi;
	map $http_upgrade $connection_upgrade {
		default upgrade;
		'' close;
	}
	server {
		listen 127.0.0.1:{{port}} ssl;
		server_name localhost;
		ssl_certificate {{cert}};
		ssl_certificate_key {{key}};
		ssl_client_certificate {{ca}};
		ssl_verify_client optional;
		proxy_http_version 1.1;
		proxy_set_header Upgrade $http_upgrade;
		proxy_set_header Connection $connection_upgrade;
		proxy_set_header Host $host;
		proxy_read_timeout 300s;
		proxy_send_timeout 300s;
		proxy_buffering off;
		location / {
			proxy_pass http://{{backend}};
		}
		location /mtls/ {
			if ($ssl_client_verify != SUCCESS) {
				return 403;
			}
			proxy_pass http://{{backend}};
		}
	}
}
`

func startNginx(t testing.TB, mode nginxMode) *target {
	nginx := harness.Need(t, "nginx", "/usr/sbin/nginx")
	ca := harness.NewCA(t, "wsclient interop CA")
	srvCert := ca.Server(t, "nginx", "localhost", "127.0.0.1")
	backend := harness.ServeHTTP(t, goservers.Gorilla(), nil)
	port := harness.FreePort(t)
	dir := t.TempDir()
	conf := strings.NewReplacer(
		"{{dir}}", dir,
		"{{port}}", strconv.Itoa(port),
		"{{cert}}", srvCert.CertFile,
		"{{key}}", srvCert.KeyFile,
		"{{ca}}", ca.CertFile,
		"{{backend}}", backend.Addr,
	).Replace(nginxConf)
	confFile := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	p := harness.Start(t, harness.Spec{
		Name: "nginx",
		Path: nginx,
		// -e: the error log before the configuration is read goes to
		// stderr too, not to /var/log/nginx (unwritable without root).
		Args:  []string{"-e", "stderr", "-p", dir, "-c", confFile},
		Ready: harness.TCPReady(harness.Addr(port)),
	})
	tg := processTarget(p, port, "/")
	tg.url = "wss://localhost:" + strconv.Itoa(port) + "/"
	if out, err := exec.Command(nginx, "-v").CombinedOutput(); err == nil {
		tg.version = strings.TrimSpace(strings.TrimPrefix(string(out), "nginx version: ")) +
			", backend gorilla/websocket " + moduleVersion("github.com/gorilla/websocket")
	}
	switch mode {
	case nginxTLSConfig:
		tg.options = func() *websocket.DialOptions {
			return &websocket.DialOptions{TLSConfig: &tls.Config{RootCAs: ca.Pool()}}
		}
		tg.connect = func(t *testing.T, tg *target) {
			// Without the CA the server must not be trusted: this shows
			// the client verifies at all (RFC 6455 §4.1, step 5).
			t.Setenv("WEBSOCKET_CLIENT_CA_BUNDLE", "")
			t.Setenv("SSL_CERT_FILE", "")
			t.Setenv("SSL_CERT_DIR", "")
			_, err := dialWith(t, tg.url, &websocket.DialOptions{})
			if err == nil || !strings.Contains(err.Error(), "unknown authority") {
				t.Errorf("dial without the CA: err = %v, want an unknown-authority error", err)
			}
		}
	case nginxEnvCA:
		// The variable is read at every dial.
		t.Setenv("WEBSOCKET_CLIENT_CA_BUNDLE", ca.CertFile)
		tg.options = func() *websocket.DialOptions { return &websocket.DialOptions{} }
	case nginxMutual:
		client := ca.Client(t, "client")
		tg.url += "mtls/"
		tg.options = func() *websocket.DialOptions {
			return &websocket.DialOptions{TLSConfig: &tls.Config{
				RootCAs:      ca.Pool(),
				Certificates: []tls.Certificate{client.TLS},
			}}
		}
		tg.connect = func(t *testing.T, tg *target) {
			// Without the client certificate nginx refuses the location.
			_, err := dialWith(t, tg.url, &websocket.DialOptions{TLSConfig: &tls.Config{RootCAs: ca.Pool()}})
			var bad *websocket.BadStatusError
			if !errors.As(err, &bad) || bad.StatusCode != http.StatusForbidden {
				t.Errorf("dial without a client certificate: err = %v, want *BadStatusError 403", err)
			}
		}
	}
	return tg
}
