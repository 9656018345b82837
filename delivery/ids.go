package delivery

import (
	"strings"

	"github.com/google/uuid"
)

// newID returns a new id with the given prefix ("evt_", "msg_", ...) over a UUIDv7 in
// hex. Version 7 ids begin with their creation time, so the store's indexes on them
// grow at one end: a batch of new rows dirties a few pages instead of one page per row,
// which is most of what a commit writes. (The random part is 74 bits: unguessable
// enough for ids that are never secrets.)
func newID(prefix string) string {
	id, err := uuid.NewV7()
	if err != nil { // the system's random source failed: a random id is as good
		id = uuid.New()
	}
	return prefix + strings.ReplaceAll(id.String(), "-", "")
}
