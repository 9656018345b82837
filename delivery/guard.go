package delivery

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
)

// nonPublic are the address ranges a delivery may not reach unless allowed: the SSRF
// guard. They are the IANA special-purpose registries (IPv4 and IPv6), the private and
// multicast ranges, and the deprecated IPv4-compatible and site-local IPv6 ranges. The
// first range that holds an address names its class. IPv4-mapped IPv6 addresses are
// unmapped before the check.
var nonPublic = func() []struct {
	prefix netip.Prefix
	class  string
} {
	var out []struct {
		prefix netip.Prefix
		class  string
	}
	for _, r := range []struct{ cidr, class string }{
		{"0.0.0.0/8", "unspecified"},
		{"10.0.0.0/8", "private"},
		{"100.64.0.0/10", "carrier-grade NAT"},
		{"127.0.0.0/8", "loopback"},
		{"169.254.0.0/16", "link-local (cloud metadata)"},
		{"172.16.0.0/12", "private"},
		{"192.0.0.0/24", "IETF protocol assignments"},
		{"192.0.2.0/24", "documentation"},
		{"192.88.99.0/24", "6to4 relay"},
		{"192.168.0.0/16", "private"},
		{"198.18.0.0/15", "benchmarking"},
		{"198.51.100.0/24", "documentation"},
		{"203.0.113.0/24", "documentation"},
		{"224.0.0.0/4", "multicast"},
		{"240.0.0.0/4", "reserved"},
		// The rest of the IANA IPv4 special-purpose registry: none is a webhook receiver.
		{"192.31.196.0/24", "AS112 service"},
		{"192.52.193.0/24", "AMT relay"},
		{"192.175.48.0/24", "AS112 direct delegation"},
		{"::/128", "unspecified"},
		{"::1/128", "loopback"},
		// IPv4-compatible addresses (deprecated) embed an IPv4 address that some stacks
		// still route to.
		{"::/96", "IPv4-compatible"},
		{"64:ff9b:1::/48", "NAT64 local use"},
		{"100::/64", "discard"},
		{"100:0:0:1::/64", "dummy prefix"},
		{"2001::/23", "IETF protocol assignments"},
		{"2001:db8::/32", "documentation"},
		{"2002::/16", "6to4"},
		{"2620:4f:8000::/48", "AS112 direct delegation"},
		{"3fff::/20", "documentation"},
		{"5f00::/16", "segment routing"},
		{"fc00::/7", "unique local"},
		{"fe80::/10", "link-local"},
		{"fec0::/10", "site-local (deprecated)"},
		{"ff00::/8", "multicast"},
	} {
		out = append(out, struct {
			prefix netip.Prefix
			class  string
		}{netip.MustParsePrefix(r.cidr), r.class})
	}
	return out
}()

// addressClass returns why a is not a public address, or "" when it is. NAT64 addresses
// (64:ff9b::/96) are judged by the IPv4 address they embed.
func addressClass(a netip.Addr) string {
	a = a.Unmap().WithZone("")
	if a.Is6() && netip.MustParsePrefix("64:ff9b::/96").Contains(a) {
		b := a.As16()
		return addressClass(netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}))
	}
	for _, r := range nonPublic {
		if r.prefix.Contains(a) {
			return r.class
		}
	}
	return ""
}

// refusedError is a delivery the SSRF guard stopped.
type refusedError struct {
	addr  netip.Addr
	class string
}

func (e *refusedError) Error() string {
	return fmt.Sprintf("refused to connect to %s: a %s address (start with --allow-private-targets or list it in --allow-targets to allow it)", e.addr, e.class)
}

// Targets is the one policy of which addresses deliveries may reach: the sender checks
// every address it dials against it, and the dialects check the URLs clients give
// (CheckURL), so that both always agree.
type Targets struct{ guard guard }

// NewTargets returns the policy that refuses non-public addresses unless allowPrivate is
// set or the address is in allow.
func NewTargets(allowPrivate bool, allow []netip.Prefix) *Targets {
	return &Targets{guard: guard{allowPrivate: allowPrivate, allow: allow}}
}

// CheckURL refuses, before anything is sent, a URL whose host is a literal address the
// policy does not let deliveries reach (loopback, private, link-local, metadata and the
// other special-purpose ranges), "localhost" or a name under it, or a numeric host in a
// form other than dotted decimal (2130706433, 0x7f000001, 127.1, 0177.0.0.1): resolvers
// disagree on those, and Go's sends them to DNS. Other names are not resolved here; the
// sender checks the addresses they resolve to when it dials. The error says why, for the
// dialect's own validation error.
func (t *Targets) CheckURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("the URL cannot be parsed")
	}
	host := u.Hostname()
	if a, err := netip.ParseAddr(host); err == nil {
		return t.guard.check(a)
	}
	name := strings.TrimSuffix(strings.ToLower(host), ".")
	if name == "localhost" || strings.HasSuffix(name, ".localhost") {
		if t.guard.check(netip.MustParseAddr("127.0.0.1")) == nil || t.guard.check(netip.IPv6Loopback()) == nil {
			return nil
		}
		return fmt.Errorf("%s is a loopback name (start with --allow-private-targets or list the address in --allow-targets to allow it)", host)
	}
	if numericHost(name) {
		if a, ok := parseLegacyIPv4(name); ok {
			return fmt.Errorf("the host %s is a numeric form of %s that resolvers read differently; write the address as %s", host, a, a)
		}
		return fmt.Errorf("the host %s is neither an address nor a name", host)
	}
	return nil
}

// numericHost reports whether a host's last label is a number, decimal or 0x-hex: a
// host the URL standard reads as an IPv4 address, whatever the rest of it is.
func numericHost(host string) bool {
	last := host[strings.LastIndexByte(host, '.')+1:]
	if last == "" {
		return false
	}
	if h, ok := strings.CutPrefix(last, "0x"); ok {
		return strings.Trim(h, "0123456789abcdef") == ""
	}
	return strings.Trim(last, "0123456789") == ""
}

// parseLegacyIPv4 reads an IPv4 address the way inet_aton does: one to four parts, each
// decimal, octal (leading 0) or hex (0x), the last filling the remaining bytes.
func parseLegacyIPv4(s string) (netip.Addr, bool) {
	parts := strings.Split(s, ".")
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	var nums []uint64
	for _, p := range parts {
		base := 10
		switch {
		case strings.HasPrefix(p, "0x"):
			p, base = p[2:], 16
			if p == "" {
				p = "0"
			}
		case len(p) > 1 && p[0] == '0':
			p, base = p[1:], 8
		}
		n, err := strconv.ParseUint(p, base, 32)
		if err != nil {
			return netip.Addr{}, false
		}
		nums = append(nums, n)
	}
	var v uint64
	for i, n := range nums[:len(nums)-1] {
		if n > 255 {
			return netip.Addr{}, false
		}
		v |= n << (8 * (3 - i))
	}
	last := nums[len(nums)-1]
	if last >= 1<<(8*(5-len(nums))) {
		return netip.Addr{}, false
	}
	v |= last
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true
}

// guard decides which addresses deliveries may reach.
type guard struct {
	allowPrivate bool
	allow        []netip.Prefix
}

func (g guard) check(a netip.Addr) error {
	if g.allowPrivate {
		return nil
	}
	a = a.Unmap().WithZone("")
	for _, p := range g.allow {
		if p.Contains(a) {
			return nil
		}
	}
	if class := addressClass(a); class != "" {
		return &refusedError{addr: a, class: class}
	}
	return nil
}

// control runs on every socket before it connects, on the address actually dialled: a
// name that resolves to several addresses, or resolves differently the second time (DNS
// rebinding), is checked on exactly the address used.
func (g guard) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("unexpected dial address %q", address)
	}
	return g.check(ap.Addr())
}
