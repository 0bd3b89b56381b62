package interop

import (
	"bytes"
	"crypto/tls"
	"embed"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"text/template"
	"time"

	websocket "github.com/wsclient/websocket"
	"github.com/wsclient/websocket/interop/harness"
	"github.com/wsclient/websocket/interop/internal/goservers"
	"github.com/wsclient/websocket/interop/internal/matrix"
)

// The proxy tests dial through real proxies from Debian's packages (squid,
// dante-server, microsocks; interop/install-proxies.sh installs them) to
// loopback echo servers, over ws and wss, and check in each proxy's own log
// that the tunnel went through it. Their results form a matrix of their
// own (a proxy is not a WebSocket server: the columns differ from
// TestInterop's), printed at the end and written to proxyMatrixFile.

//go:embed proxyconf/*.tmpl
var proxyConfFS embed.FS

var proxyConf = template.Must(template.ParseFS(proxyConfFS, "proxyconf/*.tmpl"))

// proxyMatrixFile is where a full run writes the proxy matrix.
const proxyMatrixFile = "PROXIES.md"

// The columns of the proxy matrix.
const (
	colWS  = "ws echo"
	colWSS = "wss echo"
	colLog = "tunnel in proxy log"
	colBad = "bad credentials refused"
)

var proxyResults = matrix.New(colWS, colWSS, colLog, colBad)

// Credentials of the proxies with authentication. dante checks system
// accounts, so its pair is the user install-proxies.sh creates.
const (
	proxyUser     = "wsuser"
	proxyPass     = "s3cret-wsclient"
	danteUser     = "pxuser"
	dantePass     = "pxpass"
	wrongPassword = "not-the-password"
)

// Timeouts of a dial through a proxy: the proxy handshake, and the whole
// dial (proxy, WebSocket handshake and later I/O).
const (
	proxyHandshakeTimeout = 10 * time.Second
	proxyDialTimeout      = 15 * time.Second
	// proxyLogTimeout bounds the wait for a tunnel's line in a proxy's
	// log: squid writes it when the tunnel closes.
	proxyLogTimeout = 15 * time.Second
)

// proxyInstance is a started proxy program.
type proxyInstance struct {
	addrs map[string]string // proxy URL scheme → "127.0.0.1:port"
	logs  func() string     // everything the proxy logged so far
}

// proxyRow is one row of the proxy matrix: one proxy URL scheme on one
// started program.
type proxyRow struct {
	name   string
	scheme string
	// ipTarget, when not empty, is why this row reaches the echo servers
	// by IP address rather than by the name "localhost".
	ipTarget string
	// logLine returns the pattern of the proxy's log line for a tunnel,
	// through the row's scheme, to target ("host:port" as the URL names it).
	logLine func(pi *proxyInstance, scheme, target string) *regexp.Regexp
	// extra runs the row's own checks after the common ones; nil if none.
	extra func(t *testing.T, pi *proxyInstance, e *proxyEcho)
}

// proxyProgram is one proxy program, started once for its rows.
type proxyProgram struct {
	name       string
	version    func() string
	user, pass string // credentials; "" = no authentication
	// badAuth checks the error of a dial with wrong or no credentials.
	badAuth func(t *testing.T, err error)
	start   func(t *testing.T, ca *harness.CA) *proxyInstance
	rows    []proxyRow
}

func proxyPrograms() []proxyProgram {
	return []proxyProgram{
		{
			name:    "squid",
			version: func() string { return debVersion("squid", "squid-openssl") },
			start:   func(t *testing.T, ca *harness.CA) *proxyInstance { return startSquid(t, ca, false) },
			rows: []proxyRow{
				{name: "squid http", scheme: "http", logLine: squidLine("-")},
				{name: "squid https", scheme: "https", logLine: squidLine("-")},
			},
		},
		{
			name:    "squid auth",
			version: func() string { return debVersion("squid", "squid-openssl") },
			user:    proxyUser, pass: proxyPass,
			badAuth: wantStatus407,
			start:   func(t *testing.T, ca *harness.CA) *proxyInstance { return startSquid(t, ca, true) },
			rows: []proxyRow{
				{name: "squid http auth", scheme: "http", logLine: squidLine(proxyUser)},
				{name: "squid https auth", scheme: "https", logLine: squidLine(proxyUser)},
			},
		},
		{
			name:    "dante",
			version: func() string { return debVersion("dante-server") },
			start:   func(t *testing.T, _ *harness.CA) *proxyInstance { return startDante(t, false) },
			rows: []proxyRow{
				{name: "dante socks4", scheme: "socks4", logLine: danteLine("")},
				{
					name:   "dante socks4a",
					scheme: "socks4a",
					ipTarget: "dante 1.4.2 refuses SOCKS4A host names with reply 0x5b (the test checks the refusal); " +
						"the echo servers are reached as 127.0.0.1, sent in the SOCKS4 form",
					logLine: danteLine(""),
					extra:   danteSOCKS4AName,
				},
				{name: "dante socks5", scheme: "socks5", logLine: danteLine("")},
				{name: "dante socks5h", scheme: "socks5h", logLine: danteLine("")},
			},
		},
		{
			name:    "dante auth",
			version: func() string { return debVersion("dante-server") },
			user:    danteUser, pass: dantePass,
			badAuth: wantSOCKSAuthRefused,
			start:   func(t *testing.T, _ *harness.CA) *proxyInstance { return startDante(t, true) },
			rows: []proxyRow{
				{name: "dante socks5 auth", scheme: "socks5", logLine: danteLine(danteUser)},
				{name: "dante socks5h auth", scheme: "socks5h", logLine: danteLine(danteUser)},
			},
		},
		{
			name:    "microsocks",
			version: func() string { return debVersion("microsocks") },
			start:   func(t *testing.T, _ *harness.CA) *proxyInstance { return startMicrosocks(t, false) },
			rows: []proxyRow{
				{name: "microsocks socks5", scheme: "socks5", logLine: microsocksLine},
				{name: "microsocks socks5h", scheme: "socks5h", logLine: microsocksLine},
			},
		},
		{
			name:    "microsocks auth",
			version: func() string { return debVersion("microsocks") },
			user:    proxyUser, pass: proxyPass,
			badAuth: wantSOCKSAuthRefused,
			start:   func(t *testing.T, _ *harness.CA) *proxyInstance { return startMicrosocks(t, true) },
			rows: []proxyRow{
				{name: "microsocks socks5 auth", scheme: "socks5", logLine: microsocksLine},
				{name: "microsocks socks5h auth", scheme: "socks5h", logLine: microsocksLine},
			},
		},
	}
}

// TestProxy dials through every proxy flavour to loopback echo servers,
// one program at a time (the machine has two cores), and fills the proxy
// matrix.
func TestProxy(t *testing.T) {
	ca := harness.NewCA(t, "wsclient proxy interop CA")
	echoLeaf := ca.Server(t, "echo", "localhost", "127.0.0.1", "::1")
	for _, prog := range proxyPrograms() {
		t.Run(prog.name, func(t *testing.T) {
			for _, r := range prog.rows {
				proxyResults.AddRow(r.name, prog.version())
			}
			start := time.Now()
			var pi *proxyInstance
			defer func() {
				if pi != nil {
					return
				}
				// The program did not start: missing outside CI (skip)
				// or a failure.
				c := matrix.Cell{Status: matrix.Fail, Note: "the proxy did not start (details in the test log)"}
				if t.Skipped() {
					c = matrix.Cell{Status: matrix.Skipped, Note: "a program is missing: run interop/install-proxies.sh as root"}
				}
				for _, r := range prog.rows {
					proxyResults.SetRow(r.name, c)
				}
			}()
			pi = prog.start(t, ca)
			t.Logf("%s: started in %v: %v", prog.name, time.Since(start).Round(time.Millisecond), pi.addrs)
			for _, r := range prog.rows {
				runProxyRow(t, prog, r, pi, ca, echoLeaf)
			}
			t.Logf("%s: all rows in %v", prog.name, time.Since(start).Round(time.Millisecond))
		})
	}
	if proxyResults.Complete() {
		md := renderProxyMatrix()
		fmt.Printf("\n%s\n", md)
		if *update || flag.Lookup("test.run").Value.String() == "" {
			if err := os.WriteFile(proxyMatrixFile, []byte(md), 0o644); err != nil {
				t.Errorf("write %s: %v", proxyMatrixFile, err)
			}
			if err := spliceReadme("proxy-matrix", md); err != nil {
				t.Error(err)
			}
		}
	}
}

// renderProxyMatrix returns PROXIES.md's contents.
func renderProxyMatrix() string {
	var b strings.Builder
	b.WriteString("# Proxy interoperability matrix\n\n")
	b.WriteString("Generated by `go test -run Proxy` in `interop/` (`-update` rewrites it); do not edit by hand.\n")
	b.WriteString("Each row dials through a real proxy on loopback to a WebSocket echo server (gorilla/websocket): ")
	b.WriteString("ws echo and wss echo send a text and a 64 KiB+1 binary message; tunnel in proxy log finds both ")
	b.WriteString("tunnels in the proxy's own log; bad credentials refused dials with a wrong password and with none ")
	b.WriteString("and expects a *websocket.ProxyError.\n\n")
	b.WriteString(proxyResults.Markdown())
	return b.String()
}

// proxyEcho is the pair of echo servers of one row, fresh for each row so
// that the ports in the proxy's log belong to that row alone.
type proxyEcho struct {
	ws, wss string // "host:port" as the URLs name them
	tls     *tls.Config
}

// startProxyEcho serves the ws and wss echo servers of one row, reached by
// host ("localhost" or "127.0.0.1").
func startProxyEcho(t *testing.T, ca *harness.CA, leaf *harness.Leaf, host string) *proxyEcho {
	t.Helper()
	srvTLS := &tls.Config{Certificates: []tls.Certificate{leaf.TLS}}
	ws := harness.ServeHTTP(t, goservers.Gorilla(), nil)
	wss := harness.ServeHTTP(t, goservers.Gorilla(), srvTLS)
	serveLoopback6(t, ws.Addr, goservers.Gorilla(), nil)
	serveLoopback6(t, wss.Addr, goservers.Gorilla(), srvTLS)
	_, wsPort, _ := net.SplitHostPort(ws.Addr)
	_, wssPort, _ := net.SplitHostPort(wss.Addr)
	return &proxyEcho{
		ws:  net.JoinHostPort(host, wsPort),
		wss: net.JoinHostPort(host, wssPort),
		// The same CA issued the echo servers' and squid's certificates:
		// DialOptions.TLSConfig serves both the TLS to an https proxy and
		// the TLS to a wss server.
		tls: &tls.Config{RootCAs: ca.Pool()},
	}
}

// proxyURL returns the proxy URL of scheme on pi, with user info if
// userinfo is not nil.
func proxyURL(pi *proxyInstance, scheme string, userinfo *url.Userinfo) string {
	u := url.URL{Scheme: scheme, Host: pi.addrs[scheme], User: userinfo}
	return u.String()
}

// proxyOptions returns DialOptions that go through proxy.
func proxyOptions(e *proxyEcho, proxy string) *websocket.DialOptions {
	return &websocket.DialOptions{
		Proxy:        websocket.ProxyURL(proxy),
		ProxyTimeout: proxyHandshakeTimeout,
		Timeout:      proxyDialTimeout,
		TLSConfig:    e.tls.Clone(),
	}
}

// runProxyRow runs the checks of one row and records its cells.
func runProxyRow(t *testing.T, prog proxyProgram, r proxyRow, pi *proxyInstance, ca *harness.CA, leaf *harness.Leaf) {
	t.Run(r.name, func(t *testing.T) {
		start := time.Now()
		host := "localhost"
		if r.ipTarget != "" {
			host = "127.0.0.1"
		}
		e := startProxyEcho(t, ca, leaf, host)
		var userinfo *url.Userinfo
		if prog.user != "" {
			userinfo = url.UserPassword(prog.user, prog.pass)
		}
		proxy := proxyURL(pi, r.scheme, userinfo)
		note := r.ipTarget

		echo := func(scheme, target string) func(t *testing.T) {
			return func(t *testing.T) {
				c, err := dialWith(t, scheme+"://"+target+"/", proxyOptions(e, proxy))
				if err != nil {
					t.Fatalf("dial %s://%s through %s: %v", scheme, target, r.name, err)
				}
				defer c.Abort()
				if scheme == "ws" && r.scheme == "https" {
					// The stream under a ws connection through an https
					// proxy is the TLS connection to the proxy; whether
					// IsSSL should say so is not settled, so it is only
					// logged here.
					t.Logf("ws through an https proxy: IsSSL() = %v, NetConn() is %T", c.IsSSL(), c.NetConn())
				} else if got, want := c.IsSSL(), scheme == "wss"; got != want {
					t.Errorf("IsSSL() = %v, want %v", got, want)
				}
				text := []byte("hello through " + r.name)
				bin := payload(websocket.OpBinary, 64<<10+1)
				for _, m := range []struct {
					op   websocket.Opcode
					data []byte
				}{{websocket.OpText, text}, {websocket.OpBinary, bin}} {
					if err := c.Send(m.data, m.op); err != nil {
						t.Fatalf("Send(%d bytes): %v", len(m.data), err)
					}
					expectMessage(t, c, m.op, m.data)
				}
				// A clean close ends the tunnel, which is when squid
				// writes its access log line.
				if err := c.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			}
		}
		proxyCell(t, r.name, colWS, note, echo("ws", e.ws))
		proxyCell(t, r.name, colWSS, note, echo("wss", e.wss))

		proxyCell(t, r.name, colLog, "", func(t *testing.T) {
			want := []*regexp.Regexp{r.logLine(pi, r.scheme, e.ws), r.logLine(pi, r.scheme, e.wss)}
			if err := waitFor(proxyLogTimeout, logMatcher(pi.logs, want...)); err != nil {
				t.Fatalf("%v; the log ends with:\n%s", err, tailLines(pi.logs(), 15))
			}
			text := pi.logs()
			for _, re := range want {
				t.Logf("proxy log: %s", strings.TrimSpace(re.FindString(text)))
			}
		})

		if prog.user == "" {
			proxyResults.Set(r.name, colBad, matrix.Cell{Status: matrix.NotApplicable, Note: "the proxy has no authentication configured"})
		} else {
			proxyCell(t, r.name, colBad, "", func(t *testing.T) {
				for _, c := range []struct {
					name string
					user *url.Userinfo
				}{
					{"wrong password", url.UserPassword(prog.user, wrongPassword)},
					{"no credentials", nil},
				} {
					t.Run(c.name, func(t *testing.T) {
						conn, err := dialWith(t, "ws://"+e.ws+"/", proxyOptions(e, proxyURL(pi, r.scheme, c.user)))
						if err == nil {
							conn.Abort()
							t.Fatalf("dial with %s through %s succeeded, want a *websocket.ProxyError", c.name, r.name)
						}
						var pe *websocket.ProxyError
						if !errors.As(err, &pe) {
							t.Errorf("dial with %s: err = %T %v, want a *websocket.ProxyError", c.name, err, err)
						}
						// Error messages never show a password.
						for _, secret := range []string{prog.pass, wrongPassword} {
							if strings.Contains(err.Error(), secret) {
								t.Errorf("error message shows a password: %v", err)
							}
						}
						prog.badAuth(t, err)
						t.Logf("%s: %v", c.name, err)
					})
				}
			})
		}
		if r.extra != nil && !t.Run("extra", func(t *testing.T) { r.extra(t, pi, e) }) {
			// The extra check backs the row's note: without it the
			// note is not shown to hold.
			proxyResults.Set(r.name, colWS, matrix.Cell{Status: matrix.Fail, Note: "the row's extra check failed (details in the test log)"})
		}
		t.Logf("%s: %v", r.name, time.Since(start).Round(time.Millisecond))
	})
}

// proxyCell runs one check as a subtest and records its cell, with note
// when it passed.
func proxyCell(t *testing.T, row, col, note string, f func(t *testing.T)) {
	t.Helper()
	var skipped bool
	ok := t.Run(col, func(t *testing.T) {
		defer func() { skipped = t.Skipped() && !t.Failed() }()
		f(t)
	})
	c := matrix.Cell{Status: matrix.OK, Note: note}
	switch {
	case !ok:
		c = matrix.Cell{Status: matrix.Fail, Note: "details in the test log"}
	case skipped:
		c = matrix.Cell{Status: matrix.NotApplicable, Note: "the check skipped itself (reason in the test log)"}
	}
	proxyResults.Set(row, col, c)
}

// wantStatus407 checks squid's answer to wrong or missing Basic
// credentials: 407 Proxy Authentication Required (RFC 9110 §15.5.8).
func wantStatus407(t *testing.T, err error) {
	t.Helper()
	if !strings.Contains(err.Error(), "407") {
		t.Errorf("err = %v, want the proxy's 407 status in it", err)
	}
}

// wantSOCKSAuthRefused checks a SOCKS5 proxy's refusal of wrong or missing
// credentials: a failed RFC 1929 subnegotiation, or no acceptable method
// (0xFF, RFC 1928 §3) when we offered none but "no authentication".
func wantSOCKSAuthRefused(t *testing.T, err error) {
	t.Helper()
	msg := err.Error()
	if !strings.Contains(msg, "authentication") {
		t.Errorf("err = %v, want an authentication failure", err)
	}
}

// --- squid ---

// squidLine matches the access log line (logformat wsclient in
// proxyconf/squid.conf.tmpl) of a tunnel to target through the port of the
// row's scheme, by user ("-" without authentication).
func squidLine(user string) func(pi *proxyInstance, scheme, target string) *regexp.Regexp {
	return func(pi *proxyInstance, scheme, target string) *regexp.Regexp {
		_, proxyPort, _ := net.SplitHostPort(pi.addrs[scheme])
		return regexp.MustCompile(`(?m)^\S+ 127\.0\.0\.1 ` + proxyPort + ` CONNECT ` + regexp.QuoteMeta(target) +
			` ` + regexp.QuoteMeta(user) + ` TCP_TUNNEL/200$`)
	}
}

// startSquid starts squid with an http_port and an https_port (a
// certificate from ca), with Basic authentication when auth is set.
func startSquid(t *testing.T, ca *harness.CA, auth bool) *proxyInstance {
	squid := harness.Need(t, "squid", "/usr/sbin/squid")
	const ncsa = "/usr/lib/squid/basic_ncsa_auth"
	if _, err := os.Stat(ncsa); err != nil {
		harness.Missing(t, ncsa+" not found; run interop/install-proxies.sh as root")
	}
	// squid drops root for the user proxy, which must reach its logs and
	// helper files: t.TempDir's parent is private to root.
	dir, err := os.MkdirTemp("", "wsclient-squid-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if os.Geteuid() == 0 {
		if u, err := user.Lookup("proxy"); err == nil {
			uid, _ := strconv.Atoi(u.Uid)
			gid, _ := strconv.Atoi(u.Gid)
			if err := os.Chown(dir, uid, gid); err != nil {
				t.Fatal(err)
			}
		}
	}
	leaf := ca.Server(t, "squid", "127.0.0.1", "localhost")
	for src, dst := range map[string]string{leaf.CertFile: "cert.pem", leaf.KeyFile: "key.pem"} {
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, dst), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if auth {
		htpasswd := harness.Need(t, "htpasswd")
		// -m: MD5 ($apr1$), which basic_ncsa_auth reads (bcrypt it does not).
		out, err := exec.Command(htpasswd, "-c", "-b", "-m", filepath.Join(dir, "passwd"), proxyUser, proxyPass).CombinedOutput()
		if err != nil {
			t.Fatalf("htpasswd: %v\n%s", err, out)
		}
		os.Chmod(filepath.Join(dir, "passwd"), 0o644)
	}
	ports := freePorts(t, 2)
	conf := filepath.Join(dir, "squid.conf")
	writeTemplate(t, conf, "squid.conf.tmpl", map[string]any{
		"Dir":       dir,
		"HTTPPort":  ports[0],
		"HTTPSPort": ports[1],
		"Cert":      filepath.Join(dir, "cert.pem"),
		"Key":       filepath.Join(dir, "key.pem"),
		"Auth":      auth,
	})
	guard := guardProcesses(t, conf)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("squid cache.log:\n%s", tailLines(readFile(filepath.Join(dir, "cache.log")), 40))
		}
	})
	harness.Start(t, harness.Spec{
		Name:  "squid",
		Path:  squid,
		Args:  []string{"-N", "-f", conf},
		Ready: harness.AllReady(harness.TCPReady(harness.Addr(ports[0])), harness.TCPReady(harness.Addr(ports[1]))),
		// Even with shutdown_lifetime 0 squid takes 2 s to exit after
		// SIGTERM; the test has read its log by then, so SIGKILL (to
		// the whole group, helpers included) after a short grace.
		StopGrace: 500 * time.Millisecond,
	})
	guard.record(t)
	return &proxyInstance{
		addrs: map[string]string{"http": harness.Addr(ports[0]), "https": harness.Addr(ports[1])},
		logs:  func() string { return readFile(filepath.Join(dir, "access.log")) },
	}
}

// --- dante ---

// danteLine matches danted's log line for the start of a tunnel from a
// client to target through pi, by user (dante logs "username%USER@" before
// the client's address) or without authentication when user is "". dante
// logs addresses as IP.PORT, after resolving names itself.
func danteLine(user string) func(pi *proxyInstance, scheme, target string) *regexp.Regexp {
	return func(pi *proxyInstance, scheme, target string) *regexp.Regexp {
		_, port, _ := net.SplitHostPort(target)
		_, proxyPort, _ := net.SplitHostPort(pi.addrs[scheme])
		prefix := ""
		if user != "" {
			prefix = regexp.QuoteMeta("username%" + user + "@")
		}
		return regexp.MustCompile(`tcp/connect \[: ` + prefix + `127\.0\.0\.1\.\d+ 127\.0\.0\.1\.` + proxyPort +
			` -> 127\.0\.0\.1\.\d+ 127\.0\.0\.1\.` + port + `\b`)
	}
}

// startDante starts danted for SOCKS4, SOCKS4A and SOCKS5 without
// authentication, or SOCKS5 with the username method when auth is set.
func startDante(t *testing.T, auth bool) *proxyInstance {
	danted := harness.Need(t, "danted", "/usr/sbin/danted")
	if os.Geteuid() != 0 {
		// user.privileged root, and the username method reads /etc/shadow.
		harness.Missing(t, "danted needs root here (run the tests as root, as CI does)")
	}
	if auth {
		if _, err := user.Lookup(danteUser); err != nil {
			harness.Missing(t, "system user "+danteUser+" missing ("+err.Error()+"); run interop/install-proxies.sh as root")
		}
	}
	dir := t.TempDir()
	port := harness.FreePort(t)
	conf := filepath.Join(dir, "danted.conf")
	writeTemplate(t, conf, "danted.conf.tmpl", map[string]any{"Dir": dir, "Port": port, "Auth": auth})
	guard := guardProcesses(t, conf)
	harness.Start(t, harness.Spec{
		Name:      "danted",
		Path:      danted,
		Args:      []string{"-f", conf},
		Ready:     harness.TCPReady(harness.Addr(port)),
		StopGrace: 3 * time.Second,
	})
	guard.record(t)
	addrs := map[string]string{"socks5": harness.Addr(port), "socks5h": harness.Addr(port)}
	if !auth {
		addrs["socks4"] = harness.Addr(port)
		addrs["socks4a"] = harness.Addr(port)
	}
	return &proxyInstance{
		addrs: addrs,
		logs:  func() string { return readFile(filepath.Join(dir, "danted.log")) },
	}
}

// danteSOCKS4AName checks the limitation the dante socks4a row works
// around: dante 1.4.2 answers a SOCKS4A request for a host name with
// 0x5b. If a newer dante resolves the name, the test says so, so that the
// row can go back to a name target.
func danteSOCKS4AName(t *testing.T, pi *proxyInstance, e *proxyEcho) {
	_, port, _ := net.SplitHostPort(e.ws)
	target := "ws://localhost:" + port + "/"
	c, err := dialWith(t, target, proxyOptions(e, proxyURL(pi, "socks4a", nil)))
	if err == nil {
		c.Abort()
		t.Fatalf("dante accepted a SOCKS4A host name (%s): drop the socks4a row's IP-target workaround", target)
	}
	var pe *websocket.ProxyError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "0x5b") {
		t.Fatalf("dial %s by SOCKS4A name: err = %v, want a *websocket.ProxyError with reply 0x5b", target, err)
	}
	t.Logf("dante refuses SOCKS4A host names, as expected: %v", err)
}

// --- microsocks ---

// microsocksLine matches microsocks' line for a tunnel to target. It logs
// the address as the client sent it, so a name in the line shows the proxy
// resolved it (socks5h) and an IP address that the client did (socks5).
func microsocksLine(_ *proxyInstance, scheme, target string) *regexp.Regexp {
	host, port, _ := net.SplitHostPort(target)
	hostRE := regexp.QuoteMeta(host)
	if scheme == "socks5" {
		// The client resolved the name: any IP address, never the name.
		hostRE = `(?:\d+\.\d+\.\d+\.\d+|\[?[0-9a-f:]+\]?)`
	}
	return regexp.MustCompile(`(?m)^client\[\d+\] 127\.0\.0\.1: connected to ` + hostRE + `:` + port + `$`)
}

// startMicrosocks starts microsocks, with a user name and password when
// auth is set (and without -1, which would let an address that once
// authenticated in without credentials).
func startMicrosocks(t *testing.T, auth bool) *proxyInstance {
	bin := harness.Need(t, "microsocks")
	port := harness.FreePort(t)
	args := []string{"-i", "127.0.0.1", "-p", strconv.Itoa(port)}
	if auth {
		args = append(args, "-u", proxyUser, "-P", proxyPass)
	}
	guard := guardProcesses(t, "microsocks -i 127.0.0.1 -p "+strconv.Itoa(port))
	p := harness.Start(t, harness.Spec{
		Name:      "microsocks",
		Path:      bin,
		Args:      args,
		Ready:     harness.TCPReady(harness.Addr(port)),
		StopGrace: 3 * time.Second,
	})
	guard.record(t)
	return &proxyInstance{
		addrs: map[string]string{"socks5": harness.Addr(port), "socks5h": harness.Addr(port)},
		logs:  p.Logs,
	}
}

// writeTemplate renders the template name from proxyconf/ with data into
// path.
func writeTemplate(t *testing.T, path, name string, data any) {
	t.Helper()
	var b bytes.Buffer
	if err := proxyConf.ExecuteTemplate(&b, name, data); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
