package difftest

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// CopyTree copies the directory src into dst (created if needed): regular files with their
// mode, symlinks as symlinks with the same target (so aliases and masks stay what they are),
// directories recursively. Other file types are skipped.
func CopyTree(dst, src string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(path)
			if err != nil {
				return err
			}
			os.Remove(target)
			return os.Symlink(link, target)
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type().IsRegular():
			return copyFile(target, path)
		}
		return nil
	})
}

func copyFile(dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, fi.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s: %w", src, err)
	}
	return out.Close()
}

// UnitNames lists the unit names directly inside dir that can be shown: files and symlinks
// named *.service, *.socket or *.target, templates ("foo@.service") excluded since systemctl
// cannot show a template. The result is sorted.
func UnitNames(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || strings.Contains(n, "@.") {
			continue
		}
		switch filepath.Ext(n) {
		case ".service", ".socket", ".target", ".timer", ".path":
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out, nil
}

// SplitStrv undoes systemctl's printing of a string list (unit.FormatStrv): words separated
// by spaces; a word in double quotes may hold spaces, backslash escapes of \ " ` $ and C
// escapes of control characters (\t, \n, \xNN, ...).
func SplitStrv(s string) []string {
	var out []string
	var cur strings.Builder
	inWord, quoted := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quoted && c == '\\' && i+1 < len(s):
			i++
			switch e := s[i]; e {
			case 'a':
				cur.WriteByte('\a')
			case 'b':
				cur.WriteByte('\b')
			case 'f':
				cur.WriteByte('\f')
			case 'n':
				cur.WriteByte('\n')
			case 'r':
				cur.WriteByte('\r')
			case 't':
				cur.WriteByte('\t')
			case 'v':
				cur.WriteByte('\v')
			case 'x':
				if i+2 < len(s) {
					if v, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
						cur.WriteByte(byte(v))
						i += 2
						break
					}
				}
				cur.WriteByte(e)
			default:
				cur.WriteByte(e)
			}
		case c == '"':
			quoted = !quoted
			inWord = true
		case c == ' ' && !quoted:
			if inWord {
				out = append(out, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		out = append(out, cur.String())
	}
	return out
}
