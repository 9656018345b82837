package fusionauth

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/polyhook/polyhook/store"
)

const defaultNumberOfResults = 25

// maxNumberOfResults bounds a search's page, so that one request cannot make the gateway
// read and encode every webhook or log entry it keeps. It is FusionAuth's own bound on a
// search window (Elasticsearch's max_result_window); a larger page is refused rather than
// cut short, since a client paging by startRow would otherwise skip what was cut.
const maxNumberOfResults = 10000

// criteria are the search parameters, as strings from either the query or the body.
type criteria struct {
	description, url, tenantID, numberOfResults, startRow, orderBy *string
}

// absent reports whether a parameter was not given. The official TypeScript client sends
// every search parameter and writes the ones it was not given as the literal string
// "undefined"; Polyhook reads those as absent rather than answering 400 as FusionAuth
// likely would, so that searchWebhooksByParameters works with partial arguments.
func absent(p *string) bool {
	return p == nil || *p == "" || *p == "undefined"
}

// filter turns search criteria into a store filter. prefix is "" for query parameters and
// "search." for a JSON body, so that errors name the field as the client wrote it.
func (c criteria) filter(prefix string) (store.WebhookFilter, error) {
	f := store.WebhookFilter{Dialect: Name, Limit: defaultNumberOfResults}
	var s errorSet
	if !absent(c.description) && s.searchTerm(prefix+"description", *c.description) {
		f.DescriptionLike = likePattern(*c.description)
	}
	if !absent(c.url) && s.searchTerm(prefix+"url", *c.url) {
		f.URLLike = likePattern(*c.url)
	}
	if !absent(c.tenantID) {
		if id, err := uuid.Parse(*c.tenantID); err != nil {
			s.field(prefix+"tenantId", "couldNotConvert", "Invalid [tenantId]: it must be a UUID.")
		} else {
			f.TenantID = id.String()
		}
	}
	for _, p := range []struct {
		name string
		v    *string
		into *int
	}{{"numberOfResults", c.numberOfResults, &f.Limit}, {"startRow", c.startRow, &f.Offset}} {
		if absent(p.v) {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(*p.v))
		switch {
		case err != nil:
			s.field(prefix+p.name, "couldNotConvert", "Invalid ["+p.name+"]: it must be an integer.")
		case n < 0:
			s.field(prefix+p.name, "invalid", "The ["+p.name+"] property must not be negative.")
		case p.name == "numberOfResults" && n > maxNumberOfResults:
			s.field(prefix+p.name, "invalid", fmt.Sprintf("The [numberOfResults] property must not be greater than %d.", maxNumberOfResults))
		default:
			*p.into = n
		}
	}
	order := "insertInstant DESC, id DESC"
	if !absent(c.orderBy) {
		order = *c.orderBy
	}
	var ok bool
	if f.OrderBy, ok = parseOrderBy(order); !ok {
		s.field(prefix+"orderBy", "invalid", "The [orderBy] property may sort by [id], [insertInstant], [lastUpdateInstant], [description] and [url], each optionally ASC or DESC.")
	}
	return f, s.err()
}

var orderColumns = map[string]string{
	"id":                store.OrderExternalID,
	"insertinstant":     store.OrderCreatedAt,
	"lastupdateinstant": store.OrderUpdatedAt,
	"description":       store.OrderDescription,
	"url":               store.OrderURL,
}

// parseOrderBy reads FusionAuth's orderBy: a comma list of "field [ASC|DESC]".
func parseOrderBy(s string) ([]store.WebhookOrder, bool) {
	var out []store.WebhookOrder
	for _, part := range strings.Split(s, ",") {
		words := strings.Fields(part)
		if len(words) == 0 || len(words) > 2 {
			return nil, false
		}
		col, ok := orderColumns[strings.ToLower(words[0])]
		if !ok {
			return nil, false
		}
		o := store.WebhookOrder{Field: col}
		if len(words) == 2 {
			switch strings.ToUpper(words[1]) {
			case "ASC":
			case "DESC":
				o.Desc = true
			default:
				return nil, false
			}
		}
		out = append(out, o)
	}
	return out, true
}

// likePattern turns a FusionAuth search string into a LIKE pattern: "*" is a wildcard and
// "**" a literal asterisk; a string without a wildcard matches as a substring (as if it
// were "*value*"). LIKE's own metacharacters are escaped.
// maxSearchTerm bounds a search term. Longer, it could match no URL or description (2,048
// and 255 characters at most) and would only cost the database: SQLite refuses LIKE
// patterns over 50,000 bytes outright.
const maxSearchTerm = 2048

// searchTerm reports whether a search term is short enough, and adds the error under
// field when it is not.
func (s *errorSet) searchTerm(field, term string) bool {
	if len(term) <= maxSearchTerm {
		return true
	}
	s.field(field, "tooLong", fmt.Sprintf("The [%s] search term must be at most %d characters.", field, maxSearchTerm))
	return false
}

func likePattern(s string) string {
	var b strings.Builder
	wildcard := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '*':
			if i+1 < len(s) && s[i+1] == '*' {
				b.WriteByte('*')
				i++
			} else {
				b.WriteByte('%')
				wildcard = true
			}
		case '%', '_', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	if !wildcard {
		return "%" + b.String() + "%"
	}
	return b.String()
}
