package unit

import (
	"bytes"
	"fmt"
)

// Cat returns the unit file and its drop-ins as `systemctl cat` prints them: each file under
// a "# /path" header line, its content (a missing final newline is added), and a blank line
// between files. A masked unit gives "# Unit NAME is masked." (not an error, as in systemd
// 252); a unit without fragment gives systemctl's "No files found for NAME." error.
// Templates can be shown.
func Cat(l *Loader, name string) (string, error) {
	u := l.Load(name)
	if u.LoadState == Masked {
		return fmt.Sprintf("# Unit %s is masked.\n", name), nil // systemctl 252 prints this and exits 0
	}
	var files []string
	if u.FragmentPath != "" {
		files = append(files, u.FragmentPath)
	}
	files = append(files, u.DropInPaths...)
	if len(files) == 0 {
		return "", fmt.Errorf("No files found for %s.", name)
	}
	var b bytes.Buffer
	for i, p := range files {
		if i > 0 {
			b.WriteByte('\n')
		}
		// ReadFile: a FIFO or device among the drop-ins does not block or flood cat
		data, err := ReadFile(l.lk.InTree(p))
		if err != nil {
			return b.String(), fmt.Errorf("Failed to read %s: %s", Printable(p), Strerror(err))
		}
		fmt.Fprintf(&b, "# %s\n", p)
		b.Write(data)
		if len(data) > 0 && data[len(data)-1] != '\n' {
			b.WriteByte('\n')
		}
	}
	return b.String(), nil
}
