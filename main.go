// Command polyhook is a webhook gateway that speaks FusionAuth's, Xsolla Login's, Nursa's
// and Authing's webhook-management APIs at their own paths on one shared model.
//
//	polyhook [serve] [flags]            start the gateway (the default command)
//	polyhook credentials create|list|revoke
//	polyhook publish --type T [--data JSON]
//	polyhook events|deliveries|webhooks ...
//	polyhook version | completion bash|zsh|fish
//
// Every command but serve, admin-token and credentials create --offline talks to a running
// gateway over its native API (--url, --token); "polyhook COMMAND --help" lists a command's
// flags. Exit codes: 0 success, 1 failure, 2 usage.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"syscall"

	"github.com/alecthomas/kong"

	"github.com/polyhook/polyhook/gateway"
	"github.com/polyhook/polyhook/server/native"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "polyhook:", err)
	}
	os.Exit(exitCode(err))
}

// cli is the command line: each command's flags, each with its environment variable.
type cli struct {
	globalFlags

	Serve       serveCmd       `cmd:"" default:"withargs" help:"Start the gateway (the default command)."`
	Credentials credentialsCmd `cmd:"" help:"Mint, list and revoke the credentials of the dialect APIs."`
	Publish     publishCmd     `cmd:"" help:"Publish an event; the gateway delivers it to every matching webhook."`
	Events      eventsCmd      `cmd:"" help:"Published events."`
	Deliveries  deliveriesCmd  `cmd:"" help:"Deliveries and their attempts."`
	Webhooks    webhooksCmd    `cmd:"" help:"Webhooks of every dialect: list, enable, test, recover."`
	PortalLinks portalLinksCmd `cmd:"" name:"portal-links" help:"One-time links into the tenant portal: create, revoke."`
	AdminToken  adminTokenCmd  `cmd:"" name:"admin-token" help:"Replace the stored admin token, on the database (offline)."`
	Login       loginCmd       `cmd:"" help:"Check --url and --token against the gateway and store them for the next commands (in the user's config directory, mode 0600)."`
	Logout      logoutCmd      `cmd:"" help:"Forget the gateway and token polyhook login stored."`
	Verify      verifyCmd      `cmd:"" help:"Check the signature of a delivery your endpoint received: valid, or why not."`
	Version     versionCmd     `cmd:"" help:"Print the version and the revision it was built from."`
	Completion  completionCmd  `cmd:"" help:"Print a shell completion script: bash, zsh or fish."`
	Import      importCmd      `cmd:"" help:"Copy a vendor's webhooks into the gateway (a dry run unless --apply)."`
	Sources     sourcesCmd     `cmd:"" help:"Sources: where vendors post their own webhooks (/ingest/{id})."`
}

// defaultURL is the gateway the commands talk to when neither --url, POLYHOOK_URL nor
// polyhook login says another.
const defaultURL = "http://127.0.0.1:8080"

// globalFlags are taken before or after any command, and shown in the root help.
type globalFlags struct {
	URL     string      `name:"url" env:"POLYHOOK_URL" help:"The running gateway's address (default http://127.0.0.1:8080, or the one polyhook login stored)."`
	Token   string      `name:"token" env:"POLYHOOK_ADMIN_TOKEN" secret:"" help:"The gateway's admin token (default: the one polyhook login stored)."`
	Output  string      `name:"output" short:"o" default:"table" enum:"table,json" help:"How commands print: table, or json (the native API's answer)."`
	Version versionFlag `name:"version" short:"v" help:"Print the version and exit."`
}

// versionFlag is --version: the version command's line, then exit.
type versionFlag bool

func (versionFlag) BeforeApply(app *kong.Kong) error {
	printVersion(app.Stdout, false)
	app.Exit(0)
	return nil
}

// globals is what every command's Run gets.
type globals struct {
	ctx            context.Context
	stdout, stderr io.Writer
	parser         *kong.Kong
	flags          *globalFlags
}

// usageError is a command line the parser refused; it exits 2.
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

// exitCode maps run's result to the process's exit status: 0 success, 2 usage, 1 failure.
func exitCode(err error) int {
	var u usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &u):
		return 2
	}
	return 1
}

// exited is how kong's Exit (after --help) leaves Parse without ending the process.
type exited int

func newParser(c *cli, stdout, stderr io.Writer) (*kong.Kong, error) {
	return kong.New(c,
		kong.Name("polyhook"),
		kong.Description("A webhook gateway speaking FusionAuth's, Xsolla Login's, Nursa's and Authing's webhook APIs, with a native API under /v1."),
		kong.Writers(stdout, stderr),
		kong.Exit(func(code int) { panic(exited(code)) }),
		kong.ValueFormatter(helpValue),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true, NoExpandSubcommands: false}),
		dialectVars(),
	)
}

// dialectVars gives the flags' enums and help the names of the registered dialects
// (${dialects}, ${dialects_or}) and with the native subscriptions' (${dialects_all}), so
// that a dialect added to the list is offered without touching the CLI.
func dialectVars() kong.Vars {
	names := gateway.Names(registered)
	or := strings.Join(names, ", ")
	if n := len(names); n > 1 {
		or = strings.Join(names[:n-1], ", ") + " or " + names[n-1]
	}
	return kong.Vars{
		"dialects":     strings.Join(names, ","),
		"dialects_or":  or,
		"dialects_all": strings.Join(append(names, native.Dialect), ", "),
	}
}

// run runs one command line; tests call it as the binary would be called.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	if len(args) > 0 && args[0] == "help" { // "polyhook help [command]", as many tools take it
		args = append(args[1:len(args):len(args)], "--help")
	}
	var c cli
	parser, err := newParser(&c, stdout, stderr)
	if err != nil {
		return err
	}
	kctx, err := parse(parser, args)
	if err != nil || kctx == nil {
		return err
	}
	return kctx.Run(&globals{ctx: ctx, stdout: stdout, stderr: stderr, parser: parser, flags: &c.globalFlags})
}

// parse parses args; a nil context with a nil error means help was printed.
func parse(parser *kong.Kong, args []string) (kctx *kong.Context, err error) {
	defer func() {
		if r := recover(); r != nil {
			code, ok := r.(exited)
			if !ok {
				panic(r)
			}
			kctx = nil
			if code != 0 {
				err = usageError{fmt.Errorf("exit %d", code)}
			}
		}
	}()
	kctx, err = parser.Parse(args)
	if err != nil {
		err = ourWords(err)
		var pe *kong.ParseError
		if errors.As(err, &pe) {
			hint := "polyhook --help"
			if sel := pe.Context.Selected(); pe.Context != nil && sel != nil {
				hint = sel.FullPath() + " --help"
				err = fmt.Errorf("%w%s", err, fromEnv(sel, err.Error(), args))
			}
			return nil, usageError{fmt.Errorf("%w (see %q)", err, hint)}
		}
		return nil, usageError{err}
	}
	return kctx, nil
}

// missingValue is kong's message for a flag given last with no value.
var missingValue = regexp.MustCompile(`^(--[a-z0-9-]+): expected [a-z ]+ value but got "EOL" \(<EOL>\)$`)

// ourWords rewords the parser's messages that speak of its tokens rather than the flags.
// The result still unwraps to the parser's error, so that its context is kept.
func ourWords(err error) error {
	if m := missingValue.FindStringSubmatch(err.Error()); m != nil {
		return reworded{fmt.Sprintf("%s needs a value", m[1]), err}
	}
	return err
}

type reworded struct {
	msg string
	err error
}

func (r reworded) Error() string { return r.msg }
func (r reworded) Unwrap() error { return r.err }

// fromEnv names the environment variable a refused flag value came from, when the
// message does not already (kong names it for values that do not parse, not for values
// outside an enum). It never shows the value.
func fromEnv(n *kong.Node, msg string, args []string) string {
	if strings.Contains(msg, "envar") {
		return ""
	}
	for ; n != nil; n = n.Parent {
		for _, f := range n.Flags {
			if !strings.HasPrefix(msg, "--"+f.Name+" ") && !strings.HasPrefix(msg, "--"+f.Name+":") {
				continue
			}
			for _, a := range args {
				if a == "--"+f.Name || strings.HasPrefix(a, "--"+f.Name+"=") {
					return "" // given on the command line
				}
			}
			for _, env := range f.Tag.Envs {
				if _, ok := os.LookupEnv(env); ok {
					return fmt.Sprintf(" (from %s)", env)
				}
			}
		}
	}
	return ""
}
