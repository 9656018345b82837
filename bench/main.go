// Command bench measures the gateway end to end against this machine's ceiling: it builds
// and starts the gateway (one or more replicas), a receiver and a minimal forwarder that
// keeps nothing, each in a process of its own, drives load on loopback, then prints a
// table and writes the figures as JSON. Every figure is the median of -runs runs (3), with
// the spread. Run it with "go tool task bench" or "go run ./bench [flags]".
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/golang-jwt/jwt/v5"
	_ "github.com/jackc/pgx/v5/stdlib" // "pgx", to count what a failing endpoint costs PostgreSQL
	_ "modernc.org/sqlite"             // "sqlite", the same for the SQLite file
)

// groups are the sets of figures -only can pick.
var groups = []string{"ceiling", "throughput", "fanout", "latency", "failing", "hanging", "scale", "many"}

func main() {
	receiver := flag.Bool("receiver", false, "run as the receiver process (used by the bench itself)")
	forwarder := flag.Bool("forwarder", false, "run as the ceiling's forwarder process (used by the bench itself)")
	addr := flag.String("addr", "127.0.0.1:0", "receiver, forwarder: listen address")
	to := flag.String("to", "", "forwarder: the URL it forwards every event to")
	db := flag.String("db", "", "gateway database: empty for a fresh SQLite file per run, or a postgres:// URL")
	replicas := flag.Int("replicas", 1, "gateway replicas (PostgreSQL only)")
	out := flag.String("out", "bench-results.json", "where to write the figures")
	scale := flag.Float64("scale", 1, "multiplies every duration and event count (0.2 for a quick run)")
	runs := flag.Int("runs", 3, "runs; every figure is their median, with the spread")
	duration := flag.Duration("duration", 20*time.Second, "how long each sustained run measures, after its warm-up (times -scale)")
	warmup := flag.Duration("warmup", 3*time.Second, "load before a sustained run starts measuring (times -scale)")
	publishers := flag.Int("publishers", 64, "concurrent publishers in the throughput runs")
	filtered := flag.Bool("filter", false, "throughput: also measure the fan-out to 10 native subscriptions, without and then with a payload filter on each")
	only := flag.String("only", "", "run one group of figures: "+strings.Join(groups, ", ")+" (default: all but fanout, scale and many)")
	rows := flag.Int("rows", 1_000_000, "scale: delivered events the store is filled with")
	dataBytes := flag.Int("data-bytes", 0, "pads each published event's data with a string of this many bytes (0: the usual ~40-byte data)")
	keep := flag.Bool("keep-failed", false, "keep a failed run's database (PostgreSQL's scratch database, SQLite's file) to look into, and say where")
	gwEnv := flag.String("gateway-env", "", "more environment for the gateways, comma-separated (GOGC=200,GOMEMLIMIT=128MiB)")
	flag.Parse()
	switch {
	case *receiver:
		runReceiver(*addr)
		return
	case *forwarder:
		runForwarder(*addr, *to)
		return
	}
	if *replicas > 1 && !strings.HasPrefix(*db, "postgres") {
		fail("--replicas needs a postgres:// --db")
	}
	if *only != "" && !contains(groups, *only) {
		fail("--only must be one of " + strings.Join(groups, ", "))
	}
	if *runs < 1 {
		fail("--runs must be at least 1")
	}
	b := &bench{
		scale: *scale, publishers: *publishers, only: *only, runs: *runs, filter: *filtered, rows: *rows,
		gwEnv:    strings.FieldsFunc(*gwEnv, func(r rune) bool { return r == ',' }),
		pad:      padding(*dataBytes),
		duration: time.Duration(float64(*duration) * *scale),
		warmup:   time.Duration(float64(*warmup) * *scale),
		figures:  map[string]*figure{},
		keep:     *keep,
	}
	running = b
	defer b.stop()
	if err := b.run(*db, *replicas); err != nil {
		fail(err.Error())
	}
	b.print(os.Stdout)
	j, _ := json.MarshalIndent(b.summary(), "", "  ")
	if err := os.WriteFile(*out, j, 0o644); err != nil {
		fail(err.Error())
	}
	fmt.Printf("\nfigures written to %s\n", *out)
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// running is the bench under way, whose processes fail stops.
var running *bench

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "bench:", msg)
	if running != nil {
		running.broke = true
		running.stop()
	}
	os.Exit(1)
}

// figure is one measured quantity, one value per run.
type figure struct {
	Section string    `json:"section"`
	Name    string    `json:"name"`
	Unit    string    `json:"unit"`
	Target  string    `json:"target,omitempty"`
	Values  []float64 `json:"values"`
	Met     []bool    `json:"met,omitempty"` // per run, when there is a target
}

type bench struct {
	scale      float64
	publishers int
	only       string   // the one group of figures to measure; empty for all
	rows       int      // scale: delivered events to fill the store with
	gwArgs     []string // more flags for the gateways started next
	gwEnv      []string // more environment for the gateways
	pad        string   // more of each published event's data: ,"pad":"…" (-data-bytes)
	lastJob    int64    // scale: the largest River job id before the prune's gateways started
	filter     bool     // also measure the fan-out to native subscriptions with filters
	runs       int
	duration   time.Duration // a sustained run's measured window
	warmup     time.Duration
	dir        string
	bin        string
	db         string
	replicas   int
	runDB      string  // the database of the gateways running now
	rss        float64 // the largest gateway peak RSS of this run so far, MB
	scratch    string  // the PostgreSQL database of the gateways running now, to drop
	recvProc   *exec.Cmd
	fwdProc    *exec.Cmd
	gwProcs    []*exec.Cmd // this run's gateway replicas
	gateways   []string
	recv, fwd  string
	section    string   // the heading the figures measured now go under
	order      []string // figure keys in the order first measured
	figures    map[string]*figure
	ceiling    float64 // this run's ceiling, for the shares
	published  float64 // this run's "sustained, 1 webhook per event" figure, for ingest's share
	// source is the ingest URL path and secret of a FusionAuth source while the ingest
	// figure is measured: the load then posts FusionAuth-signed bodies there instead of
	// publishing.
	source, sourceSecret string
	// keys, while the ordered figure is measured, is how many ordering keys the load
	// publishes with, in turn.
	keys    int
	machine string
	// publishTimes are the publish requests' durations (ms) in the last window's
	// measured part.
	publishTimes []float64
	// keep has a failed run leave its database (-keep-failed); broke says the run failed.
	keep, broke bool
}

const token = "bench-admin-token-0123456789abcdef"

func (b *bench) n(base int) int { return max(1, int(float64(base)*b.scale)) }

func (b *bench) run(db string, replicas int) error {
	var err error
	if b.dir, err = os.MkdirTemp("", "polyhook-bench"); err != nil {
		return err
	}
	b.bin = filepath.Join(b.dir, "polyhook")
	fmt.Println("building the gateway...")
	build := exec.Command("go", "build", "-o", b.bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("build: %w", err)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	// The receiver and the forwarder: this program again, each in a process of its own. The
	// same receiver serves the ceiling and the gateway.
	raddr, faddr := freeAddr(), freeAddr()
	b.recv, b.fwd = "http://"+raddr, "http://"+faddr
	b.recvProc = exec.Command(self, "-receiver", "-addr", raddr)
	b.fwdProc = exec.Command(self, "-forwarder", "-addr", faddr, "-to", b.recv+"/ok/ceiling")
	for _, p := range []*exec.Cmd{b.recvProc, b.fwdProc} {
		p.Stderr = os.Stderr
		if err := p.Start(); err != nil {
			return err
		}
	}
	for _, u := range []string{b.recv, b.fwd} {
		if err := waitUp(u); err != nil {
			return err
		}
	}
	b.db, b.replicas = db, replicas
	b.machine = machine()
	fmt.Printf("machine: %s; database: %s; replicas: %d; %d runs, sustained %s after %s of warm-up\n",
		b.machine, dbKind(db), replicas, b.runs, b.duration, b.warmup)
	for r := 1; r <= b.runs; r++ {
		fmt.Printf("run %d of %d...\n", r, b.runs)
		if err := b.once(r); err != nil {
			return err
		}
	}
	fmt.Println()
	return nil
}

// once measures every wanted group once, against gateways of its own (on SQLite a fresh
// file), and the ceiling right before the gateway's throughput.
func (b *bench) once(r int) error {
	switch b.only {
	case "scale":
		return b.scaleRun(r)
	case "many":
		return b.manyRun(r)
	}
	needGateway := b.only != "ceiling"
	if b.wants("ceiling") || b.wants("throughput") || b.only == "fanout" {
		b.measureCeiling()
	}
	if !needGateway {
		return nil
	}
	if err := b.startGateways(strconv.Itoa(r)); err != nil {
		return err
	}
	key := b.mint()
	if b.wants("throughput") {
		// Sustained throughput: one webhook per event, then fan-out to 10.
		b.hook(key, "/ok/1", 30000)
		b.sustained("sustained, 1 webhook per event", 1, r)
		b.deleteHooks(key)
		b.ordered(r)
		b.hook(key, "/ok/1", 30000)
		b.ingest(r)
		for i := 2; i <= 10; i++ {
			b.hook(key, "/ok/"+strconv.Itoa(i), 30000)
		}
		b.sustained("fan-out, 10 webhooks per event", 10, r)
		b.deleteHooks(key)
		if b.filter {
			b.filtered(r)
		}
	}
	if b.only == "fanout" {
		// The throughput group's fan-out alone (part of it in a whole run): a change to
		// what each delivery writes shows most there, and a run of it takes a third of
		// the group's time, so that more of them fit in a session.
		for i := 1; i <= 10; i++ {
			b.hook(key, "/ok/"+strconv.Itoa(i), 30000)
		}
		b.sustained("fan-out, 10 webhooks per event", 10, r)
		b.deleteHooks(key)
	}
	if b.wants("latency") {
		b.hook(key, "/ok/0", 30000)
		b.section = "latency, publish to receipt"
		b.latency("idle", 0, b.n(200))
		b.latency("fixed rate 500/s", 500, b.n(5000))
		b.deleteHooks(key)
	}
	// A healthy endpoint at a fixed rate, then the same with a failing one beside it,
	// against a baseline measured right before. Each on gateways of its own (on SQLite a
	// fresh file), since a failing endpoint's retries and pending deliveries outlive it.
	var scenarios []scenario
	if b.wants("failing") {
		scenarios = append(scenarios,
			// The reference: what a second endpoint costs the first when it fails in no
			// way. Each publish then makes two deliveries where the baseline makes one,
			// as it does beside a failing endpoint.
			// The first reference has no second endpoint: the healthy one's p99 measured
			// again, the window after its baseline on the same gateway. Its move is the
			// noise floor of the others': what two windows with nothing changed differ by.
			scenario{what: "nothing (reference: the baseline measured again)", reference: true},
			scenario{what: "a second healthy endpoint (reference)", path: "/ok/1", readTimeoutMS: 30000, reference: true},
			// A second reference: an endpoint paused by its operator, whose deliveries are
			// made and kept, never sent, as a failing endpoint's are once its breaker
			// opens. Its move is what a second delivery row in each publish costs alone.
			scenario{what: "a paused endpoint (reference: its deliveries kept, unsent)", path: "/ok/2", readTimeoutMS: 30000, reference: true, paused: true},
			scenario{what: "an endpoint answering 500", path: "/fail", readTimeoutMS: 30000},
			scenario{what: "an endpoint timing out after 500 ms", path: "/timeout", readTimeoutMS: 500})
	}
	if b.wants("hanging") {
		scenarios = append(scenarios, scenario{what: "a hanging endpoint", path: "/hang", readTimeoutMS: 30000})
	}
	for i, sc := range scenarios {
		b.stopGateways()
		if err := b.startGateways(fmt.Sprintf("%d-%d", r, i)); err != nil {
			return err
		}
		b.failing(b.mint(), sc, r)
	}
	b.stopGateways()
	b.section = "memory"
	b.add("gateway peak RSS (largest of the run)", b.rss, "MB", "≤ 150 MB", b.rss <= 150)
	b.rss = 0
	return nil
}

// scenario is an endpoint that fails in one way, at path, with the webhook's read timeout;
// none for the path "".
type scenario struct {
	what, path    string
	readTimeoutMS int
	// reference marks the endpoint that fails in no way: its move is printed beside the
	// others', with no target.
	reference bool
	// paused has the operator pause the endpoint's webhook as soon as it is made.
	paused bool
}

func (b *bench) startGateways(name string) error {
	db := b.db
	if db == "" {
		db = filepath.Join(b.dir, "bench-"+name+".db")
	} else {
		// A database of its own beside the one given, so that nothing an earlier run left
		// (retries, claims, jobs) runs into this one; dropped when the gateways stop.
		var err error
		if db, err = b.createDB(name); err != nil {
			return err
		}
	}
	return b.launch(db)
}

// launch starts this run's gateways on db.
func (b *bench) launch(db string) error {
	b.runDB = db
	b.gateways, b.gwProcs = nil, nil
	for i := 0; i < b.replicas; i++ {
		gaddr := freeAddr()
		g := exec.Command(b.bin, append([]string{"serve", "--addr", gaddr, "--db", db, "--admin-token", token,
			"--allow-private-targets", "--log-level", "warn", "--rate-limit", "0"}, b.gwArgs...)...)
		g.Stdout, g.Stderr = io.Discard, os.Stderr
		g.Env = append(os.Environ(), b.gwEnv...)
		if i == 0 && os.Getenv("BENCH_PPROF_ADDR") != "" {
			g.Env = append(g.Env, "POLYHOOK_PPROF_ADDR="+os.Getenv("BENCH_PPROF_ADDR"))
		}
		if err := g.Start(); err != nil {
			return err
		}
		b.gwProcs = append(b.gwProcs, g)
		b.gateways = append(b.gateways, "http://"+gaddr)
	}
	for _, u := range b.gateways {
		// A gateway on a large store may take long to start: the scale group says how long.
		if err := waitUpWithin(u, 15*time.Minute); err != nil {
			return err
		}
	}
	return nil
}

// stopGateways stops this run's gateways, keeping the largest peak RSS among them.
func (b *bench) stopGateways() {
	b.killGateways()
	if b.scratch != "" && b.keep && b.broke {
		fmt.Fprintf(os.Stderr, "bench: kept the failed run's database %q\n", b.scratch)
		b.scratch = ""
	}
	if b.scratch != "" {
		if err := b.admin(`DROP DATABASE IF EXISTS "` + b.scratch + `" WITH (FORCE)`); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
		}
		b.scratch = ""
	}
}

// killGateways stops this run's gateways, keeping the largest peak RSS among them and
// their database.
func (b *bench) killGateways() {
	for _, p := range b.gwProcs {
		b.rss = max(b.rss, peakRSS(p.Process.Pid))
		_ = p.Process.Kill()
		_, _ = p.Process.Wait()
	}
	b.gwProcs = nil
}

// createDB creates an empty PostgreSQL database on the server of -db and returns its URL.
func (b *bench) createDB(name string) (string, error) {
	b.scratch = fmt.Sprintf("polyhook_bench_%d_%s", os.Getpid(), strings.ReplaceAll(name, "-", "_"))
	if err := b.admin(`CREATE DATABASE "` + b.scratch + `"`); err != nil {
		b.scratch = ""
		return "", fmt.Errorf("a database per run: %w", err)
	}
	u, err := url.Parse(b.db)
	if err != nil {
		return "", err
	}
	u.Path = "/" + b.scratch
	return u.String(), nil
}

// admin runs one statement on the database of -db.
func (b *bench) admin(stmt string) error {
	db, err := sql.Open("pgx", b.db)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.Exec(stmt)
	return err
}

func (b *bench) hook(key, path string, readTimeoutMS int) {
	b.post(b.gateways[0]+"/api/webhook", key, fmt.Sprintf(`{"webhook":{"url":"%s%s","connectTimeout":1000,"readTimeout":%d,"global":true,"eventsEnabled":{"user.create":true}}}`, b.recv, path, readTimeoutMS))
}

// wants reports whether the run measures the group of figures named.
func (b *bench) wants(group string) bool { return b.only == "" || b.only == group }

func dbKind(db string) string {
	if strings.HasPrefix(db, "postgres") {
		return "PostgreSQL"
	}
	return "SQLite"
}

// add records this run's value of a figure, under the current section; target is empty
// for figures without one.
func (b *bench) add(name string, v float64, unit, target string, met bool) {
	key := b.section + "|" + name
	f := b.figures[key]
	if f == nil {
		f = &figure{Section: b.section, Name: name, Unit: unit, Target: target}
		b.figures[key] = f
		b.order = append(b.order, key)
	}
	f.Values = append(f.Values, v)
	if target != "" {
		f.Met = append(f.Met, met)
	}
}

// latency publishes count events, one webhook each, at rate per second (0: one at a time,
// waiting for each), and records publish-to-receipt p50 and p99; it returns the p99.
func (b *bench) latency(name string, rate, count int) float64 {
	b.reset()
	if rate == 0 {
		for i := 0; i < count; i++ {
			b.publish(b.gateways, i)
			b.waitReceived(int64(i+1), 10*time.Second)
		}
	} else {
		tick := time.NewTicker(time.Second / time.Duration(rate))
		var wg sync.WaitGroup
		for i := 0; i < count; i++ {
			<-tick.C
			wg.Add(1)
			go func(i int) { defer wg.Done(); b.publish(b.gateways, i) }(i)
		}
		tick.Stop()
		wg.Wait()
		b.waitReceived(int64(count), 60*time.Second)
	}
	s := b.stats()
	p50, p99 := s.percentile(50), s.percentile(99)
	switch {
	case rate == 0:
		b.add(name+" p50", p50, "ms", "≤ 2 ms", p50 <= 2)
		b.add(name+" p99", p99, "ms", "≤ 10 ms", p99 <= 10)
	case strings.HasPrefix(name, "fixed"), name == "baseline":
		b.add(name+" p50", p50, "ms", "", true)
		b.add(name+" p99", p99, "ms", "< 50 ms", p99 < 50)
	default:
		b.add(name+" p50", p50, "ms", "", true)
		b.add(name+" p99", p99, "ms", "", true)
	}
	return p99
}

// failing measures the healthy endpoint's p99 at 500/s, then again with a second endpoint
// at path beside it, and what that endpoint's failed attempts cost the database.
func (b *bench) failing(key string, sc scenario, r int) {
	what, path := sc.what, sc.path
	count := b.n(5000) // 10 s at 500/s: long enough for the 5 s first retry to come due
	b.hook(key, "/ok/0", 30000)
	b.section = what + " beside a healthy one, 500/s"
	base := b.latency("baseline", 500, count)
	if path != "" {
		b.hook(key, path, sc.readTimeoutMS)
	}
	if sc.paused {
		b.pause(path)
	}
	var before int64
	if path != "" {
		before = b.failed(path)
	}
	db0 := b.dbCounts()
	if r == 1 && path == "/fail" {
		b.profile("bench-fail", 5)
	}
	with := b.latency("with it", 500, count)
	db1 := b.dbCounts()
	var failed int64
	if path != "" {
		failed = b.failed(path) - before
	}
	moved := 100 * (with - base) / base
	if sc.reference {
		b.add("healthy p99 moved", moved, "%", "", true)
		if sc.paused {
			b.add("requests the paused endpoint got", float64(failed), "", "0", failed == 0)
		}
		b.deleteHooks(key)
		return
	}
	b.add("healthy p99 moved", moved, "%", "< 20 % each run", moved < 20)
	b.add("failed attempts (requests the endpoint got)", float64(failed), "", "", true)
	if failed > 0 && db0.ok && db1.ok {
		jobs := float64(db1.jobs-db0.jobs) / float64(failed)
		// Every healthy delivery writes its own attempt record; the rest are the failing one's.
		rows := float64(db1.attempts-db0.attempts-int64(count)) / float64(failed)
		b.add("River jobs created per failed attempt", jobs, "", "≈ 0 (bounded)", jobs < 0.05)
		b.add("attempt rows created per failed attempt", rows, "", "≤ 1", rows <= 1.05)
	}
	b.deleteHooks(key)
}

// pause has the operator pause the webhooks that deliver to path, through the native
// API.
func (b *bench) pause(path string) {
	req, _ := http.NewRequest("GET", b.gateways[0]+"/v1/webhooks?limit=1000", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		fail(err.Error())
	}
	var page struct{ Webhooks []struct{ ID, URL string } }
	err = json.NewDecoder(resp.Body).Decode(&page)
	resp.Body.Close()
	if err != nil {
		fail("listing the webhooks: " + err.Error())
	}
	paused := 0
	for _, w := range page.Webhooks {
		if w.URL == b.recv+path {
			b.post(b.gateways[0]+"/v1/webhooks/"+w.ID+"/pause", "Bearer "+token, "")
			paused++
		}
	}
	if paused == 0 {
		fail("no webhook delivers to " + path + " to pause")
	}
}

// failed is how many requests the receiver has had at path, which never succeed.
func (b *bench) failed(path string) int64 {
	resp, err := client.Get(b.recv + "/count" + path)
	if err != nil {
		fail(err.Error())
	}
	defer resp.Body.Close()
	c, _ := io.ReadAll(resp.Body)
	n, _ := strconv.ParseInt(string(c), 10, 64)
	return n
}

type dbCounts struct {
	ok             bool
	jobs, attempts int64
}

// dbCounts counts the River jobs and attempt records in the gateway's database, read
// beside the running gateway.
func (b *bench) dbCounts() dbCounts {
	driver, dsn := "pgx", b.runDB
	if b.db == "" {
		driver = "sqlite"
		dsn = "file:" + b.runDB + "?mode=ro&_pragma=busy_timeout(10000)"
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: counting rows:", err)
		return dbCounts{}
	}
	defer db.Close()
	var c dbCounts
	// Jobs by their largest id, since River deletes finished ones as it goes.
	if err := db.QueryRow("SELECT (SELECT coalesce(max(id), 0) FROM river_job), (SELECT count(*) FROM attempts)").Scan(&c.jobs, &c.attempts); err != nil {
		fmt.Fprintln(os.Stderr, "bench: counting rows:", err)
		return dbCounts{}
	}
	c.ok = true
	return c
}

// profile saves CPU, mutex and block profiles of the first replica over the next seconds,
// to <name>-{cpu,mutex,block}.prof, when BENCH_PPROF_ADDR is set.
func (b *bench) profile(name string, seconds int) {
	a := os.Getenv("BENCH_PPROF_ADDR")
	if a == "" {
		return
	}
	for kind, path := range map[string]string{"cpu": "profile", "mutex": "mutex", "block": "block"} {
		go func() {
			resp, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/%s?seconds=%d", a, path, seconds))
			if err != nil {
				fmt.Fprintln(os.Stderr, "profile:", err)
				return
			}
			defer resp.Body.Close()
			f, err := os.Create(name + "-" + kind + ".prof")
			if err != nil {
				fmt.Fprintln(os.Stderr, "profile:", err)
				return
			}
			defer f.Close()
			_, _ = io.Copy(f, resp.Body)
		}()
	}
}

// load keeps b.publishers concurrent publishers sending to targets until stopped, and
// keeps how long each publish took while timing is set.
type load struct {
	stop      atomic.Bool
	timing    atomic.Bool
	published atomic.Int64
	wg        sync.WaitGroup
	mu        sync.Mutex
	times     []float64 // ms
}

func (b *bench) startLoad(targets []string) *load {
	l := &load{}
	for w := 0; w < b.publishers; w++ {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			var times []float64
			for !l.stop.Load() {
				t0 := time.Now()
				b.publish(targets, int(l.published.Add(1)))
				if l.timing.Load() {
					times = append(times, float64(time.Since(t0).Microseconds())/1000)
				}
			}
			l.mu.Lock()
			l.times = append(l.times, times...)
			l.mu.Unlock()
		}()
	}
	return l
}

func (l *load) end() int64 {
	l.stop.Store(true)
	l.wg.Wait()
	return l.published.Load()
}

// window runs load on targets for the warm-up and then the measured window, and returns
// the deliveries per second received in the window and the CPU used over it. It waits for
// every delivery to arrive before it returns.
func (b *bench) window(targets []string, fanout int, profile string) (float64, cpuSample, cpuSample) {
	b.reset()
	l := b.startLoad(targets)
	time.Sleep(b.warmup)
	c0, cpu0 := b.count(), b.cpu()
	l.timing.Store(true)
	if profile != "" {
		b.profile(profile, int(min(b.duration, 10*time.Second)/time.Second))
	}
	time.Sleep(b.duration)
	c1, cpu1 := b.count(), b.cpu()
	l.timing.Store(false)
	published := l.end()
	b.publishTimes = l.times
	b.waitReceived(published*int64(fanout), 5*time.Minute)
	return float64(c1-c0) / cpu1.wall.Sub(cpu0.wall).Seconds(), cpu0, cpu1
}

// measureCeiling drives the same load through the forwarder, which keeps nothing.
func (b *bench) measureCeiling() {
	rate, cpu0, cpu1 := b.window([]string{b.fwd}, 1, "")
	b.ceiling = rate
	b.section = "ceiling: a forwarder that keeps nothing"
	b.add("deliveries/s", rate, "/s", "", true)
	b.cores(rate, cpu0, cpu1, func(s cpuSample) float64 { return s.forwarder }, "forwarder", false)
}

// sustained drives load through the gateways with fanout webhooks per event.
func (b *bench) sustained(name string, fanout, r int) {
	profile := ""
	switch {
	case r != 1 || strings.Contains(name, "native"):
	case fanout == 1:
		profile = "bench-sustained"
	default:
		profile = "bench-fanout"
	}
	rate, cpu0, cpu1 := b.window(b.gateways, fanout, profile)
	b.section = name
	b.add("deliveries/s", rate, "/s", "", true)
	if fanout == 1 {
		b.published = rate
	}
	if b.ceiling > 0 {
		share := 100 * rate / b.ceiling
		target, goal := "≥ 50 %", 50.0
		switch {
		case fanout > 1:
			target, goal = "≥ 70 %", 70
		case len(b.gateways) > 1:
			target, goal = "≥ 40 %", 40
		}
		b.add("share of the ceiling", share, "%", target, share >= goal)
	}
	b.cores(rate, cpu0, cpu1, func(s cpuSample) float64 { return s.gateway }, "gateway", fanout == 1 && b.db == "")
}

// filtered measures the fan-out to 10 native subscriptions, then the same with a payload
// filter on each that every event of the load matches (so that the deliveries are the
// same and the difference is the filters' cost), and the second as a share of the first.
func (b *bench) filtered(r int) {
	var ids []string
	for i := 1; i <= 10; i++ {
		var w struct{ ID string }
		_ = json.Unmarshal(b.post(b.gateways[0]+"/v1/webhooks", "Bearer "+token, fmt.Sprintf(`{"url":"%s/ok/std%d","events":["user.created"]}`, b.recv, i)), &w)
		ids = append(ids, w.ID)
	}
	b.sustained("fan-out, 10 native subscriptions per event", 10, r)
	plain := b.last()
	const filter = `{"type": {"$startsWith": "user."}, "data.i": {"$gte": 0}, "$or": [{"tenant": ""}, {"tenant": {"$in": ["acme", "globex"]}}], "data.sentAt": {"$exists": true}}`
	for _, id := range ids {
		b.send("PATCH", b.gateways[0]+"/v1/webhooks/"+id, `{"filter":`+filter+`}`)
	}
	b.sustained("fan-out, 10 native subscriptions per event, a filter on each", 10, r)
	if plain > 0 {
		share := 100 * b.last() / plain
		b.add("share of the unfiltered figure", share, "%", "≥ 90 %", share >= 90)
	}
	for _, id := range ids {
		b.send("DELETE", b.gateways[0]+"/v1/webhooks/"+id, "")
	}
}

// last is the deliveries/s figure the current section measured in this run.
func (b *bench) last() float64 {
	f := b.figures[b.section+"|deliveries/s"]
	if f == nil || len(f.Values) == 0 {
		return 0
	}
	return f.Values[len(f.Values)-1]
}

// send sends a request with the admin token, failing the bench unless it is a 2xx.
func (b *bench) send(method, url, body string) {
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		fail(err.Error())
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(resp.Body)
		fail(fmt.Sprintf("%s %s: %d %s", method, url, resp.StatusCode, msg))
	}
}

// ingest drives vendor-signed bodies (FusionAuth's, X-FusionAuth-Signature-JWT with an
// HMAC key) through a source's /ingest/{id} to the one webhook, and records their
// deliveries per second as a share of the ceiling and of the publish figure just measured.
func (b *bench) ingest(r int) {
	var src struct{ URL, Secret string }
	_ = json.Unmarshal(b.post(b.gateways[0]+"/v1/sources", "Bearer "+token, `{"dialect":"fusionauth","name":"bench"}`), &src)
	b.source, b.sourceSecret = src.URL, src.Secret
	defer func() { b.source, b.sourceSecret = "", "" }()
	profile := ""
	if r == 1 {
		profile = "bench-ingest"
	}
	rate, cpu0, cpu1 := b.window(b.gateways, 1, profile)
	b.section = "ingest, FusionAuth-signed bodies through /ingest/{id}, 1 webhook"
	b.add("deliveries/s", rate, "/s", "", true)
	if b.ceiling > 0 {
		b.add("share of the ceiling", 100*rate/b.ceiling, "%", "", true)
	}
	if b.published > 0 {
		share := 100 * rate / b.published
		b.add("share of the publish figure", share, "%", "≥ 90 %", share >= 90)
	}
	b.cores(rate, cpu0, cpu1, func(s cpuSample) float64 { return s.gateway }, "gateway", false)
}

// ordered measures one ordered native subscription with the load spread over 100
// ordering keys (100 lanes, each in publish order, one attempt at a time), as a share of
// the ceiling and of the unordered "sustained, 1 webhook per event" figure just measured.
func (b *bench) ordered(r int) {
	var w struct{ ID string }
	_ = json.Unmarshal(b.post(b.gateways[0]+"/v1/webhooks", "Bearer "+token, fmt.Sprintf(`{"url":"%s/ok/ordered","events":["user.created"],"ordered":true}`, b.recv)), &w)
	b.keys = 100
	defer func() { b.keys = 0 }()
	profile := ""
	if r == 1 {
		profile = "bench-ordered"
	}
	rate, cpu0, cpu1 := b.window(b.gateways, 1, profile)
	b.section = "ordered, 1 webhook per event, 100 ordering keys"
	b.add("deliveries/s", rate, "/s", "", true)
	if b.ceiling > 0 {
		b.add("share of the ceiling", 100*rate/b.ceiling, "%", "", true)
	}
	if b.published > 0 {
		share := 100 * rate / b.published
		b.add("share of the unordered figure", share, "%", "≥ 80 %", share >= 80)
	}
	b.cores(rate, cpu0, cpu1, func(s cpuSample) float64 { return s.gateway }, "gateway", false)
	b.send("DELETE", b.gateways[0]+"/v1/webhooks/"+w.ID, "")
}

// cores records CPU per delivery of the process(es) in the middle, and the cores each
// part and the whole machine used over the window.
func (b *bench) cores(rate float64, cpu0, cpu1 cpuSample, middle func(cpuSample) float64, what string, targets bool) {
	wall := cpu1.wall.Sub(cpu0.wall).Seconds()
	per := 1e6 * (middle(cpu1) - middle(cpu0)) / (rate * wall)
	name := what + " CPU per delivery"
	if targets {
		b.add(name, per, "µs", "≤ 200 µs", per <= 200)
	} else {
		b.add(name, per, "µs", "", true)
	}
	used := (middle(cpu1) - middle(cpu0)) / wall
	all := (middle(cpu1) - middle(cpu0) + cpu1.receiver - cpu0.receiver + cpu1.loadgen - cpu0.loadgen) / wall
	b.add("cores used: "+what, used, "cores", "", true)
	if targets {
		b.add("cores used: "+what+" + receiver + load generator", all, "cores", "≥ 1.8 (both)", all >= 1.8)
	} else {
		b.add("cores used: "+what+" + receiver + load generator", all, "cores", "", true)
	}
	b.add("cores busy: whole machine (other users too)", (cpu1.machine-cpu0.machine)/wall, "cores", "", true)
}

type cpuSample struct {
	wall                                  time.Time
	gateway, forwarder, receiver, loadgen float64 // CPU seconds
	machine                               float64 // busy CPU seconds of every core
}

// cpu reads the CPU time used so far by each process of the bench, and by the machine,
// from /proc (Linux).
func (b *bench) cpu() cpuSample {
	s := cpuSample{wall: time.Now(), loadgen: procCPU("self"), machine: machineCPU()}
	s.receiver = procCPU(strconv.Itoa(b.recvProc.Process.Pid))
	s.forwarder = procCPU(strconv.Itoa(b.fwdProc.Process.Pid))
	for _, p := range b.gwProcs {
		s.gateway += procCPU(strconv.Itoa(p.Process.Pid))
	}
	return s
}

// procCPU is a process's user plus system CPU time in seconds (clock ticks of 1/100 s).
func procCPU(pid string) float64 {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0
	}
	// The fields after the command name, which is in parentheses and may hold spaces.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	k, _ := strconv.ParseFloat(f[12], 64)
	return (u + k) / 100
}

// machineCPU is the busy time of all cores in seconds: /proc/stat's first line without
// idle and iowait.
func machineCPU() float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	var busy float64
	for i, v := range f[1:] {
		if i == 3 || i == 4 || i >= 8 { // idle, iowait; guest times are already in user
			continue
		}
		x, _ := strconv.ParseFloat(v, 64)
		busy += x
	}
	return busy / 100
}

var client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}, Timeout: 30 * time.Second}

func (b *bench) publish(targets []string, i int) {
	g := targets[i%len(targets)]
	if b.source != "" {
		// A FusionAuth event, signed as FusionAuth signs it, with an id of its own.
		body := fmt.Sprintf(`{"event":{"type":"user.create","id":"%08x-0000-4000-8000-%012x","createInstant":%d,"sentAt":%d,"user":{"id":"u%d"}}}`,
			i>>16, i, time.Now().UnixMilli(), time.Now().UnixNano(), i)
		sum := sha256.Sum256([]byte(body))
		jws, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"request_body_sha256": base64.StdEncoding.EncodeToString(sum[:])}).SignedString([]byte(b.sourceSecret))
		b.postWith(g+b.source, body, "X-FusionAuth-Signature-JWT", jws)
		return
	}
	key := ""
	if b.keys > 0 {
		key = fmt.Sprintf(`,"orderingKey":"k%d"`, i%b.keys)
	}
	body := fmt.Sprintf(`{"type":"user.created"%s,"data":{"sentAt":%d,"i":%d%s}}`, key, time.Now().UnixNano(), i, b.pad)
	b.post(g+"/v1/events", "Bearer "+token, body)
}

func (b *bench) post(url, auth, body string) []byte {
	return b.postWith(url, body, "Authorization", auth)
}

// padding is the member that makes each event's data n bytes longer: a string of
// letters, as a receiver's JSON field of text would be.
func padding(n int) string {
	if n <= 0 {
		return ""
	}
	const member = `,"pad":""`
	return member[:len(member)-1] + strings.Repeat("abcdefghij", n/10+1)[:max(n-len(member), 0)] + `"`
}

// postWith posts body to url with one header, and fails the bench unless it is a 2xx.
func (b *bench) postWith(url, body, header, value string) []byte {
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set(header, value)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		fail(err.Error())
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		fail(fmt.Sprintf("POST %s: %d %s", url, resp.StatusCode, out))
	}
	return out
}

func (b *bench) mint() string {
	var m struct{ APIKey string }
	_ = json.Unmarshal(b.post(b.gateways[0]+"/v1/credentials", "Bearer "+token, `{"dialect":"fusionauth"}`), &m)
	return m.APIKey
}

func (b *bench) deleteHooks(key string) {
	req, _ := http.NewRequest("GET", b.gateways[0]+"/api/webhook", nil)
	req.Header.Set("Authorization", key)
	resp, err := client.Do(req)
	if err != nil {
		fail(err.Error())
	}
	var list struct{ Webhooks []struct{ ID string } }
	_ = json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	for _, w := range list.Webhooks {
		req, _ := http.NewRequest("DELETE", b.gateways[0]+"/api/webhook/"+w.ID, nil)
		req.Header.Set("Authorization", key)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
		}
	}
}

type stats struct {
	Received  int64     `json:"received"`
	Latencies []float64 `json:"latencies"`
}

func (s stats) percentile(p float64) float64 {
	if len(s.Latencies) == 0 {
		return 0
	}
	l := append([]float64(nil), s.Latencies...)
	sort.Float64s(l)
	return l[min(len(l)-1, int(float64(len(l))*p/100))]
}

func (b *bench) reset() {
	resp, err := client.Post(b.recv+"/reset", "", nil)
	if err == nil {
		resp.Body.Close()
	}
}

func (b *bench) stats() stats {
	resp, err := client.Get(b.recv + "/stats")
	if err != nil {
		fail(err.Error())
	}
	defer resp.Body.Close()
	var s stats
	_ = json.NewDecoder(resp.Body).Decode(&s)
	return s
}

// count is how many distinct deliveries the receiver has had since its last reset.
func (b *bench) count() int64 {
	resp, err := client.Get(b.recv + "/count")
	if err != nil {
		fail(err.Error())
	}
	c, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	n, _ := strconv.ParseInt(string(c), 10, 64)
	return n
}

func (b *bench) waitReceived(n int64, within time.Duration) {
	deadline := time.Now().Add(within)
	for b.count() < n {
		if time.Now().After(deadline) {
			fail(fmt.Sprintf("only part of %d deliveries arrived within %s", n, within))
		}
		time.Sleep(time.Millisecond)
	}
}

func (b *bench) stop() {
	b.stopGateways()
	for _, p := range []*exec.Cmd{b.recvProc, b.fwdProc} {
		if p != nil && p.Process != nil {
			_ = p.Process.Kill()
			_, _ = p.Process.Wait()
		}
	}
	b.recvProc, b.fwdProc = nil, nil
	if b.dir != "" && b.keep && b.broke {
		fmt.Fprintf(os.Stderr, "bench: kept the failed run's files in %s\n", b.dir)
	} else if b.dir != "" {
		os.RemoveAll(b.dir)
	}
}

type summaryRow struct {
	*figure
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
}

func (b *bench) summary() []summaryRow {
	var out []summaryRow
	for _, name := range b.order {
		f := b.figures[name]
		v := append([]float64(nil), f.Values...)
		sort.Float64s(v)
		// The median of an even count is the lower middle, a value that was measured.
		out = append(out, summaryRow{figure: f, Median: v[(len(v)-1)/2], Min: v[0], Max: v[len(v)-1]})
	}
	return out
}

func (b *bench) print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FIGURE\tMEDIAN\tRUNS (MIN–MAX)\tTARGET\tMET (RUNS)")
	section := ""
	for _, r := range b.summary() {
		if r.Section != section {
			section = r.Section
			fmt.Fprintf(tw, "%s\t\t\t\t\n", section)
		}
		met := ""
		if r.Target != "" {
			n := 0
			for _, m := range r.Met {
				if m {
					n++
				}
			}
			met = fmt.Sprintf("%d/%d", n, len(r.Met))
		}
		fmt.Fprintf(tw, "  %s\t%s %s\t%s–%s\t%s\t%s\n", r.Name, num(r.Median), r.Unit, num(r.Min), num(r.Max), r.Target, met)
	}
	tw.Flush()
}

func num(v float64) string {
	switch {
	case v >= 1000 || v <= -1000:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10 || v <= -10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
}

// runReceiver answers every delivery under /ok/ at once, and keeps the publish-to-receipt
// latency of each first arrival. /fail answers 500 at once; /timeout and /hang never
// answer. It counts the requests to each of these.
func runReceiver(addr string) {
	var mu sync.Mutex
	var count atomic.Int64
	var failing sync.Map // path → *atomic.Int64
	counter := func(path string) *atomic.Int64 {
		c, _ := failing.LoadOrStore(path, new(atomic.Int64))
		return c.(*atomic.Int64)
	}
	seen := map[string]bool{}
	var lat []float64
	h := http.NewServeMux()
	never := func(w http.ResponseWriter, r *http.Request) {
		counter(r.URL.Path).Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Minute):
		}
	}
	h.HandleFunc("/hang", never)
	h.HandleFunc("/timeout", never)
	h.HandleFunc("/fail", func(w http.ResponseWriter, r *http.Request) {
		counter(r.URL.Path).Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
		http.Error(w, "failing on purpose", http.StatusInternalServerError)
	})
	h.HandleFunc("/ok/", func(w http.ResponseWriter, r *http.Request) {
		now := time.Now().UnixNano()
		body, _ := io.ReadAll(r.Body)
		i := bytes.Index(body, []byte(`"sentAt":`))
		var sent int64
		if i >= 0 {
			rest := body[i+9:]
			j := bytes.IndexAny(rest, ",}")
			sent, _ = strconv.ParseInt(string(rest[:j]), 10, 64)
		}
		id := r.Header.Get("webhook-id")
		mu.Lock()
		if !seen[id] {
			seen[id] = true
			count.Add(1)
			lat = append(lat, float64(now-sent)/1e6)
		}
		mu.Unlock()
	})
	h.HandleFunc("/reset", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen, lat = map[string]bool{}, nil
		count.Store(0)
		mu.Unlock()
	})
	h.HandleFunc("/count", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, count.Load())
	})
	h.HandleFunc("/count/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, counter(strings.TrimPrefix(r.URL.Path, "/count")).Load())
	})
	h.HandleFunc("/stats", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		_ = json.NewEncoder(w).Encode(stats{Received: count.Load(), Latencies: lat})
	})
	h.HandleFunc("/up", func(w http.ResponseWriter, r *http.Request) {})
	srv := &http.Server{Addr: addr, Handler: h}
	if err := srv.ListenAndServe(); err != nil {
		fail(err.Error())
	}
}

// runForwarder is the ceiling: a forwarder that keeps nothing. It sends each event it is
// published, as it came, to the receiver with an id of its own, and answers once the
// receiver has, so it does the least any gateway must: one request in, one out.
func runForwarder(addr, to string) {
	srv := &http.Server{Addr: addr, Handler: forwarder(to)}
	if err := srv.ListenAndServe(); err != nil {
		fail(err.Error())
	}
}

func forwarder(to string) http.Handler {
	out := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}, Timeout: 30 * time.Second}
	var ids atomic.Int64
	h := http.NewServeMux()
	h.HandleFunc("POST /v1/events", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		req, _ := http.NewRequestWithContext(r.Context(), "POST", to, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("webhook-id", "fw_"+strconv.FormatInt(ids.Add(1), 10))
		resp, err := out.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write([]byte(`{}`))
	})
	h.HandleFunc("/up", func(w http.ResponseWriter, r *http.Request) {})
	return h
}

func waitUp(base string) error { return waitUpWithin(base, time.Minute) }

func waitUpWithin(base string, within time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	for ctx.Err() == nil {
		if resp, err := client.Get(base + "/up"); err == nil {
			resp.Body.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s did not start", base)
}

func freeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fail(err.Error())
	}
	defer ln.Close()
	return ln.Addr().String()
}

// peakRSS reads a process's peak resident set (VmHWM) in MB, on Linux.
func peakRSS(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			f := strings.Fields(line)
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

func machine() string {
	cpu := "unknown CPU"
	b, err := os.ReadFile("/proc/cpuinfo")
	if err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "model name") {
				cpu = strings.TrimSpace(strings.SplitN(line, ":", 2)[1])
				break
			}
		}
	}
	n := strings.Count(string(b), "processor\t:")
	mem := ""
	if m, err := os.ReadFile("/proc/meminfo"); err == nil {
		if f := strings.Fields(string(m)); len(f) > 1 && f[0] == "MemTotal:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			mem = fmt.Sprintf(", %.0f GiB", kb/1024/1024)
		}
	}
	return fmt.Sprintf("%s, %d cores%s", cpu, n, mem)
}
