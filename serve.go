package main

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/polyhook/polyhook/delivery"
	"github.com/polyhook/polyhook/delivery/driver/drivers"
	"github.com/polyhook/polyhook/gateway"
	"github.com/polyhook/polyhook/server"
	"github.com/polyhook/polyhook/server/native"
	"github.com/polyhook/polyhook/store"
)

// storeFlags say where the gateway's database is and how its secrets are sealed.
type storeFlags struct {
	DB        string `name:"db" default:"polyhook.db" env:"POLYHOOK_DB" secret:"" help:"SQLite file path, or a postgres:// URL."`
	SecretKey string `name:"secret-key" env:"POLYHOOK_SECRET_KEY" secret:"" help:"Master key for issued tokens and sealed secrets, 16+ characters; generated and kept in the database when unset."`
}

// logFlags choose what is logged and how.
type logFlags struct {
	LogLevel  string `name:"log-level" default:"info" enum:"debug,info,warn,error" env:"POLYHOOK_LOG_LEVEL" help:"debug, info, warn or error."`
	LogFormat string `name:"log-format" default:"text" enum:"text,json" env:"POLYHOOK_LOG_FORMAT" help:"text or json (one object a line)."`
}

// serveCmd is the gateway's configuration. Every flag has an environment variable; a
// value that does not parse, from either, stops the start with an error naming it.
type serveCmd struct {
	Addr string `name:"addr" default:"127.0.0.1:8080" env:"POLYHOOK_ADDR" help:"Listen address."`
	storeFlags
	AdminToken string `name:"admin-token" env:"POLYHOOK_ADMIN_TOKEN" secret:"" help:"Admin token for /v1, used instead of the stored one while it is set; generated, stored hashed and printed once when unset and none is stored."`
	logFlags

	RateLimit float64 `name:"rate-limit" default:"50" env:"POLYHOOK_RATE_LIMIT" help:"Requests per second per credential on the dialect APIs; 0 disables."`
	RateBurst int     `name:"rate-burst" default:"100" env:"POLYHOOK_RATE_BURST" help:"Burst size of the per-credential rate limit."`

	AllowPrivateTargets bool   `name:"allow-private-targets" env:"POLYHOOK_ALLOW_PRIVATE_TARGETS" help:"Allow deliveries to loopback, private and link-local addresses."`
	AllowTargets        string `name:"allow-targets" env:"POLYHOOK_ALLOW_TARGETS" help:"Comma-separated addresses or CIDR prefixes deliveries may reach even when private (e.g. 127.0.0.1)."`
	CAFile              string `name:"ca-file" env:"POLYHOOK_CA_FILE" help:"PEM bundle of CAs deliveries trust instead of the system's."`

	MaxAttempts  int      `name:"max-attempts" default:"12" env:"POLYHOOK_MAX_ATTEMPTS" help:"Attempts per delivery before it is given up."`
	Workers      int      `name:"workers" default:"100" env:"POLYHOOK_WORKERS" help:"Deliveries sent at once by this process."`
	PerEndpoint  int      `name:"per-endpoint" default:"16" env:"POLYHOOK_PER_ENDPOINT" help:"Deliveries one webhook may hold at once."`
	ParkMemoryMB int      `name:"park-memory-mb" default:"32" env:"POLYHOOK_PARK_MEMORY_MB" help:"MiB of memory for first attempts waiting for a busy or stuck endpoint; beyond it they wait in the database, due later."`
	RescueAfter  duration `name:"rescue-after" default:"2m" env:"POLYHOOK_RESCUE_AFTER" help:"How long a process may hold a delivery it claimed before it is taken for lost and sent again by any process."`
	DisableAfter duration `name:"disable-after" default:"5d" env:"POLYHOOK_DISABLE_AFTER" help:"Disable a webhook whose attempts have all failed for this long."`
	Retention    duration `name:"retention" default:"30d" env:"POLYHOOK_RETENTION" help:"How long attempts, finished deliveries and their events are kept."`

	ValidateEvents bool `name:"validate-events" env:"POLYHOOK_VALIDATE_EVENTS" help:"Refuse (422) events published at POST /v1/events whose data does not satisfy their type's JSON Schema (GET /v1/event-types)."`

	PortalOrigins string `name:"portal-origins" env:"POLYHOOK_PORTAL_ORIGINS" help:"Comma-separated origins (https://app.example.com) whose pages may embed the tenant portal in a frame; none when empty."`

	MaxBodyBytes int64 `name:"max-body-bytes" default:"1048576" env:"POLYHOOK_MAX_BODY_BYTES" help:"Largest request body any API accepts, in bytes; larger ones are answered 413."`

	PprofAddr string `name:"pprof-addr" env:"POLYHOOK_PPROF_ADDR" help:"Serve Go's profiler on this address (its own listener, never the API's); off when empty."`
}

// Validate refuses values that parse but mean nothing; kong calls it before Run.
func (c *serveCmd) Validate() error {
	checks := []struct {
		ok       bool
		flag, is string
	}{
		{c.RateLimit >= 0, "rate-limit", "0 or more"},
		{c.RateBurst >= 1 || c.RateLimit == 0, "rate-burst", "at least 1"},
		{c.MaxAttempts >= 1, "max-attempts", "at least 1"},
		{c.Workers >= 1, "workers", "at least 1"},
		{c.PerEndpoint >= 1, "per-endpoint", "at least 1"},
		{c.ParkMemoryMB >= 0, "park-memory-mb", "0 or more"},
		{c.RescueAfter >= duration(time.Second), "rescue-after", "at least 1s"},
		{c.DisableAfter > 0, "disable-after", "more than 0"},
		{c.Retention > 0, "retention", "more than 0"},
		{c.MaxBodyBytes >= 1, "max-body-bytes", "at least 1"},
	}
	for _, ch := range checks {
		if !ch.ok {
			return fmt.Errorf("--%s (%s) must be %s", ch.flag, envOf(ch.flag), ch.is)
		}
	}
	if err := checkAddr(c.Addr); err != nil {
		return err
	}
	if _, err := parseOrigins(c.PortalOrigins); err != nil {
		return fmt.Errorf("--portal-origins (POLYHOOK_PORTAL_ORIGINS): %w", err)
	}
	if _, err := parsePrefixes(c.AllowTargets); err != nil {
		return fmt.Errorf("--allow-targets (POLYHOOK_ALLOW_TARGETS): %w", err)
	}
	if c.CAFile != "" {
		if _, err := os.Stat(c.CAFile); err != nil {
			return fmt.Errorf("--ca-file (POLYHOOK_CA_FILE) %s: %w", c.CAFile, unwrapPath(err))
		}
	}
	if c.SecretKey != "" && len(c.SecretKey) < 16 {
		return fmt.Errorf("--secret-key (POLYHOOK_SECRET_KEY) must be 16 characters or more")
	}
	if n := utf8.RuneCountInString(c.AdminToken); c.AdminToken != "" && n < minAdminToken {
		return fmt.Errorf("--admin-token (POLYHOOK_ADMIN_TOKEN) must be %d characters or more, %d advised; it has %d", minAdminToken, goodAdminToken, n)
	}
	return nil
}

// An admin token given at start shorter than minAdminToken is refused, and one shorter
// than goodAdminToken warned about: failed admin logins are throttled per address, not
// in all, so many addresses guess faster than one.
const (
	minAdminToken  = 16
	goodAdminToken = 32
)

// envOf names a flag's environment variable.
func envOf(flag string) string {
	return "POLYHOOK_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

func (c *logFlags) logger(w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.LogLevel)) // the enum has been checked
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if c.LogFormat == "json" {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(quietRiver{newRepeats(h)})
}

// newEngine builds the delivery engine from the configuration.
func (c *serveCmd) newEngine(db *store.DB, log *slog.Logger) (*delivery.Engine, error) {
	allow, err := parsePrefixes(c.AllowTargets)
	if err != nil {
		return nil, err
	}
	var roots *x509.CertPool
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, usageError{fmt.Errorf("--ca-file (POLYHOOK_CA_FILE) %s: %w", c.CAFile, unwrapPath(err))}
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, usageError{fmt.Errorf("--ca-file (POLYHOOK_CA_FILE) %s holds no PEM certificate", c.CAFile)}
		}
	}
	return delivery.New(drivers.For(db), delivery.Config{
		MaxAttempts:    c.MaxAttempts,
		Workers:        c.Workers,
		PerEndpoint:    c.PerEndpoint,
		RescueAfter:    time.Duration(c.RescueAfter),
		ParkMemory:     int64(c.ParkMemoryMB) << 20,
		DisableAfter:   time.Duration(c.DisableAfter),
		Retention:      time.Duration(c.Retention),
		ValidateEvents: c.ValidateEvents,
		Log:            log,
		Sender:         delivery.SenderOptions{AllowPrivateTargets: c.AllowPrivateTargets, AllowList: allow, RootCAs: roots},
	})
}

// listen opens the API's listener; an address in use or not this machine's is a
// configuration error.
func listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err == nil {
		return ln, nil
	}
	why := err.Error()
	var se *os.SyscallError
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		why = "the address is in use (is another gateway running? stop it, or choose another address)"
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		why = "the address is not one of this machine's"
	case errors.Is(err, syscall.EACCES):
		why = "not permitted (ports below 1024 need privileges)"
	case errors.As(err, &se):
		why = se.Err.Error()
	}
	return nil, usageError{fmt.Errorf("--addr (POLYHOOK_ADDR) %s: cannot listen: %s", addr, why)}
}

// checkAddr refuses a listen address that is not host:port, in our words.
func checkAddr(addr string) error {
	if _, port, err := net.SplitHostPort(addr); err == nil {
		if _, err := strconv.ParseUint(port, 10, 16); err == nil {
			return nil
		}
	}
	return fmt.Errorf("--addr (POLYHOOK_ADDR) %q must be host:port or :port, as in 127.0.0.1:8080 or :8080", addr)
}

func parsePrefixes(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range strings.Split(list, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		if !strings.Contains(s, "/") {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return nil, fmt.Errorf("%q is not an IP address or CIDR prefix (as in 127.0.0.1, ::1 or 10.0.0.0/8)", s)
			}
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR prefix (as in 10.0.0.0/8 or fd00::/8)", s)
		}
		out = append(out, p)
	}
	return out, nil
}

// open opens the store (see openDB) and the gateway's keys.
func (c *storeFlags) open(ctx context.Context, mustExist bool) (*store.DB, *server.Keys, error) {
	db, err := openDB(ctx, c.DB, mustExist)
	if err != nil {
		return nil, nil, err
	}
	keys, err := server.LoadKeys(ctx, db, c.SecretKey)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, keys, nil
}

func (c *serveCmd) Run(g *globals) error {
	ctx := g.ctx
	log := c.logger(g.stderr)
	collectLessOften()
	shutdownTracing, err := startTracing(ctx)
	if err != nil {
		return err
	}
	defer shutdownTracing()
	db, keys, err := c.open(ctx, false)
	if err != nil {
		return err
	}
	defer db.Close()
	deps := server.Deps{
		DB: db, Keys: keys, Log: log,
		Limiter:      server.NewLimiter(c.RateLimit, c.RateBurst),
		Logins:       server.NewLogins(server.DefaultLoginBurst, server.DefaultLoginEvery),
		MaxBodyBytes: c.MaxBodyBytes,
	}
	if n := utf8.RuneCountInString(c.AdminToken); c.AdminToken != "" && n < goodAdminToken {
		log.Warn(fmt.Sprintf("the admin token given with --admin-token (POLYHOOK_ADMIN_TOKEN) has %d characters; %d or more random ones are advised", n, goodAdminToken))
	}
	if c.SecretKey == "" {
		log.Warn("the master key was generated and is kept in the database, next to the secrets it seals: " +
			"a dump or backup of the database opens them all; give it with --secret-key (POLYHOOK_SECRET_KEY) to keep it apart")
	}
	engine, err := c.newEngine(db, log)
	if err != nil {
		return err
	}
	ln, err := listen(c.Addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	// The token is settled once the database and the listener are up, so that a start
	// that fails shows no "shown once" token it then never uses.
	tokenHash, generated, err := native.AdminToken(ctx, db, c.AdminToken)
	if err != nil {
		return err
	}
	if generated != "" {
		fmt.Fprintf(g.stdout, "Admin token (shown once; keep it, or set POLYHOOK_ADMIN_TOKEN): %s\n", generated)
	}
	origins, _ := parseOrigins(c.PortalOrigins) // checked by Validate
	v := buildVersion()
	handler := gateway.New(gateway.Config{Deps: deps, Engine: engine, TokenHash: tokenHash, Dialects: registered, PortalOrigins: origins,
		Build: gateway.BuildInfo{Version: v.Version, Revision: v.Revision}})
	if err := engine.Start(ctx); err != nil {
		return err
	}
	hs := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	if c.PprofAddr != "" {
		// Profiling for benchmarks, on its own listener; never on the API's. Contention is
		// sampled too (/debug/pprof/mutex and /debug/pprof/block), at a cost too small to
		// move the figures: one contended lock in 10, one blocking event per 10 µs blocked.
		runtime.SetMutexProfileFraction(10)
		runtime.SetBlockProfileRate(10_000)
		go func() { log.Warn("pprof stopped", "err", http.ListenAndServe(c.PprofAddr, pprofMux())) }()
	}
	log.Info("polyhook listening", "addr", ln.Addr().String(), "db", db.Backend(), "version", buildVersion().Version)
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Stop taking requests, then let in-flight attempts finish; what does not finish in
	// time stays pending in the database and is sent after a restart.
	herr := hs.Shutdown(shutdownCtx)
	if err := engine.Stop(shutdownCtx); err != nil {
		log.Warn("delivery engine stopped with work unfinished; it resumes on the next start", "err", err)
	}
	return herr
}

func pprofMux() http.Handler {
	m := http.NewServeMux()
	m.HandleFunc("/debug/pprof/", pprof.Index)
	m.HandleFunc("/debug/pprof/profile", pprof.Profile)
	return m
}

// gcPercent is the gateway's garbage collection target, unless GOGC sets one: the heap may
// grow to three times what is live before a collection (Go's default, 100, lets it double).
// Interleaved with the default (docs/benchmark.md), it took 3-10 % less CPU per delivery
// in each of three runs, for a peak RSS of 139 MB against 114-123 (the bound is 150).
const gcPercent = 200

// collectLessOften sets gcPercent, unless the environment says GOGC.
func collectLessOften() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(gcPercent)
	}
}
