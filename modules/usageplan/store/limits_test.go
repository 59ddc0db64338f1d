package store

import (
	"testing"
	"time"
)

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestThrottleBurstAndRefill(t *testing.T) {
	th := Throttle{Rate: 2, Burst: 3} // one token every 500ms
	now := at("2026-11-22T10:00:00Z")
	var tat time.Time
	steps := []struct {
		name      string
		advance   time.Duration
		wantOK    bool
		wantRetry time.Duration
		wantLeft  int64
	}{
		{"burst 1", 0, true, 0, 2},
		{"burst 2", 0, true, 0, 1},
		{"burst 3", 0, true, 0, 0},
		{"bucket empty", 0, false, 500 * time.Millisecond, 0},
		{"partial refill not enough", 200 * time.Millisecond, false, 300 * time.Millisecond, 0},
		{"one token back", 300 * time.Millisecond, true, 0, 0},
		{"full after idle", 10 * time.Second, true, 0, 2},
	}
	for _, s := range steps {
		now = now.Add(s.advance)
		next, ok, retry := th.Admit(tat, now)
		if ok != s.wantOK || retry != s.wantRetry {
			t.Fatalf("%s: Admit = ok %v retry %v, want ok %v retry %v", s.name, ok, retry, s.wantOK, s.wantRetry)
		}
		if ok {
			tat = next
			if left, _ := th.Remaining(tat, now); left != s.wantLeft {
				t.Fatalf("%s: remaining %d, want %d", s.name, left, s.wantLeft)
			}
		}
	}
}

func TestThrottleFractionalRate(t *testing.T) {
	th := Throttle{Rate: 0.5, Burst: 1} // one request every 2s
	now := at("2026-11-22T10:00:00Z")
	tat, ok, _ := th.Admit(time.Time{}, now)
	if !ok {
		t.Fatal("first request refused")
	}
	if _, ok, retry := th.Admit(tat, now.Add(time.Second)); ok || retry != time.Second {
		t.Fatalf("after 1s: ok %v retry %v, want refused with 1s", ok, retry)
	}
	if _, ok, _ := th.Admit(tat, now.Add(2*time.Second)); !ok {
		t.Fatal("after 2s: refused")
	}
}

func TestQuotaWindows(t *testing.T) {
	cases := []struct {
		name      string
		q         Quota
		now       string
		wantStart string
		wantEnd   string
	}{
		{"day middle", Quota{Period: Day}, "2026-11-22T15:04:05Z", "2026-11-22T00:00:00Z", "2026-11-23T00:00:00Z"},
		{"day last ns before midnight", Quota{Period: Day}, "2026-11-22T23:59:59.999999999Z", "2026-11-22T00:00:00Z", "2026-11-23T00:00:00Z"},
		{"day at midnight", Quota{Period: Day}, "2026-11-23T00:00:00Z", "2026-11-23T00:00:00Z", "2026-11-24T00:00:00Z"},
		{"day in another zone is UTC", Quota{Period: Day}, "2026-11-22T23:30:00-05:00", "2026-11-23T00:00:00Z", "2026-11-24T00:00:00Z"},
		{"day offset before boundary", Quota{Period: Day, Offset: 8 * time.Hour}, "2026-11-22T07:59:59Z", "2026-11-21T08:00:00Z", "2026-11-22T08:00:00Z"},
		{"day offset at boundary", Quota{Period: Day, Offset: 8 * time.Hour}, "2026-11-22T08:00:00Z", "2026-11-22T08:00:00Z", "2026-11-23T08:00:00Z"},
		{"week on Sunday", Quota{Period: Week}, "2026-11-22T12:00:00Z", "2026-11-16T00:00:00Z", "2026-11-23T00:00:00Z"},
		{"week Monday midnight", Quota{Period: Week}, "2026-11-23T00:00:00Z", "2026-11-23T00:00:00Z", "2026-11-30T00:00:00Z"},
		{"week Sunday last second", Quota{Period: Week}, "2026-11-29T23:59:59Z", "2026-11-23T00:00:00Z", "2026-11-30T00:00:00Z"},
		{"week offset one day (Tuesday start)", Quota{Period: Week, Offset: 24 * time.Hour}, "2026-11-23T12:00:00Z", "2026-11-17T00:00:00Z", "2026-11-24T00:00:00Z"},
		{"week across year end", Quota{Period: Week}, "2027-01-01T00:00:00Z", "2026-12-28T00:00:00Z", "2027-01-04T00:00:00Z"},
		{"month end 30 days", Quota{Period: Month}, "2026-11-30T23:59:59Z", "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z"},
		{"month start", Quota{Period: Month}, "2026-12-01T00:00:00Z", "2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z"},
		{"february leap year", Quota{Period: Month}, "2028-02-29T12:00:00Z", "2028-02-01T00:00:00Z", "2028-03-01T00:00:00Z"},
		{"month offset", Quota{Period: Month, Offset: 12 * time.Hour}, "2026-12-01T11:00:00Z", "2026-11-01T12:00:00Z", "2026-12-01T12:00:00Z"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			start, end := c.q.Window(at(c.now))
			if !start.Equal(at(c.wantStart)) || !end.Equal(at(c.wantEnd)) {
				t.Fatalf("Window(%s) = %s..%s, want %s..%s", c.now, start, end, c.wantStart, c.wantEnd)
			}
		})
	}
}

func TestQuotaValidate(t *testing.T) {
	bad := []Quota{
		{Limit: 1, Period: "year"},
		{Limit: -1, Period: Day},
		{Limit: 1, Period: Day, Offset: 24 * time.Hour},
		{Limit: 1, Period: Week, Offset: -time.Hour},
	}
	for _, q := range bad {
		if q.Validate() == nil {
			t.Errorf("Validate(%+v) = nil, want an error", q)
		}
	}
	if err := (Quota{Limit: 0, Period: Month, Offset: 27 * 24 * time.Hour}).Validate(); err != nil {
		t.Errorf("valid quota: %v", err)
	}
}

func TestCeilSeconds(t *testing.T) {
	for d, want := range map[time.Duration]int64{0: 0, -time.Second: 0, time.Nanosecond: 1, time.Second: 1,
		time.Second + time.Millisecond: 2, 90 * time.Minute: 5400} {
		if got := CeilSeconds(d); got != want {
			t.Errorf("CeilSeconds(%s) = %d, want %d", d, got, want)
		}
	}
}
