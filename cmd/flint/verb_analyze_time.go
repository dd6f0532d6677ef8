package main

import (
	"fmt"
	"html"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/flint-init/flint/api"
	"github.com/flint-init/flint/client"
)

func init() {
	registerAnalyze("critical-chain", "print the time-critical chain of units (needs a running manager)", runCriticalChain)
	registerAnalyze("plot", "write an SVG timeline of every unit's start (needs a running manager)", runPlot)
	registerAnalyze("dot", "write the dependency graph in graphviz dot format", runDot)
	registerAnalyze("blame", "list units by the time they took to start (needs a running manager)", runBlame)
}

// unitTimes is one unit's activation history in microseconds of CLOCK_MONOTONIC, relative to
// the manager's start.
type unitTimes struct {
	name         string
	desc         string
	activating   int64 // InactiveExit
	activated    int64 // ActiveEnter
	deactivating int64 // ActiveExit
	deactivated  int64 // InactiveEnter (after activation)
	after        []string
	props        map[string]string
}

// fetchTimes asks the manager for every unit's timestamps.
func fetchTimes(g *globals) (map[string]*unitTimes, error) {
	c := client.New(g.control)
	var ping map[string]any
	if err := c.Do(&client.Request{Verb: api.VerbPing}, &ping); err != nil {
		return nil, err
	}
	var start int64
	if v, ok := ping["start_monotonic_usec"].(float64); ok {
		start = int64(v)
	}
	sts, err := c.Show(nil, nil)
	if err != nil {
		return nil, err
	}
	out := map[string]*unitTimes{}
	rel := func(v string) int64 {
		n, _ := strconv.ParseInt(v, 10, 64)
		if n == 0 {
			return 0
		}
		if n-start < 1 {
			return 1
		}
		return n - start
	}
	for _, st := range sts {
		p := propMap(st.Props)
		t := &unitTimes{
			name:         st.Name,
			desc:         p["Description"],
			activating:   rel(p["InactiveExitTimestampMonotonic"]),
			activated:    rel(p["ActiveEnterTimestampMonotonic"]),
			deactivating: rel(p["ActiveExitTimestampMonotonic"]),
			deactivated:  rel(p["InactiveEnterTimestampMonotonic"]),
			after:        strings.Fields(p["After"]),
			props:        p,
		}
		if t.deactivated < t.activating {
			t.deactivated = 0
		}
		if t.deactivating < t.activated {
			t.deactivating = 0
		}
		out[st.Name] = t
	}
	return out, nil
}

// fmtSpan formats microseconds as systemd-analyze does ("1.234s", "800ms", "1min 2.345s").
func fmtSpan(us int64) string {
	d := time.Duration(us) * time.Microsecond
	switch {
	case d >= time.Minute:
		m := int(d / time.Minute)
		rest := d - time.Duration(m)*time.Minute
		return fmt.Sprintf("%dmin %.3fs", m, rest.Seconds())
	case d >= time.Second:
		return fmt.Sprintf("%.3fs", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%dms", d.Milliseconds())
	}
	if us == 0 {
		return "0"
	}
	return fmt.Sprintf("%dus", us)
}

func runCriticalChain(g *globals, args []string) int {
	times, err := fetchTimes(g)
	if err != nil {
		return reportClientError(err)
	}
	units := args
	if len(units) == 0 {
		units = []string{"default.target"}
		if _, ok := times["default.target"]; !ok {
			units = []string{"multi-user.target"}
		}
	}
	w := os.Stdout
	fmt.Fprintln(w, "The time when unit became active or started is printed after the \"@\" character.")
	fmt.Fprintln(w, "The time the unit took to start is printed after the \"+\" character.")
	fmt.Fprintln(w)
	code := 0
	for _, name := range units {
		name = normalizeUnitName(name)
		t, ok := times[name]
		if !ok {
			fmt.Fprintf(os.Stderr, "Unit %s not loaded.\n", name)
			code = 1
			continue
		}
		printChain(w, times, t, nil, map[string]bool{})
	}
	return code
}

// printChain prints t and, below it, the After= unit that became active last before t
// started: the critical path.
func printChain(w io.Writer, times map[string]*unitTimes, t *unitTimes, branches []bool, seen map[string]bool) {
	var b strings.Builder
	for i, last := range branches {
		switch {
		case i == len(branches)-1 && last:
			b.WriteString(glyphs().treeRight)
		case i == len(branches)-1:
			b.WriteString(glyphs().treeBranch)
		case last:
			b.WriteString("  ")
		default:
			b.WriteString(glyphs().treeVertical)
		}
	}
	b.WriteString(t.name)
	if t.activated > 0 {
		fmt.Fprintf(&b, " @%s", fmtSpan(t.activated))
		if d := t.activated - t.activating; t.activating > 0 && d >= 1000 {
			fmt.Fprintf(&b, " +%s", fmtSpan(d))
		}
	} else if t.activating > 0 {
		fmt.Fprintf(&b, " @%s", fmtSpan(t.activating))
	}
	fmt.Fprintln(w, b.String())
	if seen[t.name] {
		return
	}
	seen[t.name] = true
	// The predecessor: the After= unit activated last, no later than t began activating.
	limit := t.activating
	if limit == 0 {
		limit = t.activated
	}
	var best *unitTimes
	for _, n := range t.after {
		d, ok := times[n]
		if !ok || d.activated == 0 || d.activated > limit {
			continue
		}
		if best == nil || d.activated > best.activated {
			best = d
		}
	}
	if best != nil {
		printChain(w, times, best, append(append([]bool(nil), branches...), true), seen)
	}
}

func runBlame(g *globals, args []string) int {
	times, err := fetchTimes(g)
	if err != nil {
		return reportClientError(err)
	}
	var list []*unitTimes
	for _, t := range times {
		if t.activating > 0 && t.activated > t.activating {
			list = append(list, t)
		}
	}
	sort.Slice(list, func(i, j int) bool {
		di, dj := list[i].activated-list[i].activating, list[j].activated-list[j].activating
		if di != dj {
			return di > dj
		}
		return list[i].name < list[j].name
	})
	for _, t := range list {
		fmt.Printf("%10s %s\n", fmtSpan(t.activated-t.activating), t.name)
	}
	return 0
}

// runPlot writes an SVG like systemd-analyze plot: one row per unit that was started, a dark
// bar while activating, a light bar while active.
func runPlot(g *globals, args []string) int {
	times, err := fetchTimes(g)
	if err != nil {
		return reportClientError(err)
	}
	var list []*unitTimes
	var end int64
	for _, t := range times {
		if t.activating == 0 && t.activated == 0 {
			continue
		}
		list = append(list, t)
		for _, v := range []int64{t.activating, t.activated, t.deactivating, t.deactivated} {
			if v > end {
				end = v
			}
		}
	}
	sort.Slice(list, func(i, j int) bool {
		a, b := list[i].activating, list[j].activating
		if a == 0 {
			a = list[i].activated
		}
		if b == 0 {
			b = list[j].activated
		}
		if a != b {
			return a < b
		}
		return list[i].name < list[j].name
	})
	writePlot(os.Stdout, list, end)
	return 0
}

func writePlot(w io.Writer, list []*unitTimes, end int64) {
	const (
		rowH   = 20
		left   = 20
		top    = 80
		labelW = 420
	)
	span := end + end/10 + 1
	// pixels per second: at least 50 px/s, a usable width for longer boots.
	width := 1200
	scale := float64(width-left-labelW) / float64(span)
	x := func(us int64) float64 { return left + float64(us)*scale }
	height := top + rowH*len(list) + 60
	host, _ := os.Hostname()
	fmt.Fprintf(w, `<?xml version="1.0" standalone="no"?>
<svg width="%d" height="%d" version="1.1" xmlns="http://www.w3.org/2000/svg">
<style type="text/css">
  rect.background { fill: rgb(255,255,255); }
  rect.activating { fill: rgb(255,0,0); fill-opacity: 0.7; }
  rect.active     { fill: rgb(200,150,150); fill-opacity: 0.7; }
  rect.deactivating { fill: rgb(150,100,100); fill-opacity: 0.7; }
  rect.target     { fill: rgb(230,230,255); fill-opacity: 0.7; }
  line.sec1  { stroke: rgb(102,102,102); stroke-width: 1; }
  line.sec01 { stroke: rgb(204,204,204); stroke-width: 1; }
  text { font-family: Verdana, Helvetica; font-size: 12px; }
  text.sec { font-size: 10px; }
  text.title { font-size: 18px; }
</style>
<rect class="background" width="100%%" height="100%%" />
<text class="title" x="20" y="30">Startup of %s (flint)</text>
<text x="20" y="50">%d units started, last change at %s</text>
`, width, height, html.EscapeString(host), len(list), fmtSpan(end))
	// Time grid: a line per second (or per 100 ms for short boots).
	step := int64(1_000_000)
	if span < 2_000_000 {
		step = 100_000
	}
	for t := int64(0); t <= span; t += step {
		class := "sec01"
		if t%1_000_000 == 0 {
			class = "sec1"
		}
		fmt.Fprintf(w, `<line class="%s" x1="%.1f" y1="%d" x2="%.1f" y2="%d" />`+"\n", class, x(t), top-5, x(t), top+rowH*len(list))
		if class == "sec1" || step == 100_000 && t%(5*step) == 0 {
			fmt.Fprintf(w, `<text class="sec" x="%.1f" y="%d">%s</text>`+"\n", x(t), top-8, fmtSpan(t))
		}
	}
	for i, t := range list {
		y := top + i*rowH
		a := t.activating
		if a == 0 {
			a = t.activated
		}
		ae := t.activated
		if ae == 0 {
			ae = end
		}
		if ae > a {
			fmt.Fprintf(w, `<rect class="activating" x="%.1f" y="%d" width="%.1f" height="%d"><title>%s activating %s</title></rect>`+"\n",
				x(a), y, maxf(x(ae)-x(a), 1), rowH-4, html.EscapeString(t.name), fmtSpan(ae-a))
		}
		if t.activated > 0 {
			stop := t.deactivating
			if stop == 0 {
				stop = span
			}
			class := "active"
			if strings.HasSuffix(t.name, ".target") {
				class = "target"
			}
			fmt.Fprintf(w, `<rect class="%s" x="%.1f" y="%d" width="%.1f" height="%d" />`+"\n", class, x(t.activated), y, maxf(x(stop)-x(t.activated), 1), rowH-4)
			if t.deactivating > 0 && t.deactivated > t.deactivating {
				fmt.Fprintf(w, `<rect class="deactivating" x="%.1f" y="%d" width="%.1f" height="%d" />`+"\n", x(t.deactivating), y, maxf(x(t.deactivated)-x(t.deactivating), 1), rowH-4)
			}
		}
		label := t.name
		if d := t.activated - t.activating; t.activating > 0 && t.activated > 0 && d >= 1000 {
			label += " (" + fmtSpan(d) + ")"
		}
		fmt.Fprintf(w, `<text x="%.1f" y="%d">%s</text>`+"\n", x(a)+4, y+rowH-8, html.EscapeString(label))
	}
	ly := top + rowH*len(list) + 25
	fmt.Fprintf(w, `<rect class="activating" x="20" y="%d" width="15" height="12" /><text x="40" y="%d">Activating</text>
<rect class="active" x="140" y="%d" width="15" height="12" /><text x="160" y="%d">Active</text>
<rect class="deactivating" x="240" y="%d" width="15" height="12" /><text x="260" y="%d">Deactivating</text>
<rect class="target" x="370" y="%d" width="15" height="12" /><text x="390" y="%d">Target (active)</text>
</svg>
`, ly, ly+11, ly, ly+11, ly, ly+11, ly, ly+11)
}

func maxf(a, b float64) float64 {
	if a > b {
		return a
	}
	return b
}

// runDot prints the dependency graph (from the unit files, like systemd-analyze dot):
// Requires= black, Requisite= dark blue, Wants= grey, Conflicts= red, After= green.
func runDot(g *globals, args []string) int {
	order, require := g.dot != "require", g.dot != "order"
	patterns := args
	l := newLoader(g)
	names := l.List()
	sort.Strings(names)
	match := func(n string) bool {
		if len(patterns) == 0 {
			return true
		}
		for _, p := range patterns {
			if ok, _ := filepath.Match(p, n); ok {
				return true
			}
		}
		return false
	}
	w := os.Stdout
	fmt.Fprintln(w, "digraph flint {")
	for _, n := range names {
		if strings.Contains(n, "@.") {
			continue
		}
		u := l.Load(n)
		c := &u.Unit
		edge := func(list []string, color string) {
			for _, d := range list {
				if !match(n) && !match(d) {
					continue
				}
				fmt.Fprintf(w, "\t%q->%q [color=%q];\n", n, d, color)
			}
		}
		if order {
			edge(c.After, "green")
		}
		if require {
			edge(c.Requires, "black")
			edge(c.Requisite, "darkblue")
			edge(c.Wants, "grey66")
			edge(c.Conflicts, "red")
		}
	}
	fmt.Fprintln(w, "}")
	fmt.Fprintln(os.Stderr, "   Color legend: black     = Requires")
	fmt.Fprintln(os.Stderr, "                 dark blue = Requisite")
	fmt.Fprintln(os.Stderr, "                 dark grey = Wants")
	fmt.Fprintln(os.Stderr, "                 red       = Conflicts")
	fmt.Fprintln(os.Stderr, "                 green     = After")
	return 0
}
