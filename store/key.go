package store

import (
	"context"
	"time"
)

// SigningKey is a key a dialect's webhooks sign their deliveries with (Webhook.SigningKeyID). The private part is sealed with the gateway's key.
type SigningKey struct {
	ID   string `gorm:"primaryKey;size:64"`
	Name string `gorm:"not null;default:''"`
	// Algorithm is a JWS algorithm: HS256/384/512, RS256/384/512 or ES256/384/512.
	Algorithm string `gorm:"size:16;not null"`
	// Kid is the JWS key id receivers select the key by.
	Kid string `gorm:"size:64;not null;uniqueIndex"`
	// PrivateSealed is the HMAC secret or the PKCS#8 private key (PEM), sealed.
	PrivateSealed string `gorm:"type:text;not null"`
	// PublicKeyPEM is the public key of an asymmetric key, empty for HMAC.
	PublicKeyPEM string    `gorm:"type:text;not null;default:''"`
	CreatedAt    time.Time `gorm:"not null;autoCreateTime:false"`
}

// CreateSigningKey inserts k.
func (db *DB) CreateSigningKey(ctx context.Context, k *SigningKey) error {
	if k.CreatedAt.IsZero() {
		k.CreatedAt = db.Now()
	}
	return db.err(db.gorm.WithContext(ctx).Create(k).Error)
}

// GetSigningKey returns the key with the given id. Returns ENOTFOUND when there is none.
func (db *DB) GetSigningKey(ctx context.Context, id string) (*SigningKey, error) {
	var k SigningKey
	if err := db.gorm.WithContext(ctx).Where("id = ?", id).Take(&k).Error; err != nil {
		return nil, db.err(err)
	}
	return &k, nil
}

// SigningKeys lists every key, oldest first.
func (db *DB) SigningKeys(ctx context.Context) ([]SigningKey, error) {
	var ks []SigningKey
	err := db.gorm.WithContext(ctx).Order("created_at ASC, id ASC").Find(&ks).Error
	return ks, db.err(err)
}

// DeleteSigningKey deletes a key. Returns ENOTFOUND when there is none, and ECONFLICT when
// a webhook still signs with it.
func (db *DB) DeleteSigningKey(ctx context.Context, id string) error {
	var n int64
	if err := db.gorm.WithContext(ctx).Model(&Webhook{}).Where("signing_key_id = ?", id).Count(&n).Error; err != nil {
		return db.err(err)
	}
	if n > 0 {
		return Errorf(ECONFLICT, "%d webhook(s) sign with this key; change them first.", n)
	}
	res := db.gorm.WithContext(ctx).Where("id = ?", id).Delete(&SigningKey{})
	if res.Error != nil {
		return db.err(res.Error)
	}
	if res.RowsAffected == 0 {
		return Errorf(ENOTFOUND, "Key not found.")
	}
	return nil
}
