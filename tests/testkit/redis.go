package testkit

import (
	"bufio"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Redis is a real redis-server started for one test.
type Redis struct {
	// Addr is host:port on the loopback interface.
	Addr string
	// Password is the requirepass value ("" when none).
	Password string
	// Dir is the server's working directory (dump/AOF files).
	Dir string

	t    testing.TB
	port int
	cmd  *exec.Cmd
}

// RedisOptions tunes StartRedis.
type RedisOptions struct {
	// Password, when set, is required by the server (requirepass).
	Password string
	// AppendOnly turns on AOF persistence with fsync always, so a restart
	// keeps every acknowledged write.
	AppendOnly bool
}

// StartRedis starts redis-server on a random loopback port in a temporary
// directory and stops it when the test ends.
func StartRedis(t testing.TB, opts RedisOptions) *Redis {
	t.Helper()
	path, err := exec.LookPath("redis-server")
	if err != nil {
		RequireDependency(t, "redis-server", err)
	}
	r := &Redis{t: t, Dir: t.TempDir(), Password: opts.Password, port: FreePort(t)}
	r.Addr = "127.0.0.1:" + strconv.Itoa(r.port)
	r.start(path, opts)
	t.Cleanup(r.Stop)
	return r
}

func (r *Redis) start(path string, opts RedisOptions) {
	r.t.Helper()
	args := []string{"--port", strconv.Itoa(r.port), "--bind", "127.0.0.1", "--dir", r.Dir,
		"--save", "", "--daemonize", "no", "--protected-mode", "no", "--loglevel", "warning"}
	if opts.Password != "" {
		args = append(args, "--requirepass", opts.Password)
	}
	if opts.AppendOnly {
		args = append(args, "--appendonly", "yes", "--appendfsync", "always")
	}
	r.cmd = exec.Command(path, args...)
	r.cmd.Dir = r.Dir
	if err := r.cmd.Start(); err != nil {
		r.t.Fatalf("start redis-server: %v", err)
	}
	r.cmd.Args = append([]string{path}, args...)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if r.ping() == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.t.Fatalf("redis-server on %s did not answer PING", r.Addr)
}

// ping sends PING (after AUTH when a password is set) over a raw connection.
func (r *Redis) ping() error {
	c, err := net.DialTimeout("tcp", r.Addr, 200*time.Millisecond)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	br := bufio.NewReader(c)
	if r.Password != "" {
		fmt.Fprintf(c, "AUTH %s\r\n", r.Password)
		if line, err := br.ReadString('\n'); err != nil || !strings.HasPrefix(line, "+OK") {
			return fmt.Errorf("auth: %q %v", line, err)
		}
	}
	fmt.Fprint(c, "PING\r\n")
	line, err := br.ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("unexpected reply %q", line)
	}
	return nil
}

// URL returns the store URL for this server, e.g. redis://:pw@127.0.0.1:6379/0.
func (r *Redis) URL(db int) string {
	if r.Password != "" {
		return fmt.Sprintf("redis://:%s@%s/%d", r.Password, r.Addr, db)
	}
	return fmt.Sprintf("redis://%s/%d", r.Addr, db)
}

// Stop kills the server (like a crash); safe to call twice.
func (r *Redis) Stop() {
	if r.cmd == nil || r.cmd.Process == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
	r.cmd = nil
}

// Restart stops the server and starts it again on the same port and
// directory (with AOF enabled, the data survives).
func (r *Redis) Restart(opts RedisOptions) {
	r.t.Helper()
	path := ""
	if r.cmd != nil {
		path = r.cmd.Args[0]
	}
	r.Stop()
	if path == "" {
		var err error
		if path, err = exec.LookPath("redis-server"); err != nil {
			r.t.Fatal(err)
		}
	}
	r.start(path, opts)
}
