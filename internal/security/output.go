package security

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// Glyphs are the marks systemd prints, Unicode or ASCII as its locale and terminal
// settings choose (Terminal).
type Glyphs struct {
	UTF8  bool // ✓ ✗ → rather than + - ->
	Emoji bool // 🙂 rather than :-)
}

// Terminal returns the glyphs systemd 252 would use in this environment: Unicode unless
// the locale (LC_ALL, LC_CTYPE, LANG) names a non-UTF-8 one, C or POSIX included
// (is_locale_utf8); emoji only then, with $TERM set to a terminal other than "dumb" and
// "linux", or as $SYSTEMD_EMOJI says (emoji_enabled).
func Terminal(getenv func(string) string) Glyphs {
	lookup := func(k string) (string, bool) {
		if getenv != nil {
			v := getenv(k)
			return v, v != ""
		}
		return os.LookupEnv(k)
	}
	utf := true
	anySet := false
	name := ""
	for _, k := range []string{"LC_ALL", "LC_CTYPE", "LANG"} {
		v, ok := lookup(k)
		anySet = anySet || ok
		if name == "" && v != "" {
			name = v
		}
	}
	switch {
	case name == "" || name == "C" || name == "POSIX":
		utf = !anySet
	default:
		l := strings.ToLower(name)
		if _, cs, ok := strings.Cut(l, "."); ok {
			cs, _, _ = strings.Cut(cs, "@")
			// a locale that names another charset is not UTF-8 when it exists; one that
			// does not exist leaves glibc's default, which systemd takes for UTF-8
			utf = cs == "utf-8" || cs == "utf8" || !localeExists(name)
		}
	}
	g := Glyphs{UTF8: utf}
	if v, ok := lookup("SYSTEMD_EMOJI"); ok {
		if b := parseBoolString(v); b >= 0 {
			g.Emoji = b > 0
			return g
		}
	}
	term, _ := lookup("TERM")
	g.Emoji = utf && term != "" && term != "dumb" && term != "linux"
	return g
}

func localeExists(name string) bool {
	for _, d := range []string{"/usr/lib/locale/", "/usr/share/i18n/locales/"} {
		if _, err := os.Stat(d + name); err == nil {
			return true
		}
	}
	return false
}

func (g Glyphs) check(set int) string {
	switch {
	case set < 0:
		return " "
	case set > 0 && g.UTF8:
		return "✓"
	case set > 0:
		return "+"
	case g.UTF8:
		return "✗"
	}
	return "-"
}

func (g Glyphs) arrow() string {
	if g.UTF8 {
		return "→"
	}
	return "->"
}

func (g Glyphs) smiley(r Rating) string {
	if g.Emoji {
		return r.Emoji
	}
	return r.ASCII
}

// JSONFormat is --json=: "" (or "off") for the table, "short" or "pretty".
type JSONFormat string

// Options say how a report is printed.
type Options struct {
	Glyphs Glyphs
	JSON   JSONFormat
	// Debug adds the weight, badness and range of each row, as $SYSTEMD_ANALYZE_DEBUG does.
	Debug bool
	// Offline is --offline=yes: units read from files rather than asked of the manager.
	Offline bool
}

// WriteReport prints one unit's assessment as systemd-analyze security does: the table
// of assessments, then the overall exposure line; or the table as a JSON array.
func WriteReport(w io.Writer, r Report, o Options) error {
	g, format := o.Glyphs, o.JSON
	if format == "short" || format == "pretty" {
		rows := make([]any, 0, len(r.Rows))
		for _, x := range r.Rows {
			jr := jsonRow{Name: x.Name, JSONField: x.JSONField}
			if x.Description != "" {
				d := x.Description
				jr.Description = &d
			}
			if s := x.Set(); s >= 0 {
				b := s > 0
				jr.Set = &b
			}
			if x.Exposure != "" {
				e := x.Exposure
				jr.Exposure = &e
			}
			if o.Debug {
				rows = append(rows, jsonDebugRow{jr.Set, jr.Name, jr.JSONField, jr.Description,
					x.Weight, x.Badness, x.Range, jr.Exposure})
			} else {
				rows = append(rows, jr)
			}
		}
		return writeJSON(w, rows, format)
	}
	t := table{header: []string{" ", "NAME", "DESCRIPTION", "EXPOSURE"}, right: []bool{false, false, false, true}}
	if o.Debug {
		t.header = []string{" ", "NAME", "DESCRIPTION", "WEIGHT", "BADNESS", "RANGE", "EXPOSURE"}
		t.right = []bool{false, false, false, true, true, true, true}
	}
	for _, x := range r.Rows {
		row := []string{g.check(x.Set()), x.Name, x.Description, x.Exposure}
		if o.Debug {
			row = []string{g.check(x.Set()), x.Name, x.Description, strconv.FormatUint(x.Weight, 10),
				strconv.FormatUint(x.Badness, 10), strconv.FormatUint(x.Range, 10), x.Exposure}
		}
		t.rows = append(t.rows, row)
	}
	var b bytes.Buffer
	t.write(&b)
	rt := r.Rating()
	fmt.Fprintf(&b, "\n%s Overall exposure level for %s: %d.%d %s %s\n", g.arrow(), r.ID,
		r.Exposure/10, r.Exposure%10, rt.Name, g.smiley(rt))
	_, err := w.Write(b.Bytes())
	return err
}

// WriteOverview prints the summary table of several units (UNIT EXPOSURE PREDICATE
// HAPPY), or its JSON form.
func WriteOverview(w io.Writer, reports []Report, o Options) error {
	g, format := o.Glyphs, o.JSON
	if format == "short" || format == "pretty" {
		type row struct {
			Unit      string `json:"unit"`
			Exposure  string `json:"exposure"`
			Predicate string `json:"predicate"`
			Happy     string `json:"happy"`
		}
		rows := make([]row, 0, len(reports))
		for _, r := range reports {
			rt := r.Rating()
			rows = append(rows, row{r.ID, fmt.Sprintf("%d.%d", r.Exposure/10, r.Exposure%10), rt.Name, g.smiley(rt)})
		}
		return writeJSON(w, rows, format)
	}
	t := table{header: []string{"UNIT", "EXPOSURE", "PREDICATE", "HAPPY"}, right: []bool{false, true, false, false}}
	for _, r := range reports {
		rt := r.Rating()
		t.rows = append(t.rows, []string{r.ID, fmt.Sprintf("%d.%d", r.Exposure/10, r.Exposure%10), rt.Name, g.smiley(rt)})
	}
	var b bytes.Buffer
	t.write(&b)
	_, err := w.Write(b.Bytes())
	return err
}

type jsonDebugRow struct {
	Set         *bool   `json:"set"`
	Name        string  `json:"name"`
	JSONField   string  `json:"json_field"`
	Description *string `json:"description"`
	Weight      uint64  `json:"weight"`
	Badness     uint64  `json:"badness"`
	Range       uint64  `json:"range"`
	Exposure    *string `json:"exposure"`
}

type jsonRow struct {
	Set         *bool   `json:"set"`
	Name        string  `json:"name"`
	JSONField   string  `json:"json_field"`
	Description *string `json:"description"`
	Exposure    *string `json:"exposure"`
}

// writeJSON prints v as systemd's JSON output: one line ("short"), or indented with
// tabs and " : " after keys ("pretty").
func writeJSON(w io.Writer, v any, format JSONFormat) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	data = unescapeHTML(data)
	if format == "pretty" {
		data = prettyJSON(data)
	}
	_, err = w.Write(append(data, '\n'))
	return err
}

// unescapeHTML undoes encoding/json's escaping of <, > and &, which systemd does not do.
func unescapeHTML(b []byte) []byte {
	b = bytes.ReplaceAll(b, []byte(`\u003c`), []byte("<"))
	b = bytes.ReplaceAll(b, []byte(`\u003e`), []byte(">"))
	return bytes.ReplaceAll(b, []byte(`\u0026`), []byte("&"))
}

// prettyJSON indents compact JSON as systemd's json_variant_dump with JSON_FORMAT_PRETTY.
func prettyJSON(in []byte) []byte {
	var b bytes.Buffer
	depth := 0
	indent := func() {
		b.WriteByte('\n')
		for i := 0; i < depth; i++ {
			b.WriteByte('\t')
		}
	}
	inStr := false
	for i := 0; i < len(in); i++ {
		c := in[i]
		if inStr {
			b.WriteByte(c)
			switch c {
			case '\\':
				i++
				b.WriteByte(in[i])
			case '"':
				inStr = false
			}
			continue
		}
		switch c {
		case '"':
			inStr = true
			b.WriteByte(c)
		case '[', '{':
			close := byte(']')
			if c == '{' {
				close = '}'
			}
			if i+1 < len(in) && in[i+1] == close {
				b.WriteByte(c)
				b.WriteByte(close)
				i++
				continue
			}
			b.WriteByte(c)
			depth++
			indent()
		case ']', '}':
			depth--
			indent()
			b.WriteByte(c)
		case ',':
			b.WriteByte(c)
			indent()
		case ':':
			b.WriteString(" : ")
		default:
			b.WriteByte(c)
		}
	}
	return b.Bytes()
}

// table is systemd's format-table as it prints without a terminal: a header line in
// capitals, every cell padded to its column's width, one space between columns.
type table struct {
	header []string
	right  []bool // right-aligned columns
	rows   [][]string
}

func (t *table) write(b *bytes.Buffer) {
	width := make([]int, len(t.header))
	for i, h := range t.header {
		width[i] = cellWidth(h)
	}
	for _, r := range t.rows {
		for i, c := range r {
			width[i] = max(width[i], cellWidth(c))
		}
	}
	line := func(cells []string, header bool) {
		for i, c := range cells {
			if i > 0 {
				b.WriteByte(' ')
			}
			pad := strings.Repeat(" ", width[i]-cellWidth(c))
			if t.right[i] && !header {
				c = pad + c
			} else {
				c += pad
			}
			if i == len(cells)-1 {
				// systemd drops the trailing white space of the last column
				c = strings.TrimRight(c, " ")
			}
			b.WriteString(c)
		}
		b.WriteByte('\n')
	}
	line(t.header, true) // headers are left-aligned in every column
	for _, r := range t.rows {
		line(r, false)
	}
}

// cellWidth is the width of s on a terminal: emoji take two columns.
func cellWidth(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x1F300 && r <= 0x1FAFF {
			n += 2
		} else {
			n++
		}
	}
	return n
}
