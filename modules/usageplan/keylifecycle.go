package usageplan

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gpugate/gpugate/modules/usageplan/store"
)

// Key lifecycle: expiry, rotation with a grace period, changes of plans,
// last-used times. The admin routes are in adminkeys.go.

// DefaultRotationGrace is how long a rotated key's old value stays valid
// when the rotation names no grace period.
const DefaultRotationGrace = 24 * time.Hour

// maxRotationGrace bounds a grace period.
const maxRotationGrace = 90 * 24 * time.Hour

// parseExpiry reads an expiry: empty (never), a lifetime from now (30d,
// 12h, 90m), a date (2026-12-31, the start of that UTC day) or an RFC 3339
// time. A time that is not in the future is refused.
func parseExpiry(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	var t time.Time
	if d, err := parseLifetime(s); err == nil {
		t = now.Add(d)
	} else if day, err := time.Parse(time.DateOnly, s); err == nil {
		t = day
	} else if ts, err := time.Parse(time.RFC3339, s); err == nil {
		t = ts
	} else {
		return time.Time{}, badRequest("expires %q: write a lifetime (30d, 12h), a date (2026-12-31) or a time (2026-12-31T18:00:00Z)", s)
	}
	if !t.After(now) {
		return time.Time{}, badRequest("expires %q is not in the future", s)
	}
	return t.UTC().Truncate(time.Second), nil
}

// parseLifetime reads 30d (days) or a Go duration (12h, 90m).
func parseLifetime(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days < 1 || days > 36500 {
			return 0, fmt.Errorf("bad day count")
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("bad duration")
	}
	return d, nil
}

// withLastUsed fills the views' last-used times (a store that cannot say
// leaves them out: a listing must not fail for it).
func (a *App) withLastUsed(ctx context.Context, views []KeyView) []KeyView {
	ids := make([]string, len(views))
	for i, v := range views {
		ids[i] = v.ID
	}
	lu, err := a.st().LastUsed(ctx, ids)
	if err != nil {
		return views
	}
	for i := range views {
		views[i].LastUsed = lu[views[i].ID]
	}
	return views
}

// KeyChange is a PATCH of a stored key: every field present is applied.
type KeyChange struct {
	// Name, Description and Enabled replace the key's.
	Name        *string `json:"name,omitempty"`
	Description *string `json:"description,omitempty"`
	Enabled     *bool   `json:"enabled,omitempty"`
	// Plans replaces the key's plans (at least one).
	Plans []string `json:"plans,omitempty"`
	// Expires sets the expiry (see NewKey.Expires); "never" removes it.
	Expires *string `json:"expires,omitempty"`
}

// UpdateKey applies change to stored key id.
func (a *App) UpdateKey(ctx context.Context, id string, change KeyChange) (KeyView, error) {
	if err := a.notStatic(id); err != nil {
		return KeyView{}, err
	}
	if change.Plans != nil {
		if err := a.checkPlans(change.Plans); err != nil {
			return KeyView{}, err
		}
	}
	if change.Name != nil {
		if n := strings.TrimSpace(*change.Name); n == "" || len(n) > maxKeyNameLen {
			return KeyView{}, badRequest("name must have 1 to %d characters", maxKeyNameLen)
		}
	}
	var expires time.Time
	clearExpiry := change.Expires != nil && strings.EqualFold(strings.TrimSpace(*change.Expires), "never")
	if change.Expires != nil && !clearExpiry {
		var err error
		if expires, err = parseExpiry(*change.Expires, a.now()); err != nil {
			return KeyView{}, err
		}
		if expires.IsZero() {
			return KeyView{}, badRequest(`expires: write a lifetime, a date or a time, or "never"`)
		}
	}
	k, err := a.st().UpdateKey(ctx, id, func(k *store.Key) {
		if change.Name != nil {
			k.Name = strings.TrimSpace(*change.Name)
		}
		if change.Description != nil {
			k.Description = *change.Description
		}
		if change.Enabled != nil {
			k.Enabled = *change.Enabled
		}
		if change.Plans != nil {
			k.Plans = slices.Clone(change.Plans)
		}
		if clearExpiry {
			k.Expires = time.Time{}
		} else if !expires.IsZero() {
			k.Expires = expires
		}
	})
	if err != nil {
		return KeyView{}, err
	}
	return a.withLastUsed(ctx, []KeyView{viewOf(k, "store")})[0], nil
}

// Rotation asks for a new value of a key.
type Rotation struct {
	// Grace is how long the old value stays valid (a Go duration or 7d;
	// default 24h; 0s ends it at once).
	Grace string `json:"grace,omitempty"`
	// Value imports the new value; empty generates one.
	Value string `json:"value,omitempty"`
}

// RotateKey gives stored key id a new value, shown once in the answer;
// the id, plans and counters stay, and the old value is accepted for the
// grace period.
func (a *App) RotateKey(ctx context.Context, id string, rot Rotation) (KeyView, error) {
	if err := a.notStatic(id); err != nil {
		return KeyView{}, err
	}
	grace := DefaultRotationGrace
	if g := strings.TrimSpace(rot.Grace); g != "" {
		d, err := parseLifetime(g)
		if g == "0" || g == "0s" {
			d, err = 0, nil
		}
		if err != nil || d > maxRotationGrace {
			return KeyView{}, badRequest("grace %q: write a duration up to 90d, e.g. 24h or 7d (0s ends the old value now)", g)
		}
		grace = d
	}
	value, hash, err := a.storedKeyValue(rot.Value)
	if err != nil {
		return KeyView{}, err
	}
	k, err := a.st().RotateKey(ctx, id, hash, a.now().Add(grace).UTC())
	if err != nil {
		if err == store.ErrExists {
			return KeyView{}, fmt.Errorf("%w: a key with this value already exists", errConflict)
		}
		return KeyView{}, err
	}
	v := a.withLastUsed(ctx, []KeyView{viewOf(k, "store")})[0]
	if rot.Value == "" {
		v.Value = value
	}
	return v, nil
}
