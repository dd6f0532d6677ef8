package logs

import (
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// Usage returns the space the journal files of dirs take on disk, as journald counts it
// (the blocks allocated: journalctl --disk-usage); a directory that does not exist counts
// nothing.
func Usage(dirs ...string) (int64, error) {
	var sum int64
	for _, dir := range dirs {
		files, err := listFiles(dir)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return 0, err
		}
		for _, f := range files {
			sum += usage(filepath.Join(dir, f.name))
		}
	}
	return sum, nil
}

func usage(path string) int64 {
	var st syscall.Stat_t
	if syscall.Stat(path, &st) != nil {
		return 0
	}
	return st.Blocks * 512
}

// VacuumLimits say which archived files Vacuum removes, oldest first: while the archived
// files take more than MaxUse bytes, while the files (the active one counted) are more than
// MaxFiles, and those last written before Before. Zero values set no limit.
type VacuumLimits struct {
	MaxUse   int64
	MaxFiles int
	Before   time.Time
}

// Removed is one file Vacuum removed and the space it took.
type Removed struct {
	Path  string
	Usage int64
	Empty bool // it held nothing (removed whatever the limits)
}

// Vacuum removes archived journal files of dir as journald's journal_directory_vacuum does
// for journalctl --vacuum-size=, --vacuum-files= and --vacuum-time=: every file but the last
// one of the newest run (the active file, which its manager may be writing) is archived; an
// empty one is removed in any case, the others oldest first until the limits hold. It
// returns the files removed; a directory that does not exist has none.
func Vacuum(dir string, lim VacuumLimits) ([]Removed, error) {
	files, err := listFiles(dir)
	if os.IsNotExist(err) || len(files) == 0 {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Removed
	type archived struct {
		path  string
		usage int64
		mtime time.Time
	}
	var list []archived
	var sum int64
	for _, f := range files[:len(files)-1] {
		p := filepath.Join(dir, f.name)
		u := usage(p)
		if f.size == 0 {
			if os.Remove(p) == nil {
				out = append(out, Removed{Path: p, Usage: u, Empty: true})
			}
			continue
		}
		var mtime time.Time
		if fi, err := os.Stat(p); err == nil {
			mtime = fi.ModTime()
		}
		list = append(list, archived{p, u, mtime})
		sum += u
	}
	for i, a := range list {
		left := 1 + len(list) - i
		if (lim.Before.IsZero() || !a.mtime.Before(lim.Before)) &&
			(lim.MaxUse <= 0 || sum <= lim.MaxUse) &&
			(lim.MaxFiles <= 0 || left <= lim.MaxFiles) {
			break
		}
		if err := os.Remove(a.path); err != nil {
			continue
		}
		out = append(out, Removed{Path: a.path, Usage: a.usage})
		sum -= a.usage
	}
	return out, nil
}
