// Package redisconn is the one place that turns a Redis URL from a
// configuration into a go-redis client: a single node (redis://, rediss://),
// a Sentinel-managed primary (redis+sentinel://), or a Redis Cluster
// (redis+cluster://), each with TLS (the rediss variants, with an optional
// CA file) and AUTH or ACL user and password, which may be Caddy
// placeholders such as {env.REDIS_PASSWORD}.
//
// Modules use it in three steps: Check at adapt and validate time (syntax
// only, no I/O), Parse at provision time, and Config.NewClient (or
// Config.UniversalOptions, to tune timeouts first) when they start.
// README.md beside this file is the reference; errors name what to write.
package redisconn

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gpugate/gpugate/modules/internal/directive"

	"github.com/caddyserver/caddy/v2"
	"github.com/redis/go-redis/v9"
	"github.com/redis/rueidis"
)

// Mode is the kind of Redis deployment a URL names.
type Mode uint8

// The deployments.
const (
	// Single is one Redis server (or a managed endpoint that hides its
	// replicas, such as an ElastiCache primary endpoint).
	Single Mode = iota
	// Sentinel is a primary with replicas whose address is asked from
	// Redis Sentinels; a failover moves the client to the new primary.
	Sentinel
	// Cluster is Redis Cluster (also ElastiCache and MemoryDB with cluster
	// mode enabled); the client follows MOVED and ASK redirections.
	Cluster
)

// String names the mode as in the URL scheme.
func (m Mode) String() string {
	switch m {
	case Sentinel:
		return "sentinel"
	case Cluster:
		return "cluster"
	default:
		return "single"
	}
}

// Default ports.
const (
	DefaultPort         = "6379"
	DefaultSentinelPort = "26379"
)

// Example is a URL to show in error messages.
const Example = "redis://host:6379/0, rediss://user:{env.REDIS_PASSWORD}@host:6379/0, redis+sentinel://host1:26379,host2:26379/mymaster/0 or redis+cluster://host1:6379,host2:6379"

// Config is a parsed Redis URL with its placeholders resolved.
type Config struct {
	// Mode is the deployment kind.
	Mode Mode
	// Addrs are host:port pairs: the server, the sentinels, or the
	// cluster's seed nodes.
	Addrs []string
	// MasterName is the Sentinel name of the primary (Sentinel only).
	MasterName string
	// DB is the database number (not for Cluster, which has only 0).
	DB int
	// Username and Password authenticate to Redis (ACL user, or only a
	// password for requirepass / an AUTH token).
	Username, Password string
	// SentinelUsername and SentinelPassword authenticate to the
	// sentinels when they differ from the data nodes'.
	SentinelUsername, SentinelPassword string
	// TLS is on for the rediss schemes; CAFile, when set, is the PEM file
	// of the certificate authorities to trust instead of the system's;
	// ServerName overrides the name checked in the server certificate
	// (default: the host of each address).
	TLS        bool
	CAFile     string
	ServerName string
}

// schemes maps each URL scheme to its mode and TLS setting.
var schemes = map[string]struct {
	mode Mode
	tls  bool
}{
	"redis":           {Single, false},
	"rediss":          {Single, true},
	"redis+sentinel":  {Sentinel, false},
	"rediss+sentinel": {Sentinel, true},
	"redis+cluster":   {Cluster, false},
	"rediss+cluster":  {Cluster, true},
}

// options are the query parameters a URL may carry.
var options = []string{"ca_file", "server_name", "sentinel_username", "sentinel_password"}

// IsRedisURL reports whether raw has one of the Redis schemes (so a caller
// that accepts other stores too can tell which parser applies).
func IsRedisURL(raw string) bool {
	scheme, _, ok := strings.Cut(raw, "://")
	_, known := schemes[strings.ToLower(scheme)]
	return ok && known
}

// Check validates raw without resolving secrets or touching the network,
// for `caddy adapt` and `caddy validate`. Like every error of this package,
// its error never repeats the URL or a password.
func Check(raw string) error {
	_, err := parse(raw, func(s string) string { return s })
	return err
}

// Parse reads raw and resolves Caddy's global placeholders ({env.NAME},
// {file./path}) in every part, so a password needs no URL encoding when it
// comes from a placeholder. A literal password must be URL-encoded.
func Parse(raw string) (Config, error) {
	repl := caddy.NewReplacer()
	return parse(raw, func(s string) string { return repl.ReplaceKnown(s, "") })
}

// parse splits raw by hand rather than with net/url, because placeholders
// such as {file./run/secrets/redis} contain characters (/, {, }) that a
// URL may not; resolve expands the placeholders of one part.
func parse(raw string, resolve func(string) string) (Config, error) {
	var c Config
	scheme, rest, ok := strings.Cut(raw, "://")
	kind, known := schemes[strings.ToLower(scheme)]
	if !ok || !known {
		return c, fmt.Errorf("redis URL: unknown scheme %q; write %s", scheme, Example)
	}
	c.Mode, c.TLS = kind.mode, kind.tls

	authority, pathAndQuery := splitOutsideBraces(rest, "/?")
	userinfo, hosts, hasUser := cutLastOutsideBraces(authority, '@')
	if !hasUser {
		hosts, userinfo = authority, ""
	}
	if hasUser {
		user, pass, _ := cutOutsideBraces(userinfo, ':')
		var err error
		if c.Username, err = decodePart(user, resolve); err != nil {
			return c, fmt.Errorf("redis URL: the user name is not URL-encoded (write %%40 for @, %%3A for :), or use a placeholder such as {env.REDIS_USER}")
		}
		if c.Password, err = decodePart(pass, resolve); err != nil {
			return c, fmt.Errorf("redis URL: the password is not URL-encoded (write %%40 for @, %%3A for :), or use a placeholder such as {env.REDIS_PASSWORD}")
		}
	}
	port := DefaultPort
	if c.Mode == Sentinel {
		port = DefaultSentinelPort
	}
	var err error
	if c.Addrs, err = parseHosts(resolve(hosts), port); err != nil {
		return c, err
	}
	if c.Mode == Single && len(c.Addrs) > 1 {
		return c, fmt.Errorf("redis URL: several hosts need redis+cluster:// (Redis Cluster) or redis+sentinel:// (Sentinel); a single node is one host:port")
	}

	path, query, _ := strings.Cut(pathAndQuery, "?")
	if err := c.parsePath(resolve(path)); err != nil {
		return c, err
	}
	if err := c.parseQuery(query, resolve); err != nil {
		return c, err
	}
	return c, nil
}

// parsePath reads /db (single), /master[/db] (Sentinel) or nothing
// (Cluster).
func (c *Config) parsePath(path string) error {
	parts := strings.FieldsFunc(path, func(r rune) bool { return r == '/' })
	db := ""
	switch c.Mode {
	case Sentinel:
		if len(parts) == 0 || len(parts) > 2 {
			return fmt.Errorf("redis URL: write redis+sentinel://sentinel1:26379,sentinel2:26379/<master name>[/<db>]")
		}
		c.MasterName = parts[0]
		if len(parts) == 2 {
			db = parts[1]
		}
	case Cluster:
		if len(parts) > 1 || (len(parts) == 1 && parts[0] != "0") {
			return fmt.Errorf("redis URL: Redis Cluster has only database 0; write redis+cluster://host1:6379,host2:6379 with no /<db>")
		}
	default:
		if len(parts) > 1 {
			return fmt.Errorf("redis URL: write redis://host:6379/<db> with one database number")
		}
		if len(parts) == 1 {
			db = parts[0]
		}
	}
	if db != "" {
		n, err := strconv.Atoi(db)
		if err != nil || n < 0 {
			return fmt.Errorf("redis URL: database %q: write a number, 0 or more", db)
		}
		c.DB = n
	}
	return nil
}

// parseQuery reads the options.
func (c *Config) parseQuery(query string, resolve func(string) string) error {
	if query == "" {
		return nil
	}
	for _, pair := range strings.Split(query, "&") {
		if pair == "" {
			continue
		}
		name, value, _ := strings.Cut(pair, "=")
		v, err := decodePart(value, resolve)
		if err != nil {
			return fmt.Errorf("redis URL: option %s is not URL-encoded", name)
		}
		switch name {
		case "ca_file":
			c.CAFile = v
		case "server_name":
			c.ServerName = v
		case "sentinel_username":
			c.SentinelUsername = v
		case "sentinel_password":
			c.SentinelPassword = v
		default:
			return fmt.Errorf("redis URL: unknown option %q; use %s", name, strings.Join(options, ", "))
		}
	}
	if !c.TLS && (c.CAFile != "" || c.ServerName != "") {
		return fmt.Errorf("redis URL: ca_file and server_name are TLS options; write rediss:// (or rediss+sentinel://, rediss+cluster://)")
	}
	if c.Mode != Sentinel && (c.SentinelUsername != "" || c.SentinelPassword != "") {
		return fmt.Errorf("redis URL: sentinel_username and sentinel_password are for redis+sentinel:// URLs only")
	}
	return nil
}

// parseHosts splits a comma-separated host[:port] list.
func parseHosts(hosts, defaultPort string) ([]string, error) {
	if hosts == "" {
		return nil, fmt.Errorf("redis URL: no host; write %s", Example)
	}
	var addrs []string
	for _, h := range strings.Split(hosts, ",") {
		if h == "" {
			return nil, fmt.Errorf("redis URL: an empty host in the host list; write host1:port,host2:port")
		}
		if strings.Contains(h, "{") && strings.Count(h, "{") == strings.Count(h, "}") && !strings.ContainsAny(h, "@/% ") {
			// A placeholder left for Caddy to resolve at start ({env.REDIS_HOST}):
			// checked once resolved.
			addrs = append(addrs, h)
			continue
		}
		host, port, err := net.SplitHostPort(h)
		if err != nil {
			// No port (or an IPv6 address without brackets and port).
			host, port = strings.Trim(h, "[]"), defaultPort
		}
		if host == "" || strings.ContainsAny(host, "/@{}% ") {
			return nil, fmt.Errorf("redis URL: host %q: write a host name or IP address", host)
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("redis URL: port %q: write a number from 1 to 65535", port)
		}
		addrs = append(addrs, net.JoinHostPort(host, port))
	}
	return addrs, nil
}

// decodePart percent-decodes the literal text of s and resolves its
// placeholders (a placeholder's value is taken as is).
func decodePart(s string, resolve func(string) string) (string, error) {
	var b strings.Builder
	for s != "" {
		open := strings.IndexByte(s, '{')
		if open < 0 {
			open = len(s)
		}
		lit, err := url.PathUnescape(s[:open])
		if err != nil {
			return "", err
		}
		b.WriteString(lit)
		s = s[open:]
		if s == "" {
			break
		}
		end := strings.IndexByte(s, '}')
		if end < 0 {
			return "", errors.New("unclosed placeholder")
		}
		b.WriteString(resolve(s[:end+1]))
		s = s[end+1:]
	}
	return b.String(), nil
}

// splitOutsideBraces splits s at the first byte of seps that is not inside
// a {placeholder}; the second part starts with that byte.
func splitOutsideBraces(s, seps string) (string, string) {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '{':
			depth++
		case s[i] == '}' && depth > 0:
			depth--
		case depth == 0 && strings.IndexByte(seps, s[i]) >= 0:
			return s[:i], s[i:]
		}
	}
	return s, ""
}

// cutOutsideBraces cuts s at the first sep outside placeholders.
func cutOutsideBraces(s string, sep byte) (string, string, bool) {
	a, b := splitOutsideBraces(s, string(sep))
	if b == "" {
		return a, "", false
	}
	return a, b[1:], true
}

// cutLastOutsideBraces cuts s at the last sep outside placeholders.
func cutLastOutsideBraces(s string, sep byte) (string, string, bool) {
	depth, at := 0, -1
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '{':
			depth++
		case s[i] == '}' && depth > 0:
			depth--
		case depth == 0 && s[i] == sep:
			at = i
		}
	}
	if at < 0 {
		return "", s, false
	}
	return s[:at], s[at+1:], true
}

// String is the URL without its passwords, for logs.
func (c Config) String() string {
	scheme := "redis"
	if c.TLS {
		scheme = "rediss"
	}
	if c.Mode != Single {
		scheme += "+" + c.Mode.String()
	}
	var b strings.Builder
	b.WriteString(scheme + "://")
	if c.Username != "" || c.Password != "" {
		b.WriteString(url.PathEscape(c.Username))
		if c.Password != "" {
			b.WriteString(":REDACTED")
		}
		b.WriteString("@")
	}
	b.WriteString(strings.Join(c.Addrs, ","))
	switch c.Mode {
	case Sentinel:
		b.WriteString("/" + c.MasterName + "/" + strconv.Itoa(c.DB))
	case Single:
		b.WriteString("/" + strconv.Itoa(c.DB))
	}
	return b.String()
}

// TLSConfig is the client TLS configuration (nil without TLS): TLS 1.2 or
// later, the system's roots or those of CAFile, and ServerName when set.
// A CA file that cannot be read or holds no certificate is an error.
func (c Config) TLSConfig() (*tls.Config, error) {
	if !c.TLS {
		return nil, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.ServerName}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("redis ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("redis ca_file %s: no PEM certificate in it; write the path of the CA bundle (e.g. the one your provider publishes)", c.CAFile)
		}
		tc.RootCAs = pool
	}
	return tc, nil
}

// UniversalOptions are the go-redis options for c, for a caller that sets
// timeouts and pool sizes before redis.NewUniversalClient.
func (c Config) UniversalOptions() (*redis.UniversalOptions, error) {
	tc, err := c.TLSConfig()
	if err != nil {
		return nil, err
	}
	o := &redis.UniversalOptions{
		Addrs:            c.Addrs,
		DB:               c.DB,
		Username:         c.Username,
		Password:         c.Password,
		SentinelUsername: c.SentinelUsername,
		SentinelPassword: c.SentinelPassword,
		MasterName:       c.MasterName,
		IsClusterMode:    c.Mode == Cluster,
		TLSConfig:        tc,
	}
	return o, nil
}

// sentinelRefresh is how often a rueidis Sentinel client asks the
// sentinels for the primary besides following their +switch-master
// events, so a missed event does not bind it to a demoted primary.
const sentinelRefresh = 5 * time.Second

// RueidisOption returns the rueidis options of c (the usage-plan store
// makes its decisions through rueidis: see modules/usageplan/README.md,
// "Redis clients"). A single node is forced to a single-node client, which
// rueidis creates even while the server is down; a Cluster client needs a
// reachable node to start, a Sentinel client a reachable sentinel that
// names the primary.
func (c Config) RueidisOption() (rueidis.ClientOption, error) {
	tc, err := c.TLSConfig()
	if err != nil {
		return rueidis.ClientOption{}, err
	}
	o := rueidis.ClientOption{
		InitAddress: c.Addrs,
		SelectDB:    c.DB,
		Username:    c.Username,
		Password:    c.Password,
		TLSConfig:   tc,
		// Commands are sent once: a decision retried after an unclear
		// failure could be counted twice (its undo covers the first).
		DisableRetry: true,
		// Client-side caching is for reads; the store does not use it.
		DisableCache: true,
	}
	o.ForceSingleClient = c.Mode == Single
	if c.Mode == Sentinel {
		// rueidis pings only connections with a keep-alive: without one, a
		// sentinel that went silent (a partition, a host lost with its
		// primary) would keep the client on the old primary until TCP gave up.
		o.Sentinel = rueidis.SentinelOption{MasterSet: c.MasterName, Username: c.SentinelUsername,
			Password: c.SentinelPassword, TLSConfig: tc, TopologyRefreshInterval: sentinelRefresh,
			Dialer: net.Dialer{KeepAlive: rueidis.DefaultTCPKeepAlive}}
	}
	return o, nil
}

// NewClient returns a client for c with go-redis's defaults: a
// *redis.Client, a Sentinel failover client or a *redis.ClusterClient. It
// does not connect until the first command.
func (c Config) NewClient() (redis.UniversalClient, error) {
	o, err := c.UniversalOptions()
	if err != nil {
		return nil, err
	}
	return redis.NewUniversalClient(o), nil
}

// HasLiteralSecret reports whether raw carries a password (or a
// sentinel_password) written literally rather than as an {env.*} or
// {file.*} placeholder: a literal would sit in the adapted JSON, the admin
// API's config and autosave.json. Callers refuse such URLs at adapt time.
func HasLiteralSecret(raw string) bool {
	c, err := parse(raw, func(s string) string { return s })
	if err != nil {
		return false
	}
	for _, secret := range [...]string{c.Password, c.SentinelPassword} {
		if secret != "" && directive.CheckSecretPlaceholder("", secret) != nil {
			return true
		}
	}
	return false
}
