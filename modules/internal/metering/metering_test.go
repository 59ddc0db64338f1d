package metering

import (
	"context"
	"testing"
)

func TestRecordReachesTheSheet(t *testing.T) {
	t.Parallel()
	Record(context.Background(), Reading{Source: ModalWall, Seconds: 1}) // no sheet: nothing happens
	if Metered(context.Background()) {
		t.Fatal("a context without a sheet is metered")
	}
	ctx, sheet := WithSheet(context.Background())
	if !Metered(ctx) {
		t.Fatal("a context with a sheet is not metered")
	}
	Record(ctx, Reading{Source: RunPodExecution, Seconds: 2.5, Once: "job-1"})
	type other struct{}
	Record(context.WithValue(ctx, other{}, 1), Reading{Source: RunPodDelay, Seconds: 0.1, Once: "job-1"})
	got := sheet.Readings()
	if len(got) != 2 || got[0].Source != RunPodExecution || got[0].Seconds != 2.5 || got[1].Source != RunPodDelay {
		t.Fatalf("readings: %+v", got)
	}
}
