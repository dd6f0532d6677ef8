package difftest

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flint-init/flint/unit"
	"github.com/flint-init/flint/unit/install"
)

// TestFileTypesDifferential: unit files, linked unit files and drop-ins that are not regular
// files (a FIFO, a socket, character and block devices, directories, dangling links, symlink
// loops, a chain of links) load in flint as in systemd 252: the same LoadState,
// FragmentPath, DropInPaths and Description, and list-unit-files lists the same files with
// the same state. Left out: what makes systemd 252 itself block for ever (a FIFO as a linked
// unit file or a drop-in, /dev/zero as a drop-in) or read a device (a block device as a
// linked unit file), which flint refuses (unit.TestLoadFileTypes).
func TestFileTypesDifferential(t *testing.T) {
	if testing.Short() && os.Getenv("CI") == "" {
		t.Skip("boots systemd")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	work := t.TempDir()
	units, opt := filepath.Join(work, "units"), filepath.Join(work, "opt")
	closeAll, err := FileTypeTree(units, opt, false)
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll()
	names := FileTypeUnits
	props := []string{"LoadState", "FragmentPath", "DropInPaths", "Description", "Wants"}
	s := bootOrSkip(t, ctx, work, units)
	blocks, err := s.Show(ctx, names, props)
	if err != nil {
		t.Fatalf("%v (systemd log: %s)", err, s.LogPath)
	}
	l := unit.NewLoader(unit.System, []string{units})
	for i, n := range names {
		fu := l.Load(n)
		flint := map[string]string{
			"LoadState": string(fu.LoadState), "FragmentPath": fu.FragmentPath,
			"DropInPaths": strings.Join(fu.DropInPaths, " "), "Description": fu.Unit.Description,
			"Wants": strings.Join(fu.Unit.Wants, " "),
		}
		if flint["Description"] == "" {
			flint["Description"] = n // systemd shows the name when there is none
		}
		for _, p := range blocks[i] {
			if got := flint[p.Name]; got != p.Value {
				t.Errorf("%s: %s: flint %q, systemd %q", n, p.Name, got, p.Value)
			}
		}
	}

	out, err := s.Systemctl(ctx, "list-unit-files", "--no-legend", "ft-*")
	if err != nil {
		t.Fatal(err)
	}
	// States compared as in TestDifferential (UnitFileStateByConfigDir): where flint says
	// enabled, linked or indirect, only that systemd lists the file.
	var want, got []string
	sys := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if f := strings.Fields(line); len(f) >= 2 {
			sys[f[0]] = f[1]
			want = append(want, f[0]+" "+f[1])
		}
	}
	for _, n := range l.List() {
		if !strings.HasPrefix(n, "ft-") {
			continue
		}
		st, err := install.IsEnabled(l, n)
		if err != nil {
			st = install.StateBad
		}
		switch st {
		case install.StateEnabled, install.StateLinked, install.StateIndirect:
			if sys[n] != "" {
				st = sys[n]
			}
		}
		got = append(got, n+" "+st)
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(want, got) {
		t.Errorf("list-unit-files:\nflint   %q\nsystemd %q", got, want)
	}
}
