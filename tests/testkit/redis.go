package testkit

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Redis is a real redis-server started for one test.
type Redis struct {
	// Addr is host:port on the loopback interface (the TLS port when the
	// server was started with TLS).
	Addr string
	// Password is the requirepass value ("" when none).
	Password string
	// Dir is the server's working directory (dump/AOF files).
	Dir string
	// CA is the test CA that signed the server certificate (TLS only).
	CA *TestCA

	t    testing.TB
	port int
	opts RedisOptions
	cmd  *exec.Cmd
	done chan struct{}
	// config is a configuration file given before the arguments (sentinels
	// need one they can rewrite).
	config []string
}

// RedisOptions tunes StartRedis.
type RedisOptions struct {
	// Password, when set, is required by the server (requirepass).
	Password string
	// User and UserPassword, when set, add an ACL user with every right
	// (the default user then needs Password, or is off without one).
	User, UserPassword string
	// AppendOnly turns on AOF persistence with fsync always, so a restart
	// keeps every acknowledged write.
	AppendOnly bool
	// TLS serves TLS only (no plain port), with a certificate for
	// 127.0.0.1 and localhost from a test CA made for this server.
	TLS bool
	// Args are extra redis-server arguments, e.g. "--replicaof", host, port.
	Args []string
}

// redisServerPath finds redis-server, skipping (locally) or failing
// (under CI) the test without it.
func redisServerPath(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("redis-server")
	if err != nil {
		RequireDependency(t, "redis-server", err)
	}
	return path
}

// StartRedis starts redis-server on a random loopback port in a temporary
// directory and stops it when the test ends.
func StartRedis(t testing.TB, opts RedisOptions) *Redis {
	t.Helper()
	path := redisServerPath(t)
	r := &Redis{t: t, Dir: t.TempDir(), Password: opts.Password, port: FreePort(t), opts: opts}
	r.Addr = "127.0.0.1:" + strconv.Itoa(r.port)
	if opts.TLS {
		r.CA = NewTestCA(t)
		r.CA.WriteServerCert(t, r.Dir, "server", "localhost", "127.0.0.1")
	}
	r.start(path)
	t.Cleanup(r.Stop)
	return r
}

func (r *Redis) args() []string {
	opts := r.opts
	args := []string{"--bind", "127.0.0.1", "--dir", r.Dir,
		"--save", "", "--daemonize", "no", "--protected-mode", "no", "--loglevel", "warning"}
	if opts.TLS {
		args = append(args, "--port", "0", "--tls-port", strconv.Itoa(r.port),
			"--tls-cert-file", filepath.Join(r.Dir, "server.crt"), "--tls-key-file", filepath.Join(r.Dir, "server.key"),
			"--tls-ca-cert-file", r.CA.File, "--tls-auth-clients", "no")
	} else {
		args = append(args, "--port", strconv.Itoa(r.port))
	}
	switch {
	case opts.User != "":
		// ACL users go into a file (their syntax has spaces); the default
		// user keeps Password, or is off without one.
		lines := fmt.Sprintf("user %s on >%s ~* &* +@all\n", opts.User, opts.UserPassword)
		if opts.Password != "" {
			lines += fmt.Sprintf("user default on >%s ~* &* +@all\n", opts.Password)
		} else {
			lines += "user default off\n"
		}
		conf := filepath.Join(r.Dir, "users.acl")
		if err := os.WriteFile(conf, []byte(lines), 0o600); err != nil {
			r.t.Fatal(err)
		}
		args = append(args, "--aclfile", conf)
	case opts.Password != "":
		args = append(args, "--requirepass", opts.Password)
	}
	if opts.AppendOnly {
		args = append(args, "--appendonly", "yes", "--appendfsync", "always")
	}
	return append(args, opts.Args...)
}

func (r *Redis) start(path string) {
	r.t.Helper()
	args := append(append([]string(nil), r.config...), r.args()...)
	r.cmd = exec.Command(path, args...)
	r.cmd.Dir = r.Dir
	if err := r.cmd.Start(); err != nil {
		r.t.Fatalf("start redis-server: %v", err)
	}
	r.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { _ = cmd.Wait(); close(done) }(r.cmd, r.done)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-r.done:
			r.t.Fatalf("redis-server %s exited at start", strings.Join(args, " "))
		default:
		}
		if r.ping() == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.t.Fatalf("redis-server on %s did not answer PING", r.Addr)
}

// dial opens a raw connection (TLS when the server uses it).
func (r *Redis) dial() (net.Conn, error) {
	d := &net.Dialer{Timeout: 200 * time.Millisecond}
	if r.CA != nil {
		return tls.DialWithDialer(d, "tcp", r.Addr, &tls.Config{RootCAs: r.CA.Pool(), ServerName: "127.0.0.1"})
	}
	return d.Dial("tcp", r.Addr)
}

// Do sends one command over a fresh raw connection (after AUTH when a
// password is set) and returns the first line of the reply.
func (r *Redis) Do(args ...string) (string, error) {
	var line string
	err := r.session(func(send func(...string) (string, error), _ *bufio.Reader) error {
		var err error
		line, err = send(args...)
		return err
	})
	return line, err
}

// Info returns the text of INFO section (e.g. "commandstats", "cpu").
func (r *Redis) Info(section string) (string, error) {
	var text string
	err := r.session(func(send func(...string) (string, error), br *bufio.Reader) error {
		line, err := send("INFO", section)
		if err != nil {
			return err
		}
		n, err := strconv.Atoi(strings.TrimPrefix(line, "$"))
		if err != nil || !strings.HasPrefix(line, "$") {
			return fmt.Errorf("INFO: unexpected reply %q", line)
		}
		buf := make([]byte, n)
		if _, err := io.ReadFull(br, buf); err != nil {
			return err
		}
		text = string(buf)
		return nil
	})
	return text, err
}

// ScriptStats returns how many script calls (EVALSHA and EVAL) Redis has
// run so far and the time it spent in them (INFO commandstats; the
// commands a script calls are inside that time).
func (r *Redis) ScriptStats() (calls int64, spent time.Duration, err error) {
	info, err := r.Info("commandstats")
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(info, "\n") {
		name, stats, _ := strings.Cut(strings.TrimSpace(line), ":")
		if name != "cmdstat_evalsha" && name != "cmdstat_eval" {
			continue
		}
		for _, kv := range strings.Split(stats, ",") { // calls=N,usec=M,...
			k, v, _ := strings.Cut(kv, "=")
			n, _ := strconv.ParseInt(v, 10, 64)
			switch k {
			case "calls":
				calls += n
			case "usec":
				spent += time.Duration(n) * time.Microsecond
			}
		}
	}
	return calls, spent, nil
}

// session opens a raw connection, authenticates, runs fn with a function
// that sends one command and returns its reply's first line, and closes.
func (r *Redis) session(fn func(send func(...string) (string, error), br *bufio.Reader) error) error {
	c, err := r.dial()
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	br := bufio.NewReader(c)
	send := func(args ...string) (string, error) {
		fmt.Fprintf(c, "*%d\r\n", len(args))
		for _, a := range args {
			fmt.Fprintf(c, "$%d\r\n%s\r\n", len(a), a)
		}
		line, err := br.ReadString('\n')
		return strings.TrimRight(line, "\r\n"), err
	}
	switch {
	case r.opts.User != "":
		if line, err := send("AUTH", r.opts.User, r.opts.UserPassword); err != nil || line != "+OK" {
			return fmt.Errorf("auth: %q %v", line, err)
		}
	case r.Password != "":
		if line, err := send("AUTH", r.Password); err != nil || line != "+OK" {
			return fmt.Errorf("auth: %q %v", line, err)
		}
	}
	return fn(send, br)
}

// ping checks that the server answers PING.
func (r *Redis) ping() error {
	line, err := r.Do("PING")
	if err != nil {
		return err
	}
	if line != "+PONG" {
		return fmt.Errorf("unexpected reply %q", line)
	}
	return nil
}

// URL returns the store URL for this server, e.g.
// redis://:pw@127.0.0.1:6379/0, or rediss://...?ca_file=... with TLS.
func (r *Redis) URL(db int) string {
	scheme := "redis"
	if r.CA != nil {
		scheme = "rediss"
	}
	auth := ""
	switch {
	case r.opts.User != "":
		auth = url.PathEscape(r.opts.User) + ":" + url.PathEscape(r.opts.UserPassword) + "@"
	case r.Password != "":
		auth = ":" + url.PathEscape(r.Password) + "@"
	}
	u := fmt.Sprintf("%s://%s%s/%d", scheme, auth, r.Addr, db)
	if r.CA != nil {
		u += "?ca_file=" + url.QueryEscape(r.CA.File)
	}
	return u
}

// Pid is the server's process id (0 when stopped).
func (r *Redis) Pid() int {
	if r.cmd == nil || r.cmd.Process == nil {
		return 0
	}
	return r.cmd.Process.Pid
}

// Pause freezes the server (SIGSTOP): connections stay open and nothing
// is answered, like a Redis stalled by a fork or a slow disk.
func (r *Redis) Pause() { r.signal(syscall.SIGSTOP) }

// Resume lets a paused server go on (SIGCONT).
func (r *Redis) Resume() { r.signal(syscall.SIGCONT) }

func (r *Redis) signal(sig syscall.Signal) {
	if r.cmd == nil || r.cmd.Process == nil {
		r.t.Fatal("redis-server is not running")
	}
	if err := r.cmd.Process.Signal(sig); err != nil {
		r.t.Fatalf("signal redis-server: %v", err)
	}
}

// Stop kills the server (like a crash); safe to call twice.
func (r *Redis) Stop() {
	if r.cmd == nil || r.cmd.Process == nil {
		return
	}
	_ = r.cmd.Process.Signal(syscall.SIGCONT) // a paused server cannot die of SIGKILL later than now
	_ = r.cmd.Process.Kill()
	<-r.done
	r.cmd = nil
}

// Restart stops the server and starts it again on the same port and
// directory (with AOF enabled, the data survives). opts replaces the
// options the server was started with.
func (r *Redis) Restart(opts RedisOptions) {
	r.t.Helper()
	r.Stop()
	r.opts = opts
	if opts.TLS && r.CA == nil {
		r.t.Fatal("Restart with TLS needs a server started with TLS")
	}
	r.start(redisServerPath(r.t))
}

// CertPool returns a pool holding the test CA (TLS servers only).
func (r *Redis) CertPool() *x509.CertPool { return r.CA.Pool() }
