package delivery

import (
	"encoding/binary"

	"github.com/google/uuid"
)

// idAlphabet is base64's 64 characters (the URL-safe set) in ASCII order, so that ids
// of one length compare as the numbers they encode.
const idAlphabet = "-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"

// idChars is the length of an id after its prefix: 21 characters of 6 bits hold the 122
// bits of a UUIDv7 that are not its version and variant.
const idChars = 21

// NewID returns a new id with the given prefix ("evt_", "msg_", ...): a UUIDv7 without
// its fixed bits, in idAlphabet. Version 7 ids begin with their creation time, so the
// store's indexes on them grow at one end (a batch of new rows dirties a few pages
// instead of one page per row, which is most of what a commit writes), and an id sorts
// after the ones made before it, as the UUID's hex would. 21 characters instead of the
// hex's 32: every row holds an id several times (its own and its primary key's, the
// foreign ids and their indexes), 11 bytes each. The random part is 74 bits: unguessable
// enough for ids that are never secrets.
func NewID(prefix string) string {
	id, err := uuid.NewV7()
	if err != nil { // the system's random source failed: a random id is as good
		id = uuid.New()
	}
	hi := binary.BigEndian.Uint64(id[:8]) // time 48, version 4, rand_a 12
	lo := binary.BigEndian.Uint64(id[8:]) // variant 2, rand_b 62
	hi = hi>>16<<12 | hi&0xfff            // 60 bits
	lo &= 1<<62 - 1                       // 62 bits
	b := make([]byte, len(prefix)+idChars)
	copy(b, prefix)
	out := b[len(prefix):]
	for i := idChars - 1; i >= 0; i-- { // hi and lo as one 122-bit number, 6 bits a character
		out[i] = idAlphabet[lo&63]
		lo = lo>>6 | (hi&63)<<56
		hi >>= 6
	}
	return string(b)
}
