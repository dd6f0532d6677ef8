package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"

	"github.com/flint-init/flint/client"
	"github.com/flint-init/flint/unit"
)

func init() {
	register(&verb{name: "help", summary: "show the manual pages of units (their Documentation=)", manager: true,
		usage: "usage: flint help UNIT...\n\nWithout a unit: this usage. With units: man for each man: entry of their Documentation=.\n",
		run:   func(g *globals, a []string) int { return runHelp(g, a, os.Stdout, os.Stderr) }})
}

// runHelp is systemctl help UNIT...: man for every "man:" entry of each unit's
// Documentation= (what man says is its own business), a note for the others.
func runHelp(g *globals, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "'help' command expects one or more unit names.\n(Alternatively, help for systemctl itself may be shown with --help)")
		return 1
	}
	c := client.New(g.control)
	for i, a := range args {
		name := normalizeUnitName(a)
		sts, err := c.Show([]string{name}, []string{"Id", "LoadState", "ActiveState", "Documentation"})
		if err != nil {
			return reportClientError(err)
		}
		if len(sts) == 0 {
			continue
		}
		p := propMap(sts[0].Props)
		if p["LoadState"] == "not-found" && p["ActiveState"] == "inactive" {
			fmt.Fprintf(stderr, "Unit %s could not be found.\n", name)
			return 1
		}
		if i > 0 {
			fmt.Fprintln(stdout)
		}
		docs := unit.SplitStrv(p["Documentation"])
		if len(docs) == 0 {
			fmt.Fprintf(stderr, "Documentation for %s not known.\n", p["Id"])
			continue
		}
		for _, d := range docs {
			page, ok := strings.CutPrefix(d, "man:")
			if !ok {
				fmt.Fprintf(stderr, "Can't show: %s\n", d)
				continue
			}
			showManPage(page, stdout, stderr)
		}
	}
	return 0
}

// showManPage runs man on "page(section)" (or a bare page), as systemd's show_man_page; its
// exit status does not matter.
func showManPage(desc string, stdout, stderr io.Writer) {
	args := []string{desc}
	if i := strings.LastIndexByte(desc, '('); i > 0 && strings.HasSuffix(desc, ")") {
		args = []string{desc[i+1 : len(desc)-1], desc[:i]}
	}
	cmd := exec.Command("man", args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, stdout, stderr
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		switch {
		case errors.Is(err, exec.ErrNotFound):
			fmt.Fprintln(stderr, "Failed to execute man: No such file or directory")
		case !errors.As(err, &ee):
			fmt.Fprintf(stderr, "Failed to execute man: %s\n", unit.Strerror(err))
		}
	}
}
