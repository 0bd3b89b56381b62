module github.com/wsclient/websocket

go 1.25.0

require (
	github.com/creack/pty v1.1.24
	github.com/klauspost/compress v1.20.3
	github.com/spf13/pflag v1.0.10
	go.uber.org/goleak v1.3.0
	golang.org/x/net v0.58.0
	golang.org/x/term v0.45.0
)

require (
	golang.org/x/sys v0.47.0 // indirect
	golang.org/x/text v0.41.0 // indirect
)
