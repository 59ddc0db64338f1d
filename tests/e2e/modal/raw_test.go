package modal_test

import (
	"bufio"
	"crypto/tls"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// rawRequest writes a request line exactly as given (Go's client would
// clean or re-encode the path) over TLS and reads the response.
func (d *deployment) rawRequest(t *testing.T, requestLine string) response {
	t.Helper()
	host := strings.TrimPrefix(d.gw.URL, "https://")
	tr := d.gw.Client().Transport.(*http.Transport)
	conn, err := tls.Dial("tcp", host, &tls.Config{RootCAs: tr.TLSClientConfig.RootCAs, ServerName: "localhost", NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	_, err = io.WriteString(conn, requestLine+"\r\nHost: "+host+"\r\nX-Api-Key: "+clientKey+"\r\nConnection: close\r\n\r\n")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%s: %v", requestLine, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: string(body)}
}
