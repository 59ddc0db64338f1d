package usageplan

import (
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// storeErrorLogInterval is the least time between two store-error log
// lines: during an outage every request fails, and one line a second says
// as much as thousands.
const storeErrorLogInterval = time.Second

// storeErrorLog logs store failures at a bounded rate, counting the ones
// it left out.
type storeErrorLog struct {
	logger     *zap.Logger
	now        func() time.Time
	last       atomic.Int64 // unix nanoseconds of the last line
	suppressed atomic.Int64
}

// warn logs msg unless a line was written less than
// storeErrorLogInterval ago.
func (l *storeErrorLog) warn(msg string, fields ...zap.Field) {
	now := l.now().UnixNano()
	last := l.last.Load()
	if now-last < int64(storeErrorLogInterval) || !l.last.CompareAndSwap(last, now) {
		l.suppressed.Add(1)
		return
	}
	if n := l.suppressed.Swap(0); n > 0 {
		fields = append(fields, zap.Int64("similar_errors_not_logged", n))
	}
	l.logger.Warn(msg, fields...)
}
