package store

import "testing"

// A webhook's digest is stored with each of its attempts and looked for by its log, so it
// must not change from one version to the next: the figures below are FNV-1a's 64 bits of
// the ids (0 stands for none). And it allocates nothing, on the path of every attempt.
// Not parallel: AllocsPerRun counts the whole process's allocations.
func TestWebhookDigest_StaysTheSame(t *testing.T) {
	for id, want := range map[string]int64{
		"6b7c0887-75a7-4db7-b6f8-d59e165ee62c": 6580608570902495615,
		"w":                                    -5808541479991114666,
		"":                                     0,
	} {
		if got := webhookDigest(id); got != want {
			t.Errorf("digest of %q: %d, want %d (attempts already stored carry it)", id, got, want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { webhookDigest("6b7c0887-75a7-4db7-b6f8-d59e165ee62c") }); n != 0 {
		t.Errorf("a digest allocates %v times", n)
	}
}
