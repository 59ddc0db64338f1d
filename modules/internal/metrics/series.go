package metrics

import "sync"

// Series is one series of a vector (one set of label values) that a hot
// path uses on every request: it is looked up on first use, as
// WithLabelValues would (so it appears when first counted), and then kept,
// sparing each later request the label hashing and the vector's lock. Keep
// it beside what fixes its labels (a compiled plan, a handler's outcome),
// made per config; the vector behind it is the process-wide collector, so
// a kept series stays the one the registry exposes.
type Series[M any] struct {
	once sync.Once
	m    M
}

// Get returns the series, looking it up with lookup the first time.
func (s *Series[M]) Get(lookup func() M) M {
	s.once.Do(func() { s.m = lookup() })
	return s.m
}
