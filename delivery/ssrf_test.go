package delivery

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestAddressClass_NonPublic(t *testing.T) {
	t.Parallel()
	for addr, want := range map[string]string{
		"127.0.0.1":                "loopback",
		"127.255.255.254":          "loopback",
		"::1":                      "loopback",
		"::ffff:127.0.0.1":         "loopback", // IPv4-mapped
		"10.0.0.1":                 "private",
		"172.16.0.1":               "private",
		"172.31.255.255":           "private",
		"192.168.1.1":              "private",
		"::ffff:10.0.0.1":          "private",
		"169.254.169.254":          "link-local",
		"::ffff:169.254.169.254":   "link-local",
		"fe80::1":                  "link-local",
		"100.64.0.1":               "carrier-grade NAT",
		"100.127.255.255":          "carrier-grade NAT",
		"0.0.0.0":                  "unspecified",
		"0.1.2.3":                  "unspecified",
		"::":                       "unspecified",
		"224.0.0.1":                "multicast",
		"239.255.255.250":          "multicast",
		"ff02::1":                  "multicast",
		"255.255.255.255":          "reserved", // limited broadcast, inside 240/4
		"240.0.0.1":                "reserved",
		"192.0.0.8":                "IETF",
		"198.18.0.1":               "benchmarking",
		"198.19.255.255":           "benchmarking",
		"192.0.2.1":                "documentation",
		"198.51.100.1":             "documentation",
		"203.0.113.1":              "documentation",
		"2001:db8::1":              "documentation",
		"fc00::1":                  "unique local",
		"fd12:3456::1":             "unique local",
		"64:ff9b::7f00:1":          "loopback",   // NAT64 of 127.0.0.1
		"64:ff9b::a9fe:a9fe":       "link-local", // NAT64 of 169.254.169.254
		"64:ff9b::a00:1":           "private",    // NAT64 of 10.0.0.1
		"::ffff:100.64.0.1":        "carrier-grade NAT",
		"::ffff:0.0.0.0":           "unspecified",
		"::ffff:255.255.255.255":   "reserved",
		"::ffff:192.168.0.1":       "private",
		"64:ff9b:1::1":             "NAT64",
		"2002:7f00:1::1":           "6to4",
		"2001:0:4136:e378::1":      "IETF", // Teredo
		"100::1":                   "discard",
		"::ffff:198.18.0.1":        "benchmarking",
		"::ffff:203.0.113.7":       "documentation",
		"::ffff:224.0.0.251":       "multicast",
		"fc00:ffff:ffff:ffff::":    "unique local",
		"febf:ffff:ffff:ffff::1":   "link-local",
		"ff05::2":                  "multicast",
		"172.20.10.1":              "private",
		"::ffff:172.16.0.1":        "private",
		"::ffff:7f00:1":            "loopback",
		"0:0:0:0:0:ffff:7f00:0001": "loopback",
	} {
		a := netip.MustParseAddr(addr)
		got := addressClass(a)
		if got == "" || !strings.Contains(got, want) {
			t.Errorf("addressClass(%s) = %q, want a class containing %q", addr, got, want)
		}
	}
}

// A zoned IPv6 address ("fe80::1%eth0", which is what the dialer hands to the
// Control hook for a URL like http://[fe80::1%25eth0]/) is still link-local:
// netip.Prefix.Contains is false for any zoned address, so the zone must be dropped
// before the check.
func TestAddressClass_Zoned(t *testing.T) {
	t.Parallel()
	for addr, want := range map[string]string{
		"fe80::1%eth0": "link-local",
		"ff02::1%lo":   "multicast",
		"::1%lo":       "loopback",
	} {
		if got := addressClass(netip.MustParseAddr(addr)); !strings.Contains(got, want) || got == "" {
			t.Errorf("addressClass(%s) = %q, want a class containing %q", addr, got, want)
		}
	}
}

func TestAddressClass_Public(t *testing.T) {
	t.Parallel()
	for _, addr := range []string{
		"8.8.8.8",
		"1.1.1.1",
		"93.184.216.34",
		"100.63.255.255", // just below CGNAT
		"100.128.0.0",    // just above CGNAT
		"172.15.255.255", // just below 172.16/12
		"172.32.0.0",     // just above 172.16/12
		"198.17.255.255", // just below benchmarking
		"198.20.0.0",     // just above benchmarking
		"223.255.255.255",
		"::ffff:8.8.8.8",
		"64:ff9b::808:808", // NAT64 of 8.8.8.8
		"2606:4700:4700::1111",
		"2a00:1450:4001:80b::200e",
	} {
		if got := addressClass(netip.MustParseAddr(addr)); got != "" {
			t.Errorf("addressClass(%s) = %q, want public", addr, got)
		}
	}
}

func TestGuard_Check(t *testing.T) {
	t.Parallel()
	loop := netip.MustParseAddr("127.0.0.1")
	mapped := netip.MustParseAddr("::ffff:127.0.0.1")
	v6loop := netip.MustParseAddr("::1")
	public := netip.MustParseAddr("8.8.8.8")

	strict := guard{}
	var refused *refusedError
	if err := strict.check(loop); !errors.As(err, &refused) {
		t.Fatalf("strict guard let 127.0.0.1 through: %v", err)
	}
	if !strings.Contains(refused.Error(), "127.0.0.1") || !strings.Contains(refused.Error(), "loopback") {
		t.Errorf("refusal should name the address and its class: %q", refused.Error())
	}
	if err := strict.check(mapped); err == nil {
		t.Errorf("strict guard let ::ffff:127.0.0.1 through")
	}
	if err := strict.check(public); err != nil {
		t.Errorf("strict guard refused a public address: %v", err)
	}

	if err := (guard{allowPrivate: true}).check(loop); err != nil {
		t.Errorf("allowPrivate refused 127.0.0.1: %v", err)
	}

	listed := guard{allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}
	if err := listed.check(loop); err != nil {
		t.Errorf("allow list 127.0.0.0/8 refused 127.0.0.1: %v", err)
	}
	if err := listed.check(mapped); err != nil {
		t.Errorf("allow list 127.0.0.0/8 refused the mapped ::ffff:127.0.0.1: %v", err)
	}
	if err := listed.check(v6loop); err == nil {
		t.Errorf("allow list 127.0.0.0/8 let ::1 through")
	}
	if err := listed.check(netip.MustParseAddr("10.0.0.1")); err == nil {
		t.Errorf("allow list 127.0.0.0/8 let 10.0.0.1 through")
	}
}

func TestGuard_Control(t *testing.T) {
	t.Parallel()
	g := guard{}
	for _, address := range []string{"127.0.0.1:80", "[::1]:443", "169.254.169.254:80", "[::ffff:10.0.0.1]:80"} {
		var refused *refusedError
		if err := g.control("tcp", address, nil); !errors.As(err, &refused) {
			t.Errorf("control(%s) = %v, want a refusal", address, err)
		}
	}
	if err := g.control("tcp", "8.8.8.8:443", nil); err != nil {
		t.Errorf("control(8.8.8.8:443) = %v", err)
	}
	if err := g.control("tcp", "not-an-address", nil); err == nil {
		t.Errorf("control accepted an unparsable address")
	}
}

// The ranges added from the IANA special-purpose registries, and the deprecated
// IPv4-compatible and site-local IPv6 ranges, are refused; their public neighbours are not.
func TestAddressClass_SpecialPurposeRegistries(t *testing.T) {
	t.Parallel()
	for addr, want := range map[string]string{
		"::7f00:1":            "IPv4-compatible", // ::127.0.0.1
		"::a9fe:a9fe":         "IPv4-compatible", // ::169.254.169.254
		"::808:808":           "IPv4-compatible", // ::8.8.8.8: deprecated, never a receiver
		"::2":                 "IPv4-compatible",
		"fec0::1":             "site-local",
		"feff:ffff::1":        "site-local",
		"192.31.196.1":        "AS112",
		"192.52.193.1":        "AMT",
		"192.175.48.1":        "AS112",
		"100:0:0:1::1":        "dummy",
		"2620:4f:8000::1":     "AS112",
		"3fff::1":             "documentation",
		"3fff:fff:ffff::1":    "documentation",
		"5f00::1":             "segment routing",
		"2001:2::1":           "IETF", // benchmarking, inside 2001::/23
		"::ffff:192.175.48.9": "AS112",
	} {
		if got := addressClass(netip.MustParseAddr(addr)); got == "" || !strings.Contains(got, want) {
			t.Errorf("addressClass(%s) = %q, want a class containing %q", addr, got, want)
		}
	}
	for _, addr := range []string{"::1", "::"} {
		if got := addressClass(netip.MustParseAddr(addr)); strings.Contains(got, "IPv4-compatible") {
			t.Errorf("addressClass(%s) = %q: ::/96 must not hide its own class", addr, got)
		}
	}
	for _, addr := range []string{"192.31.195.255", "192.31.197.0", "192.175.49.0", "2620:4f:8001::1", "3fff:1000::1", "5eff:ffff::1", "5f01::1", "fe7f::1", "2a00::1"} {
		if got := addressClass(netip.MustParseAddr(addr)); got != "" {
			t.Errorf("addressClass(%s) = %q, want public", addr, got)
		}
	}
}

// CheckURL refuses, without resolving anything, URLs whose host is a literal non-public
// address or a numeric form resolvers read differently, and lets the allowed ones pass.
func TestTargets_CheckURL(t *testing.T) {
	t.Parallel()
	strict := NewTargets(false, nil)
	for raw, want := range map[string]string{
		"http://127.0.0.1:8080/x":                 "loopback",
		"http://169.254.169.254/latest/meta-data": "link-local",
		"http://10.1.2.3/":                        "private",
		"https://[::1]/":                          "loopback",
		"https://[::ffff:127.0.0.1]/":             "loopback",
		"https://[::7f00:1]/":                     "IPv4-compatible",
		"https://[fec0::1]/":                      "site-local",
		"https://[fe80::1%25eth0]/":               "link-local",
		"https://[fd00:ec2::254]/":                "unique local", // AWS's IPv6 metadata
		"http://0.0.0.0/":                         "unspecified",
		"http://localhost:9/":                     "loopback name",
		"http://api.LOCALHOST./":                  "loopback name",
		"http://2130706433/":                      "numeric form of 127.0.0.1",
		"http://0x7f000001/":                      "numeric form of 127.0.0.1",
		"http://0X7F000001/":                      "numeric form of 127.0.0.1",
		"http://127.1/":                           "numeric form of 127.0.0.1",
		"http://0177.0.0.1/":                      "numeric form of 127.0.0.1",
		"http://127.0.0.1./":                      "numeric form of 127.0.0.1",
		"http://0x7f.1/":                          "numeric form of 127.0.0.1",
		"http://169.254.43518/":                   "numeric form of 169.254.169.254",
		"http://134744072/":                       "numeric form of 8.8.8.8",
		"http://1.2.3.04/":                        "numeric form of 1.2.3.4",
		"http://999.1.1.1/":                       "neither an address nor a name",
		"http://08.1.1.1/":                        "neither an address nor a name",
		"http://4294967296/":                      "neither an address nor a name",
		"http://example.com.1/":                   "neither an address nor a name",
	} {
		err := strict.CheckURL(raw)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("CheckURL(%s) = %v, want an error containing %q", raw, err, want)
		}
	}
	for _, raw := range []string{"https://example.com/hook", "http://8.8.8.8/", "https://[2606:4700:4700::1111]/", "https://hooks.internal.example/", "https://1password.com/", "https://0x.example/", "https://a.b.c.123abc/"} {
		if err := strict.CheckURL(raw); err != nil {
			t.Errorf("CheckURL(%s) = %v, want it accepted (names are not resolved)", raw, err)
		}
	}

	open := NewTargets(true, nil)
	for _, raw := range []string{"http://127.0.0.1:8080/x", "http://169.254.169.254/", "http://localhost/", "https://[fec0::1]/"} {
		if err := open.CheckURL(raw); err != nil {
			t.Errorf("with private targets allowed, CheckURL(%s) = %v", raw, err)
		}
	}
	if err := open.CheckURL("http://2130706433/"); err == nil {
		t.Error("with private targets allowed, a numeric form is still ambiguous and must be refused")
	}
	listed := NewTargets(false, []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")})
	for raw, ok := range map[string]bool{"http://127.0.0.1:9/": true, "http://localhost:9/": true, "http://[::1]/": false, "http://10.0.0.1/": false} {
		if err := listed.CheckURL(raw); (err == nil) != ok {
			t.Errorf("allowing 127.0.0.0/8, CheckURL(%s) = %v", raw, err)
		}
	}
}

func TestParseLegacyIPv4(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"2130706433": "127.0.0.1", "0x7f000001": "127.0.0.1", "127.1": "127.0.0.1", "0177.0.0.1": "127.0.0.1",
		"127.0.1": "127.0.0.1", "0": "0.0.0.0", "0x": "0.0.0.0", "10.0x10.0377.1": "10.16.255.1", "4294967295": "255.255.255.255",
	} {
		if got, ok := parseLegacyIPv4(in); !ok || got.String() != want {
			t.Errorf("parseLegacyIPv4(%s) = %v %v, want %s", in, got, ok, want)
		}
	}
	for _, in := range []string{"4294967296", "1.2.3.4.5", "256.1", "1.16777216", "09", "0xg", "1..1", ""} {
		if got, ok := parseLegacyIPv4(in); ok {
			t.Errorf("parseLegacyIPv4(%q) = %v, want none", in, got)
		}
	}
}
