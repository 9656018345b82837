package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
)

// A login is the gateway and admin token the commands use when neither flags nor the
// environment give them, kept in the user's config directory ($XDG_CONFIG_HOME or
// ~/.config on Linux, ~/Library/Application Support on macOS) as polyhook/config.json,
// readable by the user alone. Flags and variables still win over it.
type login struct {
	URL   string `json:"url"`
	Token string `json:"token"`
}

// loginPath is where the login is kept.
func loginPath() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("no config directory to keep the login in: %w", err)
	}
	return filepath.Join(dir, "polyhook", "config.json"), nil
}

// readLogin returns the stored login; none stored is an empty one.
func readLogin() (login, error) {
	var l login
	path, err := loginPath()
	if err != nil {
		return l, nil // no config directory: nothing was stored
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return l, nil
	}
	if err != nil {
		return l, fmt.Errorf("reading the login in %s: %w", path, unwrapPath(err))
	}
	if err := json.Unmarshal(b, &l); err != nil {
		return l, fmt.Errorf("the login in %s is not JSON (polyhook logout removes it): %w", path, err)
	}
	return l, nil
}

type loginCmd struct{}

// Run checks the URL and token with a request the token must be right for, then stores
// them, readable by the user alone.
func (c *loginCmd) Run(g *globals) error {
	if g.flags.Token == "" {
		return usageError{errors.New("polyhook login needs the admin token: pass --token or set POLYHOOK_ADMIN_TOKEN")}
	}
	if g.flags.URL == "" {
		g.flags.URL = defaultURL
	}
	a, err := g.api()
	if err != nil {
		return err
	}
	if _, _, err := a.call(g.ctx, http.MethodGet, "/v1/webhooks", url.Values{"limit": {"1"}}, nil, http.StatusOK); err != nil {
		return fmt.Errorf("not stored: %w", err)
	}
	path, err := loginPath()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(login{URL: a.base, Token: a.token}, "", "  ")
	// Written beside and renamed, so that a reader never sees half of it, with mode 0600
	// from the start.
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o600); err != nil { // an older file of that name kept its mode
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	_, err = fmt.Fprintf(g.stdout, "logged in to %s; the token is kept in %s (mode 0600)\n", a.base, path)
	return err
}

type logoutCmd struct{}

func (c *logoutCmd) Run(g *globals) error {
	path, err := loginPath()
	if err != nil {
		return err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	_, err = fmt.Fprintf(g.stdout, "removed the stored login (%s)\n", path)
	return err
}
