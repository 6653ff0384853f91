package canary

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"strings"
)

// Failure classes are decided here: every step kind hands its network errors
// to classifyNetError, and the browser hands Chromium's error texts to
// classifyChromiumError, so one error means one class whatever the kind.
// A kind adds only the classes that are its own (a status, an assertion, an
// rcode, lost echoes).

// classifyNetError sorts a network error of any step kind (HTTP, DNS, TCP,
// TLS, ICMP, gRPC, WebSocket) into a failure class. The one place that knows
// which net and TLS errors mean what.
func classifyNetError(err error) FailureClass {
	var dnsErr *net.DNSError
	var opErr *net.OpError
	var certErr *tls.CertificateVerificationError
	var unknownAuth x509.UnknownAuthorityError
	var invalid x509.CertificateInvalidError
	var hostErr x509.HostnameError
	var recordErr tls.RecordHeaderError
	var alertErr tls.AlertError
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return FailTimeout
	case errors.Is(err, context.Canceled):
		return FailCanceled
	case errors.Is(err, errTooManyRedirects):
		return FailRedirect
	case errors.As(err, &dnsErr):
		return FailDNS
	case errors.As(err, &certErr), errors.As(err, &unknownAuth), errors.As(err, &invalid),
		errors.As(err, &hostErr), errors.As(err, &recordErr), errors.As(err, &alertErr):
		return FailTLS
	case errors.As(err, &opErr) && opErr.Op == "dial":
		return FailConnect
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return FailTimeout
	}
	if strings.Contains(err.Error(), "tls: ") {
		return FailTLS
	}
	return FailNetwork
}

// classifyChromiumError sorts Chromium's net::ERR_ texts into the same
// classes classifyNetError gives Go's errors.
func classifyChromiumError(text string) FailureClass {
	switch {
	case strings.Contains(text, "NAME_NOT_RESOLVED"), strings.Contains(text, "NAME_RESOLUTION"):
		return FailDNS
	case strings.Contains(text, "CERT_"), strings.Contains(text, "SSL_"):
		return FailTLS
	case strings.Contains(text, "CONNECTION_REFUSED"), strings.Contains(text, "ADDRESS_UNREACHABLE"),
		strings.Contains(text, "CONNECTION_TIMED_OUT"), strings.Contains(text, "INTERNET_DISCONNECTED"):
		return FailConnect
	case strings.Contains(text, "TIMED_OUT"):
		return FailTimeout
	case strings.Contains(text, "TOO_MANY_REDIRECTS"):
		return FailRedirect
	}
	return FailNetwork
}
