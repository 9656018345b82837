// Command bench measures the gateway end to end: it builds and starts the gateway (one or
// more replicas), a receiver in a separate process, and drives load on loopback, then
// prints a table and writes the figures as JSON. Run it with "go tool task bench" or
// "go run ./bench [flags]".
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
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
)

func main() {
	receiver := flag.Bool("receiver", false, "run as the receiver process (used by the bench itself)")
	addr := flag.String("addr", "127.0.0.1:0", "receiver: listen address")
	db := flag.String("db", "", "gateway database: empty for a fresh SQLite file, or a postgres:// URL")
	replicas := flag.Int("replicas", 1, "gateway replicas (PostgreSQL only)")
	out := flag.String("out", "bench-results.json", "where to write the figures")
	scale := flag.Float64("scale", 1, "multiplies every event count (use 0.2 for a quick run)")
	publishers := flag.Int("publishers", 64, "concurrent publishers in the throughput runs")
	only := flag.String("only", "", `run one group of figures: "latency", "throughput" or "hanging" (default: all)`)
	flag.Parse()
	if *receiver {
		runReceiver(*addr)
		return
	}
	if *replicas > 1 && !strings.HasPrefix(*db, "postgres") {
		fail("--replicas needs a postgres:// --db")
	}
	switch *only {
	case "", "latency", "throughput", "hanging":
	default:
		fail("--only must be latency, throughput or hanging")
	}
	b := &bench{scale: *scale, publishers: *publishers, only: *only}
	running = b
	defer b.stop()
	if err := b.run(*db, *replicas); err != nil {
		b.stop()
		fail(err.Error())
	}
	b.print(os.Stdout)
	j, _ := json.MarshalIndent(b.results, "", "  ")
	if err := os.WriteFile(*out, j, 0o644); err != nil {
		fail(err.Error())
	}
	fmt.Printf("\nfigures written to %s\n", *out)
}

// running is the bench under way, whose processes fail stops.
var running *bench

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "bench:", msg)
	if running != nil {
		running.stop()
	}
	os.Exit(1)
}

// result is one measured figure.
type result struct {
	Name   string  `json:"name"`
	Value  float64 `json:"value"`
	Unit   string  `json:"unit"`
	Target string  `json:"target,omitempty"`
	Met    *bool   `json:"met,omitempty"`
}

type bench struct {
	scale      float64
	publishers int
	only       string // the one group of figures to measure; empty for all
	dir        string
	procs      []*exec.Cmd
	gateways   []string
	recv       string
	token      string
	results    []result
	machine    string
}

const token = "bench-admin-token"

func (b *bench) n(base int) int { return max(1, int(float64(base)*b.scale)) }

func (b *bench) run(db string, replicas int) error {
	var err error
	if b.dir, err = os.MkdirTemp("", "polyhook-bench"); err != nil {
		return err
	}
	bin := filepath.Join(b.dir, "polyhook")
	fmt.Println("building the gateway...")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("build: %w", err)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	// The receiver: this program again, in a process of its own.
	raddr := freeAddr()
	rc := exec.Command(self, "-receiver", "-addr", raddr)
	rc.Stderr = os.Stderr
	if err := rc.Start(); err != nil {
		return err
	}
	b.procs = append(b.procs, rc)
	b.recv = "http://" + raddr
	if db == "" {
		db = filepath.Join(b.dir, "bench.db")
	}
	for i := 0; i < replicas; i++ {
		gaddr := freeAddr()
		g := exec.Command(bin, "serve", "--addr", gaddr, "--db", db, "--admin-token", token,
			"--allow-private-targets", "--log-level", "warn", "--rate-limit", "0")
		g.Stdout, g.Stderr = io.Discard, os.Stderr
		if i == 0 && os.Getenv("BENCH_PPROF_ADDR") != "" {
			g.Env = append(os.Environ(), "POLYHOOK_PPROF_ADDR="+os.Getenv("BENCH_PPROF_ADDR"))
		}
		if err := g.Start(); err != nil {
			return err
		}
		b.procs = append(b.procs, g)
		b.gateways = append(b.gateways, "http://"+gaddr)
	}
	for _, u := range append([]string{b.recv}, b.gateways...) {
		if err := waitUp(u); err != nil {
			return err
		}
	}
	b.machine = machine()
	fmt.Printf("machine: %s; database: %s; replicas: %d\n\n", b.machine, dbKind(db), replicas)

	key := b.mint()
	hook := func(path string) {
		b.post(b.gateways[0]+"/api/webhook", key, `{"webhook":{"url":"`+b.recv+path+`","connectTimeout":1000,"readTimeout":30000,"global":true,"eventsEnabled":{"user.create":true}}}`)
	}
	if b.wants("latency") {
		// One healthy endpoint for the latency runs.
		hook("/ok/0")
		b.latency("idle", 0, b.n(200))
		b.latency("fixed rate 500/s", 500, b.n(2500))
		b.deleteHooks(key)
	}
	if b.wants("throughput") {
		// Sustained throughput: one webhook per event, then fan-out to 10.
		hook("/ok/1")
		b.throughput("sustained deliveries/s (1 webhook per event)", b.n(6000), 1)
		for i := 2; i <= 10; i++ {
			hook("/ok/" + strconv.Itoa(i))
		}
		b.throughput("fan-out deliveries/s (10 webhooks per event)", b.n(800), 10)
		b.deleteHooks(key)
	}
	if !b.wants("hanging") {
		b.addRSS()
		return nil
	}

	// Last, since its hanging deliveries stay pending after it: the fixed rate again, as
	// the baseline measured right before, then with a hanging endpoint beside the
	// healthy one.
	hook("/ok/0")
	b.latency("baseline: fixed rate 500/s", 500, b.n(2500))
	base := b.results[len(b.results)-1] // its p99
	b.post(b.gateways[0]+"/api/webhook", key, `{"webhook":{"url":"`+b.recv+`/hang","connectTimeout":1000,"readTimeout":30000,"global":true,"eventsEnabled":{"user.create":true}}}`)
	b.profile("bench-cpu-hang.prof")
	b.latency("with a hanging endpoint, 500/s", 500, b.n(2500))
	hang := b.results[len(b.results)-1]
	moved := 100 * (hang.Value - base.Value) / base.Value
	b.add("healthy p99 moved by a hanging endpoint", moved, "%", "< 20 %", moved < 20)
	b.addRSS()
	return nil
}

// wants reports whether the run measures the group of figures named.
func (b *bench) wants(group string) bool { return b.only == "" || b.only == group }

// addRSS records the largest peak RSS among the gateways.
func (b *bench) addRSS() {
	var rss float64
	for _, g := range b.procs[1:] {
		rss = max(rss, peakRSS(g.Process.Pid))
	}
	b.add("gateway peak RSS", rss, "MB", "< 150 MB", rss < 150)
}

func dbKind(db string) string {
	if strings.HasPrefix(db, "postgres") {
		return "PostgreSQL"
	}
	return "SQLite"
}

func (b *bench) add(name string, v float64, unit, target string, met bool) {
	r := result{Name: name, Value: v, Unit: unit, Target: target}
	if target != "" {
		r.Met = &met
	}
	b.results = append(b.results, r)
}

// latency publishes count events, one webhook each, at rate per second (0: one at a time,
// waiting for each), and records publish-to-receipt p50 and p99.
func (b *bench) latency(name string, rate, count int) {
	b.reset()
	start := time.Now()
	if rate == 0 {
		for i := 0; i < count; i++ {
			b.publish(i)
			b.waitReceived(int64(i+1), 10*time.Second)
		}
	} else {
		tick := time.NewTicker(time.Second / time.Duration(rate))
		var wg sync.WaitGroup
		for i := 0; i < count; i++ {
			<-tick.C
			wg.Add(1)
			go func(i int) { defer wg.Done(); b.publish(i) }(i)
		}
		tick.Stop()
		wg.Wait()
		b.waitReceived(int64(count), 60*time.Second)
	}
	_ = start
	s := b.stats()
	p50, p99 := s.percentile(50), s.percentile(99)
	switch {
	case rate == 0:
		b.add(name+" p50", p50, "ms", "< 10 ms", p50 < 10)
		b.add(name+" p99", p99, "ms", "< 50 ms", p99 < 50)
	case strings.HasPrefix(name, "fixed"), strings.HasPrefix(name, "baseline"):
		b.add(name+" p50", p50, "ms", "", true)
		b.add(name+" p99", p99, "ms", "< 50 ms", p99 < 50)
	default:
		b.add(name+" p50", p50, "ms", "", true)
		b.add(name+" p99", p99, "ms", "", true)
	}
}

// profile saves a 5-second CPU profile of the first replica, from now, to file, when
// BENCH_PPROF_ADDR is set.
func (b *bench) profile(file string) {
	a := os.Getenv("BENCH_PPROF_ADDR")
	if a == "" {
		return
	}
	go func() {
		resp, err := http.Get("http://" + a + "/debug/pprof/profile?seconds=5")
		if err != nil {
			fmt.Fprintln(os.Stderr, "profile:", err)
			return
		}
		defer resp.Body.Close()
		f, err := os.Create(file)
		if err != nil {
			fmt.Fprintln(os.Stderr, "profile:", err)
			return
		}
		defer f.Close()
		_, _ = io.Copy(f, resp.Body)
	}()
}

// throughput publishes count events from b.publishers concurrent publishers across the
// replicas and measures deliveries per second from the first publish to the last receipt.
func (b *bench) throughput(name string, count, fanout int) {
	b.reset()
	if fanout == 1 {
		b.profile("bench-cpu.prof")
	}
	start := time.Now()
	cpu0 := b.cpu()
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < b.publishers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)); i <= count; i = int(next.Add(1)) {
				b.publish(i)
			}
		}()
	}
	wg.Wait()
	total := int64(count * fanout)
	b.waitReceived(total, 5*time.Minute)
	rate := float64(total) / time.Since(start).Seconds()
	cpu1 := b.cpu()
	target, ok := "≥ 3000/s", rate >= 3000
	if len(b.gateways) > 1 {
		target, ok = "≥ 2000/s", rate >= 2000
	}
	if fanout > 1 {
		target, ok = "", true
	}
	b.add(name, rate, "/s", target, ok)
	// Where the machine's time went: the gateway's CPU per delivery, and the share of
	// both cores the gateway, the receiver and the load generator (this process) took.
	wall := cpu1.wall.Sub(cpu0.wall).Seconds()
	b.add("  gateway CPU per delivery", 1e6*(cpu1.gateway-cpu0.gateway)/float64(total), "µs", "", true)
	b.add("  CPU used: gateway", 100*(cpu1.gateway-cpu0.gateway)/wall, "% of a core", "", true)
	b.add("  CPU used: receiver + load generator", 100*(cpu1.others-cpu0.others)/wall, "% of a core", "", true)
}

type cpuSample struct {
	wall            time.Time
	gateway, others float64 // CPU seconds
}

// cpu reads the CPU time used so far by the gateways, and by the receiver and this
// process together, from /proc (Linux).
func (b *bench) cpu() cpuSample {
	s := cpuSample{wall: time.Now(), others: procCPU("self")}
	for i, p := range b.procs {
		if i == 0 {
			s.others += procCPU(strconv.Itoa(p.Process.Pid))
		} else {
			s.gateway += procCPU(strconv.Itoa(p.Process.Pid))
		}
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

var client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}, Timeout: 30 * time.Second}

func (b *bench) publish(i int) {
	g := b.gateways[i%len(b.gateways)]
	body := fmt.Sprintf(`{"type":"user.created","data":{"sentAt":%d,"i":%d}}`, time.Now().UnixNano(), i)
	b.post(g+"/v1/events", "Bearer "+token, body)
}

func (b *bench) post(url, auth, body string) []byte {
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Authorization", auth)
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

func (b *bench) waitReceived(n int64, within time.Duration) {
	deadline := time.Now().Add(within)
	for {
		resp, err := client.Get(b.recv + "/count")
		if err == nil {
			c, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if got, _ := strconv.ParseInt(string(c), 10, 64); got >= n {
				return
			}
		}
		if time.Now().After(deadline) {
			fail(fmt.Sprintf("only part of %d deliveries arrived within %s", n, within))
		}
		time.Sleep(time.Millisecond)
	}
}

func (b *bench) stop() {
	for _, p := range b.procs {
		_ = p.Process.Kill()
		_, _ = p.Process.Wait()
	}
	b.procs = nil
	if b.dir != "" {
		os.RemoveAll(b.dir)
	}
}

func (b *bench) print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FIGURE\tVALUE\tTARGET\tMET")
	for _, r := range b.results {
		met := ""
		if r.Met != nil {
			met = map[bool]string{true: "yes", false: "NO"}[*r.Met]
		}
		fmt.Fprintf(tw, "%s\t%.1f %s\t%s\t%s\n", r.Name, r.Value, r.Unit, r.Target, met)
	}
	tw.Flush()
}

// runReceiver answers every delivery at once (except under /hang, which never answers)
// and keeps the publish-to-receipt latency of each first arrival.
func runReceiver(addr string) {
	var mu sync.Mutex
	var count atomic.Int64
	seen := map[string]bool{}
	var lat []float64
	h := http.NewServeMux()
	h.HandleFunc("/hang", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Minute):
		}
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

func waitUp(base string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
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
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "model name") {
				cpu = strings.TrimSpace(strings.SplitN(line, ":", 2)[1])
				break
			}
		}
	}
	n := 0
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		n = strings.Count(string(b), "processor\t:")
	}
	return fmt.Sprintf("%s, %d cores", cpu, n)
}
