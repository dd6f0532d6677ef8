package main

import (
	"bufio"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// journalctl -x: the explanation of a message from the machine's message catalog, the
// text files systemd installs (catalog(7): "-- MESSAGE_ID" then Subject:, Defined-By:, ...
// and a text with @FIELD@ variables), which journalctl reads from its compiled database.
// flint reads the text files, in systemd's catalog directories; entries for a language
// ("-- ID de", or any in a file systemd.de.catalog) are left to that language, which flint
// does not pick.

// catalogDirs are systemd's catalog directories, the first one winning for an id.
var catalogDirs = []string{"/etc/systemd/catalog", "/run/systemd/catalog", "/usr/local/lib/systemd/catalog", "/usr/lib/systemd/catalog"}

// catalog maps message ids to their text.
type catalog struct {
	entries map[string]string
	prefix  string // "░░" in a UTF-8 locale, "--" otherwise
}

// loadCatalog reads the catalog files of dirs (an empty catalog when there are none).
func loadCatalog(dirs []string) *catalog {
	c := &catalog{entries: map[string]string{}, prefix: "--"}
	if localeIsUTF8() {
		c.prefix = "░░"
	}
	for _, d := range dirs {
		files, _ := filepath.Glob(filepath.Join(d, "*.catalog"))
		sort.Strings(files)
		for _, f := range files {
			// systemd.de.catalog: a file of one language (catalog_file_lang).
			if strings.Contains(strings.TrimSuffix(filepath.Base(f), ".catalog"), ".") {
				continue
			}
			c.readFile(f)
		}
	}
	return c
}

func (c *catalog) readFile(path string) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	var id string
	var text []string
	flush := func() {
		if id != "" {
			if _, dup := c.entries[id]; !dup {
				c.entries[id] = strings.TrimSpace(strings.Join(text, "\n"))
			}
		}
		id, text = "", nil
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		if rest, ok := strings.CutPrefix(line, "-- "); ok {
			if f := strings.Fields(rest); len(f) >= 1 && len(f[0]) == 32 {
				flush()
				if len(f) == 1 {
					id = strings.ToLower(f[0])
				}
				continue
			}
		}
		if id != "" {
			text = append(text, line)
		}
	}
	flush()
}

// write appends the explanation of e's MESSAGE_ID, its variables replaced by e's fields
// (a variable the entry lacks stays as it is).
func (c *catalog) write(b *strings.Builder, e *journalEntry) {
	id, ok := e.get("MESSAGE_ID")
	if !ok {
		return
	}
	text, ok := c.entries[id]
	if !ok {
		return
	}
	var out strings.Builder
	for {
		i := strings.IndexByte(text, '@')
		if i < 0 {
			out.WriteString(text)
			break
		}
		j := strings.IndexByte(text[i+1:], '@')
		if j < 0 {
			out.WriteString(text)
			break
		}
		name := text[i+1 : i+1+j]
		if v, ok := e.get(name); ok && name != "" {
			out.WriteString(text[:i] + v)
			text = text[i+1+j+1:]
			continue
		}
		out.WriteString(text[:i+1])
		text = text[i+1:]
	}
	for _, line := range strings.Split(out.String(), "\n") {
		b.WriteString(c.prefix + " " + line + "\n")
	}
}
