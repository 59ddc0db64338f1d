package embedded

import (
	"testing"

	"github.com/gpugate/gpugate/modules/usageplan/store"
	"github.com/gpugate/gpugate/modules/usageplan/store/storetest"
)

func TestMemoryStoreLimitState(t *testing.T) {
	storetest.RunLimitState(t, func(t *testing.T) store.Store {
		s := OpenMemory()
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}
