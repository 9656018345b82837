package reference_test

import (
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/polyhook/polyhook/server/reference"
	"github.com/polyhook/polyhook/server/servertest"
)

// The reference page renders every API in a real browser, from the gateway's files alone.
// Skipped without Chromium (Debian's "chromium" package).
func TestDocsRenderInABrowser(t *testing.T) {
	browser, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not installed")
	}
	a := reference.New()
	base, _ := servertest.Start(t, a)
	for _, s := range a.Specs() {
		doc, err := openapi3.NewLoader().LoadFromData(s.YAML)
		if err != nil {
			t.Fatal(err)
		}
		netlog := filepath.Join(t.TempDir(), "netlog.json")
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		cmd := exec.CommandContext(ctx, browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
			"--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
			"--user-data-dir="+t.TempDir(), "--virtual-time-budget=10000", "--log-net-log="+netlog,
			"--dump-dom", base+"/docs?api="+s.Name)
		dom, err := cmd.Output()
		cancel()
		if err != nil {
			t.Fatalf("%s: chromium: %v", s.Name, err)
		}
		// Every operation is on the rendered page.
		for path, item := range doc.Paths.Map() {
			for method, op := range item.Operations() {
				if !strings.Contains(string(dom), op.OperationID) {
					t.Errorf("%s: %s %s (%s) is not on the rendered page", s.Name, method, path, op.OperationID)
				}
			}
		}
		// The page asked nothing of another host. Chromium's own background services
		// (Google's update, time and account endpoints) are not the page's.
		log, err := os.ReadFile(netlog)
		if err != nil {
			t.Fatal(err)
		}
		own, _ := url.Parse(base)
		for _, m := range regexp.MustCompile(`"url":"([^"]+)"`).FindAllStringSubmatch(string(log), -1) {
			u, err := url.Parse(m[1])
			if err != nil || u.Host == own.Host || strings.HasSuffix(u.Hostname(), ".google.com") || strings.HasSuffix(u.Hostname(), ".googleapis.com") {
				continue
			}
			t.Errorf("%s: the page requested %s", s.Name, m[1])
		}
	}
}
