package main

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/alecthomas/kong"
)

type completionCmd struct {
	Shell string `arg:"" enum:"bash,zsh,fish" help:"bash, zsh or fish."`
}

// Run prints a completion script for the commands and flags of this binary, e.g.
//
//	source <(polyhook completion bash)
func (c *completionCmd) Run(g *globals) error {
	nodes := commandNodes(g.parser.Model.Node)
	switch c.Shell {
	case "bash":
		return bashCompletion(g.stdout, nodes, false)
	case "zsh":
		return bashCompletion(g.stdout, nodes, true)
	}
	return fishCompletion(g.stdout, nodes)
}

// cmdNode is one command's path ("" for the top level), its subcommands and its flags.
type cmdNode struct {
	path  string
	subs  []*kong.Node
	flags []*kong.Flag
}

func commandNodes(root *kong.Node) []cmdNode {
	var out []cmdNode
	var walk func(n *kong.Node, path string)
	walk = func(n *kong.Node, path string) {
		c := cmdNode{path: path}
		for _, ch := range n.Children {
			if !ch.Hidden && ch.Type == kong.CommandNode {
				c.subs = append(c.subs, ch)
			}
		}
		for _, f := range n.Flags {
			if !f.Hidden {
				c.flags = append(c.flags, f)
			}
		}
		out = append(out, c)
		for _, ch := range c.subs {
			walk(ch, strings.TrimSpace(path+" "+ch.Name))
		}
	}
	walk(root, "")
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out
}

func (c cmdNode) words(withFlags bool) []string {
	var w []string
	for _, s := range c.subs {
		w = append(w, s.Name)
	}
	if withFlags {
		for _, f := range c.flags {
			w = append(w, "--"+f.Name)
		}
	}
	return w
}

func bashCompletion(w io.Writer, nodes []cmdNode, zsh bool) error {
	var b strings.Builder
	if zsh {
		b.WriteString("#compdef polyhook\nautoload -U +X bashcompinit && bashcompinit\n")
	}
	b.WriteString("# polyhook completion; load with: source <(polyhook completion bash)\n")
	b.WriteString("_polyhook_words() {\n  case \"$1\" in\n")
	for _, n := range nodes {
		fmt.Fprintf(&b, "    %q) echo %q ;;\n", n.path, strings.Join(n.words(true), " "))
	}
	b.WriteString("  esac\n}\n_polyhook_subs() {\n  case \"$1\" in\n")
	for _, n := range nodes {
		fmt.Fprintf(&b, "    %q) echo %q ;;\n", n.path, strings.Join(n.words(false), " "))
	}
	b.WriteString(`  esac
}
_polyhook() {
  local cur="${COMP_WORDS[COMP_CWORD]}" path="" i w
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="${COMP_WORDS[i]}"
    case " $(_polyhook_subs "$path") " in *" $w "*) path="${path:+$path }$w" ;; esac
  done
  COMPREPLY=($(compgen -W "$(_polyhook_words "$path")" -- "$cur"))
}
complete -F _polyhook polyhook
`)
	_, err := io.WriteString(w, b.String())
	return err
}

func fishCompletion(w io.Writer, nodes []cmdNode) error {
	var b strings.Builder
	b.WriteString("# polyhook completion; load with: polyhook completion fish | source\ncomplete -c polyhook -f\n")
	for _, n := range nodes {
		cond := "__fish_use_subcommand"
		if n.path != "" {
			var parts []string
			for _, p := range strings.Fields(n.path) {
				parts = append(parts, "__fish_seen_subcommand_from "+p)
			}
			cond = strings.Join(parts, "; and ")
			if len(n.subs) > 0 {
				cond += "; and not __fish_seen_subcommand_from " + strings.Join(n.words(false), " ")
			}
		}
		for _, s := range n.subs {
			fmt.Fprintf(&b, "complete -c polyhook -n %q -a %s -d %q\n", cond, s.Name, s.Help)
		}
		for _, f := range n.flags {
			fmt.Fprintf(&b, "complete -c polyhook -n %q -l %s -d %q\n", cond, f.Name, f.Help)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
