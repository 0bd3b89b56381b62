package wstest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"sync/atomic"
	"time"
)

// CA is a throwaway certificate authority for tests: it issues server and
// client certificates that a tls.Config trusting its Pool accepts. It and
// its certificates are valid from an hour before NewCA until a day after
// it (at the clock of the caller, so one made inside a testing/synctest
// bubble is valid at the bubble's time). It is safe for concurrent use.
type CA struct {
	Cert    *x509.Certificate // the CA's own certificate
	Key     *ecdsa.PrivateKey // the key it signs with
	CertPEM []byte            // Cert as PEM, for a CA bundle file

	serial atomic.Int64
}

// NewCA makes a certificate authority whose certificate's common name is
// name. It panics if making a key or the certificate fails.
func NewCA(name string) *CA {
	key := newKey()
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, MaxPathLenZero: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic("wstest: CA certificate: " + err.Error())
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		panic("wstest: CA certificate: " + err.Error())
	}
	ca := &CA{Cert: cert, Key: key, CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
	ca.serial.Store(1)
	return ca
}

// Pool returns a new pool that holds only the CA's certificate.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// Issue makes a certificate signed by the CA, with a fresh ECDSA P-256 key,
// whose common name is name, for usage (x509.ExtKeyUsageServerAuth or
// x509.ExtKeyUsageClientAuth) and for hosts, each a DNS name or an IP
// address. The result's Leaf is set. It panics if signing fails.
func (ca *CA) Issue(name string, usage x509.ExtKeyUsage, hosts ...string) tls.Certificate {
	key := newKey()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(ca.serial.Add(1)), Subject: pkix.Name{CommonName: name},
		NotBefore: ca.Cert.NotBefore, NotAfter: ca.Cert.NotAfter,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		panic("wstest: certificate " + name + ": " + err.Error())
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		panic("wstest: certificate " + name + ": " + err.Error())
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

func newKey() *ecdsa.PrivateKey {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic("wstest: key: " + err.Error())
	}
	return key
}
