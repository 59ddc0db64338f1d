package upstream

import (
	"io"
	"net/http"
	"sync/atomic"
)

// LimitedBody streams a client's request body to an upstream and fails
// once more than its limit was read, so an upstream receives at most the
// limit and never a complete over-limit body. The transport reads it from
// its own goroutine; TooLarge may be asked from any.
type LimitedBody struct {
	body      io.ReadCloser
	limit     int64
	remaining int64
	exceeded  atomic.Bool
}

// LimitBody wraps body with a limit of limit bytes.
func LimitBody(body io.ReadCloser, limit int64) *LimitedBody {
	return &LimitedBody{body: body, limit: limit, remaining: limit}
}

// Read reads from the body; past the limit it returns *http.MaxBytesError.
func (b *LimitedBody) Read(p []byte) (int, error) {
	if b.remaining < 0 {
		return 0, &http.MaxBytesError{Limit: b.limit}
	}
	if int64(len(p)) > b.remaining+1 {
		p = p[:b.remaining+1]
	}
	n, err := b.body.Read(p)
	b.remaining -= int64(n)
	if b.remaining < 0 {
		b.exceeded.Store(true)
		return n, &http.MaxBytesError{Limit: b.limit}
	}
	return n, err
}

// Close closes the client's body.
func (b *LimitedBody) Close() error { return b.body.Close() }

// TooLarge reports whether the body went past its limit; a nil body never
// does.
func (b *LimitedBody) TooLarge() bool { return b != nil && b.exceeded.Load() }
