package certstorage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"
	"github.com/redis/go-redis/v9"

	"github.com/gpugate/gpugate/tests/testkit"
)

// The storage interface has no exported conformance suite, so this one
// mirrors certmagic.FileStorage, Caddy's default: every case runs against
// FileStorage first (proving the expectation is FileStorage's behaviour)
// and then against the Redis storage.
//
// One difference is deliberate and not tested: a FileStorage directory
// stays (empty) after its last file is deleted; in Redis, directories are
// implied by the keys below them and vanish with the last one.

// testBackend makes two storages sharing one backing store (two gateway
// processes on the same disk or Redis).
type testBackend struct {
	name      string
	instances func(t *testing.T) (a, b certmagic.Storage)
}

// backends are FileStorage (the reference), the Redis storage on one
// server and on a three-node Redis Cluster (where a script or transaction
// over keys in different slots fails with CROSSSLOT).
func backends(t *testing.T) []testBackend {
	_, rdb := sharedRedis(t)
	cluster := testkit.StartRedisCluster(t, 3)
	var seeds []string
	for _, n := range cluster.Nodes {
		seeds = append(seeds, n.Addr)
	}
	crdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: seeds})
	t.Cleanup(func() { _ = crdb.Close() })
	onRedis := func(rdb redis.UniversalClient) func(t *testing.T) (certmagic.Storage, certmagic.Storage) {
		return func(t *testing.T) (certmagic.Storage, certmagic.Storage) {
			a, _ := testStorage(t, rdb, "conformance:"+t.Name(), 2*time.Second)
			b, _ := testStorage(t, rdb, "conformance:"+t.Name(), 2*time.Second)
			return a, b
		}
	}
	return []testBackend{
		{"FileStorage", func(t *testing.T) (certmagic.Storage, certmagic.Storage) {
			dir := t.TempDir()
			return &certmagic.FileStorage{Path: dir}, &certmagic.FileStorage{Path: dir}
		}},
		{"Redis", onRedis(rdb)},
		{"RedisCluster", onRedis(crdb)},
	}
}

// fixture is the tree most cases start from.
var fixture = map[string]string{
	"certificates/acme/example.com/example.com.crt":  "CERT",
	"certificates/acme/example.com/example.com.key":  "KEY",
	"certificates/acme/example.com/example.com.json": "{}",
	"certificates/acme/other.org/other.org.crt":      "CERT2",
	"certificatesX/keep":                             "not below certificates",
	"acme/users/a@b.c/a.json":                        "acct",
	"last_clean.json":                                "{}",
}

func seed(t *testing.T, s certmagic.Storage) {
	t.Helper()
	for k, v := range fixture {
		if err := s.Store(context.Background(), k, []byte(v)); err != nil {
			t.Fatalf("Store(%q): %v", k, err)
		}
	}
}

type conformanceCase struct {
	name string
	run  func(t *testing.T, a, b certmagic.Storage)
}

var conformanceCases = []conformanceCase{
	{"load missing is ErrNotExist", func(t *testing.T, a, _ certmagic.Storage) {
		_, err := a.Load(ctx(), "no/such/key")
		wantNotExist(t, err)
	}},
	{"store then load, from another instance", func(t *testing.T, a, b certmagic.Storage) {
		for _, v := range [][]byte{[]byte("v1"), {0, 0xff, '\n', 0, 'x'}, {}} {
			must(t, a.Store(ctx(), "k/v", v))
			got, err := b.Load(ctx(), "k/v")
			must(t, err)
			if !bytes.Equal(got, v) {
				t.Fatalf("Load = %q, want %q", got, v)
			}
		}
	}},
	{"keys are cleaned like file paths", func(t *testing.T, a, b certmagic.Storage) {
		must(t, a.Store(ctx(), "x//y/", []byte("v")))
		got, err := b.Load(ctx(), "x/y")
		must(t, err)
		if string(got) != "v" {
			t.Fatalf("Load(x/y) = %q", got)
		}
	}},
	{"exists: files, directories, component prefixes", func(t *testing.T, a, b certmagic.Storage) {
		seed(t, a)
		for key, want := range map[string]bool{
			"certificates/acme/example.com/example.com.crt": true,
			"certificates/acme/example.com":                 true,
			"certificates":                                  true,
			"certificates/acme/example":                     false, // not a component prefix
			"certificates/acme/example.com/example.com":     false,
			"nothing": false,
		} {
			if got := b.Exists(ctx(), key); got != want {
				t.Errorf("Exists(%q) = %v, want %v", key, got, want)
			}
		}
	}},
	{"stat of a file, a directory, nothing", func(t *testing.T, a, b certmagic.Storage) {
		before := time.Now()
		must(t, a.Store(ctx(), "d/f.crt", []byte("12345")))
		after := time.Now()
		fi, err := b.Stat(ctx(), "d/f.crt")
		must(t, err)
		if fi.Key != "d/f.crt" || !fi.IsTerminal || fi.Size != 5 {
			t.Errorf("Stat(file) = %+v, want key d/f.crt, terminal, size 5", fi)
		}
		// File systems and Redis round to their own precision.
		if fi.Modified.Before(before.Add(-time.Second)) || fi.Modified.After(after.Add(time.Second)) {
			t.Errorf("Modified = %v, want between %v and %v", fi.Modified, before, after)
		}
		di, err := b.Stat(ctx(), "d")
		must(t, err)
		if di.Key != "d" || di.IsTerminal {
			t.Errorf("Stat(dir) = %+v, want key d, not terminal", di)
		}
		_, err = b.Stat(ctx(), "d/none")
		wantNotExist(t, err)
	}},
	{"stat: a newer store has a later modification time", func(t *testing.T, a, b certmagic.Storage) {
		must(t, a.Store(ctx(), "old", []byte("1")))
		old, err := b.Stat(ctx(), "old")
		must(t, err)
		for {
			must(t, a.Store(ctx(), "new", []byte("2")))
			nw, err := b.Stat(ctx(), "new")
			must(t, err)
			if nw.Modified.After(old.Modified) {
				return
			}
			if nw.Modified.Before(old.Modified) {
				t.Fatalf("later store has an earlier time: %v < %v", nw.Modified, old.Modified)
			}
		}
	}},
	{"list, not recursive: files and directories right below", func(t *testing.T, a, b certmagic.Storage) {
		seed(t, a)
		wantList(t, b, "certificates", false,
			"certificates/acme")
		wantList(t, b, "certificates/acme", false,
			"certificates/acme/example.com", "certificates/acme/other.org")
		wantList(t, b, "certificates/acme/example.com", false,
			"certificates/acme/example.com/example.com.crt",
			"certificates/acme/example.com/example.com.json",
			"certificates/acme/example.com/example.com.key")
	}},
	{"list, recursive: everything below, directories too", func(t *testing.T, a, b certmagic.Storage) {
		seed(t, a)
		wantList(t, b, "certificates", true,
			"certificates/acme",
			"certificates/acme/example.com",
			"certificates/acme/example.com/example.com.crt",
			"certificates/acme/example.com/example.com.json",
			"certificates/acme/example.com/example.com.key",
			"certificates/acme/other.org",
			"certificates/acme/other.org/other.org.crt")
	}},
	{"list of nothing is ErrNotExist, of a file is empty", func(t *testing.T, a, b certmagic.Storage) {
		seed(t, a)
		_, err := b.List(ctx(), "certificates/none", false)
		wantNotExist(t, err)
		_, err = b.List(ctx(), "certificates/acme/example", true)
		wantNotExist(t, err)
		got, err := b.List(ctx(), "last_clean.json", false)
		must(t, err)
		if len(got) != 0 {
			t.Fatalf("List(file) = %q, want nothing", got)
		}
	}},
	{"delete a file", func(t *testing.T, a, b certmagic.Storage) {
		seed(t, a)
		must(t, b.Delete(ctx(), "certificates/acme/example.com/example.com.key"))
		_, err := a.Load(ctx(), "certificates/acme/example.com/example.com.key")
		wantNotExist(t, err)
		if a.Exists(ctx(), "certificates/acme/example.com/example.com.key") {
			t.Error("deleted file still exists")
		}
		wantList(t, a, "certificates/acme/example.com", false,
			"certificates/acme/example.com/example.com.crt",
			"certificates/acme/example.com/example.com.json")
	}},
	{"delete a directory: everything below, nothing beside", func(t *testing.T, a, b certmagic.Storage) {
		seed(t, a)
		must(t, b.Delete(ctx(), "certificates"))
		for k := range fixture {
			_, err := a.Load(ctx(), k)
			gone := errors.Is(err, fs.ErrNotExist)
			if want := len(k) > len("certificates/") && k[:len("certificates/")] == "certificates/"; gone != want {
				t.Errorf("after Delete(certificates), %q gone = %v, want %v (err %v)", k, gone, want, err)
			}
		}
		if a.Exists(ctx(), "certificates/acme/other.org/other.org.crt") {
			t.Error("file below a deleted directory exists")
		}
	}},
	{"delete of nothing is no error", func(t *testing.T, a, _ certmagic.Storage) {
		must(t, a.Delete(ctx(), "no/such/key"))
		must(t, a.Store(ctx(), "k", []byte("v")))
		must(t, a.Delete(ctx(), "k"))
		must(t, a.Delete(ctx(), "k"))
	}},
	{"a key is a file or a directory, not both", func(t *testing.T, a, b certmagic.Storage) {
		must(t, a.Store(ctx(), "f", []byte("file")))
		if err := b.Store(ctx(), "f/below", []byte("x")); err == nil {
			t.Error("Store below a file succeeded")
		}
		must(t, a.Store(ctx(), "d/x", []byte("x")))
		if err := b.Store(ctx(), "d", []byte("x")); err == nil {
			t.Error("Store onto a directory succeeded")
		}
		if _, err := b.Load(ctx(), "d"); err == nil {
			t.Error("Load of a directory succeeded")
		}
		got, err := b.Load(ctx(), "f")
		must(t, err)
		if string(got) != "file" {
			t.Errorf("Load(f) = %q after the refused stores", got)
		}
	}},
	{"concurrent stores never tear a value", func(t *testing.T, a, b certmagic.Storage) {
		values := make([][]byte, 8)
		for i := range values {
			values[i] = bytes.Repeat([]byte{byte('a' + i)}, 256<<10)
		}
		must(t, a.Store(ctx(), "big", values[0]))
		var wg sync.WaitGroup
		for i, v := range values {
			s := a
			if i%2 == 1 {
				s = b
			}
			wg.Go(func() {
				for range 4 {
					if err := s.Store(ctx(), "big", v); err != nil {
						t.Error(err)
					}
				}
			})
		}
		stop := make(chan struct{})
		var reads sync.WaitGroup
		reads.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				got, err := b.Load(ctx(), "big")
				if err != nil {
					t.Error(err)
					return
				}
				if !slices.ContainsFunc(values, func(v []byte) bool { return bytes.Equal(v, got) }) {
					t.Errorf("Load saw a torn value of %d bytes", len(got))
					return
				}
			}
		})
		wg.Wait()
		close(stop)
		reads.Wait()
	}},
	{"lock excludes another instance until unlocked", func(t *testing.T, a, b certmagic.Storage) {
		must(t, a.Lock(ctx(), "issue_cert_example.com"))
		tl, ok := b.(certmagic.TryLocker)
		if !ok {
			t.Fatalf("%T is not a TryLocker", b)
		}
		got, err := tl.TryLock(ctx(), "issue_cert_example.com")
		must(t, err)
		if got {
			t.Fatal("TryLock of a held lock succeeded")
		}
		// Another name is independent.
		got, err = tl.TryLock(ctx(), "issue_cert_other.org")
		must(t, err)
		if !got {
			t.Fatal("TryLock of a free lock failed")
		}
		must(t, tl.Unlock(ctx(), "issue_cert_other.org"))

		acquired := make(chan error, 1)
		go func() { acquired <- b.Lock(ctx(), "issue_cert_example.com") }()
		select {
		case err := <-acquired:
			t.Fatalf("Lock of a held lock returned %v", err)
		case <-time.After(300 * time.Millisecond):
		}
		must(t, a.Unlock(ctx(), "issue_cert_example.com"))
		select {
		case err := <-acquired:
			must(t, err)
		case <-time.After(10 * time.Second):
			t.Fatal("Lock did not return after Unlock")
		}
		must(t, b.Unlock(ctx(), "issue_cert_example.com"))
	}},
	{"a waiting lock honours cancellation", func(t *testing.T, a, b certmagic.Storage) {
		must(t, a.Lock(ctx(), "l"))
		defer func() { must(t, a.Unlock(ctx(), "l")) }()
		c, cancel := context.WithTimeout(ctx(), 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		if err := b.Lock(c, "l"); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Lock with an expiring context = %v, want DeadlineExceeded", err)
		}
		if waited := time.Since(start); waited > 5*time.Second {
			t.Fatalf("Lock returned %v after its context ended", waited)
		}
	}},
}

func TestConformance(t *testing.T) {
	for _, be := range backends(t) {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			for _, c := range conformanceCases {
				t.Run(c.name, func(t *testing.T) {
					t.Parallel()
					a, b := be.instances(t)
					c.run(t, a, b)
				})
			}
		})
	}
}

func ctx() context.Context { return context.Background() }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantNotExist(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("error = %v, want fs.ErrNotExist", err)
	}
}

// wantList compares List's answer as a set (FileStorage walks directories
// in its own order).
func wantList(t *testing.T, s certmagic.Storage, dir string, recursive bool, want ...string) {
	t.Helper()
	got, err := s.List(ctx(), dir, recursive)
	must(t, err)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("List(%q, recursive=%v) =\n%s\nwant\n%s", dir, recursive, fmt.Sprint(got), fmt.Sprint(want))
	}
}
