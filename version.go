package main

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// version and revision are stamped by release builds (-ldflags "-X main.version=v1.2.3
// -X main.revision=<commit>"); otherwise they come from the build info, when the go
// command recorded it.
var version, revision string

type versionInfo struct {
	Version  string `json:"version"`
	Revision string `json:"revision,omitempty"`
	Time     string `json:"time,omitempty"`
	Modified bool   `json:"modified,omitempty"`
	Go       string `json:"go"`
	Platform string `json:"platform"`
}

// buildVersion reads the module version and the VCS revision from the build info.
func buildVersion() versionInfo {
	v := versionInfo{Version: "(devel)", Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			v.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				v.Revision = s.Value
			case "vcs.time":
				v.Time = s.Value
			case "vcs.modified":
				v.Modified = s.Value == "true"
			}
		}
	}
	if version != "" {
		v.Version = version
	}
	if revision != "" {
		v.Revision = revision
	}
	return v
}

type versionCmd struct {
}

func (c *versionCmd) Run(g *globals) error { return printVersion(g.stdout, g.json()) }

// printVersion writes the version, its revision and the Go release and platform it was
// built with: as a line, or as JSON.
func printVersion(w io.Writer, asJSON bool) error {
	v := buildVersion()
	if asJSON {
		return json.NewEncoder(w).Encode(v)
	}
	line := "polyhook " + v.Version
	if v.Revision != "" {
		line += " (" + v.Revision
		if v.Modified {
			line += ", modified"
		}
		if v.Time != "" {
			line += ", " + v.Time
		}
		line += ")"
	}
	_, err := fmt.Fprintf(w, "%s %s %s\n", line, v.Go, v.Platform)
	return err
}
