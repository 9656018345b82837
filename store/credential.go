package store

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
)

// HashSecret returns the hash under which a credential's secret is stored.
func HashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// CreateCredential inserts c. Returns ECONFLICT when its id or secret hash is taken.
func (db *DB) CreateCredential(ctx context.Context, c *Credential) error {
	if c.CreatedAt.IsZero() {
		c.CreatedAt = db.Now()
	}
	return db.err(db.gorm.WithContext(ctx).Create(c).Error)
}

// CredentialBySecret returns the dialect's credential whose secret is secret. Returns
// EUNAUTHORIZED when there is none, so callers cannot tell an unknown secret from a
// revoked one.
func (db *DB) CredentialBySecret(ctx context.Context, dialect, secret string) (*Credential, error) {
	var c Credential
	err := db.gorm.WithContext(ctx).Where("secret_hash = ? AND dialect = ?", HashSecret(secret), dialect).Take(&c).Error
	if err != nil {
		if ErrorCode(db.err(err)) == ENOTFOUND {
			return nil, Errorf(EUNAUTHORIZED, "Unknown credential.")
		}
		return nil, db.err(err)
	}
	return &c, nil
}

// Credentials lists credentials, newest first, of one dialect or of all when dialect is
// empty.
func (db *DB) Credentials(ctx context.Context, dialect string) ([]Credential, error) {
	q := db.gorm.WithContext(ctx).Order("created_at DESC, id ASC")
	if dialect != "" {
		q = q.Where("dialect = ?", dialect)
	}
	var cs []Credential
	if err := q.Find(&cs).Error; err != nil {
		return nil, db.err(err)
	}
	return cs, nil
}

// DeleteCredential revokes the credential with the given id. Returns ENOTFOUND when there
// is none.
func (db *DB) DeleteCredential(ctx context.Context, id string) error {
	res := db.gorm.WithContext(ctx).Where("id = ?", id).Delete(&Credential{})
	if res.Error != nil {
		return db.err(res.Error)
	}
	if res.RowsAffected == 0 {
		return Errorf(ENOTFOUND, "Credential not found.")
	}
	return nil
}

// Setting returns the value of a gateway-wide setting. Returns ENOTFOUND when unset.
func (db *DB) Setting(ctx context.Context, key string) (string, error) {
	var s Setting
	if err := db.gorm.WithContext(ctx).Where("key = ?", key).Take(&s).Error; err != nil {
		return "", db.err(err)
	}
	return s.Value, nil
}

// InitSetting stores value under key unless the key is already set, and reports whether
// it stored it. Concurrent callers agree on one winner.
func (db *DB) InitSetting(ctx context.Context, key, value string) (bool, error) {
	err := db.gorm.WithContext(ctx).Create(&Setting{Key: key, Value: value}).Error
	if err == nil {
		return true, nil
	}
	if err = db.err(err); ErrorCode(err) == ECONFLICT {
		return false, nil
	}
	return false, err
}

// SetSetting stores value under key, replacing what was there.
func (db *DB) SetSetting(ctx context.Context, key, value string) error {
	return db.err(db.gorm.WithContext(ctx).Save(&Setting{Key: key, Value: value}).Error)
}

// Credential returns the credential with the given id. Returns EUNAUTHORIZED when there
// is none, or when it belongs to another dialect.
func (db *DB) Credential(ctx context.Context, dialect, id string) (*Credential, error) {
	var c Credential
	err := db.gorm.WithContext(ctx).Where("id = ? AND dialect = ?", id, dialect).Take(&c).Error
	if err != nil {
		if ErrorCode(db.err(err)) == ENOTFOUND {
			return nil, Errorf(EUNAUTHORIZED, "Unknown credential.")
		}
		return nil, db.err(err)
	}
	return &c, nil
}

// AuthenticateClient checks a client id and secret pair (an OAuth client, an access key)
// of the dialect and returns its credential. Returns EUNAUTHORIZED for an unknown id or a
// wrong secret alike.
func (db *DB) AuthenticateClient(ctx context.Context, dialect, id, secret string) (*Credential, error) {
	c, err := db.Credential(ctx, dialect, id)
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare([]byte(HashSecret(secret)), []byte(c.SecretHash)) != 1 {
		return nil, Errorf(EUNAUTHORIZED, "Unknown credential.")
	}
	return c, nil
}
