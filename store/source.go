package store

import (
	"context"
	"time"
)

// Source is where one vendor posts its own webhooks to the gateway (/ingest/{id}): the
// dialect its bodies are in, the tenant its events belong to when the body names none,
// and what its signatures are checked with. Secrets and PublicKeys are sealed in the
// database and in clear here, as a webhook's secrets are.
type Source struct {
	// ID is the source's id, the last segment of its ingest URL.
	ID      string `gorm:"primaryKey;size:64"`
	Dialect string `gorm:"size:16;not null"`
	Name    string `gorm:"not null;default:''"`
	Tenant  string `gorm:"size:128;not null;default:''"`
	// Secrets are the shared secrets the vendor signs with, newest first: two while a
	// secret is rotated (some vendors sign with both), one otherwise.
	Secrets []string `gorm:"type:text;serializer:json"`
	// PublicKeys are the PEM public keys or the JWKS document the vendor's asymmetric
	// signatures are checked with, as given; empty when it has none.
	PublicKeys string    `gorm:"type:text;not null;default:''"`
	CreatedAt  time.Time `gorm:"not null;autoCreateTime:false"`
	UpdatedAt  time.Time `gorm:"not null;autoUpdateTime:false"`
}

// sealedSource returns a copy of src whose secrets are sealed, bound to its id.
func (db *DB) sealedSource(src *Source) *Source {
	out := *src
	if db.sealer == nil {
		return &out
	}
	bind := "source:" + src.ID
	out.Secrets = make([]string, len(src.Secrets))
	for i, s := range src.Secrets {
		out.Secrets[i] = db.sealer.seal(s, bind)
	}
	if src.PublicKeys != "" {
		out.PublicKeys = db.sealer.seal(src.PublicKeys, bind)
	}
	return &out
}

// openSource opens src's sealed secrets in place.
func (db *DB) openSource(src *Source) error {
	bind := "source:" + src.ID
	open := func(v string) (string, error) {
		if !isSealed(v) {
			return v, nil
		}
		if db.sealer == nil {
			return "", Errorf(EINTERNAL, "A source's secrets are sealed and no key opens them.")
		}
		out, err := db.sealer.open(v, bind)
		if err != nil {
			return "", &Error{Code: EINTERNAL, Message: "Cannot open a source's secrets.", Err: err}
		}
		return out, nil
	}
	for i, s := range src.Secrets {
		v, err := open(s)
		if err != nil {
			return err
		}
		src.Secrets[i] = v
	}
	v, err := open(src.PublicKeys)
	if err != nil {
		return err
	}
	src.PublicKeys = v
	return nil
}

// CreateSource inserts src, setting its times. Returns ECONFLICT when its id is taken.
func (db *DB) CreateSource(ctx context.Context, src *Source) error {
	src.CreatedAt = db.Now()
	src.UpdatedAt = src.CreatedAt
	return db.err(db.gorm.WithContext(ctx).Create(db.sealedSource(src)).Error)
}

// GetSource returns the source with the given id. Returns ENOTFOUND when there is none.
func (db *DB) GetSource(ctx context.Context, id string) (*Source, error) {
	var src Source
	if err := db.gorm.WithContext(ctx).Where("id = ?", id).Take(&src).Error; err != nil {
		if ErrorCode(db.err(err)) == ENOTFOUND {
			return nil, Errorf(ENOTFOUND, "Source not found.")
		}
		return nil, db.err(err)
	}
	if err := db.openSource(&src); err != nil {
		return nil, err
	}
	return &src, nil
}

// Sources lists the sources, oldest first.
func (db *DB) Sources(ctx context.Context) ([]Source, error) {
	var out []Source
	if err := db.gorm.WithContext(ctx).Order("created_at ASC, id ASC").Find(&out).Error; err != nil {
		return nil, db.err(err)
	}
	for i := range out {
		if err := db.openSource(&out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// UpdateSource writes src's name, tenant, secrets and public keys. Returns ENOTFOUND when
// it does not exist.
func (db *DB) UpdateSource(ctx context.Context, src *Source) error {
	src.UpdatedAt = db.Now()
	s := db.sealedSource(src)
	res := db.gorm.WithContext(ctx).Model(&Source{ID: src.ID}).Select("name", "tenant", "secrets", "public_keys", "updated_at").Updates(s)
	if res.Error != nil {
		return db.err(res.Error)
	}
	if res.RowsAffected == 0 {
		return Errorf(ENOTFOUND, "Source not found.")
	}
	return nil
}

// DeleteSource deletes the source with the given id; events it took in are kept. Returns
// ENOTFOUND when there is none.
func (db *DB) DeleteSource(ctx context.Context, id string) error {
	res := db.gorm.WithContext(ctx).Where("id = ?", id).Delete(&Source{})
	if res.Error != nil {
		return db.err(res.Error)
	}
	if res.RowsAffected == 0 {
		return Errorf(ENOTFOUND, "Source not found.")
	}
	return nil
}
