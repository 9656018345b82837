package delivery

import (
	"fmt"
	"net/netip"
	"syscall"
)

// nonPublic are the address ranges a delivery may not reach unless allowed: the SSRF
// guard. IPv4-mapped IPv6 addresses are unmapped before the check.
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
		{"::/128", "unspecified"},
		{"::1/128", "loopback"},
		{"64:ff9b:1::/48", "NAT64 local use"},
		{"100::/64", "discard"},
		{"2001::/23", "IETF protocol assignments"},
		{"2001:db8::/32", "documentation"},
		{"2002::/16", "6to4"},
		{"fc00::/7", "unique local"},
		{"fe80::/10", "link-local"},
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
