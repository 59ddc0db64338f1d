package modalsim

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// callIDParam is the query parameter of Modal's long-call redirects.
const callIDParam = "__modal_function_call_id"

// functionCalls models Modal's web request limit: a call that is still
// running at the limit is answered with 303 and keeps running; GETs on the
// redirect target wait for it again, and its result is read once.
type functionCalls struct {
	limit time.Duration

	mu      sync.Mutex
	pending map[string]*functionCall
}

// functionCall is one running (or finished, unread) web function call.
type functionCall struct {
	done   chan struct{}
	result *bufferedResponse
}

func newFunctionCalls(limit time.Duration) *functionCalls {
	return &functionCalls{limit: limit, pending: map[string]*functionCall{}}
}

// serve runs app for r under Modal's rules.
func (fc *functionCalls) serve(w http.ResponseWriter, r *http.Request, app http.Handler) {
	if id := r.URL.Query().Get(callIDParam); id != "" {
		if r.Method != http.MethodGet {
			plainError(w, http.StatusMethodNotAllowed, "modal-http: function call results are read with GET")
			return
		}
		fc.mu.Lock()
		call := fc.pending[id]
		fc.mu.Unlock()
		if call == nil {
			plainError(w, http.StatusNotFound, "modal-http: function call not found (a result can be read once)")
			return
		}
		fc.wait(w, r, id, call)
		return
	}
	id := newCallID()
	call := &functionCall{done: make(chan struct{}), result: newBufferedResponse()}
	fc.mu.Lock()
	fc.pending[id] = call
	fc.mu.Unlock()
	// The function keeps running when the client goes away, as on Modal.
	fr := r.Clone(context.WithoutCancel(r.Context()))
	go func() {
		defer close(call.done)
		app.ServeHTTP(call.result, fr)
	}()
	fc.wait(w, r, id, call)
}

// wait answers with the call's result when it finishes within the limit,
// or with a 303 to poll it again.
func (fc *functionCalls) wait(w http.ResponseWriter, r *http.Request, id string, call *functionCall) {
	timer := time.NewTimer(fc.limit)
	defer timer.Stop()
	select {
	case <-call.done:
		fc.mu.Lock()
		_, unread := fc.pending[id]
		delete(fc.pending, id)
		fc.mu.Unlock()
		if !unread {
			plainError(w, http.StatusNotFound, "modal-http: function call not found (a result can be read once)")
			return
		}
		call.result.writeTo(w)
	case <-timer.C:
		w.Header().Set("Location", redirectURL(r, id))
		w.WriteHeader(http.StatusSeeOther)
	case <-r.Context().Done():
	}
}

// redirectURL is the request's own absolute URL with the function call id
// set in its query, as Modal builds it.
func redirectURL(r *http.Request, id string) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	q := r.URL.Query()
	q.Set(callIDParam, id)
	u := url.URL{Scheme: scheme, Host: r.Host, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: q.Encode()}
	return u.String()
}

func newCallID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return "fc-" + hex.EncodeToString(b)
}

// bufferedResponse holds a finished function call's response.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newBufferedResponse() *bufferedResponse { return &bufferedResponse{header: http.Header{}} }

func (b *bufferedResponse) Header() http.Header { return b.header }

func (b *bufferedResponse) WriteHeader(status int) {
	if b.status == 0 {
		b.status = status
	}
}

func (b *bufferedResponse) Write(p []byte) (int, error) {
	b.WriteHeader(http.StatusOK)
	return b.body.Write(p)
}

func (b *bufferedResponse) writeTo(w http.ResponseWriter) {
	for k, v := range b.header {
		w.Header()[k] = v
	}
	if b.status == 0 {
		b.status = http.StatusOK
	}
	w.WriteHeader(b.status)
	_, _ = w.Write(b.body.Bytes())
}
