package store

import (
	"context"
	"time"
)

// PortalLink lets one tenant into the tenant portal: a one-time link, exchanged for a
// session that ends when the link expires or is revoked. Only the hashes of the link's
// token and of the session's are kept.
type PortalLink struct {
	ID     string `gorm:"primaryKey;size:64"`
	Tenant string `gorm:"size:128;not null"`
	// Name and Accent theme the portal: its title and its accent colour (#rrggbb).
	Name      string `gorm:"size:64;not null;default:''"`
	Accent    string `gorm:"size:7;not null;default:''"`
	TokenHash string `gorm:"size:64;not null;uniqueIndex"`
	// SessionHash is set when the link is redeemed; empty until then.
	SessionHash string     `gorm:"size:64;not null;default:'';index"`
	ExpiresAt   time.Time  `gorm:"not null"`
	RedeemedAt  *time.Time `gorm:""`
	RevokedAt   *time.Time `gorm:""`
	CreatedAt   time.Time  `gorm:"not null;autoCreateTime:false"`
}

// CreatePortalLink inserts l.
func (db *DB) CreatePortalLink(ctx context.Context, l *PortalLink) error {
	l.CreatedAt = db.Now()
	return db.err(db.gorm.WithContext(ctx).Create(l).Error)
}

// RedeemPortalLink exchanges the link whose token hashes to tokenHash for a session
// whose token hashes to sessionHash, once: a link redeemed, revoked or expired already is
// ENOTFOUND.
func (db *DB) RedeemPortalLink(ctx context.Context, tokenHash, sessionHash string) (*PortalLink, error) {
	now := db.Now()
	res := db.gorm.WithContext(ctx).Model(&PortalLink{}).
		Where("token_hash = ? AND redeemed_at IS NULL AND revoked_at IS NULL AND expires_at > ?", tokenHash, now).
		Updates(map[string]any{"redeemed_at": now, "session_hash": sessionHash})
	if res.Error != nil {
		return nil, db.err(res.Error)
	}
	if res.RowsAffected == 0 {
		return nil, Errorf(ENOTFOUND, "This portal link was used already, has expired or was revoked.")
	}
	return db.PortalSession(ctx, sessionHash)
}

// PortalSession returns the link whose session token hashes to sessionHash while the
// session lasts. Returns ENOTFOUND for an unknown, expired or revoked session.
func (db *DB) PortalSession(ctx context.Context, sessionHash string) (*PortalLink, error) {
	var l PortalLink
	if sessionHash == "" {
		return nil, Errorf(ENOTFOUND, "No portal session.")
	}
	err := db.gorm.WithContext(ctx).
		Where("session_hash = ? AND revoked_at IS NULL AND expires_at > ?", sessionHash, db.Now()).Take(&l).Error
	if err != nil {
		return nil, db.err(err)
	}
	return &l, nil
}

// RevokePortalLink ends a link and the session opened with it. Returns ENOTFOUND when
// there is no such link.
func (db *DB) RevokePortalLink(ctx context.Context, id string) error {
	var l PortalLink
	if err := db.gorm.WithContext(ctx).Where("id = ?", id).Take(&l).Error; err != nil {
		return db.err(err)
	}
	if l.RevokedAt != nil {
		return nil
	}
	return db.err(db.gorm.WithContext(ctx).Model(&PortalLink{}).Where("id = ?", id).Update("revoked_at", db.Now()).Error)
}

// PortalLinksInForce returns one page of the links neither expired nor revoked, newest
// first, of one tenant when tenant is not empty, and how many there are.
func (db *DB) PortalLinksInForce(ctx context.Context, tenant string, offset, limit int) ([]PortalLink, int64, error) {
	q := db.gorm.WithContext(ctx).Model(&PortalLink{}).Where("revoked_at IS NULL AND expires_at > ?", db.Now())
	if tenant != "" {
		q = q.Where("tenant = ?", tenant)
	}
	var total int64
	if err := q.Count(&total).Error; err != nil {
		return nil, 0, db.err(err)
	}
	var ls []PortalLink
	err := q.Order("created_at DESC, id DESC").Offset(max(offset, 0)).Limit(limit).Find(&ls).Error
	return ls, total, db.err(err)
}
