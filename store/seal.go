package store

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"strings"

	"gorm.io/gorm"
)

// Sealer encrypts the secrets the gateway keeps for its subscribers, so that a dump of the
// database does not hold them in clear: every webhook's Standard Webhooks ("whsec_")
// secrets, its dialect's own signing secrets, its basic-auth password and
// its custom header values. It is AES-256-GCM with a random nonce, and each value is bound
// to its webhook, so that a sealed value copied into another row does not open there.
type Sealer struct {
	aead cipher.AEAD
}

// sealedPrefix starts every sealed value: its version, so that a value stored before
// sealing existed (plaintext) is told apart from a sealed one, and a later scheme from
// this one.
const sealedPrefix = "$phs1$"

// NewSealer returns a sealer with a 32-byte key.
func NewSealer(key []byte) (*Sealer, error) {
	if len(key) != 32 {
		return nil, errors.New("store: a sealing key is 32 bytes")
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead}, nil
}

func (s *Sealer) seal(plaintext, bind string) string {
	nonce := make([]byte, s.aead.NonceSize())
	_, _ = rand.Read(nonce)
	return sealedPrefix + base64.RawStdEncoding.EncodeToString(s.aead.Seal(nonce, nonce, []byte(plaintext), []byte(bind)))
}

func (s *Sealer) open(sealed, bind string) (string, error) {
	b, err := base64.RawStdEncoding.DecodeString(strings.TrimPrefix(sealed, sealedPrefix))
	n := s.aead.NonceSize()
	if err != nil || len(b) < n {
		return "", errors.New("malformed sealed value")
	}
	out, err := s.aead.Open(nil, b[:n], b[n:], []byte(bind))
	if err != nil {
		return "", err
	}
	return string(out), nil
}

func isSealed(v string) bool { return strings.HasPrefix(v, sealedPrefix) }

// settingSealCheck holds a known value sealed with the key the database's secrets are
// sealed with, to refuse another key at start rather than fail every delivery later.
const settingSealCheck = "seal_check"

const sealCheckValue = "polyhook sealed secrets"

// ErrWrongSealingKey is wrapped by the error SealSecrets returns when the key is not the
// one the database's secrets were sealed with.
var ErrWrongSealingKey = errors.New("wrong sealing key")

// SealSecrets makes the store seal webhook secrets with s from now on and open them when
// webhooks are read, and seals those still stored in clear (written before sealing
// existed); attempts recorded for those webhooks lose their custom header values at the
// same time. It is safe to run at every start and from several replicas at once. It fails,
// wrapping ErrWrongSealingKey, when the database's secrets were sealed with another key.
func (db *DB) SealSecrets(ctx context.Context, s *Sealer) error {
	if _, err := db.InitSetting(ctx, settingSealCheck, s.seal(sealCheckValue, settingSealCheck)); err != nil {
		return err
	}
	check, err := db.Setting(ctx, settingSealCheck)
	if err != nil {
		return err
	}
	if v, err := s.open(check, settingSealCheck); err != nil || v != sealCheckValue {
		return &Error{Code: EINTERNAL, Err: ErrWrongSealingKey, Message: "The secret key is not the one this database's webhook secrets " +
			"were sealed with; start with that key (--secret-key or POLYHOOK_SECRET_KEY)."}
	}
	db.sealer = s
	return db.sealLegacy(ctx)
}

// sealLegacy seals, in batches, the webhooks whose secrets are still in clear.
func (db *DB) sealLegacy(ctx context.Context) error {
	after := ""
	for {
		var ws []Webhook
		err := db.gorm.WithContext(ctx).Where("id > ?", after).Order("id ASC").Limit(200).Find(&ws).Error
		if err != nil {
			return db.err(err)
		}
		if len(ws) == 0 {
			return nil
		}
		for i := range ws {
			w := &ws[i]
			after = w.ID
			if !hasPlainSecrets(w) {
				continue
			}
			plainHeaders := w.Headers
			if err := db.openSecrets(w); err != nil {
				return err
			}
			row, err := db.sealedCopy(w)
			if err != nil {
				return err
			}
			row.Version = w.Version + 1
			// Written only over the version read: a concurrent update writes sealed values
			// itself.
			res := db.gorm.WithContext(ctx).Model(&Webhook{}).Where("id = ? AND version = ?", w.ID, w.Version).
				Select("headers", "basic_auth_password", "secrets", "signing_secrets", "version").Updates(row)
			if res.Error != nil {
				return db.err(res.Error)
			}
			if err := db.redactLegacyAttempts(ctx, w.ID, plainHeaders); err != nil {
				return err
			}
		}
	}
}

// hasPlainSecrets reports whether any of w's secrets, as read from the database, is in
// clear.
func hasPlainSecrets(w *Webhook) bool {
	plain := func(v string) bool { return v != "" && !isSealed(v) }
	for _, v := range w.Headers {
		if plain(v) {
			return true
		}
	}
	for _, v := range w.Secrets {
		if plain(v) {
			return true
		}
	}
	for _, s := range w.SigningSecrets {
		if plain(s.Secret) {
			return true
		}
	}
	return plain(w.BasicAuthPassword)
}

// redactLegacyAttempts replaces, in the recorded attempts of the webhook, the values of
// the custom headers it had in clear: attempts recorded before sealing kept them.
func (db *DB) redactLegacyAttempts(ctx context.Context, webhookID string, headers map[string]string) error {
	if len(headers) == 0 {
		return nil
	}
	custom := map[string]bool{}
	for k := range headers {
		custom[http.CanonicalHeaderKey(k)] = true
	}
	var as []Attempt
	err := db.gorm.WithContext(ctx).Select("id", "request_headers").
		Where("delivery_id IN (?)", db.gorm.Model(&Delivery{}).Select("id").Where("webhook_id = ?", webhookID)).
		Find(&as).Error
	if err != nil {
		return db.err(err)
	}
	for _, a := range as {
		changed := false
		for k, v := range a.RequestHeaders {
			if custom[http.CanonicalHeaderKey(k)] && v != RedactedValue {
				a.RequestHeaders[k], changed = RedactedValue, true
			}
		}
		if !changed {
			continue
		}
		if err := db.gorm.WithContext(ctx).Model(&Attempt{}).Where("id = ?", a.ID).
			Select("request_headers").Updates(&Attempt{RequestHeaders: a.RequestHeaders}).Error; err != nil {
			return db.err(err)
		}
	}
	return nil
}

// RedactedValue stands for a header value an attempt record does not keep.
const RedactedValue = "[redacted]"

// sealedCopy returns a copy of w, sharing nothing that changes, with its secrets sealed.
func (db *DB) sealedCopy(w *Webhook) (*Webhook, error) {
	row := *w
	if !hasSecrets(w) {
		return &row, nil
	}
	s := db.sealer
	if s == nil {
		return nil, Errorf(EINTERNAL, "The store cannot keep webhook secrets: no sealing key is set.")
	}
	if w.Headers != nil {
		row.Headers = make(map[string]string, len(w.Headers))
		for k, v := range w.Headers {
			row.Headers[k] = s.seal(v, w.ID)
		}
	}
	if w.BasicAuthPassword != "" {
		row.BasicAuthPassword = s.seal(w.BasicAuthPassword, w.ID)
	}
	if w.Secrets != nil {
		row.Secrets = make([]string, len(w.Secrets))
		for i, v := range w.Secrets {
			row.Secrets[i] = s.seal(v, w.ID)
		}
	}
	if w.SigningSecrets != nil {
		row.SigningSecrets = make([]SigningSecret, len(w.SigningSecrets))
		for i, v := range w.SigningSecrets {
			v.Secret = s.seal(v.Secret, w.ID)
			row.SigningSecrets[i] = v
		}
	}
	return &row, nil
}

func hasSecrets(w *Webhook) bool {
	return len(w.Headers) > 0 || w.BasicAuthPassword != "" || len(w.Secrets) > 0 || len(w.SigningSecrets) > 0
}

// openSecrets opens, in place, the secrets of a webhook just read. Values in clear (from
// before sealing, or from a replica that does not seal yet) are taken as they are.
func (db *DB) openSecrets(w *Webhook) error {
	open := func(v string) (string, error) {
		if !isSealed(v) {
			return v, nil
		}
		if db.sealer == nil {
			return "", Errorf(EINTERNAL, "The webhook's secrets are sealed and no sealing key is set.")
		}
		out, err := db.sealer.open(v, w.ID)
		if err != nil {
			return "", &Error{Code: EINTERNAL, Message: fmt.Sprintf("Cannot open the sealed secrets of webhook %s.", w.ID), Err: err}
		}
		return out, nil
	}
	var err error
	if w.Headers != nil {
		h := maps.Clone(w.Headers)
		for k, v := range h {
			if h[k], err = open(v); err != nil {
				return err
			}
		}
		w.Headers = h
	}
	if w.BasicAuthPassword, err = open(w.BasicAuthPassword); err != nil {
		return err
	}
	for i, v := range w.Secrets {
		if w.Secrets[i], err = open(v); err != nil {
			return err
		}
	}
	for i, v := range w.SigningSecrets {
		if w.SigningSecrets[i].Secret, err = open(v.Secret); err != nil {
			return err
		}
	}
	return nil
}

// openAll opens the secrets of webhooks just read.
func (db *DB) openAll(ws []Webhook) error {
	for i := range ws {
		if err := db.openSecrets(&ws[i]); err != nil {
			return err
		}
	}
	return nil
}

// takeWebhook reads the one webhook q selects, with its secrets opened.
func (db *DB) takeWebhook(q *gorm.DB) (*Webhook, error) {
	var w Webhook
	if err := q.Take(&w).Error; err != nil {
		return nil, db.err(err)
	}
	if err := db.openSecrets(&w); err != nil {
		return nil, err
	}
	return &w, nil
}
