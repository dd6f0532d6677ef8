package api

import (
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestVerbTable: every verb appears once, Lookup finds it, and the fields a verb reads are
// fields of Request.
func TestVerbTable(t *testing.T) {
	fields := map[string]bool{}
	rt := reflect.TypeFor[Request]()
	for i := range rt.NumField() {
		name, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
		fields[name] = true
	}
	seen := map[Verb]bool{}
	for _, info := range Verbs {
		if seen[info.Verb] {
			t.Errorf("verb %s listed twice", info.Verb)
		}
		seen[info.Verb] = true
		if got, ok := Lookup(info.Verb); !ok || got.Verb != info.Verb || !info.Verb.Known() {
			t.Errorf("Lookup(%s) = %+v, %v", info.Verb, got, ok)
		}
		if info.Verb.ReadOnly() != info.ReadOnly {
			t.Errorf("%s.ReadOnly() = %v, table %v", info.Verb, info.Verb.ReadOnly(), info.ReadOnly)
		}
		for _, f := range info.Fields {
			if f == "verb" || !fields[f] {
				t.Errorf("verb %s reads field %q, which Request does not have (besides verb)", info.Verb, f)
			}
		}
		if info.Kind == Job && info.ReadOnly {
			t.Errorf("job verb %s is read-only", info.Verb)
		}
		if info.Kind == Action && info.ReadOnly {
			t.Errorf("action verb %s is read-only", info.Verb)
		}
	}
	for _, v := range []Verb{"", "analyze", "frobnicate", "START"} {
		if v.Known() || v.ReadOnly() {
			t.Errorf("unknown verb %q: Known %v, ReadOnly %v", v, v.Known(), v.ReadOnly())
		}
	}
}

// TestDocListsReadOnlyVerbs: docs/api.md names the read-only verbs of the table, in its
// order, and no other.
func TestDocListsReadOnlyVerbs(t *testing.T) {
	doc, err := os.ReadFile("../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	const intro = "Any other uid may use only the read-only verbs: "
	text := strings.Join(strings.Fields(string(doc)), " ")
	i := strings.Index(text, intro)
	if i < 0 {
		t.Fatalf("docs/api.md lacks %q", intro)
	}
	list, _, _ := strings.Cut(text[i+len(intro):], ". ")
	var got []string
	for _, w := range strings.Split(list, ", ") {
		got = append(got, strings.Trim(w, "`"))
	}
	var want []string
	for _, info := range Verbs {
		if info.ReadOnly {
			want = append(want, string(info.Verb))
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("docs/api.md lists the read-only verbs\n%q\nthe table has\n%q", got, want)
	}
}

// TestDocDescribesEveryVerb: docs/api.md's table of verbs has a row for each verb of the
// table, and none for another.
func TestDocDescribesEveryVerb(t *testing.T) {
	doc, err := os.ReadFile("../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(doc), "| verb | data of the final response |\n|---|---|\n")
	if !ok {
		t.Fatal("docs/api.md has no table of verbs")
	}
	described := map[Verb]bool{}
	for _, row := range strings.Split(table, "\n") {
		if !strings.HasPrefix(row, "| ") {
			break
		}
		first, _, _ := strings.Cut(row[2:], " |")
		for _, v := range strings.Split(first, ", ") {
			described[Verb(strings.Trim(v, "`"))] = true
		}
	}
	for _, info := range Verbs {
		if !described[info.Verb] {
			t.Errorf("docs/api.md does not describe %s", info.Verb)
		}
		delete(described, info.Verb)
	}
	for v := range described {
		t.Errorf("docs/api.md describes %q, which api.Verbs lacks", v)
	}
}
