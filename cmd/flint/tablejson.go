package main

import (
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/flint-init/flint/client"
)

// systemctl's tables in JSON (-o json, json-pretty, json-seq, json-sse under the name
// systemctl): an array of one object per row, the columns' names in lower case as keys,
// as systemd 252's table_print_json writes it. flint's own name keeps flint's JSON.

// jsonCell is one column of a row: a string, a number of µs (uint64), or nil (null).
type jsonCell struct {
	key string
	val any
}

// writeTableJSON prints rows in mode's JSON form.
func writeTableJSON(w io.Writer, mode string, rows [][]jsonCell) {
	var b strings.Builder
	pretty := mode == "json-pretty"
	switch mode {
	case "json-seq":
		b.WriteByte(0x1e)
	case "json-sse":
		b.WriteString("data: ")
	}
	b.WriteByte('[')
	for i, row := range rows {
		if i > 0 {
			b.WriteByte(',')
		}
		if pretty {
			b.WriteString("\n\t{")
		} else {
			b.WriteByte('{')
		}
		for j, c := range row {
			if j > 0 {
				b.WriteByte(',')
			}
			if pretty {
				b.WriteString("\n\t\t")
			}
			writeJSONString(&b, c.key)
			if pretty {
				b.WriteString(" : ")
			} else {
				b.WriteByte(':')
			}
			switch v := c.val.(type) {
			case nil:
				b.WriteString("null")
			case uint64:
				b.WriteString(strconv.FormatUint(v, 10))
			case string:
				writeJSONString(&b, v)
			}
		}
		if pretty {
			b.WriteString("\n\t}")
		} else {
			b.WriteByte('}')
		}
	}
	if pretty && len(rows) > 0 {
		b.WriteByte('\n')
	}
	b.WriteString("]\n")
	if mode == "json-sse" {
		b.WriteByte('\n')
	}
	io.WriteString(w, b.String())
}

// orNull is s, or null when it is empty.
func orNull(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// usec is t in µs since the epoch, as systemd's timestamps: 0 for none.
func usec(t time.Time) uint64 {
	if t.IsZero() {
		return 0
	}
	return uint64(t.UnixMicro())
}

func unitRowsJSON(res []client.UnitInfo) [][]jsonCell {
	jobs := false
	for _, u := range res {
		jobs = jobs || u.Job != ""
	}
	rows := [][]jsonCell{}
	for _, u := range res {
		row := []jsonCell{{"unit", u.Name}, {"load", u.Load}, {"active", u.Active}, {"sub", u.Sub}}
		if jobs {
			row = append(row, jsonCell{"job", orNull(u.Job)})
		}
		rows = append(rows, append(row, jsonCell{"description", u.Description}))
	}
	return rows
}

func socketRowsJSON(res []client.SocketInfo, types bool) [][]jsonCell {
	rows := [][]jsonCell{}
	for _, s := range res {
		row := []jsonCell{{"listen", s.Listen}}
		if types {
			row = append(row, jsonCell{"type", s.Type})
		}
		rows = append(rows, append(row, jsonCell{"unit", s.Unit}, jsonCell{"activates", strings.Join(s.Activates, " ")}))
	}
	return rows
}

func timerRowsJSON(res []client.TimerInfo) [][]jsonCell {
	rows := [][]jsonCell{}
	for _, r := range res {
		var next any // no next elapse: systemd's USEC_INFINITY, null
		if !r.Next.IsZero() {
			next = usec(r.Next)
		}
		// LEFT and PASSED are the same timestamps as NEXT and LAST in systemd's JSON
		rows = append(rows, []jsonCell{{"next", next}, {"left", next}, {"last", usec(r.Last)}, {"passed", usec(r.Last)},
			{"unit", r.Unit}, {"activates", strings.Join(r.Activates, " ")}})
	}
	return rows
}

func unitFileRowsJSON(res []unitFileInfo) [][]jsonCell {
	rows := [][]jsonCell{}
	for _, r := range res {
		preset := orNull(r.Preset)
		if r.Preset == "-" {
			preset = nil
		}
		rows = append(rows, []jsonCell{{"unit_file", r.Name}, {"state", r.State}, {"preset", preset}})
	}
	return rows
}
