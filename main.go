// Command polyhook is a webhook gateway that speaks FusionAuth's, Xsolla Login's, Nursa's
// and Authing's webhook-management APIs at their own paths on one shared model.
//
//	polyhook [serve] [flags]                      start the gateway (the default command)
//	polyhook credentials create --dialect D       mint a credential for dialect D
//	polyhook credentials list [--dialect D]       list credentials (no secrets)
//	polyhook credentials revoke ID                revoke a credential
//	polyhook publish --type T [--data JSON]       publish an event
package main

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/polyhook/polyhook/delivery"
	"github.com/polyhook/polyhook/server"
	"github.com/polyhook/polyhook/server/native"
	"github.com/polyhook/polyhook/server/reference"
	"github.com/polyhook/polyhook/store"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "polyhook:", err)
		}
		os.Exit(2)
	}
}

const usage = `Usage:
  polyhook [serve] [flags]                  start the gateway (default)
  polyhook credentials create --dialect D   mint a credential: fusionauth, xsolla (--project P), nursa, authing
  polyhook credentials list [--dialect D]   list credentials, without secrets
  polyhook credentials revoke ID            revoke a credential
  polyhook publish --type T [--tenant X] [--id K] [--data JSON]
                                            publish an event (a running gateway delivers it)
  polyhook events list [--type T] [--tenant X]
  polyhook deliveries list [--event E] [--webhook W] [--status S] | show ID | retry ID
  polyhook webhooks list [--dialect D] | enable ID | test ID [--event NAME]
  polyhook webhooks recover ID --since 24h  re-send its failed deliveries, with a progress bar

Run "polyhook serve -h" for the flags; each has an environment variable.
`

// run runs one command; tests call it as the binary would be called.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, args, stdout, stderr)
	case "credentials":
		return credentials(ctx, args, stdout, stderr)
	case "publish":
		return publish(ctx, args, stdout, stderr)
	case "events", "deliveries", "webhooks":
		return operate(ctx, cmd, args, stdout, stderr)
	case "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}

// config is the gateway's configuration: flags, each defaulting to an environment variable.
type config struct {
	addr                string
	db                  string
	adminToken          string
	allowPrivateTargets bool
	logLevel            string
	secretKey           string
	rateLimit           float64
	rateBurst           int
	allowTargets        string
	caFile              string
	maxAttempts         int
	workers             int
	perEndpoint         int
	rescueAfter         time.Duration
	parkMemoryMB        int
	disableAfter        time.Duration
	retention           time.Duration
	maxBodyBytes        int64
}

func (c *config) flags(fs *flag.FlagSet, serving bool) {
	fs.StringVar(&c.db, "db", env("POLYHOOK_DB", "polyhook.db"), "SQLite file path, or a postgres:// URL (POLYHOOK_DB)")
	fs.StringVar(&c.logLevel, "log-level", env("POLYHOOK_LOG_LEVEL", "info"), "debug, info, warn or error (POLYHOOK_LOG_LEVEL)")
	fs.StringVar(&c.secretKey, "secret-key", env("POLYHOOK_SECRET_KEY", ""), "master key for issued tokens and sealed secrets, 16+ characters; generated and kept in the database when unset (POLYHOOK_SECRET_KEY)")
	rl, _ := strconv.ParseFloat(env("POLYHOOK_RATE_LIMIT", "50"), 64)
	burst, _ := strconv.Atoi(env("POLYHOOK_RATE_BURST", "100"))
	fs.Float64Var(&c.rateLimit, "rate-limit", rl, "requests per second per credential on the dialect APIs; 0 disables (POLYHOOK_RATE_LIMIT)")
	fs.IntVar(&c.rateBurst, "rate-burst", burst, "burst size of the per-credential rate limit (POLYHOOK_RATE_BURST)")
	// Delivery settings: the commands that send (webhooks test) honour them too.
	allow, _ := strconv.ParseBool(env("POLYHOOK_ALLOW_PRIVATE_TARGETS", "false"))
	fs.BoolVar(&c.allowPrivateTargets, "allow-private-targets", allow, "allow deliveries to loopback, private and link-local addresses (POLYHOOK_ALLOW_PRIVATE_TARGETS)")
	fs.StringVar(&c.allowTargets, "allow-targets", env("POLYHOOK_ALLOW_TARGETS", ""), "comma-separated addresses or CIDR prefixes deliveries may reach even when private (POLYHOOK_ALLOW_TARGETS)")
	fs.StringVar(&c.caFile, "ca-file", env("POLYHOOK_CA_FILE", ""), "PEM bundle of CAs deliveries trust instead of the system's (POLYHOOK_CA_FILE)")
	if !serving {
		return
	}
	fs.Int64Var(&c.maxBodyBytes, "max-body-bytes", int64(envInt("POLYHOOK_MAX_BODY_BYTES", server.DefaultMaxBodyBytes)), "largest request body any API accepts; larger ones are answered 413 (POLYHOOK_MAX_BODY_BYTES)")
	fs.StringVar(&c.addr, "addr", env("POLYHOOK_ADDR", "127.0.0.1:8080"), "listen address (POLYHOOK_ADDR)")
	fs.StringVar(&c.adminToken, "admin-token", env("POLYHOOK_ADMIN_TOKEN", ""), "admin token for /v1; generated and printed once when unset (POLYHOOK_ADMIN_TOKEN)")
	fs.IntVar(&c.maxAttempts, "max-attempts", envInt("POLYHOOK_MAX_ATTEMPTS", 12), "attempts per delivery before it is given up (POLYHOOK_MAX_ATTEMPTS)")
	fs.IntVar(&c.workers, "workers", envInt("POLYHOOK_WORKERS", 100), "deliveries sent at once by this process (POLYHOOK_WORKERS)")
	fs.IntVar(&c.perEndpoint, "per-endpoint", envInt("POLYHOOK_PER_ENDPOINT", 16), "deliveries one webhook may hold at once (POLYHOOK_PER_ENDPOINT)")
	fs.IntVar(&c.parkMemoryMB, "park-memory-mb", envInt("POLYHOOK_PARK_MEMORY_MB", 32), "MiB of memory for first attempts waiting for a busy or stuck endpoint; beyond it they wait in the job queue (POLYHOOK_PARK_MEMORY_MB)")
	rescue, _ := time.ParseDuration(env("POLYHOOK_RESCUE_AFTER", "2m"))
	retention, _ := time.ParseDuration(env("POLYHOOK_RETENTION", "720h"))
	fs.DurationVar(&c.retention, "retention", retention, "how long attempts, finished deliveries and their events are kept (POLYHOOK_RETENTION)")
	disable, _ := time.ParseDuration(env("POLYHOOK_DISABLE_AFTER", "120h"))
	fs.DurationVar(&c.disableAfter, "disable-after", disable, "disable a webhook whose attempts have all failed for this long (POLYHOOK_DISABLE_AFTER)")
	fs.DurationVar(&c.rescueAfter, "rescue-after", rescue, "how long a delivery job may run, or a process may hold a delivery it claimed, before it is taken for lost and re-run (POLYHOOK_RESCUE_AFTER)")
}

func envInt(key string, def int) int {
	if v, err := strconv.Atoi(env(key, "")); err == nil {
		return v
	}
	return def
}

func env(key, def string) string {
	if v, ok := os.LookupEnv(key); ok {
		return v
	}
	return def
}

func (c *config) logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.logLevel)); err != nil {
		return nil, fmt.Errorf("log level %q: %w", c.logLevel, err)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level})), nil
}

// gateway wires every API and every dialect (dialects.go) onto one server and engine.
func gateway(deps server.Deps, engine *delivery.Engine, tokenHash string) *server.Server {
	// Webhook URLs are checked against the very policy deliveries are sent under.
	deps.Targets = engine.Targets()
	srv := server.New(deps.Log)
	if deps.MaxBodyBytes > 0 {
		srv.MaxBodyBytes = deps.MaxBodyBytes
	}
	deps.Engine = engine
	for _, d := range dialects(deps) {
		srv.Register(d)
		engine.Register(d.Encoder())
	}
	srv.Register(native.New(deps, engine, srv, tokenHash), reference.New())
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(server.Collectors()...)
	reg.MustRegister(engine.Collectors()...)
	srv.Handle(http.MethodGet, "/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	return srv
}

// newEngine builds the delivery engine from the configuration.
func (c *config) newEngine(db *store.DB, log *slog.Logger) (*delivery.Engine, error) {
	allow, err := parsePrefixes(c.allowTargets)
	if err != nil {
		return nil, err
	}
	var roots *x509.CertPool
	if c.caFile != "" {
		pem, err := os.ReadFile(c.caFile)
		if err != nil {
			return nil, err
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--ca-file %s holds no PEM certificate", c.caFile)
		}
	}
	return delivery.New(db, delivery.Config{
		MaxAttempts:  c.maxAttempts,
		Workers:      c.workers,
		PerEndpoint:  c.perEndpoint,
		RescueAfter:  c.rescueAfter,
		ParkMemory:   int64(c.parkMemoryMB) << 20,
		DisableAfter: c.disableAfter,
		Retention:    c.retention,
		Log:          log,
		Sender:       delivery.SenderOptions{AllowPrivateTargets: c.allowPrivateTargets, AllowList: allow, RootCAs: roots},
	})
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
				return nil, fmt.Errorf("allowed target %q: %w", s, err)
			}
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("allowed target %q: %w", s, err)
		}
		out = append(out, p)
	}
	return out, nil
}

// open makes the logger (writing to w) and opens the store and the gateway's keys.
func (c *config) open(ctx context.Context, w io.Writer) (server.Deps, error) {
	log, err := c.logger(w)
	if err != nil {
		return server.Deps{}, err
	}
	db, err := store.Open(ctx, c.db)
	if err != nil {
		return server.Deps{}, err
	}
	keys, err := server.LoadKeys(ctx, db, c.secretKey)
	if err != nil {
		db.Close()
		return server.Deps{}, err
	}
	return server.Deps{
		DB: db, Keys: keys, Log: log,
		Limiter:      server.NewLimiter(c.rateLimit, c.rateBurst),
		Logins:       server.NewLogins(server.DefaultLoginBurst, server.DefaultLoginEvery),
		MaxBodyBytes: c.maxBodyBytes,
	}, nil
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cfg config
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg.flags(fs, true)
	if err := fs.Parse(args); err != nil {
		return err
	}
	deps, err := cfg.open(ctx, stderr)
	if err != nil {
		return err
	}
	log := deps.Log
	db := deps.DB
	defer db.Close()
	if cfg.secretKey == "" {
		log.Warn("the master key was generated and is kept in the database, next to the secrets it seals: " +
			"a dump or backup of the database opens them all; give it with --secret-key (POLYHOOK_SECRET_KEY) to keep it apart")
	}
	tokenHash, generated, err := native.AdminToken(ctx, db, cfg.adminToken)
	if err != nil {
		return err
	}
	if generated != "" {
		fmt.Fprintf(stdout, "Admin token (shown once; keep it, or set POLYHOOK_ADMIN_TOKEN): %s\n", generated)
	}

	engine, err := cfg.newEngine(db, log)
	if err != nil {
		return err
	}
	handler := gateway(deps, engine, tokenHash)
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	if err := engine.Start(ctx); err != nil {
		return err
	}
	hs := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	if a := os.Getenv("POLYHOOK_PPROF_ADDR"); a != "" {
		// Profiling for benchmarks, on its own listener; never on the API's.
		go func() { log.Warn("pprof stopped", "err", http.ListenAndServe(a, pprofMux())) }()
	}
	log.Info("polyhook listening", "addr", ln.Addr().String(), "db", db.Backend())
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

func credentials(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("credentials: missing subcommand (create, list or revoke)")
	}
	sub, args := args[0], args[1:]
	var dialect, name *string
	var projects stringList
	c, positional, err := start(ctx, "credentials "+sub, args, stderr, func(fs *flag.FlagSet) {
		dialect = fs.String("dialect", "", "the dialect")
		name = fs.String("name", "", "a label for the credential")
		fs.Var(&projects, "project", "xsolla: a Login project id the credential may manage (repeat for several)")
	})
	if err != nil {
		return err
	}
	defer c.close()
	db := c.deps.DB

	switch sub {
	case "create":
		srv := c.srv
		d, ok := srv.Dialect(*dialect)
		if !ok {
			return fmt.Errorf("--dialect must be one of %s", strings.Join(srv.DialectNames(), ", "))
		}
		req := server.CredentialRequest{Name: *name}
		if len(projects) > 0 { // the --project flags are the request's projectIds
			ids, _ := json.Marshal([]string(projects))
			req.Fields = map[string]json.RawMessage{"projectIds": ids}
		}
		m, err := d.MintCredential(ctx, req)
		if err != nil {
			return errors.New(store.ErrorMessage(err))
		}
		out, err := native.MarshalMinted(m)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(stdout, "%s\n", out)
		return err
	case "list":
		cs, err := db.Credentials(ctx, *dialect)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tDIALECT\tNAME\tCREATED")
		for _, c := range cs {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.ID, c.Dialect, c.Name, c.CreatedAt.Format(time.RFC3339))
		}
		return tw.Flush()
	case "revoke":
		if len(positional) != 1 {
			return errors.New("credentials revoke: give the credential id")
		}
		if err := db.DeleteCredential(ctx, positional[0]); err != nil {
			return errors.New(store.ErrorMessage(err))
		}
		fmt.Fprintf(stdout, "revoked %s\n", positional[0])
		return nil
	}
	return fmt.Errorf("credentials: unknown subcommand %q", sub)
}

// stringList is a repeatable flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// publish writes an event, its deliveries and their jobs into the database; the gateway
// (any replica) delivers them.
func publish(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var typ, tenant, id, data *string
	c, _, err := start(ctx, "publish", args, stderr, func(fs *flag.FlagSet) {
		typ = fs.String("type", "", "canonical event type, or <dialect>:<native name>")
		tenant = fs.String("tenant", "", "tenant, project, client or user pool the event belongs to")
		id = fs.String("id", "", "idempotency key")
		data = fs.String("data", "{}", "the event's data, a JSON object")
	})
	if err != nil {
		return err
	}
	defer c.close()
	engine := c.engine
	ev, created, err := engine.Publish(ctx, delivery.PublishInput{ID: *id, Type: *typ, Tenant: *tenant, Data: []byte(*data)})
	if err != nil {
		return errors.New(store.ErrorMessage(err))
	}
	state := "published"
	if !created {
		state = "already published"
	}
	_, err = fmt.Fprintf(stdout, "%s %s: %d deliveries\n", state, ev.ID, ev.Deliveries)
	return err
}

func pprofMux() http.Handler {
	m := http.NewServeMux()
	m.HandleFunc("/debug/pprof/", pprof.Index)
	m.HandleFunc("/debug/pprof/profile", pprof.Profile)
	return m
}

// command is what the offline commands work with: the store, the keys, and an engine with
// every dialect's encoder registered, on the gateway's --db.
type command struct {
	deps   server.Deps
	engine *delivery.Engine
	srv    *server.Server
}

func (c *command) close() { c.deps.DB.Close() }

// start parses a command's flags (the shared ones, and those define adds; flags may follow
// positional arguments, which it returns) and opens what the command works with.
func start(ctx context.Context, name string, args []string, stderr io.Writer, define func(*flag.FlagSet)) (*command, []string, error) {
	var cfg config
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg.flags(fs, false)
	if define != nil {
		define(fs)
	}
	positional, err := parseInterspersed(fs, args)
	if err != nil {
		return nil, nil, err
	}
	deps, err := cfg.open(ctx, stderr)
	if err != nil {
		return nil, nil, err
	}
	engine, err := cfg.newEngine(deps.DB, deps.Log)
	if err != nil {
		deps.DB.Close()
		return nil, nil, err
	}
	return &command{deps: deps, engine: engine, srv: gateway(deps, engine, "")}, positional, nil
}
