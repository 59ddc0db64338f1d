package console

import (
	"strconv"
	"time"
)

// chartDays is how many days the usage chart shows, today included.
const chartDays = 30

// Chart geometry, in SVG user units (the SVG scales to its box).
const (
	chartWidth  = 640
	chartHeight = 180
	chartLeft   = 44 // room for the y-axis labels
	chartRight  = 8
	chartTop    = 10
	chartBottom = 22 // room for the day labels
)

// chart is a bar chart of a key's daily use, rendered as inline SVG on the
// server (it needs no script), with the same numbers as a table.
type chart struct {
	ID            string
	Unit          string
	Note          string
	From, To      string
	Width, Height int
	Total         int64
	Days          int
	HasRemaining  bool
	Bars          []bar
	Ticks         []tick
	DayLabels     []dayLabel
}

// bar is one day.
type bar struct {
	Day        string
	Used       int64
	Remaining  int64 // -1: the plan has no quota
	Today      bool
	X, Y, W, H string
}

// tick is a horizontal grid line with its value.
type tick struct {
	Label                     string
	X1, X2, Y, LabelX, LabelY string
}

// dayLabel names a day under the bars.
type dayLabel struct {
	Label, X, Y, Anchor string
}

// newChart lays out pairs ([used, remaining] per day, the usage API's
// values) for the days from first on.
func newChart(id string, first time.Time, pairs [][2]int64) *chart {
	c := &chart{ID: id, Unit: "Quota units used", Width: chartWidth, Height: chartHeight, Days: len(pairs)}
	if len(pairs) == 0 {
		return c
	}
	last := first.AddDate(0, 0, len(pairs)-1)
	c.From, c.To = first.Format(time.DateOnly), last.Format(time.DateOnly)
	var peak int64
	for _, p := range pairs {
		c.Total += p[0]
		peak = max(peak, p[0])
		c.HasRemaining = c.HasRemaining || p[1] >= 0
	}
	top := niceCeiling(peak)
	plotW := float64(chartWidth - chartLeft - chartRight)
	plotH := float64(chartHeight - chartTop - chartBottom)
	base := float64(chartTop) + plotH
	slot := plotW / float64(len(pairs))
	for i, p := range pairs {
		h := plotH * float64(p[0]) / float64(top)
		if p[0] > 0 && h < 1 {
			h = 1 // a day with any use stays visible
		}
		x := float64(chartLeft) + float64(i)*slot
		c.Bars = append(c.Bars, bar{
			Day: first.AddDate(0, 0, i).Format(time.DateOnly), Used: p[0], Remaining: p[1], Today: i == len(pairs)-1,
			X: num(x + slot*0.1), Y: num(base - h), W: num(slot * 0.8), H: num(h),
		})
	}
	values := []int64{0, top}
	if top%2 == 0 {
		values = []int64{0, top / 2, top}
	}
	for _, v := range values {
		y := base - plotH*float64(v)/float64(top)
		c.Ticks = append(c.Ticks, tick{Label: strconv.FormatInt(v, 10), X1: num(chartLeft), X2: num(chartWidth - chartRight),
			Y: num(y), LabelX: num(chartLeft - 6), LabelY: num(y + 3.5)})
	}
	labelY := num(chartHeight - 6)
	c.DayLabels = []dayLabel{
		{Label: first.Format("Jan 2"), X: num(chartLeft), Y: labelY, Anchor: "start"},
		{Label: first.AddDate(0, 0, len(pairs)/2).Format("Jan 2"), X: num(float64(chartLeft) + (float64(len(pairs)/2)+0.5)*slot), Y: labelY, Anchor: "middle"},
		{Label: "today", X: num(chartWidth - chartRight), Y: labelY, Anchor: "end"},
	}
	return c
}

// niceCeiling is the smallest of 1, 2, 5, 10, 20, 50 ... that is at least
// n (and at least 1), the top of the chart's scale.
func niceCeiling(n int64) int64 {
	for step := int64(1); ; step *= 10 {
		for _, m := range []int64{1, 2, 5} {
			if m*step >= n {
				return m * step
			}
		}
		if step > (1<<62)/10 {
			return n
		}
	}
}

// num formats an SVG coordinate.
func num(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }
