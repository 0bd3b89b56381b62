module github.com/wsclient/websocket/cmd/wsdump

go 1.25.0

require (
	github.com/creack/pty v1.1.24
	github.com/spf13/pflag v1.0.10
	github.com/wsclient/websocket v0.0.0-00010101000000-000000000000
	golang.org/x/net v0.58.0
	golang.org/x/term v0.45.0
)

require (
	github.com/klauspost/compress v1.20.3 // indirect
	golang.org/x/sys v0.47.0 // indirect
	golang.org/x/text v0.41.0 // indirect
)

// wsdump builds against the library in this checkout. A release of wsdump
// drops it and requires a tagged version of the library: go install ...@version
// refuses a module whose go.mod has replace directives.
replace github.com/wsclient/websocket => ../..
