package getopt

import (
	"reflect"
	"strings"
	"testing"
)

// table is a piece of systemctl's and journalctl's tables, enough to have every kind of
// option and the ambiguous prefixes systemctl has (--no..., --fail/--failed).
var table = &Spec{Options: []Option{
	{Long: "type", Short: 't', Arg: RequiredArg},
	{Long: "property", Short: 'p', Arg: RequiredArg},
	{Short: 'P', Arg: RequiredArg},
	{Long: "all", Short: 'a'},
	{Long: "failed"},
	{Long: "full", Short: 'l'},
	{Long: "fail"},
	{Long: "no-block"},
	{Long: "no-legend"},
	{Long: "now"},
	{Long: "quiet", Short: 'q'},
	{Long: "force", Short: 'f'},
	{Long: "kill-whom", Arg: RequiredArg},
	{Long: "lines", Short: 'n', Arg: RequiredArg},
	{Long: "boot", Short: 'b', Arg: OptionalArg},
	{Long: "units", Arg: RequiredArg, Exact: true},
	{Long: "user"},
}}

// run parses args to the end and renders what was found as "key[=value]" words, then
// "|" and the operands; or the error.
func run(s *Spec, args []string) string {
	p := s.Parse(args)
	var out []string
	for {
		f, ok, err := p.Next()
		if err != nil {
			return "error: " + err.Error()
		}
		if !ok {
			break
		}
		w := f.Key()
		if f.HasValue {
			w += "=" + f.Value
		}
		out = append(out, w)
	}
	return strings.Join(out, " ") + " | " + strings.Join(p.Operands(), " ")
}

func TestParse(t *testing.T) {
	for _, tc := range []struct{ name, args, want string }{
		{"options before the verb", "-q is-enabled web.service", "quiet | is-enabled web.service"},
		{"options after the units", "is-enabled web.service -l", "full | is-enabled web.service"},
		{"between units", "start a --no-block b", "no-block | start a b"},
		{"cluster", "-aq list-units", "all quiet | list-units"},
		{"cluster ending in a value option", "-aqt service", "all quiet type=service | "},
		{"attached short value", "-n5 status x", "lines=5 | status x"},
		{"attached short value with letters", "show -pId x", "property=Id | show x"},
		{"detached short value", "status -n 5 x", "lines=5 | status x"},
		{"short value that looks like an option", "-p -q", "property=-q | "},
		{"long value attached", "--type=service", "type=service | "},
		{"long value detached", "--type service list-units", "type=service | list-units"},
		{"long value empty", "--type=", "type= | "},
		{"abbreviation", "--ful --kill=main", "full kill-whom=main | "},
		{"exact name beats longer ones", "--fail", "fail | "},
		{"twice", "--force -f", "force force | "},
		{"double dash ends options", "start -- -weird.service -q", " | start -weird.service -q"},
		{"operands before and after the double dash", "a -q b -- -c", "quiet | a b -c"},
		{"dash alone is an operand", "cat -", " | cat -"},
		{"optional value only attached", "-b 1", "boot | 1"},
		{"optional value attached short", "-b-1", "boot=-1 | "},
		{"optional value attached long", "--boot=2", "boot=2 | "},
		{"exact-only option", "--units /d", "units=/d | "},
		{"exact-only option is no prefix", "--u", "user | "},
		{"unknown long", "--bogus", "error: unrecognized option '--bogus'"},
		{"unknown long with value", "--bogus=1", "error: unrecognized option '--bogus=1'"},
		{"unknown short", "-z", "error: invalid option -- 'z'"},
		{"unknown short in a cluster", "-aqz", "error: invalid option -- 'z'"},
		{"missing long value", "list-units --type", "error: option '--type' requires an argument"},
		{"missing long value, abbreviated", "--ty", "error: option '--type' requires an argument"},
		{"missing short value", "-t", "error: option requires an argument -- 't'"},
		{"missing value of short-only", "-pId -P", "error: option requires an argument -- 'P'"},
		{"value to a flag", "--ful=x", "error: option '--full' doesn't allow an argument"},
		{"ambiguous", "--no", "error: option '--no' is ambiguous; possibilities: '--no-block' '--no-legend' '--now'"},
		{"ambiguous with value", "--fai=x", "error: option '--fai=x' is ambiguous; possibilities: '--failed' '--fail'"},
		{"first error wins", "--bogus -z", "error: unrecognized option '--bogus'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := run(table, strings.Fields(tc.args)); got != tc.want {
				t.Errorf("%q: got %q, want %q", tc.args, got, tc.want)
			}
		})
	}
}

func TestNoPermute(t *testing.T) {
	s := &Spec{Options: table.Options, NoPermute: true}
	if got := run(s, []string{"-q", "logs", "-u", "x"}); got != "quiet | logs -u x" {
		t.Errorf("got %q", got)
	}
	if got := run(s, []string{"-q", "--", "-a"}); got != "quiet | -a" {
		t.Errorf("got %q", got)
	}
}

func TestOrderAndSpelling(t *testing.T) {
	p := table.Parse([]string{"-t", "help", "x", "--quiet"})
	var spelled []string
	for {
		f, ok, err := p.Next()
		if err != nil || !ok {
			break
		}
		spelled = append(spelled, f.Spelled)
	}
	if want := []string{"-t", "--quiet"}; !reflect.DeepEqual(spelled, want) {
		t.Errorf("spelled %q, want %q", spelled, want)
	}
}

func TestTakeNext(t *testing.T) {
	isNum := func(s string) bool { return s != "" && strings.Trim(s, "0123456789") == "" }
	p := table.Parse([]string{"-b", "5", "x", "-b", "y"})
	var got []string
	for {
		f, ok, err := p.Next()
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		if v, took := p.TakeNext(isNum); took {
			got = append(got, f.Key()+"="+v)
		} else {
			got = append(got, f.Key())
		}
	}
	if want := []string{"boot=5", "boot"}; !reflect.DeepEqual(got, want) {
		t.Errorf("options %q, want %q", got, want)
	}
	if want := []string{"x", "y"}; !reflect.DeepEqual(p.Operands(), want) {
		t.Errorf("operands %q, want %q", p.Operands(), want)
	}
}

func FuzzParse(f *testing.F) {
	f.Add("-aqn5 --type=x -- y")
	f.Fuzz(func(t *testing.T, s string) {
		// Every option consumes at least one byte of the command line ("-abc" is three), so
		// the parse ends within len(s)+1 calls.
		p := table.Parse(strings.Fields(s))
		for n := 0; n <= len(s); n++ {
			_, ok, err := p.Next()
			if err != nil || !ok {
				return
			}
		}
		t.Fatalf("%q: no end after %d options", s, len(s)+1)
	})
}
