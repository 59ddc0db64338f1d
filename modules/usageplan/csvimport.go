package usageplan

import (
	"context"
	"encoding/csv"
	"errors"
	"io"
	"strings"
)

// ImportResult reports a CSV import: the keys created and the rows skipped
// (a key value that already exists is skipped, so an import can be re-run).
type ImportResult struct {
	// Imported lists the created keys (without values); Skipped the rest.
	Imported []KeyView    `json:"imported"`
	Skipped  []SkippedRow `json:"skipped"`
}

// SkippedRow is one CSV row that was not imported.
type SkippedRow struct {
	// Row is the CSV line number; Name the key's name; Reason why.
	Row    int    `json:"row"`
	Name   string `json:"name"`
	Reason string `json:"reason"`
}

// parsePlanMap reads plan_map values <API Gateway plan id>=<gpugate plan>.
func parsePlanMap(values []string) (map[string]string, error) {
	m := map[string]string{}
	for _, v := range values {
		for _, pair := range strings.Split(v, ",") {
			id, plan, ok := strings.Cut(strings.TrimSpace(pair), "=")
			if !ok || id == "" || plan == "" {
				return nil, badRequest("plan_map %q: write <usage plan id>=<plan>, e.g. a1b2c3=basic", pair)
			}
			m[id] = plan
		}
	}
	return m, nil
}

// maxImportRows bounds one import.
const maxImportRows = 10000

// ImportCSV imports keys from an API Gateway CSV export with the columns
// Name,Key,Description,Enabled,UsagePlanIds (header row required, columns
// in any order; Enabled is true or false in any case). UsagePlanIds name gpugate plans, separated by ',', ';' or
// spaces; plan, when non-empty, replaces them for every row. Every row is
// checked before any key is created.
//
// planMap maps API Gateway usage plan ids (as an export names them) to
// gpugate plans; an id it does not map must be a gpugate plan's name.
func (a *App) ImportCSV(ctx context.Context, r io.Reader, plan string, planMap map[string]string) (ImportResult, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if err != nil {
		return ImportResult{}, badRequest("reading the CSV header: %v", err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))] = i
	}
	for _, need := range []string{"name", "key", "enabled"} {
		if _, ok := col[need]; !ok {
			return ImportResult{}, badRequest("the CSV has no %s column (want Name,Key,Description,Enabled,UsagePlanIds)", need)
		}
	}
	field := func(rec []string, name string) string {
		i, ok := col[name]
		if !ok || i >= len(rec) {
			return ""
		}
		return strings.TrimSpace(rec[i])
	}
	var rows []NewKey
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return ImportResult{}, badRequest("CSV row %d: %v", line, err)
		}
		if len(rows) >= maxImportRows {
			return ImportResult{}, badRequest("at most %d keys per import", maxImportRows)
		}
		nk := NewKey{Name: field(rec, "name"), Description: field(rec, "description"), Value: field(rec, "key")}
		if len(rec) != len(header) {
			return ImportResult{}, badRequest("CSV row %d (%s): %d fields, the header has %d", line, nk.Name, len(rec), len(header))
		}
		var enabled bool
		switch en := field(rec, "enabled"); {
		case strings.EqualFold(en, "true"):
			enabled = true
		case strings.EqualFold(en, "false"):
			enabled = false
		default:
			return ImportResult{}, badRequest("CSV row %d (%s): Enabled must be true or false", line, nk.Name)
		}
		nk.Enabled = &enabled
		if nk.Name == "" || len(nk.Name) > maxKeyNameLen {
			return ImportResult{}, badRequest("CSV row %d: Name is required (at most %d characters)", line, maxKeyNameLen)
		}
		if plan != "" {
			nk.Plans = []string{plan}
		} else {
			nk.Plans = strings.FieldsFunc(field(rec, "usageplanids"), func(r rune) bool { return r == ',' || r == ';' || r == ' ' })
			for i, id := range nk.Plans {
				if mapped, ok := planMap[id]; ok {
					nk.Plans[i] = mapped
				}
			}
		}
		if nk.Value == "" {
			return ImportResult{}, badRequest("CSV row %d (%s): the Key column is empty", line, nk.Name)
		}
		if len(nk.Value) < minImportedKeyLen {
			return ImportResult{}, badRequest("CSV row %d (%s): a key value must have at least %d characters", line, nk.Name, minImportedKeyLen)
		}
		if err := a.checkPlans(nk.Plans); err != nil {
			return ImportResult{}, badRequest("CSV row %d (%s): %v (pass plan=<name> to import into one plan)", line, nk.Name, reason(err))
		}
		rows = append(rows, nk)
	}
	res := ImportResult{Imported: []KeyView{}, Skipped: []SkippedRow{}}
	for i, nk := range rows {
		kv, err := a.CreateKey(ctx, nk)
		switch {
		case errors.Is(err, errConflict):
			res.Skipped = append(res.Skipped, SkippedRow{Row: i + 2, Name: nk.Name, Reason: "a key with this value already exists"})
		case errors.Is(err, errBadRequest):
			res.Skipped = append(res.Skipped, SkippedRow{Row: i + 2, Name: nk.Name, Reason: reason(err)})
		case err != nil:
			return res, err
		default:
			res.Imported = append(res.Imported, kv)
		}
	}
	return res, nil
}
