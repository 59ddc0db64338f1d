package certstorage

import (
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/gpugate/gpugate/modules/internal/directive"
)

// UnmarshalCaddyfile sets up the storage from the global option:
//
//	storage gpugate_redis [<url>] {
//	    url      <url>
//	    prefix   <prefix>
//	    lock_ttl <duration>
//	    timeout  <duration>
//	}
func (r *RedisStorage) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // module name
	if d.NextArg() {
		r.URL = d.Val()
	}
	if d.NextArg() {
		return d.Errf("storage gpugate_redis takes one argument, the URL; write storage gpugate_redis {env.REDIS_URL}")
	}
	b := directive.Open(d, "storage gpugate_redis")
	for b.Next() {
		var err error
		switch b.Setting() {
		case "url":
			if r.URL != "" && b.Seen("url") == 1 {
				return d.Errf("storage gpugate_redis: url given twice; write it once, as the argument or in the block")
			}
			r.URL, err = b.One(example("url"))
		case "prefix":
			r.Prefix, err = b.One(example("prefix"))
		case "lock_ttl":
			r.LockTTL, err = b.Duration(example("lock_ttl"))
		case "timeout":
			r.Timeout, err = b.Duration(example("timeout"))
		default:
			return b.Unknown("url", "prefix", "lock_ttl", "timeout")
		}
		if err != nil {
			return err
		}
	}
	if err := r.check(); err != nil {
		return d.WrapErr(err)
	}
	return nil
}

// example is the sample value of a subdirective in error messages.
func example(name string) string {
	switch name {
	case "url":
		return "url {env.REDIS_URL}"
	case "prefix":
		return "prefix " + DefaultPrefix
	case "lock_ttl":
		return "lock_ttl " + DefaultLockTTL.String()
	case "timeout":
		return "timeout " + DefaultTimeout.String()
	}
	return name + " <value>"
}

var _ caddyfile.Unmarshaler = (*RedisStorage)(nil)
