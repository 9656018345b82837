package delivery

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// StandardHeaders returns the Standard Webhooks headers of one attempt: webhook-id (the
// delivery's id, the same on every attempt), webhook-timestamp (this attempt) and
// webhook-signature with one "v1,<base64 HMAC-SHA256>" per secret, space-separated, over
// "<id>.<timestamp>.<body>" keyed with each secret's bytes after "whsec_".
func StandardHeaders(msgID string, ts time.Time, body []byte, secrets []string) (http.Header, error) {
	unix := strconv.FormatInt(ts.Unix(), 10)
	sigs := make([]string, 0, len(secrets))
	for _, s := range secrets {
		key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, "whsec_"))
		if err != nil {
			return nil, fmt.Errorf("malformed signing secret: %w", err)
		}
		m := hmac.New(sha256.New, key)
		m.Write([]byte(msgID + "." + unix + "."))
		m.Write(body)
		sigs = append(sigs, "v1,"+base64.StdEncoding.EncodeToString(m.Sum(nil)))
	}
	h := http.Header{}
	h.Set("webhook-id", msgID)
	h.Set("webhook-timestamp", unix)
	if len(sigs) > 0 {
		h.Set("webhook-signature", strings.Join(sigs, " "))
	}
	return h, nil
}
