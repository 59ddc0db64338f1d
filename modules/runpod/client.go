package runpod

import (
	"bytes"
	"errors"
	"io"
	"net/http"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"
)

// maxUpstreamBody bounds a RunPod management API answer read in mode pods.
const maxUpstreamBody = 8 << 20

// apiResponse is one answer of the v2 management API.
type apiResponse struct {
	status int
	header http.Header
	body   []byte
}

// call sends one request to the v2 management API (path is relative to
// base_url) on behalf of the client request r, and reads the answer. A GET
// whose connection could not be made is retried once; nothing else is
// retried, so a create is never sent twice.
func (h *Handler) call(r *http.Request, method, path string, body []byte) (*apiResponse, error) {
	resp, err := h.send(r, method, path, body)
	var dialErr reverseproxy.DialError
	if err != nil && method == http.MethodGet && errors.As(err, &dialErr) && r.Context().Err() == nil {
		resp, err = h.send(r, method, path, body)
	}
	return resp, err
}

func (h *Handler) send(r *http.Request, method, path string, body []byte) (*apiResponse, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	u := *h.base
	u.Path += path
	req, err := http.NewRequestWithContext(r.Context(), method, u.String(), rd)
	if err != nil {
		return nil, err
	}
	// The client's Host and TLS, for the forwarding headers the upstream
	// client sets (it addresses RunPod's own host).
	req.Host, req.TLS = r.Host, r.TLS
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "gpugate")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxUpstreamBody))
	if err != nil {
		return nil, err
	}
	return &apiResponse{status: resp.StatusCode, header: resp.Header, body: data}, nil
}
