package websocket

// extensionOffer returns the Sec-WebSocket-Extensions value to offer.
func extensionOffer(opts *DialOptions) string { return "" }

// checkExtensions validates the extensions the server accepted.
func checkExtensions(values []string, opts *DialOptions) error {
	for _, v := range values {
		if v != "" {
			return &HandshakeError{Reason: "server accepted extension " + v + ", which was not offered"}
		}
	}
	return nil
}
