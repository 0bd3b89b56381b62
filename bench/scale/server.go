package main

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/lesismal/nbio/logging"
	"github.com/lesismal/nbio/nbhttp"
	"github.com/lesismal/nbio/nbhttp/websocket"
)

// The server is this binary re-executed with roleEnv=server, so that its
// memory, goroutines and garbage collector never count against the client.
// It is lesismal/nbio's epoll HTTP engine with its WebSocket upgrader: no
// goroutine per connection and a read buffer per poller, not per connection:
// about 1 KiB of resident memory per idle connection.
//
// It listens on WSSCALE_PORTS loopback ports (each port takes at most one
// ephemeral port range of client connections) and prints their addresses,
// space-separated, as the first line of standard output. Then it reads
// commands, one per line, from standard input and answers each with one line:
//
//	stats               "conns=C pings=P msgs=M rss=R": connections open, pings and data messages
//	                    received so far, and the server's resident bytes after a collection
//	push COUNT SIZE     writes COUNT binary messages of SIZE bytes to every connection, then "ok"
//
// Every data message is echoed, every ping answered with a pong (and
// counted). At EOF on standard input the server exits.

// Environment of the server process.
const (
	roleEnv      = "WSSCALE_ROLE"
	portsEnv     = "WSSCALE_PORTS"
	serverTLSEnv = "WSSCALE_SERVER_TLS" // set: the ports serve TLS (tls.go)
)

// pushChunk is how many pushed messages go out in one write to one
// connection; the server writes chunk after chunk, round robin over the
// connections, so each client connection sees its messages arrive spread
// over the push rather than in one burst.
const pushChunk = 10

type scaleServer struct {
	mu    sync.Mutex
	conns []*websocket.Conn
	pings atomic.Int64
	msgs  atomic.Int64
}

func runServer() error {
	if _, err := raiseOpenFiles(); err != nil {
		return err
	}
	nports, err := strconv.Atoi(os.Getenv(portsEnv))
	if err != nil || nports < 1 {
		return fmt.Errorf("bad %s %q", portsEnv, os.Getenv(portsEnv))
	}
	logging.SetLevel(logging.LevelNone)
	srv := &scaleServer{}
	lns := map[string]net.Listener{}
	var addrs []string
	for range nports {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		a := ln.Addr().String()
		lns[a] = ln
		addrs = append(addrs, a)
	}
	up := websocket.NewUpgrader()
	up.KeepaliveTime = 0 // no read deadline: idle clients stay
	up.CheckOrigin = func(*http.Request) bool { return true }
	up.OnOpen(func(c *websocket.Conn) {
		srv.mu.Lock()
		srv.conns = append(srv.conns, c)
		srv.mu.Unlock()
	})
	up.OnMessage(func(c *websocket.Conn, mt websocket.MessageType, data []byte) {
		srv.msgs.Add(1)
		_ = c.WriteMessage(mt, data)
	})
	up.SetPingHandler(func(c *websocket.Conn, data string) {
		srv.pings.Add(1)
		_ = c.WriteMessage(websocket.PongMessage, []byte(data))
	})
	conf := nbhttp.Config{
		Network:                 "tcp",
		Addrs:                   addrs,
		Listen:                  func(_, addr string) (net.Listener, error) { return lns[addr], nil },
		MaxLoad:                 4 << 20,
		ReleaseWebsocketPayload: true,
		KeepaliveTime:           0,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = up.Upgrade(w, r, nil)
		}),
	}
	if os.Getenv(serverTLSEnv) != "" {
		if conf.TLSConfig, err = serverTLS(); err != nil {
			return err
		}
		conf.Addrs, conf.AddrsTLS = nil, addrs
	}
	engine := nbhttp.NewEngine(conf)
	if err := engine.Start(); err != nil {
		return err
	}
	defer engine.Stop()
	fmt.Println(strings.Join(addrs, " "))
	return srv.serveCommands(os.Stdin, os.Stdout)
}

// serveCommands answers the parent's commands until in reaches EOF.
func (s *scaleServer) serveCommands(in io.Reader, out io.Writer) error {
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		var reply string
		switch {
		case f[0] == "stats" && len(f) == 1:
			s.mu.Lock()
			n := len(s.conns)
			s.mu.Unlock()
			reply = fmt.Sprintf("conns=%d pings=%d msgs=%d rss=%d", n, s.pings.Load(), s.msgs.Load(), measure().RSS)
		case f[0] == "push" && len(f) == 3:
			count, err1 := strconv.Atoi(f[1])
			size, err2 := strconv.Atoi(f[2])
			if err1 != nil || err2 != nil || count < 1 || size < 0 {
				reply = "error: bad push " + sc.Text()
				break
			}
			s.push(count, size)
			reply = "ok"
		default:
			reply = "error: unknown command " + sc.Text()
		}
		if _, err := fmt.Fprintln(out, reply); err != nil {
			return err
		}
	}
	return sc.Err()
}

// push writes count binary messages of size bytes to every connection, in
// chunks of pushChunk messages, round robin.
func (s *scaleServer) push(count, size int) {
	s.mu.Lock()
	conns := s.conns[:len(s.conns):len(s.conns)]
	s.mu.Unlock()
	frame := binaryFrame(size)
	batch := make([]byte, 0, pushChunk*len(frame))
	for range min(count, pushChunk) {
		batch = append(batch, frame...)
	}
	for sent := 0; sent < count; sent += pushChunk {
		b := batch[:min(count-sent, pushChunk)*len(frame)]
		for _, c := range conns {
			_, _ = c.UnderlayerConn().Write(b)
		}
	}
}

// binaryFrame returns an unmasked binary frame (RFC 6455 §5.2) with a
// payload of size bytes.
func binaryFrame(size int) []byte {
	var b []byte
	switch {
	case size < 126:
		b = []byte{0x82, byte(size)}
	case size < 1<<16:
		b = binary.BigEndian.AppendUint16([]byte{0x82, 126}, uint16(size))
	default:
		b = binary.BigEndian.AppendUint64([]byte{0x82, 127}, uint64(size))
	}
	for i := range size {
		b = append(b, byte('a'+i%26))
	}
	return b
}
