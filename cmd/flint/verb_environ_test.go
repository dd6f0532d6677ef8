package main

import (
	"bytes"
	"reflect"
	"testing"
)

// TestCleanEnv: import-environment without names takes the valid assignments, the last of
// several to one name.
func TestCleanEnv(t *testing.T) {
	got := cleanEnv([]string{"A=1", "1B=x", "C", "A=2", "D=\x01", "E=tab\tnl\n", "F=", "G=\xff"})
	if want := []string{"A=2", "E=tab\tnl\n", "F="}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestEnvJSON: show-environment's JSON forms, as systemd's JSON writer prints them (checked
// against systemctl 252 by test/e2e TestFileVerbsMatchSystemctl for json and json-pretty).
func TestEnvJSON(t *testing.T) {
	env := []string{"A=hello world", `B="q"\`, "C=tab\tnl\n\x01"}
	for mode, want := range map[string]string{
		"json":        `{"A":"hello world","B":"\"q\"\\","C":"tab\tnl\n\u0001"}` + "\n",
		"json-pretty": "{\n\t\"A\" : \"hello world\",\n\t\"B\" : \"\\\"q\\\"\\\\\",\n\t\"C\" : \"tab\\tnl\\n\\u0001\"\n}\n",
		"json-seq":    "\x1e{\"A\":\"hello world\",\"B\":\"\\\"q\\\"\\\\\",\"C\":\"tab\\tnl\\n\\u0001\"}\n",
		"json-sse":    "data: {\"A\":\"hello world\",\"B\":\"\\\"q\\\"\\\\\",\"C\":\"tab\\tnl\\n\\u0001\"}\n\n",
	} {
		var b bytes.Buffer
		writeEnvJSON(&b, env, mode)
		if b.String() != want {
			t.Errorf("%s:\n%q\nwant\n%q", mode, b.String(), want)
		}
	}
	var b bytes.Buffer
	writeEnvJSON(&b, nil, "json-pretty")
	if b.String() != "{}\n" {
		t.Errorf("empty: %q", b.String())
	}
}
