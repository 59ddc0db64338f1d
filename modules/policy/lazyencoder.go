package policy

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/logging"
	"go.uber.org/zap"
	"go.uber.org/zap/buffer"
	"go.uber.org/zap/zapcore"
	"golang.org/x/term"
)

func init() {
	caddy.RegisterModule(LazyEncoder{})
}

// LazyEncoder wraps a log encoder and encodes the fields a logger is
// created With (its context) only when that logger writes an entry.
//
// zap encodes a logger's context eagerly, when the logger is made, whatever
// the log level. Caddy's reverse_proxy makes such a logger on every request
// (the upstream, the duration and the whole request, headers included) for
// debug lines that an info-level log never writes; behind the filter
// encoder that redacts credentials, that one eager encoding was the
// costliest step of a proxied request. With this encoder in front, the
// context fields are kept as they were given and replayed into the wrapped
// encoder (the filter, which then redacts them) when an entry is written,
// so the output is the same, filtered the same way.
//
// As with zap's Logger.WithLazy, an object or array in the context is
// marshalled when the entry is written, so it shows its state at that time;
// byte slices are copied when given.
type LazyEncoder struct {
	// The encoder that encodes the entries. If not specified, defaults to
	// "json", unless the output is a terminal, in which case it defaults
	// to "console".
	WrappedRaw json.RawMessage `json:"wrap,omitempty" caddy:"namespace=caddy.logging.encoders inline_key=format"`

	wrapped zapcore.Encoder
	// context holds the fields given to this encoder (a clone made by a
	// logger's With), in order, not yet encoded.
	context []zapcore.Field

	wrappedIsDefault bool
	ctx              caddy.Context
}

// LazyEncoderFormat is the encoder's format name in a log's JSON config.
const LazyEncoderFormat = "gpugate_lazy"

// CaddyModule returns the Caddy module information.
func (LazyEncoder) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "caddy.logging.encoders." + LazyEncoderFormat,
		New: func() caddy.Module { return new(LazyEncoder) },
	}
}

// Provision loads the wrapped encoder.
func (e *LazyEncoder) Provision(ctx caddy.Context) error {
	e.ctx = ctx
	if e.WrappedRaw == nil {
		e.wrappedIsDefault = true
		return e.setWrapped(&logging.JSONEncoder{})
	}
	val, err := ctx.LoadModule(e, "WrappedRaw")
	if err != nil {
		return fmt.Errorf("%s: loading the wrapped encoder: %v", LazyEncoderFormat, err)
	}
	e.wrapped = val.(zapcore.Encoder)
	return nil
}

func (e *LazyEncoder) setWrapped(enc zapcore.Encoder) error {
	if p, ok := enc.(caddy.Provisioner); ok {
		if err := p.Provision(e.ctx); err != nil {
			return fmt.Errorf("%s: provisioning the default encoder: %v", LazyEncoderFormat, err)
		}
	}
	e.wrapped = enc
	return nil
}

// ConfigureDefaultFormat passes the writer on to the wrapped encoder, or,
// when none was configured and the writer is a terminal, encodes for the
// console (as Caddy's own wrapping encoders do).
func (e *LazyEncoder) ConfigureDefaultFormat(wo caddy.WriterOpener) error {
	if !e.wrappedIsDefault {
		if cfd, ok := e.wrapped.(caddy.ConfiguresFormatterDefault); ok {
			return cfd.ConfigureDefaultFormat(wo)
		}
		return nil
	}
	if caddy.IsWriterStandardStream(wo) && term.IsTerminal(int(os.Stderr.Fd())) {
		return e.setWrapped(&logging.ConsoleEncoder{})
	}
	return nil
}

// Clone returns an encoder with the same context; what is added to the
// clone does not change e (zap clones before adding a logger's context).
func (e *LazyEncoder) Clone() zapcore.Encoder {
	return &LazyEncoder{wrapped: e.wrapped, context: slices.Clip(e.context)}
}

// EncodeEntry encodes the context, then the entry, with the wrapped
// encoder.
func (e *LazyEncoder) EncodeEntry(ent zapcore.Entry, fields []zapcore.Field) (*buffer.Buffer, error) {
	enc := e.wrapped
	if len(e.context) > 0 {
		enc = enc.Clone()
		for _, f := range e.context {
			f.AddTo(enc)
		}
	}
	return enc.EncodeEntry(ent, fields)
}

// add keeps f; room for a few fields at once, as With gives several.
func (e *LazyEncoder) add(f zapcore.Field) {
	if len(e.context) == cap(e.context) {
		e.context = slices.Grow(e.context, 4)
	}
	e.context = append(e.context, f)
}

// AddArray is part of the zapcore.ObjectEncoder interface.
func (e *LazyEncoder) AddArray(key string, marshaler zapcore.ArrayMarshaler) error {
	e.add(zap.Array(key, marshaler))
	return nil
}

// AddObject is part of the zapcore.ObjectEncoder interface.
func (e *LazyEncoder) AddObject(key string, marshaler zapcore.ObjectMarshaler) error {
	e.add(zap.Object(key, marshaler))
	return nil
}

// AddBinary is part of the zapcore.ObjectEncoder interface.
func (e *LazyEncoder) AddBinary(key string, value []byte) {
	e.add(zap.Binary(key, slices.Clone(value)))
}

// AddByteString is part of the zapcore.ObjectEncoder interface.
func (e *LazyEncoder) AddByteString(key string, value []byte) {
	e.add(zap.ByteString(key, slices.Clone(value)))
}

// AddBool is part of the zapcore.ObjectEncoder interface.
func (e *LazyEncoder) AddBool(key string, value bool) { e.add(zap.Bool(key, value)) }

// AddComplex128 is part of the zapcore.ObjectEncoder interface.
func (e *LazyEncoder) AddComplex128(key string, value complex128) {
	e.add(zap.Complex128(key, value))
}

// AddComplex64 is part of the zapcore.ObjectEncoder interface.
func (e *LazyEncoder) AddComplex64(key string, value complex64) {
	e.add(zap.Complex64(key, value))
}

// AddDuration is part of the zapcore.ObjectEncoder interface.
func (e *LazyEncoder) AddDuration(key string, value time.Duration) {
	e.add(zap.Duration(key, value))
}

// AddFloat64 is part of the zapcore.ObjectEncoder interface.
func (e *LazyEncoder) AddFloat64(key string, value float64) { e.add(zap.Float64(key, value)) }

// AddFloat32 is part of the zapcore.ObjectEncoder interface.
func (e *LazyEncoder) AddFloat32(key string, value float32) { e.add(zap.Float32(key, value)) }

// AddInt is part of the zapcore.ObjectEncoder interface.
func (e *LazyEncoder) AddInt(key string, value int) { e.add(zap.Int(key, value)) }

// AddInt64 is part of the zapcore.ObjectEncoder interface.
func (e *LazyEncoder) AddInt64(key string, value int64) { e.add(zap.Int64(key, value)) }

// AddInt32 is part of the zapcore.ObjectEncoder interface.
func (e *LazyEncoder) AddInt32(key string, value int32) { e.add(zap.Int32(key, value)) }

// AddInt16 is part of the zapcore.ObjectEncoder interface.
func (e *LazyEncoder) AddInt16(key string, value int16) { e.add(zap.Int16(key, value)) }

// AddInt8 is part of the zapcore.ObjectEncoder interface.
func (e *LazyEncoder) AddInt8(key string, value int8) { e.add(zap.Int8(key, value)) }

// AddString is part of the zapcore.ObjectEncoder interface.
func (e *LazyEncoder) AddString(key, value string) { e.add(zap.String(key, value)) }

// AddTime is part of the zapcore.ObjectEncoder interface.
func (e *LazyEncoder) AddTime(key string, value time.Time) { e.add(zap.Time(key, value)) }

// AddUint is part of the zapcore.ObjectEncoder interface.
func (e *LazyEncoder) AddUint(key string, value uint) { e.add(zap.Uint(key, value)) }

// AddUint64 is part of the zapcore.ObjectEncoder interface.
func (e *LazyEncoder) AddUint64(key string, value uint64) { e.add(zap.Uint64(key, value)) }

// AddUint32 is part of the zapcore.ObjectEncoder interface.
func (e *LazyEncoder) AddUint32(key string, value uint32) { e.add(zap.Uint32(key, value)) }

// AddUint16 is part of the zapcore.ObjectEncoder interface.
func (e *LazyEncoder) AddUint16(key string, value uint16) { e.add(zap.Uint16(key, value)) }

// AddUint8 is part of the zapcore.ObjectEncoder interface.
func (e *LazyEncoder) AddUint8(key string, value uint8) { e.add(zap.Uint8(key, value)) }

// AddUintptr is part of the zapcore.ObjectEncoder interface.
func (e *LazyEncoder) AddUintptr(key string, value uintptr) { e.add(zap.Uintptr(key, value)) }

// AddReflected is part of the zapcore.ObjectEncoder interface.
func (e *LazyEncoder) AddReflected(key string, value any) error {
	e.add(zap.Reflect(key, value))
	return nil
}

// OpenNamespace is part of the zapcore.ObjectEncoder interface.
func (e *LazyEncoder) OpenNamespace(key string) { e.add(zap.Namespace(key)) }

// Interface guards.
var (
	_ zapcore.Encoder                  = (*LazyEncoder)(nil)
	_ caddy.Provisioner                = (*LazyEncoder)(nil)
	_ caddy.ConfiguresFormatterDefault = (*LazyEncoder)(nil)
)
