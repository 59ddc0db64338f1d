// Package directive is the one way gpugate's caddyfile.go files read the
// settings of a directive's block: one value, several values, a fixed
// number of values, a flag, a duration, a number, a secret placeholder, and
// the detection of a setting written twice. Every error carries the
// directive's name and the setting, says what to write instead, and points
// at the Caddyfile line (through the Dispenser, which keeps a wrapped
// error's cause for errors.Is/As).
//
// A parser reads a block like this:
//
//	b := directive.Open(d, "runpod").Repeatable("endpoint")
//	for b.Next() {
//		var err error
//		switch b.Setting() {
//		case "api_key":
//			h.APIKey, err = b.Secret("api_key {env.RUNPOD_API_KEY}")
//		case "timeout":
//			h.Timeout, err = b.Duration("timeout 30s")
//		default:
//			err = b.Unknown("api_key", "timeout")
//		}
//		if err != nil {
//			return err
//		}
//	}
package directive

import (
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/dustin/go-humanize"
)

// Block reads the settings of one Caddyfile block, one line at a time.
type Block struct {
	d          *caddyfile.Dispenser
	name       string
	nesting    int
	count      map[string]int
	repeatable map[string]bool
	setting    string
	args       []string
	used       bool
}

// Open starts reading the block that follows the dispenser's current line
// (a directive, a global option, or a line inside another block). name is
// how messages call the block, e.g. "runpod" or "usage_plans plan basic".
func Open(d *caddyfile.Dispenser, name string) *Block {
	return &Block{d: d, name: name, nesting: d.Nesting(), count: map[string]int{}}
}

// Repeatable marks settings that may be written more than once (each line
// adds to a list); any other setting written twice is an error.
func (b *Block) Repeatable(settings ...string) *Block {
	if b.repeatable == nil {
		b.repeatable = map[string]bool{}
	}
	for _, s := range settings {
		b.repeatable[s] = true
	}
	return b
}

// Next moves to the next setting of the block and reads its arguments; it
// returns false at the end of the block.
func (b *Block) Next() bool {
	if !b.d.NextBlock(b.nesting) {
		return false
	}
	b.setting = b.d.Val()
	b.count[b.setting]++
	b.args, b.used = nil, false
	return true
}

// Setting is the name of the current setting.
func (b *Block) Setting() string { return b.setting }

// Seen reports how many times setting was written so far.
func (b *Block) Seen(setting string) int { return b.count[setting] }

// Dispenser gives the underlying dispenser, for a nested block (Open it
// with a longer name) or a setting with a grammar of its own.
func (b *Block) Dispenser() *caddyfile.Dispenser { return b.d }

// lineArgs reads the current setting's arguments once.
func (b *Block) lineArgs() []string {
	if !b.used {
		b.args, b.used = b.d.RemainingArgs(), true
	}
	return b.args
}

// repeated is the error for a setting written twice, or nil.
func (b *Block) repeated() error {
	s := b.Setting()
	if b.count[s] > 1 && !b.repeatable[s] {
		return b.d.Errf("%s: %s is set twice; keep one", b.name, s)
	}
	return nil
}

// Errf returns an error about the current setting, prefixed with the
// block's name and the setting, at the current Caddyfile line.
func (b *Block) Errf(format string, args ...any) error {
	return b.d.Errf("%s %s: "+format, append([]any{b.name, b.Setting()}, args...)...)
}

// Wrap returns err (whose message already names the directive) at the
// current Caddyfile line, keeping it for errors.Is/As.
func (b *Block) Wrap(err error) error { return b.d.WrapErr(err) }

// Unknown is the error for a setting the block does not have; valid lists
// the ones it has.
func (b *Block) Unknown(valid ...string) error {
	return b.d.Errf("%s: unknown subdirective %q; valid: %s", b.name, b.Setting(), strings.Join(valid, ", "))
}

// Args returns the current setting's arguments, which must number exactly n;
// example shows a correct line.
func (b *Block) Args(n int, example string) ([]string, error) {
	if err := b.repeated(); err != nil {
		return nil, err
	}
	args := b.lineArgs()
	switch {
	case len(args) == n:
		return args, nil
	case n == 0:
		return nil, b.d.Errf("%s %s takes no value; write `%s` on its own line", b.name, b.Setting(), example)
	case n == 1:
		return nil, b.Errf("exactly one value is needed; write `%s`", example)
	default:
		return nil, b.Errf("exactly %d values are needed; write `%s`", n, example)
	}
}

// One returns the current setting's single value.
func (b *Block) One(example string) (string, error) {
	args, err := b.Args(1, example)
	if err != nil {
		return "", err
	}
	return args[0], nil
}

// Many returns the current setting's values, at least one.
func (b *Block) Many(example string) ([]string, error) {
	if err := b.repeated(); err != nil {
		return nil, err
	}
	args := b.lineArgs()
	if len(args) == 0 {
		return nil, b.Errf("at least one value is needed; write `%s`", example)
	}
	return args, nil
}

// Flag checks that the current setting has no value (it switches something
// on).
func (b *Block) Flag() error {
	_, err := b.Args(0, b.Setting())
	return err
}

// Duration returns the current setting's single value as a positive Caddy
// duration (30s, 1m30s, 2h, 1d).
func (b *Block) Duration(example string) (caddy.Duration, error) {
	v, err := b.One(example)
	if err != nil {
		return 0, err
	}
	d, err := caddy.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, b.d.Errf("%s %s %q is not a positive duration; write e.g. `%s`", b.name, b.Setting(), v, example)
	}
	return caddy.Duration(d), nil
}

// Size returns the current setting's single value as a positive byte size
// (10MB, 512KiB, 1048576), at most 1 TiB.
func (b *Block) Size(example string) (int64, error) {
	v, err := b.One(example)
	if err != nil {
		return 0, err
	}
	n, err := humanize.ParseBytes(v)
	if err != nil || n == 0 || n > 1<<40 {
		return 0, b.d.Errf("%s %s %q is not a size; write e.g. `%s`", b.name, b.Setting(), v, example)
	}
	return int64(n), nil
}

// Int returns the current setting's single value as a whole number of at
// least min.
func (b *Block) Int(min int64, example string) (int64, error) {
	v, err := b.One(example)
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < min {
		return 0, b.d.Errf("%s %s %q must be a whole number of at least %d; write e.g. `%s`", b.name, b.Setting(), v, min, example)
	}
	return n, nil
}

// Secret returns the current setting's single value, which must be exactly
// one {env.NAME} or {file.PATH} placeholder (CheckSecretPlaceholder,
// the check JSON configs get in Validate): a literal secret would sit in the
// adapted JSON, the admin API and config dumps. The value itself never
// appears in the error.
func (b *Block) Secret(example string) (string, error) {
	v, err := b.One(example)
	if err != nil {
		return "", err
	}
	if err := CheckSecretPlaceholder(b.name+" "+b.Setting(), v); err != nil {
		return "", b.Wrap(err)
	}
	return v, nil
}
