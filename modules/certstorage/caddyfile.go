package certstorage

import (
	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
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
	for d.NextBlock(0) {
		name := d.Val()
		args := d.RemainingArgs()
		if len(args) != 1 {
			return d.Errf("storage gpugate_redis: %s takes one value; write e.g. %s", name, example(name))
		}
		switch name {
		case "url":
			if r.URL != "" {
				return d.Errf("storage gpugate_redis: url given twice; write it once, as the argument or in the block")
			}
			r.URL = args[0]
		case "prefix":
			r.Prefix = args[0]
		case "lock_ttl", "timeout":
			dur, err := caddy.ParseDuration(args[0])
			if err != nil || dur <= 0 {
				return d.Errf("storage gpugate_redis: %s: invalid duration %q; write e.g. %s", name, args[0], example(name))
			}
			if name == "lock_ttl" {
				r.LockTTL = caddy.Duration(dur)
			} else {
				r.Timeout = caddy.Duration(dur)
			}
		default:
			return d.Errf("storage gpugate_redis: unknown subdirective %q; write url, prefix, lock_ttl or timeout", name)
		}
	}
	if err := r.check(); err != nil {
		return d.Err(err.Error())
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
