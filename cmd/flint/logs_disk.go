package main

import (
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"time"

	"github.com/flint-init/flint/client"
	"github.com/flint-init/flint/internal/logs"
)

// journalctl's actions on the journal as a whole: -F, -N, --disk-usage, --vacuum-*.

// diskUsage prints what journalctl --disk-usage prints: the space the manager's journal
// files take (persistent and volatile), as journald counts it.
func diskUsage(g *globals, stdout, stderr io.Writer) int {
	n, err := logs.Usage(journalDirs(g)...)
	if err != nil {
		fmt.Fprintf(stderr, "Failed to get disk usage: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "Archived and active journals take up %s in the file system.\n", formatBytes(int(n)))
	return 0
}

// vacuum removes archived journal files of each journal directory as journalctl's
// --vacuum-size=, --vacuum-files= and --vacuum-time= do, saying (unless quiet) what it
// removed and freed in each, on standard error as journalctl logs it.
func vacuum(g *globals, lim logs.VacuumLimits, quiet bool, stderr io.Writer) int {
	code := 0
	for _, dir := range journalDirs(g) {
		removed, err := logs.Vacuum(dir, lim)
		if err != nil {
			fmt.Fprintf(stderr, "Failed to vacuum %s: %v\n", dir, err)
			code = 1
			continue
		}
		var freed int64
		for _, r := range removed {
			freed += r.Usage
			if quiet {
				continue
			}
			what := "archived"
			if r.Empty {
				what = "empty archived"
			}
			fmt.Fprintf(stderr, "Deleted %s journal %s (%s).\n", what, r.Path, formatBytes(int(r.Usage)))
		}
		if !quiet {
			fmt.Fprintf(stderr, "Vacuuming done, freed %s of archived journals from %s.\n", formatBytes(int(freed)), filepath.Clean(dir))
		}
	}
	return code
}

// listUnique prints what journalctl -F FIELD (the values FIELD has) or -N (the field
// names) prints: over every entry of the journal, whatever the matches and ranges (as
// journalctl 252), the earlier runs' files and the running manager's lines; -F's values
// newest first (journald lists a field's values as it met them, the last one first; -N
// names as they first appear). -n bounds how many.
func listUnique(g *globals, c *client.Client, o *logsOptions, stdout io.Writer) int {
	var order []string
	seen := map[string]bool{}
	host := newJournalHost(g.user)
	add := func(l client.LogLine) error {
		e := entryOf(l, host)
		for _, f := range e.fields {
			k := f.name
			if o.field != "" {
				if f.name != o.field {
					continue
				}
				k = f.value
			}
			if !seen[k] {
				seen[k] = true
				order = append(order, k)
			}
		}
		return nil
	}
	all := &logsOptions{rng: client.LogRange{Lines: -1}} // every line
	rows, cur, err := loadBoots(g, c)
	if err != nil {
		return reportClientError(err)
	}
	for i, r := range rows {
		if i != cur {
			if err := runLines(r.run, all, add); err != nil {
				return reportClientError(err)
			}
		}
	}
	req := client.Request{Match: &client.LogMatch{}, Range: &all.rng}
	if err := c.Logs(&req, add); err != nil {
		return reportClientError(err)
	}
	if o.field != "" {
		slices.Reverse(order)
	}
	if o.linesSet && o.rng.Lines >= 0 && o.rng.Lines < len(order) {
		order = order[:o.rng.Lines]
	}
	for _, v := range order {
		fmt.Fprintln(stdout, v)
	}
	return 0
}

// vacuumBefore is --vacuum-time='s limit: files last written longer than span ago go.
func vacuumBefore(span time.Duration) time.Time { return time.Now().Add(-span) }
