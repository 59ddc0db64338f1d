package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/gpugate/gpugate/modules/internal/adapttest"
)

// countingObject is a log object that counts how often it is marshalled.
type countingObject struct {
	name   string
	calls  *int
	broken bool
}

func (o countingObject) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	*o.calls++
	enc.AddString("name", o.name)
	if o.broken {
		return errors.New("cannot marshal")
	}
	return nil
}

// numbers is a log array.
type numbers []int

func (n numbers) MarshalLogArray(enc zapcore.ArrayEncoder) error {
	for _, v := range n {
		enc.AppendInt(v)
	}
	return nil
}

// contextFields are fields of every kind a logger's context can hold.
func contextFields(calls *int) []zap.Field {
	return []zap.Field{
		zap.String("upstream", "127.0.0.1:9000"), zap.Duration("duration", 1500*time.Millisecond),
		zap.Object("request", countingObject{name: "req", calls: calls}), zap.Array("ids", numbers{1, 2, 3}),
		zap.Binary("bin", []byte{0, 1, 2}), zap.ByteString("bytes", []byte("raw")), zap.Bool("ok", true),
		zap.Complex128("c128", 1+2i), zap.Complex64("c64", 3+4i), zap.Float64("f64", 1.5), zap.Float32("f32", 2.5),
		zap.Int("int", -1), zap.Int64("i64", -64), zap.Int32("i32", -32), zap.Int16("i16", -16), zap.Int8("i8", -8),
		zap.Time("at", time.Date(2026, 12, 1, 14, 0, 0, 0, time.UTC)), zap.Uint("uint", 1), zap.Uint64("u64", 64),
		zap.Uint32("u32", 32), zap.Uint16("u16", 16), zap.Uint8("u8", 8), zap.Uintptr("ptr", 0xff),
		zap.Reflect("reflected", map[string]int{"a": 1}), zap.Error(errors.New("boom")),
		zap.Object("broken", countingObject{name: "half", calls: calls, broken: true}),
		zap.Namespace("inner"), zap.String("nested", "yes"),
	}
}

// logWith writes one entry at each level through a logger made With
// context (in two steps, as reverse_proxy's logger is made from the
// module's) and returns what was written.
func logWith(enc zapcore.Encoder, context []zap.Field) string {
	var out bytes.Buffer
	core := zapcore.NewCore(enc, zapcore.AddSync(&out), zapcore.InfoLevel)
	logger := zap.New(core).Named("http.handlers.reverse_proxy").With(context[:2]...).With(context[2:]...)
	logger.Debug("not written", zap.String("entry", "debug"))
	logger.Info("upstream roundtrip", zap.Int("status", 200), zap.Object("headers", countingObject{name: "h", calls: new(int)}))
	logger.Error("upstream failed", zap.Error(errors.New("dial tcp: refused")))
	return out.String()
}

func jsonEncoder() zapcore.Encoder {
	cfg := zap.NewProductionEncoderConfig()
	cfg.TimeKey = "" // entries of two runs compare equal
	return zapcore.NewJSONEncoder(cfg)
}

// TestLazyEncoderWritesWhatTheWrappedEncoderWrites: the same entries, byte
// for byte, for every kind of context field.
func TestLazyEncoderWritesWhatTheWrappedEncoderWrites(t *testing.T) {
	t.Parallel()
	eager := logWith(jsonEncoder(), contextFields(new(int)))
	lazy := logWith(&LazyEncoder{wrapped: jsonEncoder()}, contextFields(new(int)))
	if lazy != eager {
		t.Errorf("lazy encoder wrote\n%s\nthe wrapped encoder alone\n%s", lazy, eager)
	}
	if strings.Count(lazy, "\n") != 2 || !strings.Contains(lazy, `"inner":{"nested":"yes","status":200`) ||
		!strings.Contains(lazy, `"brokenError":"cannot marshal"`) {
		t.Errorf("unexpected entries:\n%s", lazy)
	}
}

// TestLazyEncoderMarshalsTheContextOnlyWhenWriting: a logger made on every
// request for debug lines costs no marshalling at info level.
func TestLazyEncoderMarshalsTheContextOnlyWhenWriting(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	core := zapcore.NewCore(&LazyEncoder{wrapped: jsonEncoder()}, zapcore.AddSync(&out), zapcore.InfoLevel)
	calls := 0
	logger := zap.New(core).With(zap.Object("request", countingObject{name: "req", calls: &calls}))
	logger.Debug("upstream roundtrip")
	if calls != 0 || out.Len() != 0 {
		t.Fatalf("context marshalled %d times for a debug line at info level; wrote %q", calls, out.String())
	}
	logger.Warn("one")
	logger.Warn("two")
	if calls != 2 || strings.Count(out.String(), `"request":{"name":"req"}`) != 2 {
		t.Errorf("context marshalled %d times for 2 entries:\n%s", calls, out.String())
	}
}

// TestLazyEncoderClonesAreIndependent: loggers made from one parent do not
// see each other's fields, and a byte slice changed after With is logged
// as it was given.
func TestLazyEncoderClonesAreIndependent(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	core := zapcore.NewCore(&LazyEncoder{wrapped: jsonEncoder()}, zapcore.AddSync(&out), zapcore.InfoLevel)
	raw := []byte("first")
	parent := zap.New(core).With(zap.String("p", "1"), zap.ByteString("raw", raw))
	copy(raw, "xxxxx")
	a, b := parent.With(zap.String("a", "1")), parent.With(zap.String("b", "1"))
	a.Info("a")
	b.Info("b")
	parent.Info("parent")
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	want := []string{`"p":"1","raw":"first","a":"1"}`, `"p":"1","raw":"first","b":"1"}`, `"p":"1","raw":"first"}`}
	for i, line := range lines {
		if i >= len(want) || !strings.HasSuffix(line, want[i]) {
			t.Errorf("entries:\n%s\nwant endings %q", out.String(), want)
			break
		}
	}
}

// TestLazyEncoderKeepsTheRedaction: wrapping the filter encoder the
// adapter configures, the request a logger was made With is redacted when
// it is written, exactly as without the lazy encoder.
func TestLazyEncoderKeepsTheRedaction(t *testing.T) {
	t.Parallel()
	filter := `{"format":"filter","fields":{` +
		`"request>headers>Authorization":{"filter":"replace","value":"REDACTED"},` +
		`"request>uri":{"filter":"query","actions":[{"type":"replace","parameter":"api_key","value":"REDACTED"}]}},` +
		`"wrap":{"format":"json","time_key":""}}`
	ctx := adapttest.Context(t)
	lazy := &LazyEncoder{WrappedRaw: json.RawMessage(filter)}
	if err := lazy.Provision(ctx); err != nil {
		t.Fatal(err)
	}
	eager := &LazyEncoder{WrappedRaw: json.RawMessage(filter)}
	if err := eager.Provision(ctx); err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, "http://gw.example/v2/pods?api_key=gpg_secret_key&x=1", nil)
	req.Header.Set("Authorization", "Bearer secret.jwt.token")
	context := []zap.Field{zap.String("upstream", "127.0.0.1:9000"),
		zap.Object("request", caddyhttp.LoggableHTTPRequest{Request: req})}
	got := logWith(lazy, context)
	want := logWith(eager.wrapped, context)
	if got != want {
		t.Errorf("lazy encoder wrote\n%s\nthe filter alone\n%s", got, want)
	}
	if strings.Contains(got, "secret") || strings.Count(got, `"Authorization":"REDACTED"`) != 2 ||
		!strings.Contains(got, "api_key=REDACTED") {
		t.Errorf("credentials not redacted:\n%s", got)
	}
}

// BenchmarkProxyLogger is what reverse_proxy does on every request: a
// logger made With the upstream, the duration and the request, then a
// debug line an info-level log does not write; through the adapter's
// filter encoder alone (eager) and with the lazy encoder in front.
func BenchmarkProxyLogger(b *testing.B) {
	filter := `{"format":"filter","fields":{` +
		`"request>headers>Authorization":{"filter":"replace","value":"REDACTED"},` +
		`"request>headers>X-Api-Key":{"filter":"replace","value":"REDACTED"},` +
		`"request>uri":{"filter":"query","actions":[{"type":"replace","parameter":"api_key","value":"REDACTED"}]}}}`
	lazy := &LazyEncoder{WrappedRaw: json.RawMessage(filter)}
	if err := lazy.Provision(adapttest.Context(b)); err != nil {
		b.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, "http://gw.example/v2/pods", nil)
	for _, h := range []string{"Authorization", "X-Api-Key", "User-Agent", "Accept", "X-Forwarded-For"} {
		req.Header.Set(h, "value-of-"+h)
	}
	for _, c := range []struct {
		name string
		enc  zapcore.Encoder
	}{{"eager", lazy.wrapped}, {"lazy", lazy}} {
		b.Run(c.name, func(b *testing.B) {
			logger := zap.New(zapcore.NewCore(c.enc, zapcore.AddSync(&bytes.Buffer{}), zapcore.InfoLevel))
			b.ReportAllocs()
			for b.Loop() {
				l := logger.With(zap.String("upstream", "127.0.0.1:9000"), zap.Duration("duration", time.Millisecond),
					zap.Object("request", caddyhttp.LoggableHTTPRequest{Request: req}))
				if ce := l.Check(zapcore.DebugLevel, "upstream roundtrip"); ce != nil {
					b.Fatal("a debug line is written at info level")
				}
			}
		})
	}
}
