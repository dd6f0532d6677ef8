package main

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/flint-init/flint/client"
	"github.com/flint-init/flint/internal/logs"
	"github.com/flint-init/flint/internal/manager"
)

// flint logs -b and --list-boots: flint's boots are the runs of its manager. The current run's
// lines come from the manager; earlier runs' from the journal files it left (flint run
// --log-storage): /var/log/flint (the system manager's persistent journal) and the journal/
// directory next to the control socket (the volatile one).

// bootRow is one run: from the files (run), or the current one (run nil), whose lines the
// manager has.
type bootRow struct {
	id          string
	first, last time.Time
	run         *logs.Run
}

// journalDirs are the directories the manager's journal files may be in.
func journalDirs(g *globals) []string {
	var dirs []string
	if !g.user {
		dirs = append(dirs, manager.DefaultPersistentLogDir)
	}
	return append(dirs, manager.VolatileLogDir(filepath.Dir(g.control)))
}

// hasPersistentJournal reports whether the system manager's persistent journal holds lines.
func hasPersistentJournal(g *globals) bool {
	if g.user {
		return false
	}
	runs, err := logs.Runs(manager.DefaultPersistentLogDir)
	return err == nil && len(runs) > 0
}

// loadBoots lists the runs, oldest first; cur is the index of the manager's current run (-1
// when no manager answered).
func loadBoots(g *globals, c *client.Client) (rows []bootRow, cur int, err error) {
	runs, rerr := logs.Runs(journalDirs(g)...)
	if rerr != nil {
		return nil, -1, rerr
	}
	var first, last *client.LogLine
	for _, rng := range []client.LogRange{{Lines: 1, Since: time.Unix(0, 0)}, {Lines: 1}} {
		req := client.Request{Range: &rng, Cursors: true}
		err = c.Logs(&req, func(l client.LogLine) error {
			if first == nil {
				first = &l
			} else {
				last = &l
			}
			return nil
		})
		if err != nil {
			break
		}
	}
	var curID string
	if err == nil && first != nil {
		if last == nil {
			last = first
		}
		if cc, perr := logs.ParseCursor(first.Cursor); perr == nil {
			curID = cc.Store
		}
	}
	for i := range runs {
		if runs[i].ID == curID {
			continue // the manager's own: its lines come from it
		}
		rows = append(rows, bootRow{id: runs[i].ID, first: runs[i].First, last: runs[i].Last, run: &runs[i]})
	}
	cur = -1
	if curID != "" {
		rows = append(rows, bootRow{id: curID, first: first.Time, last: last.Time})
		cur = len(rows) - 1
	}
	var ce *client.Error
	if err != nil && len(rows) > 0 && !errors.As(err, &ce) {
		err = nil // no manager answers: the files alone
	}
	return rows, cur, err
}

// pickBoot resolves a -b descriptor: the row it names, or an error as journalctl words it.
func pickBoot(b *bootSpec, rows []bootRow, cur int) (int, error) {
	idx := -1
	switch {
	case b.id != "":
		for i, r := range rows {
			if r.id == b.id || i == cur && b.id == logs.BootID() {
				idx = i
			}
		}
		if idx >= 0 {
			idx += b.offset
		}
	case b.offset <= 0:
		idx = len(rows) - 1 + b.offset
	default:
		idx = b.offset - 1
	}
	if idx < 0 || idx >= len(rows) {
		if b.id != "" {
			return -1, fmt.Errorf("Data from the specified boot (%s) is not available: No such boot ID in journal", b.id)
		}
		return -1, fmt.Errorf("Data from the specified boot (%+d) is not available: No such boot ID in journal", b.offset)
	}
	return idx, nil
}

// runLines calls fn with the lines of an earlier run that the options select.
func runLines(r *logs.Run, o *logsOptions, fn func(client.LogLine) error) error {
	f, err := logs.FilterOf(o.req.Units, &o.match, normalizeUnitName, r.Units)
	if fe, ok := err.(*logs.FilterError); ok {
		return &client.Error{Code: fe.Code, Msg: fe.Msg}
	}
	rg := logs.Range{Lines: o.rng.Lines, Since: o.rng.Since, Until: o.rng.Until, AfterCursor: o.rng.AfterCursor, Reverse: o.rng.Reverse}
	if o.rng.Cursor != "" {
		c, err := logs.ParseCursor(o.rng.Cursor)
		if err != nil {
			return &client.Error{Code: "bad-request", Msg: "Failed to seek to cursor: " + err.Error()}
		}
		rg.Cursor = c
	}
	lines, err := r.Select(f, rg)
	if err != nil {
		return err
	}
	for i := range lines {
		if err := fn(logs.APILine(&lines[i], r.ID, o.req.Cursors)); err != nil {
			return err
		}
	}
	return nil
}

// listBoots is --list-boots: the runs, in journalctl's table (IDX 0 the newest).
func listBoots(g *globals, c *client.Client, o *logsOptions, stdout, stderr io.Writer) int {
	rows, _, err := loadBoots(g, c)
	if err != nil {
		var ce *client.Error
		if errors.As(err, &ce) && o.quiet {
			ce.Hint = ""
		}
		return reportClientError(err)
	}
	if len(rows) == 0 {
		return 0
	}
	jw := newJournalWriter(stdout, "short-full")
	jw.utc = o.utc
	head := []string{"IDX", "BOOT ID", "FIRST ENTRY", "LAST ENTRY"}
	table := [][]string{head}
	for i, r := range rows {
		table = append(table, []string{fmt.Sprint(i - (len(rows) - 1)), r.id,
			jw.fullTimestamp(r.first.UnixMicro(), false), jw.fullTimestamp(r.last.UnixMicro(), false)})
	}
	// journalctl's table: columns as wide as their widest cell, IDX right-aligned, no
	// header with -q.
	if o.quiet {
		table = table[1:]
	}
	widths := make([]int, len(head))
	for _, r := range table {
		for i, cell := range r {
			widths[i] = max(widths[i], len(cell))
		}
	}
	var b strings.Builder
	for _, r := range table {
		for i, cell := range r {
			switch {
			case i == 0:
				fmt.Fprintf(&b, "%*s ", widths[i], cell)
			case i < len(r)-1:
				fmt.Fprintf(&b, "%-*s ", widths[i], cell)
			default:
				b.WriteString(cell + "\n")
			}
		}
	}
	fmt.Fprint(stdout, b.String())
	return 0
}
