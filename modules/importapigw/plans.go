package importapigw

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// planName maps AWS usage plan ids to gpugate plan names.
type planNames map[string]string

// gpugate plan names: letters, digits, '.', '_' and '-', at most 64.
var (
	nameDisallowed = regexp.MustCompile(`[^A-Za-z0-9._-]+`)
	maxPlanName    = 64
)

// namePlans gives every AWS plan a gpugate name derived from its AWS name,
// unique, in the plans' order.
func namePlans(plans []UsagePlan, ns *notes) planNames {
	out := planNames{}
	used := map[string]bool{}
	for _, p := range plans {
		name := strings.Trim(nameDisallowed.ReplaceAllString(p.Name, "-"), "-.")
		if len(name) > maxPlanName {
			name = name[:maxPlanName]
		}
		if name == "" {
			name = "plan-" + nameDisallowed.ReplaceAllString(p.ID, "-")
		}
		if used[name] {
			name = fmt.Sprintf("%s-%s", name, nameDisallowed.ReplaceAllString(p.ID, "-"))
		}
		if name != p.Name {
			ns.add(planWhere(p), "name", "gpugate plan names use letters, digits, '.', '_' and '-': this plan is %q (keys and usage_plan lines use that name)", name)
		}
		used[name] = true
		out[p.ID] = name
	}
	return out
}

func planWhere(p UsagePlan) string {
	return fmt.Sprintf("usage plan %s %q", p.ID, p.Name)
}

// stageSelector says which API stage the Caddyfile is for; empty fields
// match any.
type stageSelector struct {
	apiID, stage string
}

func (s stageSelector) matches(st APIStage) bool {
	return (s.apiID == "" || s.apiID == st.APIID) && (s.stage == "" || s.stage == st.Stage)
}

func (s stageSelector) String() string {
	id, stage := s.apiID, s.stage
	if id == "" {
		id = "*"
	}
	if stage == "" {
		stage = "*"
	}
	return id + "/" + stage
}

// throttleOverride is one per-method throttle of a plan.
type throttleOverride struct {
	method, path string
	t            ThrottleSettings
}

// writePlan writes one `plan` block of the usage_plans global option.
func writePlan(w *cfWriter, p UsagePlan, name string, sel stageSelector, quotaOffset string, ns *notes) {
	var stages []string
	for _, st := range p.APIStages {
		stages = append(stages, st.APIID+"/"+st.Stage)
	}
	desc := fmt.Sprintf("AWS usage plan %s %q", p.ID, p.Name)
	if len(stages) > 0 {
		desc += " (stages " + strings.Join(stages, ", ") + ")"
	}
	w.comment(desc)
	if p.Description != "" {
		w.comment(p.Description)
	}
	w.open("plan", name)
	wrote := false
	if t, ok := throttleOf(p.Throttle, planWhere(p), "throttle", ns); ok {
		w.line("throttle", "rate", formatRate(t.RateLimit), "burst", strconv.FormatInt(t.BurstLimit, 10))
		wrote = true
	}
	for _, o := range overridesOf(p, sel, ns) {
		w.line("throttle", o.method, quote(o.path), "rate", formatRate(o.t.RateLimit), "burst", strconv.FormatInt(o.t.BurstLimit, 10))
		wrote = true
	}
	if p.Quota != nil {
		if line, ok := quotaLine(p, quotaOffset, ns); ok {
			w.line(line...)
			wrote = true
		}
	}
	if !wrote {
		// An empty block is valid but reads like a mistake.
		w.comment("no throttle and no quota: keys of this plan are only checked, never limited")
	}
	w.close()
	if p.ProductCode != "" {
		ns.add(planWhere(p), "productCode="+p.ProductCode, "AWS Marketplace metering has no gpugate counterpart; bill from `gpugate usage-plans usage` instead")
	}
	if len(p.Tags) > 0 {
		ns.add(planWhere(p), "tags", "not kept (gpugate plans have no tags)")
	}
}

// throttleOf checks an AWS throttle for gpugate: rate above 0 and burst at
// least 1. ok is false when there is no throttle to write.
func throttleOf(t *ThrottleSettings, where, field string, ns *notes) (ThrottleSettings, bool) {
	if t == nil || (t.RateLimit == 0 && t.BurstLimit == 0) {
		return ThrottleSettings{}, false
	}
	out := *t
	if out.RateLimit <= 0 {
		ns.add(where, fmt.Sprintf("%s.rateLimit=%v", field, t.RateLimit), "a gpugate throttle needs a rate above 0; no throttle written, add `throttle rate <r> burst <b>` by hand")
		return ThrottleSettings{}, false
	}
	if out.BurstLimit < 1 {
		out.BurstLimit = int64(math.Max(1, math.Ceil(out.RateLimit)))
		ns.add(where, fmt.Sprintf("%s.burstLimit=%d", field, t.BurstLimit), "a gpugate bucket holds at least one request; written as burst %d", out.BurstLimit)
	}
	return out, true
}

// formatRate writes a rate without a trailing ".0" (50, 0.5).
func formatRate(r float64) string {
	return strconv.FormatFloat(r, 'f', -1, 64)
}

// overridesOf returns the plan's per-method throttles for the selected
// stage, sorted by path then method.
func overridesOf(p UsagePlan, sel stageSelector, ns *notes) []throttleOverride {
	seen := map[string]throttleOverride{}
	var out []throttleOverride
	for _, st := range p.APIStages {
		keys := make([]string, 0, len(st.Throttle))
		for k := range st.Throttle {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, key := range keys {
			where := fmt.Sprintf("%s stage %s/%s", planWhere(p), st.APIID, st.Stage)
			if !sel.matches(st) {
				ns.add(where, "throttle "+key, "belongs to another stage than the one imported (%s); not written", sel)
				continue
			}
			method, path, ok := splitThrottleKey(key)
			if !ok {
				ns.add(where, "throttle "+key, "not a <resourcePath>/<METHOD> key; not written")
				continue
			}
			t, ok := throttleOf(ptr(st.Throttle[key]), where, "throttle "+key, ns)
			if !ok {
				continue
			}
			gpath := throttlePath(path)
			if gpath != path {
				ns.add(where, "throttle "+key, "written for path %s, which also matches deeper paths (gpugate throttle paths match like Caddy's path matcher)", gpath)
			}
			id := method + " " + gpath
			if prev, dup := seen[id]; dup {
				if prev.t != t {
					ns.add(where, "throttle "+key, "another stage of the plan throttles %s differently; the first one is written", id)
				}
				continue
			}
			o := throttleOverride{method: method, path: gpath, t: t}
			seen[id] = o
			out = append(out, o)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].path != out[j].path {
			return out[i].path < out[j].path
		}
		return out[i].method < out[j].method
	})
	return out
}

func ptr[T any](v T) *T { return &v }

// splitThrottleKey splits "/pets/{id}/GET" into GET and /pets/{id}; "//GET"
// is the root resource. ANY and * become *.
func splitThrottleKey(key string) (method, path string, ok bool) {
	i := strings.LastIndex(key, "/")
	if i < 0 || i == len(key)-1 {
		return "", "", false
	}
	method, path = strings.ToUpper(key[i+1:]), key[:i]
	if method == "ANY" {
		method = "*"
	}
	if path == "" {
		path = "/"
	}
	if !strings.HasPrefix(path, "/") {
		return "", "", false
	}
	return method, path, true
}

// throttlePath turns an API Gateway resource path into a gpugate throttle
// path: everything from the first {param} on becomes a trailing *.
func throttlePath(p string) string {
	if i := strings.Index(p, "{"); i >= 0 {
		return p[:i] + "*"
	}
	return p
}

// quotaLine returns the tokens of the plan's quota line.
func quotaLine(p UsagePlan, offset string, ns *notes) ([]string, bool) {
	q := p.Quota
	period := map[string]string{"DAY": "day", "WEEK": "week", "MONTH": "month"}[strings.ToUpper(q.Period)]
	if period == "" {
		ns.add(planWhere(p), "quota.period="+q.Period, "not DAY, WEEK or MONTH; no quota written")
		return nil, false
	}
	if q.Limit < 0 {
		ns.add(planWhere(p), fmt.Sprintf("quota.limit=%d", q.Limit), "a quota is 0 or more units; no quota written")
		return nil, false
	}
	if q.Offset != 0 {
		ns.add(planWhere(p), fmt.Sprintf("quota.offset=%d", q.Offset),
			"AWS took %d requests off the plan's first period only (to prorate a plan that started mid-period); gpugate gives every window the full limit, and its own `offset` moves window starts in time instead: nothing to do unless that first period still runs", q.Offset)
	}
	if period == "week" {
		ns.add(planWhere(p), "quota.period=WEEK", "gpugate weeks start on Monday 00:00 UTC; check that your clients expect that, or move every window start later with --quota-offset (a duration below the shortest quota window of all plans)")
	}
	line := []string{"quota", strconv.FormatInt(q.Limit, 10), "per", period}
	if offset != "" {
		line = append(line, "offset", offset)
	}
	return line, true
}
