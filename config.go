package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/alecthomas/kong"
)

// duration is a time.Duration that also takes days: "7d", "1d12h", as well as Go's "90m".
type duration time.Duration

// UnmarshalText parses a duration; kong reports the error with the flag or variable.
func (d *duration) UnmarshalText(b []byte) error {
	v, err := parseDuration(string(b))
	if err != nil {
		return err
	}
	*d = duration(v)
	return nil
}

func (d duration) String() string { return time.Duration(d).String() }

// parseDuration is time.ParseDuration with a leading whole number of days allowed.
func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	var days time.Duration
	if i := strings.IndexByte(s, 'd'); i > 0 {
		n, err := strconv.ParseUint(s[:i], 10, 32)
		if err != nil {
			return 0, fmt.Errorf("duration %q: days must be a whole number, as in 7d or 1d12h", s)
		}
		days, s = time.Duration(n)*24*time.Hour, s[i+1:]
		if s == "" {
			return days, nil
		}
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("not a duration (as in 90s, 15m, 12h or 7d): %q", s)
	}
	if days > 0 && v < 0 {
		return 0, fmt.Errorf("duration %q: mixes signs", s)
	}
	return days + v, nil
}

// helpValue writes a flag's help: its text and its environment variable (kong shows the
// default beside the flag's name).
// A secret's line says only whether its variable is set, never its value; no line shows
// a value taken from the environment.
func helpValue(v *kong.Value) string {
	help := kong.DefaultHelpValueFormatter(v)
	if v.Tag.Has("secret") && len(v.Tag.Envs) > 0 {
		state := "not set"
		if os.Getenv(v.Tag.Envs[0]) != "" {
			state = "set"
		}
		help += fmt.Sprintf(" [%s is %s]", v.Tag.Envs[0], state)
	}
	return help
}
