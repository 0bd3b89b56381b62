module github.com/wsclient/websocket

go 1.25
