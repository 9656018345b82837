package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestSourcesCLI(t *testing.T) {
	g := startBridgeGateway(t, t.TempDir()+"/cli.db")
	cli := func(args ...string) string {
		t.Helper()
		var out bytes.Buffer
		if err := run(context.Background(), append(args, "--url", g.base, "--token", g.token), &out, &out); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out.String())
		}
		return out.String()
	}
	out := cli("sources", "create", "--dialect", "nursa", "--name", "n1", "--tenant", "client-1", "--secret", "s-one")
	if !strings.Contains(out, "/ingest/src_") || !strings.Contains(out, "signed with: s-one") {
		t.Fatalf("create:\n%s", out)
	}
	id := strings.Fields(strings.Split(out, "\n")[1])[0]
	if out = cli("sources", "list"); !strings.Contains(out, id) || !strings.Contains(out, "client-1") || strings.Contains(out, "s-one") {
		t.Errorf("list:\n%s", out)
	}
	cli("sources", "update", id, "--secret", "s-two")
	if out = cli("sources", "secret", id); !strings.HasPrefix(out, "s-two\n") || !strings.Contains(out, "previous (still accepted): s-one") {
		t.Errorf("secret during a rotation:\n%s", out)
	}
	cli("sources", "update", id, "--end-rotation")
	if out = cli("sources", "secret", id); out != "s-two\n" {
		t.Errorf("secret after the rotation:\n%s", out)
	}
	if out = cli("sources", "show", id, "-o", "json"); !strings.Contains(out, `"dialect": "nursa"`) {
		t.Errorf("show:\n%s", out)
	}
	cli("sources", "delete", id)
	var errOut bytes.Buffer
	if err := run(context.Background(), []string{"sources", "show", id, "--url", g.base, "--token", g.token}, &errOut, &errOut); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("show a deleted source: %v", err)
	}
}
