package testkit

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Reply is a gateway response read to the end: what a client saw.
type Reply struct {
	Status int
	Header http.Header
	Body   []byte
}

// Text is the body as a string.
func (r Reply) Text() string { return string(r.Body) }

// JSON decodes the body into v, failing t when it is not JSON.
func (r Reply) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("body %q is not the JSON expected: %v", r.Body, err)
	}
}

// Message is the "message" of a gateway error body ({"message":"..."}).
func (r Reply) Message(t testing.TB) string {
	t.Helper()
	var m struct {
		Message string `json:"message"`
	}
	r.JSON(t, &m)
	return m.Message
}

// Call sends a request like Do and reads the whole response.
func (g *Gateway) Call(method, path string, body []byte, headers ...string) Reply {
	g.t.Helper()
	resp := g.Do(method, path, body, headers...)
	return readReply(g.t, resp)
}

// readReply reads resp to the end and closes it.
func readReply(t testing.TB, resp *http.Response) Reply {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the response body: %v", err)
	}
	return Reply{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// Raw writes head (the request line and header lines, without the blank
// line that ends them) and body byte for byte, as no Go client would
// (unnormalised paths, odd framing), on a connection of its own, and reads
// the response. A Host header is added when head has none.
func (g *Gateway) Raw(head string, body []byte) Reply {
	g.t.Helper()
	hostport := strings.TrimPrefix(strings.TrimPrefix(g.URL, "https://"), "http://")
	var conn net.Conn
	var err error
	if strings.HasPrefix(g.URL, "https://") {
		host, _, _ := net.SplitHostPort(hostport)
		conn, err = tls.Dial("tcp", hostport, &tls.Config{RootCAs: g.RootCAs(), ServerName: host, NextProtos: []string{"http/1.1"}})
	} else {
		conn, err = net.Dial("tcp", hostport)
	}
	if err != nil {
		g.t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	if !strings.Contains(strings.ToLower(head), "\r\nhost:") {
		head += "\r\nHost: " + hostport
	}
	if _, err := io.WriteString(conn, head+"\r\n\r\n"); err != nil {
		g.t.Fatal(err)
	}
	if _, err := conn.Write(body); err != nil {
		g.t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		g.t.Fatalf("%q: %v", head, err)
	}
	return readReply(g.t, resp)
}

// RootCAs is the pool of the gateway's local CA, for TLS clients of a
// test's own.
func (g *Gateway) RootCAs() *x509.CertPool { return g.rootCAs() }

// Want fails t unless the reply has status and its body contains every one
// of contains.
func (r Reply) Want(t testing.TB, status int, contains ...string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("got %d %s, want %d", r.Status, r.Body, status)
	}
	for _, c := range contains {
		if !strings.Contains(string(r.Body), c) {
			t.Fatalf("body %s does not contain %s", r.Body, c)
		}
	}
}

// Object decodes the body as a JSON object.
func (r Reply) Object(t testing.TB) map[string]any {
	t.Helper()
	var v map[string]any
	r.JSON(t, &v)
	return v
}
