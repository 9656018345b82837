package servertest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"
)

// Operation is one operation of a spec with a concrete path.
type Operation struct {
	ID, Method string
	// Path has every parameter filled in.
	Path string
}

var pathParam = regexp.MustCompile(`\{([^}]+)\}`)

// Operations lists, sorted by id, the spec's operations that declare status, with path
// parameters filled from params by name ("x" for those it does not name).
func (c *Contract) Operations(status int, params map[string]string) []Operation {
	var ops []Operation
	for path, item := range c.spec.Paths.Map() {
		for method, op := range item.Operations() {
			if op.Responses.Status(status) == nil {
				continue
			}
			p := pathParam.ReplaceAllStringFunc(path, func(m string) string {
				if v, ok := params[m[1:len(m)-1]]; ok {
					return v
				}
				return "x"
			})
			ops = append(ops, Operation{ID: op.OperationID, Method: method, Path: p})
		}
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i].ID < ops[j].ID })
	return ops
}

// EachOperation sends, through the contract, one request made by build to every
// operation that declares status, and fails the test for each answer of another status
// or without Retry-After when retryAfter is set. It returns the bodies by operation id.
func (c *Contract) EachOperation(t testing.TB, status int, retryAfter bool, params map[string]string, build func(op Operation) *http.Request) map[string][]byte {
	t.Helper()
	ops := c.Operations(status, params)
	if len(ops) == 0 {
		t.Fatalf("no operation declares %d", status)
	}
	out := map[string][]byte{}
	for _, op := range ops {
		resp, body := c.Do(t, build(op))
		if resp.StatusCode != status {
			t.Errorf("%s %s %s: %d %s, want %d", op.ID, op.Method, op.Path, resp.StatusCode, body, status)
		}
		if ra := resp.Header.Get("Retry-After"); retryAfter && ra == "" {
			t.Errorf("%s: %d without Retry-After", op.ID, resp.StatusCode)
		} else if retryAfter {
			if n, err := strconv.Atoi(ra); err != nil || n < 1 {
				t.Errorf("%s: Retry-After %q", op.ID, ra)
			}
		}
		out[op.ID] = body
	}
	return out
}

// Endless sends req's method, URL and headers with a body that never ends (chunked, no
// length) on a connection of its own, and returns the status and body of the answer and
// how many bytes of the body were sent: a server that bounds what it reads answers, and
// stops reading, long before the client gives up. The answer is read while the body is
// still being written, as a client that waits for it would.
func Endless(t testing.TB, req *http.Request) (status int, body []byte, sent int64) {
	t.Helper()
	conn, err := net.Dial("tcp", req.URL.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	var head bytes.Buffer
	fmt.Fprintf(&head, "%s %s HTTP/1.1\r\nHost: %s\r\nTransfer-Encoding: chunked\r\n", req.Method, req.URL.RequestURI(), req.URL.Host)
	_ = req.Header.Write(&head)
	head.WriteString("\r\n")
	if _, err := conn.Write(head.Bytes()); err != nil {
		t.Fatal(err)
	}
	var n atomic.Int64
	stop := make(chan struct{})
	go func() {
		chunk := []byte(fmt.Sprintf("%x\r\n%s\r\n", 32<<10, bytes.Repeat([]byte("a"), 32<<10)))
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := conn.Write(chunk); err != nil {
				return // the server closed the connection: what it should do
			}
			n.Add(32 << 10)
		}
	}()
	defer close(stop)
	resp, err := http.ReadResponse(bufio.NewReader(conn), req)
	if err != nil {
		t.Fatalf("%s %s with an endless body: %v (after %d bytes)", req.Method, req.URL.Path, err, n.Load())
	}
	defer resp.Body.Close()
	body, _ = io.ReadAll(resp.Body)
	return resp.StatusCode, body, n.Load()
}

// FuzzBodyLimit is the body limit fuzz targets serve with: small, so that fuzzed bodies
// cross it often.
const FuzzBodyLimit = 512

// FuzzRequest is httptest.NewRequest for fuzz targets: a body of even length is sent with
// its length announced, one of odd length a byte at a time with no length (a slow body, or
// a chunked one), so that both ways of meeting the body limit are fuzzed.
func FuzzRequest(method, target, body string) *http.Request {
	if len(body)%2 == 0 {
		return httptest.NewRequest(method, target, strings.NewReader(body))
	}
	req := httptest.NewRequest(method, target, iotest.OneByteReader(strings.NewReader(body)))
	req.ContentLength = -1
	return req
}
