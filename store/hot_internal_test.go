package store

import (
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"gorm.io/gorm/schema"
)

// TestHotColumnsAreTheModels fails when a field is added to a model the hot path writes
// (see hot.go) without adding it to the hot statement: the row would be stored without it.
func TestHotColumnsAreTheModels(t *testing.T) {
	insert := regexp.MustCompile(`(?s)INSERT INTO (\w+) \((.*?)\)\s+VALUES \((.*?)\)`)
	for _, tc := range []struct {
		model any
		sql   string
	}{{&Event{}, insertEventSQL}, {&Delivery{}, insertDeliverySQL}, {&Attempt{}, insertAttemptSQL}} {
		s, err := schema.Parse(tc.model, &sync.Map{}, schema.NamingStrategy{})
		if err != nil {
			t.Fatal(err)
		}
		m := insert.FindStringSubmatch(tc.sql)
		if m == nil {
			t.Fatalf("not an insert: %s", tc.sql)
		}
		if m[1] != s.Table {
			t.Errorf("%s: writes table %s, the model's is %s", s.Name, m[1], s.Table)
		}
		var cols []string
		for _, c := range strings.Split(m[2], ",") {
			cols = append(cols, strings.TrimSpace(c))
		}
		if n := strings.Count(m[3], "?"); n != len(cols) {
			t.Errorf("%s: %d columns, %d placeholders", s.Name, len(cols), n)
		}
		want := slices.Clone(s.DBNames)
		slices.Sort(want)
		slices.Sort(cols)
		if !slices.Equal(cols, want) {
			t.Errorf("%s: the hot insert writes %v, the model has %v", s.Name, cols, want)
		}
	}
}

func TestDollars(t *testing.T) {
	if got := dollars("UPDATE t SET a = ?, b = ? WHERE id = ?"); got != "UPDATE t SET a = $1, b = $2 WHERE id = $3" {
		t.Errorf("got %q", got)
	}
}

// Every hot statement is prepared on SQLite and numbered for PostgreSQL: execAll looks
// them up by their text.
func TestHotStatementsAreAllPrepared(t *testing.T) {
	h := newHotStatements(nil)
	for _, q := range hotSQL {
		if h.numbered[q] == "" || strings.Contains(h.numbered[q], "?") {
			t.Errorf("not numbered: %s", q)
		}
	}
}
