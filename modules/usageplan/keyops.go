package usageplan

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gpugate/gpugate/modules/usageplan/store"
)

// KeyView is a key as the admin API shows it: never its value or hash.
type KeyView struct {
	// ID, Name, Description, Enabled, Plans and Created are the key's
	// record (see store.Key).
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	Enabled     bool      `json:"enabled"`
	Plans       []string  `json:"plans"`
	Created     time.Time `json:"created,omitzero"`
	// Source is "store" (created at run time) or "config" (Caddyfile).
	Source string `json:"source"`
	// Value is the plaintext key, present only in the creation (and
	// rotation) response.
	Value string `json:"value,omitempty"`
	// Expires is when the key stops being accepted (absent: never).
	Expires time.Time `json:"expires,omitzero"`
	// Rotated is the last rotation; PreviousValidUntil ends the grace
	// period of the value before it.
	Rotated            time.Time `json:"rotated,omitzero"`
	PreviousValidUntil time.Time `json:"previousValidUntil,omitzero"`
	// LastUsed is the last time a request with the key was admitted.
	LastUsed time.Time `json:"lastUsed,omitzero"`
}

func viewOf(k store.Key, source string) KeyView {
	return KeyView{ID: k.ID, Name: k.Name, Description: k.Description, Enabled: k.Enabled,
		Plans: k.Plans, Created: k.Created, Source: source, Expires: k.Expires, Rotated: k.Rotated,
		PreviousValidUntil: k.PreviousUntil}
}

// NewKey is a key creation request.
type NewKey struct {
	// Name (required), Description and Plans (at least one) of the key.
	Name        string   `json:"name"`
	Description string   `json:"description,omitempty"`
	Plans       []string `json:"plans"`
	// Enabled defaults to true.
	Enabled *bool `json:"enabled,omitempty"`
	// Value imports an existing key value; empty generates one.
	Value string `json:"value,omitempty"`
	// Expires is a date (2026-12-31), a time (RFC 3339) or a lifetime
	// from now (30d, 12h); empty never expires.
	Expires string `json:"expires,omitempty"`
}

// Limits of a key creation request.
const (
	maxKeyNameLen     = 128
	minImportedKeyLen = 20
)

// errBadRequest marks client mistakes in admin requests.
var errBadRequest = errors.New("bad request")

// errConflict marks admin requests that clash with existing state.
var errConflict = errors.New("conflict")

// reason is an admin error's message without its class prefix.
func reason(err error) string {
	msg := err.Error()
	for _, class := range []error{errBadRequest, errConflict} {
		msg = strings.TrimPrefix(msg, class.Error()+": ")
	}
	return msg
}

func badRequest(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errBadRequest}, args...)...)
}

// checkPlans verifies that every plan is declared.
func (a *App) checkPlans(plans []string) error {
	if len(plans) == 0 {
		return badRequest("name at least one plan (declared: %s)", strings.Join(a.planNames(), ", "))
	}
	for _, p := range plans {
		if _, ok := a.plans[p]; !ok {
			return badRequest("unknown plan %q (declared: %s)", p, strings.Join(a.planNames(), ", "))
		}
	}
	return nil
}

// CreateKey creates a key in the store and returns it with its plaintext
// value, the only time the value is shown.
func (a *App) CreateKey(ctx context.Context, nk NewKey) (KeyView, error) {
	nk.Name = strings.TrimSpace(nk.Name)
	if nk.Name == "" || len(nk.Name) > maxKeyNameLen {
		return KeyView{}, badRequest("name is required (at most %d characters)", maxKeyNameLen)
	}
	if err := a.checkPlans(nk.Plans); err != nil {
		return KeyView{}, err
	}
	value, hash, err := a.storedKeyValue(nk.Value)
	if err != nil {
		return KeyView{}, err
	}
	expires, err := parseExpiry(nk.Expires, a.now())
	if err != nil {
		return KeyView{}, err
	}
	id, err := NewKeyID()
	if err != nil {
		return KeyView{}, err
	}
	k := store.Key{ID: id, Name: nk.Name, Description: nk.Description, Hash: hash,
		Enabled: nk.Enabled == nil || *nk.Enabled, Plans: slices.Clone(nk.Plans), Created: a.now().UTC().Truncate(time.Second),
		Expires: expires}
	if err := a.st().CreateKey(ctx, k); err != nil {
		if errors.Is(err, store.ErrExists) {
			return KeyView{}, fmt.Errorf("%w: a key with this value already exists", errConflict)
		}
		return KeyView{}, err
	}
	v := viewOf(k, "store")
	if nk.Value == "" {
		v.Value = value
	}
	return v, nil
}

// ListKeys returns the configured keys, then the stored ones.
func (a *App) ListKeys(ctx context.Context) ([]KeyView, error) {
	var out []KeyView
	for _, sk := range a.Keys {
		out = append(out, viewOf(a.staticByID[staticKeyID(sk.Name)], "config"))
	}
	keys, err := a.st().ListKeys(ctx)
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		out = append(out, viewOf(k, "store"))
	}
	return a.withLastUsed(ctx, out), nil
}

// Key returns one key by id.
func (a *App) Key(ctx context.Context, id string) (KeyView, error) {
	if k, ok := a.staticByID[id]; ok {
		return a.withLastUsed(ctx, []KeyView{viewOf(k, "config")})[0], nil
	}
	k, err := a.st().KeyByID(ctx, id)
	if err != nil {
		return KeyView{}, err
	}
	return a.withLastUsed(ctx, []KeyView{viewOf(k, "store")})[0], nil
}

// SetKeyEnabled enables or disables a stored key.
func (a *App) SetKeyEnabled(ctx context.Context, id string, enabled bool) (KeyView, error) {
	if err := a.notStatic(id); err != nil {
		return KeyView{}, err
	}
	k, err := a.st().UpdateKey(ctx, id, func(k *store.Key) { k.Enabled = enabled })
	if err != nil {
		return KeyView{}, err
	}
	return viewOf(k, "store"), nil
}

// DeleteKey deletes a stored key.
func (a *App) DeleteKey(ctx context.Context, id string) error {
	if err := a.notStatic(id); err != nil {
		return err
	}
	return a.st().DeleteKey(ctx, id)
}

func (a *App) notStatic(id string) error {
	if _, ok := a.staticByID[id]; ok {
		return fmt.Errorf("%w: key %s is declared in the configuration; change it there and reload", errConflict, id)
	}
	return nil
}

// QuotaUpdate resets or extends a key's remaining quota in its current
// window (API Gateway's update-usage).
type QuotaUpdate struct {
	// Plan names the plan ("" when the key has only one).
	Plan string `json:"plan"`
	// Reset gives the full quota back; Extend adds units to what remains.
	Reset  bool  `json:"reset,omitempty"`
	Extend int64 `json:"extend,omitempty"`
}

// UpdateQuota applies u to key id and returns the remaining quota.
func (a *App) UpdateQuota(ctx context.Context, id string, u QuotaUpdate) (int64, error) {
	kv, err := a.Key(ctx, id)
	if err != nil {
		return 0, err
	}
	plan, err := a.keyPlan(kv, u.Plan)
	if err != nil {
		return 0, err
	}
	if plan.quota == nil {
		return 0, badRequest("plan %s has no quota", plan.name)
	}
	if u.Reset == (u.Extend != 0) {
		return 0, badRequest(`write {"reset":true} or {"extend":<units>}`)
	}
	if u.Extend < 0 {
		return 0, badRequest("extend must be positive")
	}
	return a.st().ChangeQuota(ctx, store.QuotaChange{KeyID: id, Plan: plan.name, Quota: *plan.quota,
		Now: a.now(), Reset: u.Reset, Extend: u.Extend})
}

// keyPlan resolves the plan named for a key ("" means the key's only plan).
func (a *App) keyPlan(kv KeyView, name string) (*compiledPlan, error) {
	if name == "" {
		if len(kv.Plans) != 1 {
			return nil, badRequest("key %s is in several plans; name one (plan=...)", kv.ID)
		}
		name = kv.Plans[0]
	}
	if !slices.Contains(kv.Plans, name) {
		return nil, badRequest("key %s is not in plan %q", kv.ID, name)
	}
	p, ok := a.plans[name]
	if !ok {
		return nil, badRequest("unknown plan %q", name)
	}
	return p, nil
}

// storedKeyValue is the value of a stored key being created or rotated and
// its hash: a new random value when given is empty, else given (an imported
// value), which must be long enough and must not be a key declared in the
// configuration.
func (a *App) storedKeyValue(given string) (value, hash string, err error) {
	value = given
	if value == "" {
		if value, err = NewKeyValue(); err != nil {
			return "", "", err
		}
	} else if len(value) < minImportedKeyLen {
		return "", "", badRequest("an imported key value must have at least %d characters", minImportedKeyLen)
	}
	hash = HashKey(value)
	if _, ok := a.static[hash]; ok {
		return "", "", fmt.Errorf("%w: this value belongs to a key declared in the configuration", errConflict)
	}
	return value, hash, nil
}
