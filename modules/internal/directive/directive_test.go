package directive

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// settings is what the test parser reads.
type settings struct {
	url     string
	headers []string
	pair    []string
	dev     bool
	timeout caddy.Duration
	count   int64
	secret  string
	tags    []string
}

var errFromModule = errors.New("demo url: the module's own check failed")

// parse reads a demo directive the way a module's caddyfile.go does.
func parse(input string) (settings, error) {
	var s settings
	d := caddyfile.NewTestDispenser(input)
	d.Next()
	b := Open(d, "demo").Repeatable("tag")
	for b.Next() {
		var err error
		switch b.Setting() {
		case "url":
			if s.url, err = b.One("url https://example.com"); err == nil && s.url == "bad" {
				err = b.Wrap(errFromModule)
			}
		case "headers":
			s.headers, err = b.Many("headers X-A X-B")
		case "pair":
			s.pair, err = b.Args(2, "pair a b")
		case "dev":
			err = b.Flag()
			s.dev = true
		case "timeout":
			s.timeout, err = b.Duration("timeout 30s")
		case "count":
			s.count, err = b.Int(1, "count 4")
		case "secret":
			s.secret, err = b.Secret("secret {env.DEMO_SECRET}")
		case "tag":
			var tag string
			tag, err = b.One("tag x")
			s.tags = append(s.tags, tag)
		default:
			err = b.Unknown("url", "headers", "pair", "dev", "timeout", "count", "secret", "tag")
		}
		if err != nil {
			return s, err
		}
	}
	return s, nil
}

func TestBlockReadsEverySetting(t *testing.T) {
	t.Parallel()
	s, err := parse(`demo {
		url https://example.com
		headers X-A X-B
		pair a b
		dev
		timeout 1m30s
		count 4
		secret {env.DEMO_SECRET}
		tag one
		tag two
	}`)
	if err != nil {
		t.Fatal(err)
	}
	if s.url != "https://example.com" || strings.Join(s.headers, ",") != "X-A,X-B" || strings.Join(s.pair, ",") != "a,b" ||
		!s.dev || time.Duration(s.timeout) != 90*time.Second || s.count != 4 || s.secret != "{env.DEMO_SECRET}" ||
		strings.Join(s.tags, ",") != "one,two" {
		t.Fatalf("parsed %+v", s)
	}
}

func TestBlockErrorsNameTheSettingAndTheFix(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ block, want string }{
		{"url", "demo url: exactly one value is needed; write `url https://example.com`"},
		{"url a b", "demo url: exactly one value is needed"},
		{"url a\nurl b", "demo: url is set twice; keep one"},
		{"headers", "demo headers: at least one value is needed; write `headers X-A X-B`"},
		{"pair a", "demo pair: exactly 2 values are needed; write `pair a b`"},
		{"dev yes", "demo dev takes no value; write `dev` on its own line"},
		{"timeout soon", "demo timeout \"soon\" is not a positive duration; write e.g. `timeout 30s`"},
		{"timeout -1s", "is not a positive duration"},
		{"count 0", "demo count \"0\" must be a whole number of at least 1; write e.g. `count 4`"},
		{"count four", "must be a whole number"},
		{"secret s3cr3t-literal", "demo secret: write the secret as a placeholder"},
		{"colour red", `demo: unknown subdirective "colour"; valid: url, headers`},
		{"url bad", "demo url: the module's own check failed"},
	} {
		_, err := parse("demo {\n" + c.block + "\n}")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want it to contain %q", c.block, err, c.want)
			continue
		}
		if !strings.Contains(err.Error(), "Testfile:") {
			t.Errorf("%q: error %q does not point at the Caddyfile line", c.block, err)
		}
		if strings.Contains(err.Error(), "s3cr3t-literal") {
			t.Errorf("%q: the error repeats the secret: %v", c.block, err)
		}
	}
}

func TestWrapKeepsTheCause(t *testing.T) {
	t.Parallel()
	_, err := parse("demo {\nurl bad\n}")
	if !errors.Is(err, errFromModule) {
		t.Fatalf("error %v does not wrap the module's error", err)
	}
}

func TestNestedBlock(t *testing.T) {
	t.Parallel()
	d := caddyfile.NewTestDispenser(`outer {
		inner x {
			a 1
		}
		b 2
	}`)
	d.Next()
	outer := Open(d, "outer")
	var got []string
	for outer.Next() {
		switch outer.Setting() {
		case "inner":
			if _, err := outer.One("inner x"); err != nil {
				t.Fatal(err)
			}
			inner := Open(outer.Dispenser(), "outer inner")
			for inner.Next() {
				v, err := inner.One("a 1")
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, "inner."+inner.Setting()+"="+v)
			}
		default:
			v, err := outer.One("b 2")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, outer.Setting()+"="+v)
		}
	}
	if strings.Join(got, " ") != "inner.a=1 b=2" {
		t.Fatalf("read %q", got)
	}
}
