package main

import (
	"fmt"
	"net/url"
	"strings"
)

// parseOrigins reads --portal-origins: comma-separated origins, each scheme://host[:port]
// with an http or https scheme and nothing else, as a CSP frame-ancestors source takes them.
func parseOrigins(s string) ([]string, error) {
	var out []string
	for _, o := range strings.Split(s, ",") {
		o = strings.TrimSpace(o)
		if o == "" {
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(o, " ;'\"") {
			return nil, fmt.Errorf("%q is not an origin like https://app.example.com", o)
		}
		out = append(out, u.Scheme+"://"+u.Host)
	}
	return out, nil
}
