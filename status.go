package websocket

import "strconv"

// StatusCode is a close status code (RFC 6455 §7.4).
type StatusCode uint16

// Close status codes. StatusNoStatusReceived, StatusAbnormalClosure and
// StatusTLSHandshake are reported locally and never sent on the wire.
const (
	StatusNormal             StatusCode = 1000
	StatusGoingAway          StatusCode = 1001
	StatusProtocolError      StatusCode = 1002
	StatusUnsupportedData    StatusCode = 1003
	StatusNoStatusReceived   StatusCode = 1005
	StatusAbnormalClosure    StatusCode = 1006
	StatusInvalidPayload     StatusCode = 1007
	StatusPolicyViolation    StatusCode = 1008
	StatusMessageTooBig      StatusCode = 1009
	StatusMandatoryExtension StatusCode = 1010
	StatusInternalError      StatusCode = 1011
	StatusServiceRestart     StatusCode = 1012
	StatusTryAgainLater      StatusCode = 1013
	StatusBadGateway         StatusCode = 1014
	StatusTLSHandshake       StatusCode = 1015
)

var statusNames = map[StatusCode]string{
	StatusNormal:             "normal closure",
	StatusGoingAway:          "going away",
	StatusProtocolError:      "protocol error",
	StatusUnsupportedData:    "unsupported data",
	StatusNoStatusReceived:   "no status received",
	StatusAbnormalClosure:    "abnormal closure",
	StatusInvalidPayload:     "invalid payload",
	StatusPolicyViolation:    "policy violation",
	StatusMessageTooBig:      "message too big",
	StatusMandatoryExtension: "mandatory extension",
	StatusInternalError:      "internal error",
	StatusServiceRestart:     "service restart",
	StatusTryAgainLater:      "try again later",
	StatusBadGateway:         "bad gateway",
	StatusTLSHandshake:       "TLS handshake failure",
}

// String returns a short English name for c, such as "normal closure", or
// "status(N)" for codes without a name (for example application codes 3000–4999).
func (c StatusCode) String() string {
	if s, ok := statusNames[c]; ok {
		return s
	}
	return "status(" + strconv.Itoa(int(c)) + ")"
}

// sendable reports whether c may appear in a close frame on the wire
// (RFC 6455 §7.4.1 and §7.4.2: 1000–1003, 1007–1014 and 3000–4999).
func (c StatusCode) sendable() bool {
	switch {
	case c >= 1000 && c <= 1003, c >= 1007 && c <= 1014, c >= 3000 && c <= 4999:
		return true
	}
	return false
}
