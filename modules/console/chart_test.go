package console

import (
	"testing"
	"time"
)

func TestChartScalesBarsToTheBusiestDay(t *testing.T) {
	t.Parallel()
	first := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	pairs := make([][2]int64, chartDays)
	for i := range pairs {
		pairs[i] = [2]int64{0, 1000}
	}
	pairs[3] = [2]int64{40, 960}
	pairs[29] = [2]int64{1, 959}
	c := newChart("c", first, pairs)
	if c.Total != 41 || c.From != "2026-11-01" || c.To != "2026-11-30" || len(c.Bars) != chartDays || !c.HasRemaining {
		t.Fatalf("chart: total %d %s..%s %d bars", c.Total, c.From, c.To, len(c.Bars))
	}
	full := chartHeight - chartTop - chartBottom // 40 is drawn at 40 of a 50 scale
	if b := c.Bars[3]; b.Day != "2026-11-04" || b.Used != 40 || b.H != num(float64(full)*40/50) || b.Today {
		t.Fatalf("busiest day: %+v", b)
	}
	if b := c.Bars[29]; !b.Today || b.H != num(float64(full)/50) {
		t.Fatalf("today: %+v", b)
	}
	if b := c.Bars[0]; b.H != "0.0" {
		t.Fatalf("an idle day: %+v", b)
	}
	if len(c.Ticks) != 3 || c.Ticks[0].Label != "0" || c.Ticks[1].Label != "25" || c.Ticks[2].Label != "50" {
		t.Fatalf("ticks: %+v", c.Ticks)
	}
}

func TestNiceCeiling(t *testing.T) {
	t.Parallel()
	for n, want := range map[int64]int64{0: 1, 1: 1, 2: 2, 3: 5, 6: 10, 10: 10, 11: 20, 99: 100, 101: 200, 4999: 5000} {
		if got := niceCeiling(n); got != want {
			t.Errorf("niceCeiling(%d) = %d, want %d", n, got, want)
		}
	}
}
