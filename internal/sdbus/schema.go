package sdbus

import (
	_ "embed"
	"fmt"
	"strings"
	"sync"
)

//go:embed systemd1.txt
var schemaText string

// Interface is one systemd1 interface as systemd 252 declares it.
type Interface struct {
	Name    string
	Methods map[string]Method
	Signals []Signal
	Props   []PropSpec // in systemd's order
	byName  map[string]int
}

// Method is a method's in and out signatures.
type Method struct{ Name, In, Out string }

// Signal is a signal's signature.
type Signal struct{ Name, Sig string }

// PropSpec is a property's D-Bus type, whether it may be written, and how changes are
// signalled ("true", "false", "const", "invalidates").
type PropSpec struct {
	Name, Type string
	Write      bool
	Emits      string
}

// interfaces are systemd 252's, by name; parsed at the first use (not in every flint command
// that links the package).
var interfaces = sync.OnceValue(func() map[string]*Interface { return parseSchema(schemaText) })

// Interface names.
const (
	IfaceManager = "org.freedesktop.systemd1.Manager"
	IfaceUnit    = "org.freedesktop.systemd1.Unit"
	IfaceService = "org.freedesktop.systemd1.Service"
	IfaceSocket  = "org.freedesktop.systemd1.Socket"
	IfaceTimer   = "org.freedesktop.systemd1.Timer"
	IfacePath    = "org.freedesktop.systemd1.Path"
	IfaceTarget  = "org.freedesktop.systemd1.Target"
	IfaceScope   = "org.freedesktop.systemd1.Scope"
	IfaceJob     = "org.freedesktop.systemd1.Job"

	ifaceProps   = "org.freedesktop.DBus.Properties"
	ifaceIntro   = "org.freedesktop.DBus.Introspectable"
	ifacePeer    = "org.freedesktop.DBus.Peer"
	ifaceDBus    = "org.freedesktop.DBus"
	ManagerPath  = "/org/freedesktop/systemd1"
	busName      = "org.freedesktop.systemd1"
	dbusSelfPath = "/org/freedesktop/DBus"
)

func parseSchema(text string) map[string]*Interface {
	out := map[string]*Interface{}
	var cur *Interface
	for i, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		bad := func() { panic(fmt.Sprintf("systemd1.txt:%d: bad line %q", i+1, line)) }
		dash := func(s string) string {
			if s == "-" {
				return ""
			}
			return s
		}
		switch {
		case f[0] == "interface" && len(f) == 2:
			cur = &Interface{Name: f[1], Methods: map[string]Method{}, byName: map[string]int{}}
			out[cur.Name] = cur
		case cur == nil:
			bad()
		case f[0] == "method" && len(f) == 4:
			cur.Methods[f[1]] = Method{f[1], dash(f[2]), dash(f[3])}
		case f[0] == "signal" && len(f) == 3:
			cur.Signals = append(cur.Signals, Signal{f[1], dash(f[2])})
		case f[0] == "property" && len(f) == 5:
			cur.byName[f[1]] = len(cur.Props)
			cur.Props = append(cur.Props, PropSpec{f[1], f[2], f[3] == "readwrite", f[4]})
		default:
			bad()
		}
	}
	return out
}

// Prop looks up a property of the interface.
func (it *Interface) Prop(name string) (PropSpec, bool) {
	i, ok := it.byName[name]
	if !ok {
		return PropSpec{}, false
	}
	return it.Props[i], true
}
