package storetest

import (
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/polyhook/polyhook/store"
)

// EachOutage runs fn as a subtest once per backend with a store the test can take away
// with cut, as a real outage would: on SQLite the database's directory is removed; on
// PostgreSQL the store talks to the server through a proxy the test owns, and cut closes
// the proxy's port and every connection through it.
func EachOutage(t *testing.T, fn func(t *testing.T, db *store.DB, cut func())) {
	for _, b := range Backends() {
		t.Run(b.Name, func(t *testing.T) {
			dsn := b.DSN(t)
			var cut func()
			if b.Name == store.BackendPostgres {
				dsn, cut = proxied(t, dsn)
			} else {
				dir := filepath.Dir(dsn)
				cut = func() {
					if err := os.RemoveAll(dir); err != nil {
						t.Fatal(err)
					}
				}
			}
			fn(t, OpenDSN(t, dsn), cut)
		})
	}
}

// proxied returns dsn rewritten to go through a TCP proxy on loopback, and the function
// that cuts it.
func proxied(t testing.TB, dsn string) (string, func()) {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	target := u.Host
	if u.Port() == "" {
		target = net.JoinHostPort(u.Hostname(), "5432")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
		done  bool
	)
	track := func(c net.Conn) bool {
		mu.Lock()
		defer mu.Unlock()
		if done {
			c.Close()
			return false
		}
		conns = append(conns, c)
		return true
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			if !track(c) || !track(s) {
				c.Close()
				s.Close()
				continue
			}
			go func() { _, _ = io.Copy(s, c); s.Close() }()
			go func() { _, _ = io.Copy(c, s); c.Close() }()
		}
	}()
	cut := func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		done = true
		for _, c := range conns {
			c.Close()
		}
	}
	t.Cleanup(cut)
	u.Host = ln.Addr().String()
	return u.String(), cut
}
