package store

import (
	"testing"
	"time"
)

// A batch spanning several minutes adds to them in order of minute: two transactions
// over the same minutes then lock the rows in one order, and PostgreSQL cannot find them
// deadlocked.
func TestActivityStatements_InOrderOfMinute(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 6, 17, 59, 59, 0, time.UTC)
	var as []*Attempt
	for i := range 40 { // across four minutes, latest first
		as = append(as, &Attempt{StartedAt: at.Add(time.Duration(40-i) * 5 * time.Second), ResponseStatus: 200 + 300*(i%2)})
	}
	sts := (&DB{backend: BackendPostgres}).activityStatements(attemptActivity(as))
	if len(sts) != 4 {
		t.Fatalf("%d statements, want one per minute (4)", len(sts))
	}
	var ok, fail int64
	for i, st := range sts {
		if i > 0 && st.args[0].(int64) <= sts[i-1].args[0].(int64) {
			t.Errorf("statement %d adds to minute %d after minute %d", i, st.args[0], sts[i-1].args[0])
		}
		if st.args[1] != sts[0].args[1] {
			t.Errorf("one batch on two shards: %v and %v", sts[0].args[1], st.args[1])
		}
		ok, fail = ok+st.args[3].(int64), fail+st.args[4].(int64)
	}
	if ok != 20 || fail != 20 {
		t.Errorf("succeeded %d, failed %d, want 20 each", ok, fail)
	}
}
