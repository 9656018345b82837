package server

import (
	"net/netip"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/polyhook/polyhook/store"
)

// Logins throttles failed logins: each client address, and each credential a request
// names (a client id, an access key id), has a budget of failures that refills over time.
// A request whose credential is correct is always served, whatever the budget: the
// credential is checked first, and only a failure spends the budget; a failure past it is
// answered 429 with Retry-After instead of 401. So a script hammering wrong tokens from
// the address of a load balancer, or at someone's client id, slows nobody who holds a
// correct credential. A nil *Logins never throttles.
type Logins struct {
	buckets *Limiter
}

// Default failure budget: 10 failures at once per address and per credential, then one
// more every 6 seconds (10 a minute).
const (
	DefaultLoginBurst = 10
	DefaultLoginEvery = 6 * time.Second
)

// NewLogins allows burst failures per key at once, then one more per every. A burst of
// zero or less disables throttling (returns nil).
func NewLogins(burst int, every time.Duration) *Logins {
	if burst <= 0 || every <= 0 {
		return nil
	}
	return &Logins{buckets: NewLimiter(float64(time.Second)/float64(every), burst)}
}

// Failed records a failed login by the request's client address and, when credential is
// not empty, for that credential (name it with its dialect, "nursa:<client id>"). When
// either is over its budget it sets Retry-After on the response and returns the
// ETHROTTLED error to answer instead of the login failure; otherwise it returns nil.
//
// The address is charged first, and a failure past its budget charges no credential: so
// each address can start only a few credential budgets a minute, whatever ids it makes up,
// and the table of budgets (bounded in entries and bytes, see Limiter) fills no faster.
func (l *Logins) Failed(c echo.Context, credential string) error {
	if l == nil {
		return nil
	}
	ok, wait := l.buckets.Allow("addr:" + clientAddr(c))
	if ok && credential != "" {
		ok, wait = l.buckets.Allow("cred:" + credential)
	}
	if ok {
		return nil
	}
	c.Response().Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
	return store.Errorf(store.ETHROTTLED, "Too many failed logins; try again in %d seconds.", int(wait.Seconds())+1)
}

// clientAddr is the address of the peer that sent the request, or for IPv6 its /64: one
// host is commonly given a whole /64, and each of its addresses would otherwise be a fresh
// budget. Forwarding headers are not trusted: anyone can write them, and each new value
// would be a fresh budget too.
func clientAddr(c echo.Context) string {
	ap, err := netip.ParseAddrPort(c.Request().RemoteAddr)
	if err != nil {
		return c.Request().RemoteAddr
	}
	a := ap.Addr().Unmap()
	if a.Is4() {
		return a.String()
	}
	p, _ := a.WithZone("").Prefix(64)
	return p.String()
}
